/*
 * What native/index-fields.c and its helpers (address-text.c, encoded-words.c) share: a piece
 * of header text, an output being built, and the whitespace rules of JavaScript's trim() and
 * \s on the text as the block reads (header-fields.h's space_at).
 */
#ifndef MAILSTORE_INDEX_TEXT_H
#define MAILSTORE_INDEX_TEXT_H

#include <stddef.h>
#include <string.h>

#include "header-fields.h"

/* A text and its length; the unfolded value of a field, or a piece of one. */
typedef struct {
  const unsigned char *p;
  size_t n;
} Text;

static inline Text trimmed(Text t, int utf8) {
  size_t s;
  while (t.n > 0 && (s = space_at(t.p, t.n, utf8)) > 0) t.p += s, t.n -= s;
  while (t.n > 0 && (s = space_before(t.p, t.n, utf8)) > 0) t.n -= s;
  return t;
}

/* An output under construction, in room its caller made large enough (index_fields' scratch). */
typedef struct {
  unsigned char *p;
  size_t n;
} Out;

static inline void put(Out *o, const void *p, size_t n) {
  memcpy(o->p + o->n, p, n);
  o->n += n;
}

static inline int is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* Whitespace in the ASCII-only values (addresses): JavaScript's \s there is space and tab. */
static inline int is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

/* value.replace(/\s+/g, " ").trim(), written into out. */
static inline Text collapsed(Text t, int utf8, unsigned char *out) {
  size_t len = 0, s;
  for (size_t i = 0; i < t.n;) {
    if ((s = space_at(t.p + i, t.n - i, utf8)) > 0) {
      while (i < t.n && (s = space_at(t.p + i, t.n - i, utf8)) > 0) i += s;
      out[len++] = ' ';
    } else out[len++] = t.p[i++];
  }
  return trimmed((Text){out, len}, utf8);
}

static inline int contains(Text t, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= t.n; i++)
    if (memcmp(t.p + i, needle, k) == 0) return 1;
  return 0;
}

/* addressText's patterns for an ASCII value (address-text.c); 0 where it needs the parser. */
int address_value(Text v, Out *o);

/* addressText's encoded display name (address-text.c): malloc'ed UTF-8 text, or NULL. */
unsigned char *encoded_name(Text v, size_t *len);

typedef enum { CS_NONE, CS_UTF8, CS_ASCII, CS_LATIN1, CS_WINDOWS1252, CS_LATIN9, CS_ISO2022JP } Charset;

typedef struct {
  Charset charset;
  unsigned char encoding; /* 'B' or 'Q' */
  Text text;
  size_t length; /* of the whole word, "=?" to "?=" */
} Word;

/*
 * The word at p ("=?charset?B|Q?text?=") when it is one of the plain kind decoded here: a
 * charset named utf-8, us-ascii, iso-8859-1, iso-8859-15 or windows-1252, and text of
 * printable ASCII without spaces. Anything else (other charsets, a language tag, spaces in
 * the text) is left to libmime (encoded-words.c).
 */
int word_at(const unsigned char *p, const unsigned char *end, Word *w);

/* decode() of a value holding encoded words, as UTF-8 in o (encoded-words.c); 0 if left to libmime. */
int decoded_words(Text v, int utf8, Out *o);

/*
 * One of the index's fields as index_fields_of makes it: text (Latin-1 or UTF-8 as `utf8`
 * says), a number (the date's ms; the attachment flag's 1 or 0), null, or none (absent, for
 * JavaScript's undefined). The text lies in memory the call owns: a sink copies what it keeps.
 */
typedef enum { FV_NONE, FV_TEXT, FV_NUMBER, FV_NULL } FieldKind;
typedef struct {
  FieldKind kind;
  Text text;
  int utf8;
  double number;
} FieldValue;

/* Slots: date, from, to, cc, subject, message-id, in-reply-to, references, has-attachments. */
#define FIELD_SLOTS 9

typedef void (*FieldSink)(void *ctx, int slot, const FieldValue *value);

/*
 * The index's fields of the header block p[0..n), each handed to sink in slot order: final
 * where bit k of the result is set, else the field's unfolded value for JavaScript to finish
 * (index-fields.c). -1 when out of memory.
 */
int index_fields_of(const unsigned char *p, size_t n, FieldSink sink, void *ctx);

#endif
