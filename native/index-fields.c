/*
 * indexFields(block, out): the index's header fields of one message, as parseHeaders in
 * src/index/headers.ts makes them, for the shapes nearly every message has. The rules are
 * that file's; test/index/headers.test.ts holds the two to the same results on the fixtures
 * and on random blocks.
 *
 * out: an array of 9 slots, in the order date, from, to, cc, subject, message-id,
 * in-reply-to, references, has-attachments. Returns a bit mask: bit k set when out[k] is the
 * final value; otherwise out[k] is the field's value as headerValuesOf gives it (unfolded,
 * decoded as the block reads; undefined when absent) for JavaScript to finish. Slot 8 is
 * always final (true, false or null).
 *
 * Done here: a Date in RFC 5322's own shape ("Thu, 18 Sep 2008 17:00:04 +0200", comments
 * dropped; any other shape goes to Date.parse); address fields in plain ASCII of the shapes
 * headers.ts matches by pattern (local@domain, Name <local@domain>, "Name" <local@domain>,
 * local@domain (Name), lists of them, the domain-less shapes of bounces, and a display name
 * of encoded words before <local@domain>); identifiers, and subjects, 8-bit text included
 * (whitespace as JavaScript's \s and trim() see it). Encoded words in UTF-8, US-ASCII,
 * ISO-8859-1, ISO-8859-15 or windows-1252 are decoded as libmime's decodeWords does.
 * Left to JavaScript: words in other charsets (and any word not cleanly formed), IDNs,
 * 8-bit addresses, groups and the other address shapes mailparser's parser reads.
 *
 * Why native: ~10 us a message in JavaScript (regular expressions, Date.parse, the strings
 * they make), paid for every message a migration indexes, on a core the migration needs.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "header-fields.h"
#include "napi-util.h"

enum { F_DATE, F_FROM, F_TO, F_CC, F_SUBJECT, F_MESSAGE_ID, F_IN_REPLY_TO, F_REFERENCES, F_TYPE, F_DISPOSITION, F_COUNT };
#define SLOTS 9

static Wanted wanted;
static pthread_once_t wanted_once = PTHREAD_ONCE_INIT;

static void wanted_init(void) {
  static const char spec[] = "date,from,to,cc,subject,message-id,in-reply-to,references,content-type,content-disposition";
  wanted_names(spec, sizeof spec - 1, &wanted);
}

/* A text and its length; the unfolded value of a field, or a piece of one. */
typedef struct {
  const unsigned char *p;
  size_t n;
} Text;

static Text trimmed(Text t, int utf8) {
  size_t s;
  while (t.n > 0 && (s = space_at(t.p, t.n, utf8)) > 0) t.p += s, t.n -= s;
  while (t.n > 0 && (s = space_before(t.p, t.n, utf8)) > 0) t.n -= s;
  return t;
}

/*
 * headerValuesOf's unfold: the first line (its CR before the LF dropped), then each
 * continuation line trimmed, after one space; the whole trimmed. Written into out (room for
 * n bytes: it never grows).
 */
static Text unfold(const unsigned char *p, size_t n, int utf8, unsigned char *out) {
  size_t len = 0;
  const unsigned char *nl = memchr(p, '\n', n);
  size_t first = nl ? (size_t)(nl - p) : n;
  memcpy(out, p, first);
  len = nl && first > 0 && p[first - 1] == '\r' ? first - 1 : first;
  for (size_t pos = first + 1; nl && pos <= n;) {
    nl = memchr(p + pos, '\n', n - pos);
    size_t end = nl ? (size_t)(nl - p) : n;
    Text line = trimmed((Text){p + pos, end - pos}, utf8);
    out[len++] = ' ';
    memcpy(out + len, line.p, line.n);
    len += line.n;
    pos = end + 1;
  }
  return trimmed((Text){out, len}, utf8);
}

/* value.replace(/\s+/g, " ").trim(), written into out. */
static Text collapsed(Text t, int utf8, unsigned char *out) {
  size_t len = 0, s;
  for (size_t i = 0; i < t.n;) {
    if ((s = space_at(t.p + i, t.n - i, utf8)) > 0) {
      while (i < t.n && (s = space_at(t.p + i, t.n - i, utf8)) > 0) i += s;
      out[len++] = ' ';
    } else out[len++] = t.p[i++];
  }
  return trimmed((Text){out, len}, utf8);
}

