/*
 * RFC 2047 encoded words for native/index-fields.c, decoded as libmime's decodeWords decodes
 * them (src/index/headers.ts's decode), for the plain kind: UTF-8, US-ASCII, ISO-8859-1,
 * ISO-8859-15 or windows-1252, cleanly formed. Anything else is left to libmime.
 */
#include <string.h>

#include "index-text.h"

static int same_ci(const unsigned char *p, size_t n, const char *name) {
  if (strlen(name) != n) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
    if (c != (unsigned char)name[i]) return 0;
  }
  return 1;
}

int word_at(const unsigned char *p, const unsigned char *end, Word *w) {
  if (end - p < 2 || p[0] != '=' || p[1] != '?') return 0;
  const unsigned char *q = p + 2, *name = q;
  while (q < end && (is_alnum(*q) || *q == '-' || *q == '_')) q++;
  if (q == name || q + 3 > end || q[0] != '?' || q[2] != '?') return 0;
  size_t name_len = (size_t)(q - name);
  static const struct {
    const char *name;
    Charset charset;
  } known[] = {{"utf-8", CS_UTF8}, {"us-ascii", CS_ASCII}, {"iso-8859-1", CS_LATIN1}, {"windows-1252", CS_WINDOWS1252}, {"iso-8859-15", CS_LATIN9}};
  w->charset = CS_NONE;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (same_ci(name, name_len, known[i].name)) w->charset = known[i].charset;
  w->encoding = q[1] == 'b' || q[1] == 'B' ? 'B' : q[1] == 'q' || q[1] == 'Q' ? 'Q' : 0;
  if (w->charset == CS_NONE || !w->encoding) return 0;
  const unsigned char *text = q + 3;
  for (q = text; q < end && *q != '?'; q++)
    if (*q <= 0x20 || *q >= 0x7f) return 0;
  if (q + 2 > end || q[1] != '=') return 0;
  w->text = (Text){text, (size_t)(q - text)};
  w->length = (size_t)(q + 2 - p);
  return 1;
}

static int hex(unsigned char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

static int base64_value(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * A word's bytes appended to o; 0 unless its text is strictly well formed (B: whole groups
 * of four, padding only at the end; Q: every "=" followed by two hex digits), where libmime's
 * decoding of the word alone and of the word joined to its neighbours give the same bytes.
 */
static int word_bytes(const Word *w, Out *o) {
  const unsigned char *t = w->text.p;
  size_t n = w->text.n;
  if (w->encoding == 'Q') {
    for (size_t i = 0; i < n; i++) {
      if (t[i] == '=') {
        if (i + 2 >= n) return 0;
        int hi = hex(t[i + 1]), lo = hex(t[i + 2]);
        if (hi < 0 || lo < 0) return 0;
        o->p[o->n++] = (unsigned char)(hi * 16 + lo);
        i += 2;
      } else o->p[o->n++] = t[i] == '_' ? ' ' : t[i];
    }
    return 1;
  }
  if (n % 4) return 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4], pad = 0;
    for (int k = 0; k < 4; k++) {
      if (t[i + k] == '=' && i + 4 == n && k >= 2) {
        pad++;
        v[k] = 0;
        continue;
      }
      if (pad || (v[k] = base64_value(t[i + k])) < 0) return 0;
    }
    unsigned bits = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    o->p[o->n++] = (unsigned char)(bits >> 16);
    if (pad < 2) o->p[o->n++] = (unsigned char)(bits >> 8);
    if (pad < 1) o->p[o->n++] = (unsigned char)bits;
  }
  return 1;
}

/* Bytes in the block's reading appended to o as UTF-8. */
static void put_text(Out *o, Text t, int utf8) {
  for (size_t i = 0; i < t.n; i++) {
    unsigned char c = t.p[i];
    if (utf8 || c < 0x80) o->p[o->n++] = c;
    else o->p[o->n++] = (unsigned char)(0xc0 | c >> 6), o->p[o->n++] = (unsigned char)(0x80 | (c & 0x3f));
  }
}

