/*
 * blankLine(buffer, from, to, crlf): where the first blank line of buffer[from, to) starts
 * (just past the newline before it), found as the first offset at which "\n\n" or the CRLF
 * form starts (crlf 3: "\n\r\n", as the mbox reader reads a header; crlf 4: "\r\n\r\n", as
 * the index reads a message file's), with the whole pattern before `to`; -1 for neither. The
 * same answer as the two Buffer.indexOf calls it replaces (src/mbox/reader.ts's readHeader,
 * src/index/heads.ts's headerEnd): those search the CRLF form only before the "\n\n", and
 * the first of the two is the one they take.
 *
 * Why: every message's header is searched so, twice over (framing, then the index's block).
 * Buffer.indexOf stops at every newline of a pattern that begins with one (memchr, then a
 * compare), twice; here 32 positions are tested at once for both patterns (AVX2 where the
 * CPU has it; each newline in turn elsewhere).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "napi-util.h"

/* Where the blank line starts if a pattern starts at i within [.., to), else 0 (no blank line starts at 0). */
static int64_t match_at(const unsigned char *b, int64_t i, int64_t to, int crlf) {
  if (i + 2 <= to && b[i] == '\n' && b[i + 1] == '\n') return i + 1;
  if (crlf == 3 && i + 3 <= to && b[i] == '\n' && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 1;
  if (crlf == 4 && i + 4 <= to && b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') return i + 2;
  return 0;
}

/* Each newline in turn: a pattern starts at it, or (CRLF form 4) at the byte before it. */
static int64_t blank_line_scalar(const unsigned char *b, int64_t i, int64_t to, int crlf) {
  while (i < to) {
    const unsigned char *nl = memchr(b + i, '\n', (size_t)(to - i));
    if (!nl) return -1;
    int64_t k = nl - b;
    int64_t hit;
    if (crlf == 4 && k - 1 >= i && (hit = match_at(b, k - 1, to, crlf)) != 0) return hit;
    if ((hit = match_at(b, k, to, crlf)) != 0) return hit;
    i = k + 1;
  }
  return -1;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

static int avx2;

static void detect(void) {
  __builtin_cpu_init();
  avx2 = __builtin_cpu_supports("avx2");
}

/* Positions i..i+31 at once, while the bytes up to i + 34 lie before `to`; -(i + 2) where it stopped. */
__attribute__((target("avx2"))) static int64_t blank_line_avx2(const unsigned char *b, int64_t i, int64_t to, int crlf) {
  const __m256i nl = _mm256_set1_epi8('\n');
  const __m256i cr = _mm256_set1_epi8('\r');
  for (; i + 35 <= to; i += 32) {
    __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + i));
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + i + 1));
    __m256i b2 = _mm256_loadu_si256((const __m256i *)(b + i + 2));
    __m256i hits = _mm256_and_si256(_mm256_cmpeq_epi8(b0, nl), _mm256_cmpeq_epi8(b1, nl));
    if (crlf == 3) {
      hits = _mm256_or_si256(hits, _mm256_and_si256(_mm256_cmpeq_epi8(b0, nl), _mm256_and_si256(_mm256_cmpeq_epi8(b1, cr), _mm256_cmpeq_epi8(b2, nl))));
    } else {
      __m256i b3 = _mm256_loadu_si256((const __m256i *)(b + i + 3));
      __m256i crlf2 = _mm256_and_si256(_mm256_and_si256(_mm256_cmpeq_epi8(b0, cr), _mm256_cmpeq_epi8(b1, nl)), _mm256_and_si256(_mm256_cmpeq_epi8(b2, cr), _mm256_cmpeq_epi8(b3, nl)));
      hits = _mm256_or_si256(hits, crlf2);
    }
    uint32_t mask = (uint32_t)_mm256_movemask_epi8(hits);
    if (mask) return match_at(b, i + __builtin_ctz(mask), to, crlf);
  }
  return -(i + 2);
}

static int64_t blank_line(const unsigned char *b, int64_t from, int64_t to, int crlf) {
  int64_t i = from;
  if (avx2) {
    int64_t r = blank_line_avx2(b, i, to, crlf);
    if (r >= 0) return r;
    i = -r - 2;
  }
  return blank_line_scalar(b, i, to, crlf);
}
#else
static void detect(void) {}

static int64_t blank_line(const unsigned char *b, int64_t from, int64_t to, int crlf) {
  return blank_line_scalar(b, from, to, crlf);
}
#endif

static napi_value blank_line_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const unsigned char *data;
  int64_t from, to;
  int32_t crlf;
  if (argc < 4 || !buffer_range(env, argv, &data, &from, &to) || napi_get_value_int32(env, argv[3], &crlf) != napi_ok || (crlf != 3 && crlf != 4)) {
    napi_throw_type_error(env, NULL, "blankLine(buffer, from, to, 3 | 4)");
    return NULL;
  }
  napi_value result;
  napi_create_int64(env, from >= to ? -1 : blank_line(data, from, to, crlf), &result);
  return result;
}

/* Adds blankLine to the addon's exports. */
void blank_line_register(napi_env env, napi_value exports) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, detect);
  export_function(env, exports, "blankLine", blank_line_js);
}