static int contains(Text t, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= t.n; i++)
    if (memcmp(t.p + i, needle, k) == 0) return 1;
  return 0;
}

/* ---- Date ---- */

static int digits(const unsigned char *p, size_t n, size_t count, int *value) {
  if (n < count) return 0;
  int v = 0;
  for (size_t i = 0; i < count; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    v = v * 10 + (p[i] - '0');
  }
  *value = v;
  return 1;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/*
 * "[Ddd, ]D[D] Mon YYYY HH:MM[:SS] +HHMM" (spaces between, month in any case), each part in
 * the range a calendar gives it, as ms since the epoch: 1, or 0 for any other text. Within
 * those bounds Date.parse reads it the same; outside them it has rules of its own (31 Feb
 * is 2 March, a year 0049 is 2049), so such text goes to Date.parse itself.
 */
static int rfc5322_date(Text t, double *ms) {
  static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
  const unsigned char *p = t.p, *end = t.p + t.n;
#define SPACES(min)                                   \
  do {                                                \
    const unsigned char *at = p;                      \
    while (p < end && *p == ' ') p++;                 \
    if (p - at < (min)) return 0;                     \
  } while (0)
  if (end - p >= 4 && p[3] == ',') {
    int known = 0;
    for (int i = 0; i < 7; i++) known |= memcmp(p, days[i], 3) == 0;
    if (!known) return 0;
    p += 4;
    SPACES(0);
  }
  int day, year, hour, minute, second = 0, zh, zm;
  if (digits(p, end - p, 2, &day)) p += 2;
  else if (digits(p, end - p, 1, &day)) p += 1;
  else return 0;
  SPACES(1);
  if (end - p < 3) return 0;
  int month = 0;
  for (int i = 0; i < 12 && !month; i++) {
    int same = 1;
    for (int k = 0; k < 3; k++) same &= (p[k] | 0x20) == months[3 * i + k] && ((p[k] | 0x20) >= 'a' && (p[k] | 0x20) <= 'z');
    if (same) month = i + 1;
  }
  if (!month) return 0;
  p += 3;
  SPACES(1);
  if (!digits(p, end - p, 4, &year) || year < 1000) return 0;
  p += 4;
  SPACES(1);
  if (!digits(p, end - p, 2, &hour) || end - p < 5 || p[2] != ':' || !digits(p + 3, end - p - 3, 2, &minute)) return 0;
  p += 5;
  if (end - p >= 3 && p[0] == ':') {
    if (!digits(p + 1, end - p - 1, 2, &second)) return 0;
    p += 3;
  }
  SPACES(1);
  if (end - p != 5 || (p[0] != '+' && p[0] != '-') || !digits(p + 1, 2, 2, &zh) || !digits(p + 3, 2, 2, &zm)) return 0;
#undef SPACES
  static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int last = month_days[month - 1] + (month == 2 && leap);
  if (day < 1 || day > last || hour > 23 || minute > 59 || second > 59 || zh > 23 || zm > 59) return 0;
  int64_t offset = (int64_t)(zh * 60 + zm) * 60000 * (p[0] == '-' ? -1 : 1);
  *ms = (double)(days_from_civil(year, month, day) * 86400000 + (int64_t)(hour * 3600 + minute * 60 + second) * 1000 - offset);
  return 1;
}

/* parseDateHeader for a value in ASCII: comments dropped as /\([^)]*\)/g drops them, trimmed. */
static int date_value(Text t, unsigned char *scratch, double *ms) {
  for (size_t i = 0; i < t.n; i++)
    if (t.p[i] >= 0x80) return 0;
  size_t len = 0;
  for (size_t i = 0; i < t.n;) {
    const unsigned char *close = t.p[i] == '(' ? memchr(t.p + i, ')', t.n - i) : NULL;
    if (close) i = (size_t)(close - t.p) + 1;
    else scratch[len++] = t.p[i++];
  }
  return rfc5322_date(trimmed((Text){scratch, len}, 0), ms);
}

/* ---- Addresses (ASCII only: whitespace is space and tab) ---- */

static int is_local(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}
static int is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static int is_name(unsigned char c) { return is_alnum(c) || c == ' ' || c == '.' || c == '\'' || c == '-'; }
static int is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

static Text ws_trimmed(Text t) {
  while (t.n > 0 && is_ws(t.p[0])) t.p++, t.n--;
  while (t.n > 0 && is_ws(t.p[t.n - 1])) t.n--;
  return t;
}

static int all_local(Text t) {
  for (size_t i = 0; i < t.n; i++)
    if (!is_local(t.p[i])) return 0;
  return 1;
}

/* The pattern ADDR: local@label(.label)*, labels of letters, digits and hyphens. */
static int is_addr(Text t) {
  const unsigned char *at = memchr(t.p, '@', t.n);
  if (!at || at == t.p || !all_local((Text){t.p, (size_t)(at - t.p)})) return 0;
  size_t label = 0;
  for (const unsigned char *q = at + 1; q < t.p + t.n; q++) {
    if (*q == '.') {
      if (label == 0) return 0;
      label = 0;
    } else if (is_alnum(*q) || *q == '-') label++;
    else return 0;
  }
  return label > 0;
}

/* A name pattern's text ([A-Za-z0-9][A-Za-z0-9 .'-]*), trailing whitespace before it left out. */
static int is_display(Text t) {
  if (t.n == 0 || !is_alnum(t.p[0])) return 0;
  for (size_t i = 0; i < t.n; i++)
    if (!is_name(t.p[i])) return 0;
  return 1;
}

/* An output under construction (room checked by the caller: it never outgrows 2n + 16). */
typedef struct {
  unsigned char *p;
  size_t n;
} Out;

static void put(Out *o, const void *p, size_t n) {
  memcpy(o->p + o->n, p, n);
  o->n += n;
}

/* displayName: the name trimmed, runs of whitespace made one space; 0 where it gives null (dots). */
static int put_display(Out *o, Text name) {
  name = ws_trimmed(name);
  if (name.n > 0 && (name.p[0] == '.' || name.p[name.n - 1] == '.' || contains(name, ".."))) return 0;
  for (size_t i = 0; i < name.n; i++) {
    if (is_ws(name.p[i]) && is_ws(name.p[i - 1])) continue;
    o->p[o->n++] = is_ws(name.p[i]) ? ' ' : name.p[i];
  }
  return 1;
}

/* plainAddress's result: the address alone when the name is empty, else "name" <address>. */
static int put_named(Out *o, Text name, Text addr) {
  size_t mark = o->n;
  put(o, "\"", 1);
  if (!put_display(o, name)) return 0;
  if (o->n == mark + 1) {
    o->n = mark;
    put(o, addr.p, addr.n);
    return 1;
  }
  put(o, "\" <", 3);
  put(o, addr.p, addr.n);
  put(o, ">", 1);
  return 1;
}

/* "<inner>" then only whitespace: inner's text; .p NULL otherwise. */
static Text angle(const unsigned char *lt, const unsigned char *end) {
  const unsigned char *gt = memchr(lt, '>', (size_t)(end - lt));
  if (!gt || ws_trimmed((Text){gt + 1, (size_t)(end - gt - 1)}).n > 0) return (Text){NULL, 0};
  return (Text){lt + 1, (size_t)(gt - lt - 1)};
}

/* plainAddress: BARE, NAMED, QUOTED or COMMENTED; 0 for any other part. */
static int plain_address(Text part, Out *o) {
  Text t = ws_trimmed(part);
  if (t.n == 0) return 0;
  const unsigned char *end = t.p + t.n;
  if (is_addr(t)) return put(o, t.p, t.n), 1;
  if (t.p[0] == '<' && t.p[t.n - 1] == '>' && is_addr((Text){t.p + 1, t.n - 2})) return put(o, t.p + 1, t.n - 2), 1;
  if (t.p[0] == '"') {
    const unsigned char *close = memchr(t.p + 1, '"', t.n - 1);
    if (!close) return 0;
    for (const unsigned char *q = t.p + 1; q < close; q++)
      if (*q < 0x20 || *q > 0x7e || *q == '\\') return 0;
    Text rest = ws_trimmed((Text){close + 1, (size_t)(end - close - 1)});
    if (rest.n == 0 || rest.p[0] != '<') return 0;
    Text addr = angle(rest.p, end);
    return addr.p && is_addr(addr) && put_named(o, (Text){t.p + 1, (size_t)(close - t.p - 1)}, addr);
  }
  const unsigned char *lt = memchr(t.p, '<', t.n);
  if (lt) {
    Text name = ws_trimmed((Text){t.p, (size_t)(lt - t.p)});
    Text addr = angle(lt, end);
    return is_display(name) && addr.p && is_addr(addr) && put_named(o, name, addr);
  }
  const unsigned char *open = memchr(t.p, '(', t.n);
  if (!open || t.p[t.n - 1] != ')') return 0;
  Text addr = ws_trimmed((Text){t.p, (size_t)(open - t.p)});
  Text name = {open + 1, t.n - (size_t)(open - t.p) - 2};
  if (memchr(name.p, ')', name.n) || !is_addr(addr) || !is_display(name)) return 0;
  return put_named(o, name, addr);
}

/* localAddress: the domain-less shapes of bounces; 0 for any other value. */
static int local_address(Text value, Out *o) {
  Text t = ws_trimmed(value);
  if (t.n == 0) return 0;
  const unsigned char *end = t.p + t.n;
  Text local = {NULL, 0};
  if (t.p[0] == '<') {
    if (t.p[t.n - 1] != '>') return 0;
    local = (Text){t.p + 1, t.n - 2};
  } else if (!memchr(t.p, '<', t.n)) local = t;
  if (local.p) {
    if (!all_local(local)) return 0;
    if (local.n == 0) return 1;
    put(o, "\"", 1), put(o, local.p, local.n), put(o, "\"", 1);
    return 1;
  }
  const unsigned char *lt = memchr(t.p, '<', t.n);
  Text name = ws_trimmed((Text){t.p, (size_t)(lt - t.p)});
  Text inner = angle(lt, end);
  if (!is_display(name) || !inner.p || !all_local(inner)) return 0;
  put(o, "\"", 1);
  Text shown = {o->p + o->n, o->n};
  if (!put_display(o, name)) return 0;
  shown.n = o->n - shown.n;
  /* The parser gives a name that is its address once: left to it. */
  if (shown.n == inner.n && memcmp(shown.p, inner.p, inner.n) == 0) return 0;
  put(o, "\"", 1);
  if (inner.n > 0) put(o, " <", 2), put(o, inner.p, inner.n), put(o, ">", 1);
  return 1;
}

/* addressText's patterns; 0 where the value needs the parser (or the encoded-word path). */
static int address_value(Text v, Out *o) {
  if (v.n == 0) return 1;
  for (size_t i = 0; i < v.n; i++)
    if ((v.p[i] < 0x20 || v.p[i] > 0x7e) && v.p[i] != '\t') return 0;
  if (contains(v, "xn--") || contains(v, "=?")) return 0;
  if (!memchr(v.p, '@', v.n)) {
    size_t mark = o->n;
    if (local_address(v, o)) return 1;
    o->n = mark;
  }
  if (memchr(v.p, '"', v.n)) return plain_address(v, o);
  const unsigned char *end = v.p + v.n;
  for (const unsigned char *part = v.p;;) {
    const unsigned char *comma = memchr(part, ',', (size_t)(end - part));
    const unsigned char *stop = comma ? comma : end;
    if (part != v.p) put(o, ", ", 2);
    if (!plain_address((Text){part, (size_t)(stop - part)}, o)) return 0;
    if (!comma) return 1;
    part = comma + 1;
  }
}

/* ---- Encoded words (RFC 2047), as libmime's decodeWords reads them ---- */

typedef enum { CS_NONE, CS_UTF8, CS_ASCII, CS_LATIN1, CS_WINDOWS1252, CS_LATIN9 } Charset;

typedef struct {
  Charset charset;
  unsigned char encoding; /* 'B' or 'Q' */
  Text text;
  size_t length; /* of the whole word, "=?" to "?=" */
} Word;

static int same_ci(const unsigned char *p, size_t n, const char *name) {
  if (strlen(name) != n) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
    if (c != (unsigned char)name[i]) return 0;
  }
  return 1;
}

