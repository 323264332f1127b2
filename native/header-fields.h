/* The header-block walk of native/header-fields.c, for the addon's other C files. */
#ifndef MAILSTORE_HEADER_FIELDS_H
#define MAILSTORE_HEADER_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#define MAX_NAMES 32
#define MAX_NAME 64

typedef struct {
  char names[MAX_NAMES][MAX_NAME];
  size_t lens[MAX_NAMES];
  int count;
  /* By a name's first byte (lower-cased): the wanted names that may start so, a bit each. */
  uint32_t by_first[256];
} Wanted;

/* The lower-case names from "a,b,c"; 0 when there are too many or one is empty or too long. */
int wanted_names(const char *spec, size_t spec_len, Wanted *w);

/*
 * Sets spans[2k], spans[2k+1] to the byte range of wanted name k's value in p[0..n) (or -1,
 * -1); returns how the block reads: 0 Latin-1, 1 UTF-8, 2 ASCII (mode 0 always reads Latin-1).
 */
int header_spans(const unsigned char *p, size_t n, int mode, const Wanted *w, int32_t *spans);

/* 2 when p[0..n) is all ASCII, 1 when it is other UTF-8 that TextDecoder's fatal mode accepts, else 0. */
int utf8_kind(const unsigned char *p, size_t n);

/* Length of the whitespace (as JavaScript's trim() sees it) at p[0..n), 0 if none; utf8 selects the reading. */
size_t space_at(const unsigned char *p, size_t n, int utf8);

/* The same, for whitespace that ends at p[n - 1]. */
size_t space_before(const unsigned char *p, size_t n, int utf8);

#endif
