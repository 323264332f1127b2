/*
 * mailstore_fed(names, numbers, headers): the index rows of a batch of delivered messages,
 * as a table-valued function inside better-sqlite3's own SQLite (loaded into a connection as
 * an extension: src/index/fed-rows.ts). The index feed adds a batch with one statement,
 * INSERT INTO messages ... SELECT ... FROM mailstore_fed(?, ?, ?), instead of a JavaScript
 * call, a row object and eighteen bound values a message.
 *
 * The batch (src/index/fed-rows.ts's FedBatch): names "/"-joined; per message four doubles
 * (bit 0: in cur/, else new/; bit 1: the file could not be read; size; mtime in ms; where
 * its header block ends); the header blocks back to back. A row is what readMessage
 * (src/index/rows.ts) makes of the message: base, subdir and info from the name, the ",S="
 * size, the fields index_fields_of makes, and `broken` when the file could not be read or
 * its block holds no header field line. A field the addon leaves
 * to JavaScript comes as its unfolded value with its bit set in `left` (bit k for slot k of
 * index-text.h), for the statement to finish with the function the feed registers.
 *
 * A batch it cannot read exactly (malformed, or a ",S=" too long for a double to hold
 * exactly as JavaScript's Number() reads it) fails the statement before its first row, with
 * an error beginning "mailstore_fed:", so the feed adds that batch the JavaScript way.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3ext.h>

#include "index-text.h"

SQLITE_EXTENSION_INIT1

enum {
  COL_SEQ,
  COL_BASE,
  COL_SUBDIR,
  COL_INFO,
  COL_FLAGS,
  COL_SIZE,
  COL_RECEIVED,
  COL_FIELDS, /* the FIELD_SLOTS fields, date to has_attachments */
  COL_BROKEN = COL_FIELDS + FIELD_SLOTS,
  COL_LEFT,
  COL_NAMES,
  COL_NUMBERS,
  COL_HEADERS,
};

typedef struct {
  sqlite3_vtab base;
} FedTable;

/* A field's value as the row holds it: text as UTF-8 at `at` in the cursor's store. */
typedef struct {
  FieldKind kind;
  size_t at, n;
  double number;
} Held;

typedef struct {
  sqlite3_vtab_cursor base;
  char *names;
  double *numbers;
  /* The statement's own argument: valid while the statement runs (json_each relies on the same). */
  const unsigned char *headers;
  size_t count, headers_n;
  /* Where each name starts in names (count + 1 entries: the last one past the end, after a "/"). */
  size_t *name_at;
  size_t row;
  /* The current row. */
  size_t header_start, base_n, info_at;
  int broken, left;
  int cur;
  Held fields[FIELD_SLOTS];
  unsigned char *store;
  size_t store_n, store_cap;
  int failed;
} FedCursor;

static int fed_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err) {
  (void)aux, (void)argc, (void)argv, (void)err;
  int rc = sqlite3_declare_vtab(db,
                                "CREATE TABLE x(seq, base, subdir, info, flags, size, received, date, from_addr, to_addr, cc_addr, subject, message_id, in_reply_to, refs,"
                                " has_attachments, broken, left, names HIDDEN, numbers HIDDEN, headers HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  FedTable *t = sqlite3_malloc(sizeof *t);
  if (!t) return SQLITE_NOMEM;
  memset(t, 0, sizeof *t);
  *out = &t->base;
  return SQLITE_OK;
}

static int fed_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

/* The three hidden arguments must all be given, as equalities; they become xFilter's argv. */
static int fed_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  int given = 0;
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->iColumn < COL_NAMES || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) return SQLITE_CONSTRAINT;
    info->aConstraintUsage[i].argvIndex = c->iColumn - COL_NAMES + 1;
    info->aConstraintUsage[i].omit = 1;
    given |= 1 << (c->iColumn - COL_NAMES);
  }
  if (given != 7) {
    sqlite3_free(vtab->zErrMsg);
    vtab->zErrMsg = sqlite3_mprintf("mailstore_fed(names, numbers, headers): three arguments");
    return SQLITE_ERROR;
  }
  info->estimatedCost = 1;
  info->estimatedRows = 64;
  return SQLITE_OK;
}