/*
 * The word at p ("=?charset?B|Q?text?=") when it is one of the plain kind decoded here: a
 * charset named utf-8, us-ascii, iso-8859-1, iso-8859-15 or windows-1252, and text of
 * printable ASCII without spaces. Anything else (other charsets, a language tag, spaces in
 * the text) is left to libmime.
 */
static int word_at(const unsigned char *p, const unsigned char *end, Word *w) {
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
static int decoded_words(Text v, int utf8, Out *o) {
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

/*
 * addressText's encoded display name: only encoded words (of the pattern's characters,
 * between optional quotes), then <local@domain>. The words decoded as libmime decodes them,
 * the name quoted with its quotes and backslashes escaped, then decode()'s whitespace rule.
 * Returns the text (malloc'ed, UTF-8; the caller frees it) and sets *len; NULL where the
 * value has another shape, a word not of the plain kind, or text decode() would read again.
 */
static unsigned char *encoded_name(Text v, size_t *len) {
  for (size_t i = 0; i < v.n; i++)
    if ((v.p[i] < 0x20 || v.p[i] > 0x7e) && v.p[i] != '\t') return NULL;
  if (contains(v, "xn--")) return NULL;
  Text t = ws_trimmed(v);
  const unsigned char *p = t.p, *end = t.p + t.n;
  int quoted = p < end && *p == '"';
  const unsigned char *words = p += quoted;
  for (;;) {
    /* WORD: =?[A-Za-z0-9_-]+?[BbQq]?[A-Za-z0-9+/=_-]*?= */
    if (end - p < 2 || p[0] != '=' || p[1] != '?') return NULL;
    const unsigned char *q = p + 2, *name = q;
    while (q < end && (is_alnum(*q) || *q == '_' || *q == '-')) q++;
    if (q == name || end - q < 3 || q[0] != '?' || !strchr("BbQq", q[1]) || !q[1] || q[2] != '?') return NULL;
    for (q += 3; q < end && (is_alnum(*q) || (*q && strchr("+/=_-", *q))); q++) {
    }
    if (end - q < 2 || q[0] != '?' || q[1] != '=') return NULL;
    p = q + 2;
    const unsigned char *gap = p;
    while (gap < end && is_ws(*gap)) gap++;
    if (gap == p || end - gap < 2 || gap[0] != '=' || gap[1] != '?') break;
    p = gap;
  }
  Text word_text = {words, (size_t)(p - words)};
  if (quoted && (p >= end || *p++ != '"')) return NULL;
  while (p < end && is_ws(*p)) p++;
  if (p >= end || *p != '<') return NULL;
  Text addr = angle(p, end);
  if (!addr.p || !is_addr(addr)) return NULL;
  /* Decoded words at most 9 bytes of 4, each byte escaped at most to 2; quotes, brackets. */
  size_t room = 5 * word_text.n + addr.n + 16;
  unsigned char *buf = malloc(2 * room);
  if (!buf) return NULL;
  Out decoded = {buf + room, 0};
  Out o = {buf, 0};
  if (!decoded_words(word_text, 1, &decoded)) goto other;
  if (decoded.n == 0) put(&o, addr.p, addr.n);
  else {
    put(&o, "\"", 1);
    for (size_t i = 0; i < decoded.n; i++) {
      if (decoded.p[i] == '"' || decoded.p[i] == '\\') o.p[o.n++] = '\\';
      o.p[o.n++] = decoded.p[i];
    }
    put(&o, "\" <", 3);
    put(&o, addr.p, addr.n);
    put(&o, ">", 1);
  }
  if (contains((Text){o.p, o.n}, "=?")) goto other;
  Text out = collapsed((Text){o.p, o.n}, 1, o.p);
  memmove(buf, out.p, out.n);
  *len = out.n;
  return buf;
other:
  free(buf);
  return NULL;
}

/* ---- Attachments ---- */

static int starts_ci(Text t, const char *prefix) {
  size_t k = strlen(prefix);
  if (t.n < k) return 0;
  for (size_t i = 0; i < k; i++) {
    unsigned char c = t.p[i];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != (unsigned char)prefix[i]) return 0;
  }
  return 1;
}

/* 1, 0, or -1 for null: parseHeaders' rule on the top-level Content-Type and -Disposition. */
static int has_attachments(Text type, Text disposition) {
  if (starts_ci(disposition, "attachment")) return 1;
  if (starts_ci(type, "multipart/mixed") || starts_ci(type, "multipart/report") || starts_ci(type, "multipart/related")) return 1;
  if (type.n == 0 || starts_ci(type, "text/") || starts_ci(type, "multipart/alternative")) return 0;
  return -1;
}

/* ---- The call ---- */

static napi_value text_value(napi_env env, Text t, int utf8) {
  napi_value v;
  if (utf8) napi_create_string_utf8(env, (const char *)t.p, t.n, &v);
  else napi_create_string_latin1(env, (const char *)t.p, t.n, &v);
  return v;
}

static napi_value index_fields(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data;
  size_t n;
  bool is_array = false;
  if (argc < 2 || napi_get_buffer_info(env, argv[0], &data, &n) != napi_ok || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "indexFields(block, out)");
    return NULL;
  }
  if (n > INT32_MAX) {
    napi_throw_range_error(env, NULL, "indexFields: a header block over 2 GB");
    return NULL;
  }
  pthread_once(&wanted_once, wanted_init);
  int32_t spans[2 * F_COUNT];
  const unsigned char *p = data;
  int utf8 = header_spans(p, n, 1, &wanted, spans) == 1;
  /*
   * Room for any field's work: unfolding never grows a value, an address list at most
   * doubles, decoding words at most makes 9 bytes of 4 (a euro sign a byte of base64).
   */
  unsigned char *scratch = malloc(4 * n + 64);
  if (!scratch) {
    napi_throw_error(env, NULL, "indexFields: out of memory");
    return NULL;
  }
  unsigned char *work = scratch + n + 16;
  Text values[F_COUNT];
  int present[F_COUNT];
  /* Each value is unfolded into its own part of the scratch: the sum of the spans is at most n. */
  size_t used = 0;
  for (int k = 0; k < F_COUNT; k++) {
    present[k] = spans[2 * k] >= 0;
    values[k] = present[k] ? unfold(p + spans[2 * k], (size_t)(spans[2 * k + 1] - spans[2 * k]), utf8, scratch + used) : (Text){scratch, 0};
    if (present[k]) used += (size_t)(spans[2 * k + 1] - spans[2 * k]);
  }
  napi_value undefined, null_value;
  napi_get_undefined(env, &undefined);
  napi_get_null(env, &null_value);
  int32_t done = 0;
  for (int k = 0; k < SLOTS - 1; k++) {
    Text v = values[k];
    napi_value out = NULL;
    Out o = {work, 0};
    if (k == F_DATE) {
      double ms;
      if (!present[k] || v.n == 0) out = null_value;
      else if (date_value(v, work, &ms)) napi_create_double(env, ms, &out);
    } else if (k <= F_CC) {
      size_t len;
      unsigned char *named;
      if (!present[k] || address_value(v, &o)) out = text_value(env, (Text){o.p, o.n}, 0);
      else if (contains(v, "=?") && (named = encoded_name(v, &len)) != NULL) {
        out = text_value(env, (Text){named, len}, 1);
        free(named);
      }
    } else if (k == F_SUBJECT || k == F_REFERENCES) {
      if (k == F_REFERENCES || !contains(v, "=?")) out = text_value(env, collapsed(v, utf8, work), utf8);
      else if (decoded_words(v, utf8, &o)) out = text_value(env, collapsed((Text){o.p, o.n}, 1, work), 1);
    } else out = text_value(env, v, utf8);
    if (out) done |= 1 << k;
    else out = present[k] ? text_value(env, v, utf8) : undefined;
    napi_set_element(env, argv[1], (uint32_t)k, out);
  }
  int attached = has_attachments(values[F_TYPE], values[F_DISPOSITION]);
  napi_value flag = null_value;
  if (attached >= 0) napi_get_boolean(env, attached == 1, &flag);
  napi_set_element(env, argv[1], SLOTS - 1, flag);
  free(scratch);
  napi_value result;
  napi_create_int32(env, done | 1 << (SLOTS - 1), &result);
  return result;
}

/* Adds indexFields to the addon's exports. */
void index_fields_register(napi_env env, napi_value exports) {
  export_function(env, exports, "indexFields", index_fields);
}
