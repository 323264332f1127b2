/* Argument and error helpers the addon's C files share: see napi-util.h. */
#include "napi-util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *errno_code(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EXDEV: return "EXDEV";
    case EBUSY: return "EBUSY";
    case EROFS: return "EROFS";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    default: return "EIO";
  }
}

void export_function(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value function;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &function);
  napi_set_named_property(env, exports, name, function);
}

napi_value throw_errno(napi_env env, int err, const char *path) {
  char message[8500];
  snprintf(message, sizeof message, "%s: %s", path, strerror(err));
  napi_throw_error(env, errno_code(err), message);
  return NULL;
}

int path_arg(napi_env env, napi_value value, char *out, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, out, size, &len) != napi_ok || len >= size - 1) {
    napi_throw_type_error(env, NULL, "expected a path shorter than 4095 bytes");
    return 0;
  }
  return 1;
}

int string_array(napi_env env, napi_value array, size_t n, char ***out) {
  *out = calloc(n ? n : 1, sizeof(char *));
  if (!*out) {
    throw_errno(env, ENOMEM, "names");
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    napi_value v;
    size_t len;
    napi_get_element(env, array, (uint32_t)i, &v);
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len >= 4096) {
      napi_throw_type_error(env, NULL, "expected an array of names");
      return 0;
    }
    (*out)[i] = malloc(len + 1);
    if (!(*out)[i]) {
      throw_errno(env, ENOMEM, "names");
      return 0;
    }
    napi_get_value_string_utf8(env, v, (*out)[i], len + 1, &len);
  }
  return 1;
}

int typed_array(napi_env env, napi_value value, napi_typedarray_type want, size_t n, void **data) {
  napi_typedarray_type type;
  size_t length;
  if (napi_get_typedarray_info(env, value, &type, &length, data, NULL, NULL) != napi_ok || type != want || length < n) {
    napi_throw_type_error(env, NULL, "bad typed array argument");
    return 0;
  }
  return 1;
}

napi_value float64_array(napi_env env, const double *values, size_t n) {
  napi_value buffer, array;
  void *data;
  if (napi_create_arraybuffer(env, n * sizeof(double), &data, &buffer) != napi_ok) return NULL;
  if (n) memcpy(data, values, n * sizeof(double));
  if (napi_create_typedarray(env, napi_float64_array, n, buffer, 0, &array) != napi_ok) return NULL;
  return array;
}

void free_strings(char **strings, size_t n) {
  if (!strings) return;
  for (size_t i = 0; i < n; i++) free(strings[i]);
  free(strings);
}

int buffer_range(napi_env env, const napi_value *argv, const unsigned char **data, int64_t *from, int64_t *to) {
  void *bytes;
  size_t len;
  if (napi_get_buffer_info(env, argv[0], &bytes, &len) != napi_ok || napi_get_value_int64(env, argv[1], from) != napi_ok || napi_get_value_int64(env, argv[2], to) != napi_ok) return 0;
  if (*from < 0) *from = 0;
  if (*to > (int64_t)len) *to = (int64_t)len;
  *data = bytes;
  return 1;
}
