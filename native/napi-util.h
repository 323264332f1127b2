/* Argument and error helpers the addon's C files share (native/napi-util.c). */
#ifndef MAILSTORE_NAPI_UTIL_H
#define MAILSTORE_NAPI_UTIL_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* The errno's symbolic name, as Node's fs errors carry it in `code` (EIO for the rest). */
const char *errno_code(int err);

/* Throws an Error "<path>: <strerror>" with the errno's code; returns NULL for the caller to return. */
napi_value throw_errno(napi_env env, int err, const char *path);

/* A string argument into a caller's buffer; 0 (and a TypeError thrown) when missing or too long. */
int path_arg(napi_env env, napi_value value, char *out, size_t size);

/*
 * The first n strings of a JS array copied into C strings (*out: n of them, calloc'ed, each
 * malloc'ed); 0 (and an error thrown) on a bad element. Free with free_strings, also on failure.
 */
int string_array(napi_env env, napi_value array, size_t n, char ***out);
void free_strings(char **strings, size_t n);

/* A typed array of the type wanted with at least n elements; 0 (and a TypeError thrown) otherwise. */
int typed_array(napi_env env, napi_value value, napi_typedarray_type want, size_t n, void **data);

/*
 * A buffer argument and a range of it (from, to), clamped to the buffer; 0 when an argument
 * is missing or of the wrong type (the caller throws, naming its own call).
 */
int buffer_range(napi_env env, const napi_value *argv, const unsigned char **data, int64_t *from, int64_t *to);

/* Sets exports[name] to a new function calling fn. */
void export_function(napi_env env, napi_value exports, const char *name, napi_callback fn);

/* A new Float64Array holding a copy of values[0..n). */
napi_value float64_array(napi_env env, const double *values, size_t n);

#endif
