/*
 * indexFields(block, out): the index's header fields of one message, as parseHeaders in
 * src/index/headers.ts makes them, for the shapes nearly every message has. The rules are
 * that file's; test/index/index-fields.test.ts holds the two to the same results on the
 * fixtures and on random blocks. The address fields are in address-text.c, encoded words in
 * encoded-words.c.
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
 * index_fields_of (index-text.h) is the same work for C callers: each field handed to a sink,
 * as fed-rows.c takes them into the feed's SQL statement.
 *
 * Why native: ~10 us a message in JavaScript (regular expressions, Date.parse, the strings
 * they make), paid for every message a migration indexes, on a core the migration needs.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index-text.h"
#include "napi-util.h"

enum { F_DATE, F_FROM, F_TO, F_CC, F_SUBJECT, F_MESSAGE_ID, F_IN_REPLY_TO, F_REFERENCES, F_TYPE, F_DISPOSITION, F_COUNT };

static Wanted wanted;
static pthread_once_t wanted_once = PTHREAD_ONCE_INIT;

static void wanted_init(void) {
  static const char spec[] = "date,from,to,cc,subject,message-id,in-reply-to,references,content-type,content-disposition";
  wanted_names(spec, sizeof spec - 1, &wanted);
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

/* ---- The fields of one block ---- */

int index_fields_of(const unsigned char *p, size_t n, FieldSink sink, void *ctx) {
  pthread_once(&wanted_once, wanted_init);
  int32_t spans[2 * F_COUNT];
  int utf8 = header_spans(p, n, 1, &wanted, spans) == 1;
  /*
   * Room for any field's work: unfolding never grows a value, an address list at most
   * doubles, decoding words at most makes 9 bytes of 4 (a euro sign a byte of base64).
   */
  unsigned char *scratch = malloc(4 * n + 64);
  if (!scratch) return -1;
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
  int done = 0;
  for (int k = 0; k < FIELD_SLOTS - 1; k++) {
    Text v = values[k];
    FieldValue out = {FV_NONE, {NULL, 0}, 0, 0};
    Out o = {work, 0};
    unsigned char *named = NULL;
    if (k == F_DATE) {
      if (!present[k] || v.n == 0) out.kind = FV_NULL;
      else if (date_value(v, work, &out.number)) out.kind = FV_NUMBER;
    } else if (k <= F_CC) {
      size_t len;
      if (!present[k] || address_value(v, &o)) out = (FieldValue){FV_TEXT, {o.p, o.n}, 0, 0};
      else if (contains(v, "=?") && (named = encoded_name(v, &len)) != NULL) out = (FieldValue){FV_TEXT, {named, len}, 1, 0};
    } else if (k == F_SUBJECT || k == F_REFERENCES) {
      if (k == F_REFERENCES || !contains(v, "=?")) out = (FieldValue){FV_TEXT, collapsed(v, utf8, work), utf8, 0};
      else if (decoded_words(v, utf8, &o)) out = (FieldValue){FV_TEXT, collapsed((Text){o.p, o.n}, 1, work), 1, 0};
    } else out = (FieldValue){FV_TEXT, v, utf8, 0};
    if (out.kind != FV_NONE) done |= 1 << k;
    else out = present[k] ? (FieldValue){FV_TEXT, v, utf8, 0} : (FieldValue){FV_NONE, {NULL, 0}, 0, 0};
    sink(ctx, k, &out);
    free(named);
  }
  int attached = has_attachments(values[F_TYPE], values[F_DISPOSITION]);
  FieldValue flag = {attached >= 0 ? FV_NUMBER : FV_NULL, {NULL, 0}, 0, attached == 1};
  sink(ctx, FIELD_SLOTS - 1, &flag);
  free(scratch);
  return done | 1 << (FIELD_SLOTS - 1);
}

/* ---- The call ---- */

typedef struct {
  napi_env env;
  napi_value out;
} JsSink;

/* Each field into out[k]: a string, a number (the date), a boolean (attachments), null or undefined. */
static void js_sink(void *ctx, int k, const FieldValue *v) {
  JsSink *s = ctx;
  napi_value value;
  if (v->kind == FV_TEXT && v->utf8) napi_create_string_utf8(s->env, (const char *)v->text.p, v->text.n, &value);
  else if (v->kind == FV_TEXT) napi_create_string_latin1(s->env, (const char *)v->text.p, v->text.n, &value);
  else if (v->kind == FV_NUMBER && k == FIELD_SLOTS - 1) napi_get_boolean(s->env, v->number != 0, &value);
  else if (v->kind == FV_NUMBER) napi_create_double(s->env, v->number, &value);
  else if (v->kind == FV_NULL) napi_get_null(s->env, &value);
  else napi_get_undefined(s->env, &value);
  napi_set_element(s->env, s->out, (uint32_t)k, value);
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
  JsSink sink = {env, argv[1]};
  int done = index_fields_of(data, n, js_sink, &sink);
  if (done < 0) {
    napi_throw_error(env, NULL, "indexFields: out of memory");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, done, &result);
  return result;
}

/* Adds indexFields to the addon's exports. */
void index_fields_register(napi_env env, napi_value exports) {
  export_function(env, exports, "indexFields", index_fields);
}
