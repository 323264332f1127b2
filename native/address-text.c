/*
 * The address fields of native/index-fields.c: addressText's patterns (src/index/headers.ts)
 * for plain ASCII values, and its encoded display name. Each function returns 0 (or NULL)
 * for any value it does not make exactly as headers.ts would; that value goes to JavaScript.
 */
#include <stdlib.h>
#include <string.h>

#include "index-text.h"

static int is_local(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}
static int is_name(unsigned char c) { return is_alnum(c) || c == ' ' || c == '.' || c == '\'' || c == '-'; }

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
int address_value(Text v, Out *o) {
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

/*
 * addressText's encoded display name: only encoded words (of the pattern's characters,
 * between optional quotes), then <local@domain>. The words decoded as libmime decodes them,
 * the name quoted with its quotes and backslashes escaped, then decode()'s whitespace rule.
 * Returns the text (malloc'ed, UTF-8; the caller frees it) and sets *len; NULL where the
 * value has another shape, a word not of the plain kind, or text decode() would read again.
 */
unsigned char *encoded_name(Text v, size_t *len) {
  for (size_t i = 0; i < v.n; i++)
    if ((v.p[i] < 0x20 || v.p[i] > 0x7e) && v.p[i] != '\t') return NULL;
  if (contains(v, "xn--")) return NULL;
  Text t = ws_trimmed(v);
  const unsigned char *p = t.p, *end = t.p + t.n;
  int quoted = p < end && *p == '"';
  const unsigned char *words = p += quoted;
  for (;;) {
    /* WORD: =?[A-Za-z0-9_-]+?[BbQq]?[A-Za-z0-9+/=_-]*?=, of a charset decoded here. */
    Word w;
    if (!word_at(p, end, &w)) return NULL;
    for (size_t i = 0; i < w.text.n; i++)
      if (!is_alnum(w.text.p[i]) && !strchr("+/=_-", w.text.p[i])) return NULL;
    p += w.length;
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
