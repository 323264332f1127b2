/*
 * mailstore's native helpers (Linux): the addon's entry point, and scanDir.
 * (Delivery jobs: delivery.c; checksums, framing and header parsing: their own files.)
 *
 * scanDir(path): one directory's entries with each entry's lstat, in one call.
 *
 * Why native: a report stats every file of a mail tree (hard links must be counted once,
 * and only a stat tells a link). From JavaScript each fs.lstatSync costs a full path
 * lookup plus four Date objects; here it is fstatat() relative to the open directory, as
 * du does. Nothing is followed: the directory is opened O_NOFOLLOW and entries are
 * lstat'ed (AT_SYMLINK_NOFOLLOW).
 *
 * Returns { dir: Float64Array[dev, ino, mtimeSec, mtimeNsec, blocks],
 *           names: string[], types: Uint8Array, stats: Float64Array } where stats holds
 * seven numbers per entry: size, blocks*512, nlink, ino, mtime (ms), 0 or an errno when
 * the entry could not be lstat'ed, and ctime (ms). types: 1 file, 2 directory, 3 symlink, 4 other,
 * 0 gone (removed between listing and lstat). Throws with the errno's code on failure to
 * open or read the directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "napi-util.h"

#define STATS_PER_ENTRY 7

typedef struct {
  char **names;
  unsigned char *types;
  double *stats;
  size_t count, capacity;
} Entries;

static void entries_free(Entries *e) {
  for (size_t i = 0; i < e->count; i++) free(e->names[i]);
  free(e->names);
  free(e->types);
  free(e->stats);
}

static int entries_grow(Entries *e) {
  size_t cap = e->capacity ? e->capacity * 2 : 256;
  char **names = realloc(e->names, cap * sizeof(char *));
  if (!names) return -1;
  e->names = names;
  unsigned char *types = realloc(e->types, cap);
  if (!types) return -1;
  e->types = types;
  double *stats = realloc(e->stats, cap * STATS_PER_ENTRY * sizeof(double));
  if (!stats) return -1;
  e->stats = stats;
  e->capacity = cap;
  return 0;
}





static napi_value scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  if (argc < 1 || !path_arg(env, argv[0], path, sizeof path)) return NULL;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, path);
  struct stat dst;
  if (fstat(fd, &dst) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, path);
  }
  DIR *dir = fdopendir(fd);
  if (!dir) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, path);
  }
  Entries e = {0};
  struct dirent *ent;
  errno = 0;
  while ((ent = readdir(dir)) != NULL) {
    if (ent->d_name[0] == '.' && (ent->d_name[1] == 0 || (ent->d_name[1] == '.' && ent->d_name[2] == 0))) continue;
    if (e.count == e.capacity && entries_grow(&e) != 0) {
      closedir(dir);
      entries_free(&e);
      return throw_errno(env, ENOMEM, path);
    }
    size_t i = e.count;
    e.names[i] = strdup(ent->d_name);
    double *s = e.stats + i * STATS_PER_ENTRY;
    memset(s, 0, STATS_PER_ENTRY * sizeof(double));
    struct stat st;
    if (fstatat(fd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        e.types[i] = 0;
      } else {
        e.types[i] = 4;
        s[5] = errno;
      }
    } else {
      e.types[i] = S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : S_ISLNK(st.st_mode) ? 3 : 4;
      s[0] = (double)st.st_size;
      s[1] = (double)st.st_blocks * 512;
      s[2] = (double)st.st_nlink;
      s[3] = (double)st.st_ino;
      s[4] = (double)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1e6;
      s[6] = (double)st.st_ctim.tv_sec * 1000 + st.st_ctim.tv_nsec / 1e6;
    }
    e.count++;
    errno = 0;
  }
  int read_err = errno;
  closedir(dir);
  if (read_err) {
    entries_free(&e);
    return throw_errno(env, read_err, path);
  }

  napi_value result, names, types_buf, types;
  napi_create_object(env, &result);
  napi_create_array_with_length(env, e.count, &names);
  for (size_t i = 0; i < e.count; i++) {
    napi_value name;
    napi_create_string_utf8(env, e.names[i], NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, names, (uint32_t)i, name);
  }
  void *tdata;
  napi_create_arraybuffer(env, e.count, &tdata, &types_buf);
  if (e.count) memcpy(tdata, e.types, e.count);
  napi_create_typedarray(env, napi_uint8_array, e.count, types_buf, 0, &types);
  double dirInfo[5] = {(double)dst.st_dev, (double)dst.st_ino, (double)dst.st_mtim.tv_sec, (double)dst.st_mtim.tv_nsec, (double)dst.st_blocks * 512};
  napi_set_named_property(env, result, "dir", float64_array(env, dirInfo, 5));
  napi_set_named_property(env, result, "names", names);
  napi_set_named_property(env, result, "types", types);
  napi_set_named_property(env, result, "stats", float64_array(env, e.stats, e.count * STATS_PER_ENTRY));
  entries_free(&e);
  return result;
}

void delivery_register(napi_env env, napi_value exports);
void crc32_register(napi_env env, napi_value exports);
void find_from_register(napi_env env, napi_value exports);
void read_heads_register(napi_env env, napi_value exports);
void header_fields_register(napi_env env, napi_value exports);
void index_fields_register(napi_env env, napi_value exports);
void content_length_register(napi_env env, napi_value exports);
void blank_line_register(napi_env env, napi_value exports);
void sched_register(napi_env env, napi_value exports);
void fcntl_lock_register(napi_env env, napi_value exports);
void exit_now_register(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "scanDir", scan_dir);
  delivery_register(env, exports);
  crc32_register(env, exports);
  find_from_register(env, exports);
  read_heads_register(env, exports);
  header_fields_register(env, exports);
  index_fields_register(env, exports);
  content_length_register(env, exports);
  blank_line_register(env, exports);
  sched_register(env, exports);
  fcntl_lock_register(env, exports);
  exit_now_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
