/*
 * contentLengths(block, out): the values of the Content-Length lines of a message's header
 * block, in order, as src/mbox/content-length.ts's pattern finds them in the block read as
 * Latin-1: /^content-length:[ \t]*(\d+)[ \t]*\r?$/gim. A line starts the block or follows a
 * LF or a CR (JavaScript's multiline ^), and ends at a LF, a CR or the block's end ($). A
 * value of more than 15 digits, which no double holds exactly as Number() reads it, is
 * Infinity: it lies past the end of any file. Writes up to out.length values into `out` (a
 * Float64Array); returns how many lines there are, which may be more.
 *
 * Why native: the mbox reader asks this of every message's header, and the pattern over the
 * header as a string cost a string of the whole header and a scan of it per message (~1 us,
 * 30,000 messages: ~40 ms of the reading thread with the garbage it left).
 */
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#include "napi-util.h"

static const char NAME[] = "content-length";
#define NAME_LEN (sizeof NAME - 1)

static int is_name(const unsigned char *p) {
  for (size_t i = 0; i < NAME_LEN; i++) {
    unsigned char c = p[i];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != (unsigned char)NAME[i]) return 0;
  }
  return 1;
}

/* The value of the line whose colon is at p[colon], or -1 where the line does not match. */
static double value_after(const unsigned char *p, size_t n, size_t colon) {
  size_t i = colon + 1;
  while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
  size_t digits = i;
  double value = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') value = value * 10 + (p[i++] - '0');
  if (i == digits) return -1;
  while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
  if (i < n && p[i] != '\n' && p[i] != '\r') return -1;
  return i - digits > 15 ? INFINITY : value;
}

static size_t content_lengths(const unsigned char *p, size_t n, double *out, size_t room) {
  size_t count = 0;
  /* Every colon: each is checked for the name before it, at a line's start. */
  for (const unsigned char *q = memchr(p, ':', n); q; q = memchr(q + 1, ':', n - (size_t)(q + 1 - p))) {
    size_t colon = (size_t)(q - p);
    if (colon < NAME_LEN) continue;
    size_t start = colon - NAME_LEN;
    if (start > 0 && p[start - 1] != '\n' && p[start - 1] != '\r') continue;
    if (!is_name(p + start)) continue;
    double value = value_after(p, n, colon);
    if (value < 0) continue;
    if (count < room) out[count] = value;
    count++;
  }
  return count;
}

static napi_value content_lengths_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data;
  size_t n;
  napi_typedarray_type type;
  size_t room;
  void *out;
  if (argc < 2 || napi_get_buffer_info(env, argv[0], &data, &n) != napi_ok || napi_get_typedarray_info(env, argv[1], &type, &room, &out, NULL, NULL) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, "contentLengths(block, out: Float64Array)");
    return NULL;
  }
  napi_value result;
  napi_create_double(env, (double)content_lengths(data, n, out, room), &result);
  return result;
}

/* Adds contentLengths to the addon's exports. */
void content_length_register(napi_env env, napi_value exports) {
  export_function(env, exports, "contentLengths", content_lengths_js);
}