static int fed_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  (void)vtab;
  FedCursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static void release_batch(FedCursor *c) {
  sqlite3_free(c->names);
  sqlite3_free(c->numbers);
  sqlite3_free(c->name_at);
  c->names = NULL, c->numbers = NULL, c->headers = NULL, c->name_at = NULL;
  c->count = 0, c->row = 0;
}

static int fed_close(sqlite3_vtab_cursor *cursor) {
  FedCursor *c = (FedCursor *)cursor;
  release_batch(c);
  sqlite3_free(c->store);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int read_row(FedCursor *c);

static int refuse(FedCursor *c, const char *why) {
  sqlite3_vtab *vtab = c->base.pVtab;
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("mailstore_fed: %s", why);
  return SQLITE_ERROR;
}

static void *copy_of(sqlite3_value *v, size_t *n) {
  *n = (size_t)sqlite3_value_bytes(v);
  const void *p = sqlite3_value_type(v) == SQLITE_TEXT ? (const void *)sqlite3_value_text(v) : sqlite3_value_blob(v);
  /* One byte more, so an empty value is still an allocation (and text ends in a NUL). */
  unsigned char *copy = sqlite3_malloc64(*n + 1);
  if (!copy) return NULL;
  if (*n) memcpy(copy, p, *n);
  copy[*n] = 0;
  return copy;
}

/* Where the name's ",S=<digits>" size starts (/,S=(\d+)/ in rows.ts), or NULL. */
static const char *size_digits(const char *name, size_t n, size_t *digits) {
  for (size_t i = 0; i + 3 < n; i++) {
    if (name[i] != ',' || name[i + 1] != 'S' || name[i + 2] != '=' || name[i + 3] < '0' || name[i + 3] > '9') continue;
    size_t k = i + 3;
    while (k < n && name[k] >= '0' && name[k] <= '9') k++;
    *digits = k - (i + 3);
    return name + i + 3;
  }
  return NULL;
}

static int fed_filter(sqlite3_vtab_cursor *cursor, int plan, const char *plan_name, int argc, sqlite3_value **argv) {
  (void)plan, (void)plan_name;
  FedCursor *c = (FedCursor *)cursor;
  release_batch(c);
  c->failed = 0;
  if (argc != 3 || sqlite3_value_type(argv[0]) != SQLITE_TEXT || sqlite3_value_type(argv[1]) != SQLITE_BLOB || (sqlite3_value_type(argv[2]) != SQLITE_BLOB && sqlite3_value_bytes(argv[2]) != 0)) return refuse(c, "names text, numbers and headers blobs");
  size_t names_n, numbers_n;
  c->names = copy_of(argv[0], &names_n);
  c->numbers = copy_of(argv[1], &numbers_n);
  if (!c->names || !c->numbers) return SQLITE_NOMEM;
  c->headers_n = (size_t)sqlite3_value_bytes(argv[2]);
  c->headers = c->headers_n ? sqlite3_value_blob(argv[2]) : (const unsigned char *)"";
  if (!c->headers) return SQLITE_NOMEM;
  size_t count = 1;
  for (size_t i = 0; i < names_n; i++) count += c->names[i] == '/';
  if (numbers_n < count * 4 * sizeof(double)) return refuse(c, "fewer numbers than names");
  c->name_at = sqlite3_malloc64((count + 1) * sizeof *c->name_at);
  if (!c->name_at) return SQLITE_NOMEM;
  c->name_at[0] = 0;
  for (size_t i = 0, k = 1; i < names_n; i++)
    if (c->names[i] == '/') c->name_at[k++] = i + 1;
  c->name_at[count] = names_n + 1;
  double end = 0;
  for (size_t i = 0; i < count; i++) {
    const double *m = c->numbers + 4 * i;
    if ((m[0] != 0 && m[0] != 1 && m[0] != 2 && m[0] != 3) || !isfinite(m[1]) || !isfinite(m[2]) || m[3] < end || m[3] > (double)c->headers_n || m[3] != floor(m[3])) return refuse(c, "numbers out of range");
    end = m[3];
    /* The name's size, where it has one, takes the given size's place in (our copy of) the numbers. */
    size_t digits;
    const char *sized = size_digits(c->names + c->name_at[i], c->name_at[i + 1] - 1 - c->name_at[i], &digits);
    if (!sized) continue;
    if (digits > 15) return refuse(c, "a size of more than 15 digits");
    double size = 0;
    for (size_t k = 0; k < digits; k++) size = size * 10 + (sized[k] - '0');
    c->numbers[4 * i + 1] = size;
  }
  c->count = count;
  c->row = 0;
  return read_row(c);
}

/* The sink of index_fields_of: each field kept in the store, text as UTF-8. */
static void keep_field(void *ctx, int slot, const FieldValue *v) {
  FedCursor *c = ctx;
  Held *h = &c->fields[slot];
  h->kind = v->kind, h->number = v->number, h->at = c->store_n, h->n = 0;
  if (v->kind != FV_TEXT || c->failed) return;
  size_t need = c->store_n + 2 * v->text.n;
  if (need > c->store_cap) {
    size_t cap = need * 2 + 256;
    unsigned char *grown = sqlite3_realloc64(c->store, cap);
    if (!grown) {
      c->failed = 1;
      return;
    }
    c->store = grown, c->store_cap = cap;
  }
  unsigned char *out = c->store + c->store_n;
  if (v->utf8) {
    memcpy(out, v->text.p, v->text.n);
    h->n = v->text.n;
  } else {
    for (size_t i = 0; i < v->text.n; i++) {
      unsigned char b = v->text.p[i];
      if (b < 0x80) out[h->n++] = b;
      else out[h->n++] = 0xc0 | b >> 6, out[h->n++] = 0x80 | (b & 0x3f);
    }
  }
  c->store_n += h->n;
}

/* hasHeaderField in rows.ts: a line (after the start, an LF or a CR) matching /^[\x21-\x39\x3b-\x7e]+[ \t]*:/. */
static int has_header_field(const unsigned char *p, size_t n) {
  for (size_t start = 0; start < n;) {
    size_t i = start;
    while (i < n && p[i] >= 0x21 && p[i] <= 0x7e && p[i] != ':') i++;
    if (i > start) {
      while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
      if (i < n && p[i] == ':') return 1;
    }
    while (start < n && p[start] != '\n' && p[start] != '\r') start++;
    start++;
  }
  return 0;
}

/* Reads row c->row into the cursor. */
static int read_row(FedCursor *c) {
  if (c->row >= c->count) return SQLITE_OK;
  const char *name = c->names + c->name_at[c->row];
  size_t name_n = c->name_at[c->row + 1] - 1 - c->name_at[c->row];
  const char *colon = memchr(name, ':', name_n);
  size_t head = colon ? (size_t)(colon - name) : name_n;
  const char *comma = memchr(name, ',', head);
  c->base_n = comma ? (size_t)(comma - name) : head;
  c->info_at = colon ? head + 1 : name_n;
  const double *m = c->numbers + 4 * c->row;
  c->header_start = c->row == 0 ? 0 : (size_t)c->numbers[4 * (c->row - 1) + 3];
  int unread = ((int)m[0] & 2) != 0;
  c->cur = ((int)m[0] & 1) != 0;
  const unsigned char *block = c->headers + c->header_start;
  /* An unread file's fields are those of an empty block. */
  size_t block_n = unread ? 0 : (size_t)m[3] - c->header_start;
  c->store_n = 0;
  int done = index_fields_of(block, block_n, keep_field, c);
  if (done < 0 || c->failed) return SQLITE_NOMEM;
  c->left = ~done & ((1 << FIELD_SLOTS) - 1);
  c->broken = unread || !has_header_field(block, block_n);
  return SQLITE_OK;
}

static int fed_next(sqlite3_vtab_cursor *cursor) {
  FedCursor *c = (FedCursor *)cursor;
  c->row++;
  return read_row(c);
}

static int fed_eof(sqlite3_vtab_cursor *cursor) {
  FedCursor *c = (FedCursor *)cursor;
  return c->row >= c->count;
}

static int fed_column(sqlite3_vtab_cursor *cursor, sqlite3_context *ctx, int col) {
  FedCursor *c = (FedCursor *)cursor;
  const char *name = c->names + c->name_at[c->row];
  size_t name_n = c->name_at[c->row + 1] - 1 - c->name_at[c->row];
  const double *m = c->numbers + 4 * c->row;
  switch (col) {
  case COL_SEQ: sqlite3_result_int64(ctx, (sqlite3_int64)c->row); return SQLITE_OK;
  case COL_BASE: sqlite3_result_text(ctx, name, (int)c->base_n, SQLITE_TRANSIENT); return SQLITE_OK;
  case COL_SUBDIR: sqlite3_result_text(ctx, c->cur ? "cur" : "new", 3, SQLITE_STATIC); return SQLITE_OK;
  case COL_INFO: sqlite3_result_text(ctx, name + c->info_at, (int)(name_n - c->info_at), SQLITE_TRANSIENT); return SQLITE_OK;
  case COL_FLAGS: {
    /* flagLetters: what follows "2," kept to A-Z. */
    const char *info = name + c->info_at;
    size_t info_n = name_n - c->info_at, n = 0;
    char *letters = sqlite3_malloc64(info_n + 1);
    if (!letters) return SQLITE_NOMEM;
    if (info_n >= 2 && info[0] == '2' && info[1] == ',')
      for (size_t i = 2; i < info_n; i++)
        if (info[i] >= 'A' && info[i] <= 'Z') letters[n++] = info[i];
    sqlite3_result_text(ctx, letters, (int)n, sqlite3_free);
    return SQLITE_OK;
  }
  case COL_SIZE: sqlite3_result_double(ctx, m[1]); return SQLITE_OK;
  case COL_RECEIVED: sqlite3_result_double(ctx, m[2]); return SQLITE_OK;
  case COL_BROKEN: sqlite3_result_int(ctx, c->broken); return SQLITE_OK;
  case COL_LEFT: sqlite3_result_int(ctx, c->left); return SQLITE_OK;
  default: break;
  }
  if (col < COL_FIELDS || col >= COL_BROKEN) {
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  const Held *h = &c->fields[col - COL_FIELDS];
  /* Empty text where nothing was stored yet: a NULL pointer would make the value NULL. */
  if (h->kind == FV_TEXT) sqlite3_result_text(ctx, h->n ? (const char *)c->store + h->at : "", (int)h->n, SQLITE_TRANSIENT);
  else if (h->kind == FV_NUMBER && col == COL_FIELDS + FIELD_SLOTS - 1) sqlite3_result_int(ctx, h->number != 0);
  else if (h->kind == FV_NUMBER) sqlite3_result_double(ctx, h->number);
  else sqlite3_result_null(ctx);
  return SQLITE_OK;
}

static int fed_rowid(sqlite3_vtab_cursor *cursor, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((FedCursor *)cursor)->row;
  return SQLITE_OK;
}

static sqlite3_module fed_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: used as mailstore_fed(...), never created as a table */
    .xConnect = fed_connect,
    .xBestIndex = fed_best_index,
    .xDisconnect = fed_disconnect,
    .xDestroy = NULL,
    .xOpen = fed_open,
    .xClose = fed_close,
    .xFilter = fed_filter,
    .xNext = fed_next,
    .xEof = fed_eof,
    .xColumn = fed_column,
    .xRowid = fed_rowid,
};

/*
 * The extension's entry point: the addon file (fsops.node) is both a Node addon and an SQLite
 * extension, and SQLite looks for sqlite3_<file name up to its first dot>_init.
 */
__attribute__((visibility("default"))) int sqlite3_fsops_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)err;
  SQLITE_EXTENSION_INIT2(api);
  return sqlite3_create_module(db, "mailstore_fed", &fed_module, NULL);
}
