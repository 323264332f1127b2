/*
 * headerFields(block, names, spans, mode): where the wanted fields' values lie in a header
 * block, found on its bytes. The rules are those of headerFields in src/util/rfc5322.ts,
 * which reads the block decoded to a string; test/util/rfc5322.test.ts holds the two to the
 * same results on random blocks.
 *
 *   - Lines end at LF, with one CR before it dropped; the header ends at the first empty line.
 *   - A line that starts with a space or tab continues the field above it.
 *   - A field's name is what comes before the line's first colon, trimmed as JavaScript's
 *     trim() would trim the decoded text, and compared without regard to ASCII case.
 *   - The first occurrence of a name wins.
 *
 * names: the wanted names, lower-case ASCII, joined by ",". spans: an Int32Array with two
 * slots per name, set to the byte range of the value (just past the colon, to the end of its
 * last continuation line, before that line's LF) or -1, -1 when the name is absent.
 * mode 0 reads the block as Latin-1; mode 1 as UTF-8 when the whole block is valid UTF-8
 * (a byte order mark at its start dropped, as TextDecoder does), else as Latin-1.
 * Returns how the block was read: 0 as Latin-1, 1 as UTF-8, 2 as ASCII (it is all ASCII, so
 * byte offsets are character offsets whichever way it is decoded).
 *
 * Why native: this runs for every message migrated (flags) and indexed (the index's fields),
 * ~8 us a message in JavaScript for the decoding of the whole block and the walk over its
 * lines, against ~1 us here.
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#include "header-fields.h"
#include "napi-util.h"

/* 2 when p[0..n) is all ASCII, 1 when it is other UTF-8 that TextDecoder's fatal mode accepts, else 0. */
int utf8_kind(const unsigned char *p, size_t n) {
  int ascii = 1;
  size_t i = 0;
  while (i < n) {
    /* Header text is mostly ASCII: eight bytes at a time while no high bit is set. */
    uint64_t word;
    while (i + 8 <= n && (memcpy(&word, p + i, 8), (word & 0x8080808080808080ULL) == 0)) i += 8;
    if (i >= n) break;
    unsigned char c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    ascii = 0;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if (i + len > n) return 0;
    if (p[i + 1] < lo || p[i + 1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return 0;
    i += len;
  }
  return ascii ? 2 : 1;
}

/* Length of the whitespace (as trim() sees it) at p[0..n), 0 if none; utf8 selects the reading. */
size_t space_at(const unsigned char *p, size_t n, int utf8) {
  unsigned char c = p[0];
  if ((c >= 0x09 && c <= 0x0d) || c == 0x20) return 1;
  if (!utf8) return c == 0xa0;
  if (c == 0xc2 && n >= 2 && p[1] == 0xa0) return 2;
  if (n < 3) return 0;
  if (c == 0xe1 && p[1] == 0x9a && p[2] == 0x80) return 3;                                                    /* U+1680 */
  if (c == 0xe2 && p[1] == 0x80 && (p[2] <= 0x8a || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf)) return 3; /* U+2000-200A, 2028, 2029, 202F */
  if (c == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) return 3;                                                    /* U+205F */
  if (c == 0xe3 && p[1] == 0x80 && p[2] == 0x80) return 3;                                                    /* U+3000 */
  if (c == 0xef && p[1] == 0xbb && p[2] == 0xbf) return 3;                                                    /* U+FEFF */
  return 0;
}

/* The same, for whitespace that ends at p[n - 1]. */
size_t space_before(const unsigned char *p, size_t n, int utf8) {
  if (n >= 1 && space_at(p + n - 1, 1, utf8) == 1) return 1;
  if (utf8 && n >= 2 && space_at(p + n - 2, 2, utf8) == 2) return 2;
  if (utf8 && n >= 3 && space_at(p + n - 3, 3, utf8) == 3) return 3;
  return 0;
}

/* Index of the wanted name that the trimmed name p[0..n) is, or -1. */
static int match_name(const unsigned char *p, size_t n, int utf8, const Wanted *w) {
  size_t s;
  while (n > 0 && (s = space_at(p, n, utf8)) > 0) {
    p += s;
    n -= s;
  }
  while (n > 0 && (s = space_before(p, n, utf8)) > 0) n -= s;
  if (n == 0) return -1;
  for (uint32_t bits = w->by_first[p[0] >= 'A' && p[0] <= 'Z' ? p[0] + 32 : p[0]]; bits; bits &= bits - 1) {
    int k = __builtin_ctz(bits);
    const char *want = w->names[k];
    const size_t *lens = w->lens;
    size_t i = 0, j = 0;
    while (i < n && j < lens[k]) {
      unsigned char c = p[i];
      /* toLowerCase() makes the Kelvin sign (U+212A) a "k". */
      if (utf8 && c == 0xe2 && i + 2 < n && p[i + 1] == 0x84 && p[i + 2] == 0xaa) {
        if (want[j] != 'k') break;
        i += 3;
        j++;
        continue;
      }
      if (c >= 'A' && c <= 'Z') c += 32;
      if (c != (unsigned char)want[j]) break;
      i++;
      j++;
    }
    if (i == n && j == lens[k]) return k;
  }
  return -1;
}

int wanted_names(const char *spec, size_t spec_len, Wanted *w) {
  memset(w->by_first, 0, sizeof w->by_first);
  w->count = 0;
  for (size_t i = 0, start = 0; i <= spec_len; i++) {
    if (i < spec_len && spec[i] != ',') continue;
    size_t len = i - start;
    if (w->count == MAX_NAMES || len == 0 || len >= MAX_NAME) return 0;
    memcpy(w->names[w->count], spec + start, len);
    w->lens[w->count] = len;
    unsigned char first = (unsigned char)spec[start];
    w->by_first[first] |= 1u << w->count;
    /* The Kelvin sign (UTF-8 E2 84 AA) lower-cases to "k". */
    if (first == 'k') w->by_first[0xe2] |= 1u << w->count;
    w->count++;
    start = i + 1;
  }
  return 1;
}

static size_t line_end(const unsigned char *p, size_t n, size_t from) {
  const unsigned char *nl = memchr(p + from, '\n', n - from);
  return nl ? (size_t)(nl - p) : n;
}

int header_spans(const unsigned char *p, size_t n, int mode, const Wanted *w, int32_t *spans) {
  for (int k = 0; k < 2 * w->count; k++) spans[k] = -1;
  int kind = mode == 1 ? utf8_kind(p, n) : 0;
  int utf8 = kind > 0;
  size_t pos = utf8 && n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf ? 3 : 0;
  int left = w->count;
  while (pos < n && left > 0) {
    size_t eol = line_end(p, n, pos);
    size_t end = eol > pos && p[eol - 1] == '\r' ? eol - 1 : eol;
    if (end == pos) break;
    if (p[pos] != ' ' && p[pos] != '\t') {
      const unsigned char *colon = memchr(p + pos, ':', end - pos);
      if (colon && (size_t)(colon - p) > pos) {
        size_t at = (size_t)(colon - p);
        int k = match_name(p + pos, at - pos, utf8, w);
        if (k >= 0 && spans[2 * k] < 0) {
          size_t last = eol, next = eol + 1;
          while (next < n && (p[next] == ' ' || p[next] == '\t')) {
            last = line_end(p, n, next);
            next = last + 1;
          }
          spans[2 * k] = (int32_t)(at + 1);
          spans[2 * k + 1] = (int32_t)last;
          left--;
          pos = next;
          continue;
        }
      }
    }
    pos = eol + 1;
  }
  return kind;
}

static napi_value header_fields(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data;
  size_t n;
  char spec[MAX_NAMES * MAX_NAME];
  size_t spec_len;
  napi_typedarray_type type;
  size_t span_count;
  void *span_data;
  int32_t mode;
  if (argc < 4 || napi_get_buffer_info(env, argv[0], &data, &n) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], spec, sizeof spec, &spec_len) != napi_ok || spec_len >= sizeof spec - 1 ||
      napi_get_typedarray_info(env, argv[2], &type, &span_count, &span_data, NULL, NULL) != napi_ok || type != napi_int32_array ||
      napi_get_value_int32(env, argv[3], &mode) != napi_ok) {
    napi_throw_type_error(env, NULL, "headerFields(block, names, spans, mode)");
    return NULL;
  }
  if (n > INT32_MAX) {
    napi_throw_range_error(env, NULL, "headerFields: a header block over 2 GB");
    return NULL;
  }
  Wanted w;
  if (!wanted_names(spec, spec_len, &w) || 2 * (size_t)w.count > span_count) {
    napi_throw_range_error(env, NULL, "headerFields: too many, empty or too long names for the spans given");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, header_spans(data, n, mode, &w, span_data), &result);
  return result;
}

/* Adds headerFields to the addon's exports. */
void header_fields_register(napi_env env, napi_value exports) {
  export_function(env, exports, "headerFields", header_fields);
}