/* ISO-8859-15's eight differences from ISO-8859-1, as UTF-8 (the rest read alike). */
static const char *latin9(unsigned char c) {
  switch (c) {
    case 0xa4: return "\xe2\x82\xac"; /* U+20AC euro sign */
    case 0xa6: return "\xc5\xa0";     /* U+0160 */
    case 0xa8: return "\xc5\xa1";     /* U+0161 */
    case 0xb4: return "\xc5\xbd";     /* U+017D */
    case 0xb8: return "\xc5\xbe";     /* U+017E */
    case 0xbc: return "\xc5\x92";     /* U+0152 */
    case 0xbd: return "\xc5\x93";     /* U+0153 */
    case 0xbe: return "\xc5\xb8";     /* U+0178 */
    default: return NULL;
  }
}

/*
 * A run of adjacent words of one charset and encoding (libmime joins them before decoding),
 * decoded: their bytes, in o from `from` on, made UTF-8 in place. 0 where a charset decoder
 * could read them otherwise: invalid UTF-8 or UTF-8 led by a byte order mark, 8-bit US-ASCII,
 * and the range 0x80-0x9f of the single-byte charsets (C1 controls in ISO-8859, and where
 * windows-1252 differs from ISO-8859-1; the three agree on the rest but for ISO-8859-15's
 * eight letters).
 */
static int charset_text(Out *o, size_t from, Charset charset) {
  unsigned char *p = o->p + from;
  size_t n = o->n - from;
  if (charset == CS_UTF8) return utf8_kind(p, n) != 0 && !(n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf);
  for (size_t i = 0; i < n; i++)
    if (p[i] >= 0x80 && (charset == CS_ASCII || p[i] < 0xa0)) return 0;
  if (charset == CS_ASCII) return 1;
  /* To UTF-8, which grows: from the end backwards, into the room o has past its end. */
  size_t grown = n;
  for (size_t i = 0; i < n; i++) {
    const char *special = charset == CS_LATIN9 ? latin9(p[i]) : NULL;
    grown += special ? strlen(special) - 1 : p[i] >= 0x80;
  }
  for (size_t i = n, j = grown; i-- > 0;) {
    unsigned char c = p[i];
    const char *special = charset == CS_LATIN9 ? latin9(c) : NULL;
    if (special) {
      size_t k = strlen(special);
      j -= k;
      memcpy(p + j, special, k);
    } else if (c < 0x80) p[--j] = c;
    else p[--j] = (unsigned char)(0x80 | (c & 0x3f)), p[--j] = (unsigned char)(0xc0 | c >> 6);
  }
  o->n += grown - n;
  return 1;
}

/*
 * decode() of a value holding encoded words, as UTF-8 in o: each run of adjacent words of one
 * charset and encoding decoded together, whitespace between words dropped, other text kept.
 * 0 when any "=?" does not begin a word of the plain kind, or a run does not decode cleanly.
 */
int decoded_words(Text v, int utf8, Out *o) {
  const unsigned char *p = v.p, *end = v.p + v.n;
  Charset run = CS_NONE;
  unsigned char run_encoding = 0;
  size_t run_from = 0;
  for (int after_word = 0;; after_word = 1) {
    const unsigned char *next = p;
    while (next + 1 < end && !(next[0] == '=' && next[1] == '?')) next++;
    if (next + 1 >= end) next = end;
    Text gap = {p, (size_t)(next - p)};
    Word w = {CS_NONE, 0, {NULL, 0}, 0};
    int word = next < end;
    if (word && !word_at(next, end, &w)) return 0;
    int joined = after_word && word && trimmed(gap, utf8).n == 0;
    int continues = joined && w.charset == run && w.encoding == run_encoding;
    if (run != CS_NONE && !continues) {
      if (!charset_text(o, run_from, run)) return 0;
      run = CS_NONE;
    }
    if (!joined) put_text(o, gap, utf8);
    if (!word) return 1;
    if (!continues) run_from = o->n, run = w.charset, run_encoding = w.encoding;
    if (!word_bytes(&w, o)) return 0;
    p = next + w.length;
  }
}
