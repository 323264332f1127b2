/*
 * RFC 2047 encoded words for native/index-fields.c, decoded as libmime's decodeWords decodes
 * them (src/index/headers.ts's decode), for the plain kind: UTF-8, US-ASCII, ISO-8859-1,
 * ISO-8859-15, windows-1252 or ISO-2022-JP, cleanly formed. Anything else is left to libmime.
 */
#include <stdlib.h>
#include <string.h>

#include "index-text.h"
#include "jis0208.h"

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
  } known[] = {{"utf-8", CS_UTF8}, {"us-ascii", CS_ASCII}, {"iso-8859-1", CS_LATIN1}, {"windows-1252", CS_WINDOWS1252}, {"iso-8859-15", CS_LATIN9}, {"iso-2022-jp", CS_ISO2022JP}};
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
 * The base64 of a run of B words, decoded as libmime decodes it: their texts joined, then cut
 * at each "=" into segments (libbase64), each decoded by Node's decoder, which reads a
 * segment's last group of two or three characters as one or two bytes and drops a lone one.
 * Fed word by word; a segment may span words, its last group is read by base64_end.
 */
typedef struct {
  unsigned bits;
  int count;
} Base64Run;

static void base64_end(Base64Run *b, Out *o) {
  if (b->count == 2) o->p[o->n++] = (unsigned char)(b->bits >> 4);
  if (b->count == 3) o->p[o->n++] = (unsigned char)(b->bits >> 10), o->p[o->n++] = (unsigned char)(b->bits >> 2);
  b->bits = 0;
  b->count = 0;
}

/* 0 for a character outside the base64 alphabet and "=" (which Node's decoder reads its own way). */
static int base64_text(Base64Run *b, Text t, Out *o) {
  for (size_t i = 0; i < t.n; i++) {
    if (t.p[i] == '=') {
      base64_end(b, o);
      continue;
    }
    int v = base64_value(t.p[i]);
    if (v < 0) return 0;
    b->bits = b->bits << 6 | (unsigned)v;
    if (++b->count == 4) {
      o->p[o->n++] = (unsigned char)(b->bits >> 16);
      o->p[o->n++] = (unsigned char)(b->bits >> 8);
      o->p[o->n++] = (unsigned char)b->bits;
      b->bits = 0;
      b->count = 0;
    }
  }
  return 1;
}

/*
 * A Q word's bytes appended to o; 0 unless every "=" is followed by two hex digits in the
 * word, where libmime's decoding of the word alone and joined to its neighbours agree.
 */
static int q_bytes(Text t, Out *o) {
  for (size_t i = 0; i < t.n; i++) {
    if (t.p[i] == '=') {
      if (i + 2 >= t.n) return 0;
      int hi = hex(t.p[i + 1]), lo = hex(t.p[i + 2]);
      if (hi < 0 || lo < 0) return 0;
      o->p[o->n++] = (unsigned char)(hi * 16 + lo);
      i += 2;
    } else o->p[o->n++] = t.p[i] == '_' ? ' ' : t.p[i];
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
 * ISO-2022-JP text (o from `from` on) made UTF-8 in place, as encoding-japanese (libmime's
 * decoder for it) reads it: escapes ESC $ B and ESC $ @ switch to two-byte JIS X 0208 codes,
 * ESC ( B and ESC ( J to ASCII (encoding-japanese reads JIS-Roman as ASCII). 0 for anything
 * it would read some other way, or where it would put its "?" fallback: an 8-bit byte, any
 * other escape (half-width katakana, JIS X 0212), a code cut short, out of range or unmapped.
 */
static int iso2022jp_text(Out *o, size_t from) {
  unsigned char *p = o->p + from;
  size_t n = o->n - from;
  /* A two-byte code becomes at most three bytes of UTF-8; anything else no more than itself. */
  unsigned char *utf8 = malloc(n + n / 2 + 1);
  if (!utf8) return 0;
  size_t m = 0;
  int two_byte = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    if (c >= 0x80) goto other;
    if (c == 0x1b) {
      if (i + 2 >= n) goto other;
      if (p[i + 1] == '$' && (p[i + 2] == 'B' || p[i + 2] == '@')) two_byte = 1;
      else if (p[i + 1] == '(' && (p[i + 2] == 'B' || p[i + 2] == 'J')) two_byte = 0;
      else goto other;
      i += 3;
    } else if (!two_byte) {
      utf8[m++] = c;
      i++;
    } else {
      if (i + 1 >= n || c < 0x21 || c > 0x7e || p[i + 1] < 0x21 || p[i + 1] > 0x7e) goto other;
      unsigned u = JIS0208[(c - 0x21) * 94 + (p[i + 1] - 0x21)];
      if (u == 0) goto other;
      if (u < 0x80) utf8[m++] = (unsigned char)u;
      else if (u < 0x800) utf8[m++] = (unsigned char)(0xc0 | u >> 6), utf8[m++] = (unsigned char)(0x80 | (u & 0x3f));
      else utf8[m++] = (unsigned char)(0xe0 | u >> 12), utf8[m++] = (unsigned char)(0x80 | (u >> 6 & 0x3f)), utf8[m++] = (unsigned char)(0x80 | (u & 0x3f));
      i += 2;
    }
  }
  memcpy(p, utf8, m);
  o->n = from + m;
  free(utf8);
  return 1;
other:
  free(utf8);
  return 0;
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
  if (charset == CS_ISO2022JP) return iso2022jp_text(o, from);
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
  Base64Run b64 = {0, 0};
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
      if (run_encoding == 'B') {
        /*
         * A group cut short at the run's end: libmime joins the next word's text to it where
         * it takes the two charsets for one (its names for them, not these), and reads on.
         */
        if (b64.count != 0 && joined) return 0;
        base64_end(&b64, o);
      }
      if (!charset_text(o, run_from, run)) return 0;
      run = CS_NONE;
    }
    if (!joined) put_text(o, gap, utf8);
    if (!word) return 1;
    if (!continues) run_from = o->n, run = w.charset, run_encoding = w.encoding;
    if (!(w.encoding == 'B' ? base64_text(&b64, w.text, o) : q_bytes(w.text, o))) return 0;
    p = next + w.length;
  }
}
