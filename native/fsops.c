/*
 * mailstore's native helpers (Linux):
 *
 * writeFiles(dir, names, pieces, counts, mtimes, uid, gid): a Promise; on the thread pool,
 * creates each dir/names[i] (O_EXCL, O_NOFOLLOW, 0600), writes its counts[i] buffers from
 * pieces, gives it uid:gid (unless uid is -1) and mtimes[i] (ms) as atime and mtime, and
 * closes it. One job for a group of messages instead of four fs requests per message: the
 * main thread, which reads the mbox, then spends ~2 us per message on writing instead of ~40.
 *
 * publishFiles(folder, tmpNames, subdirs, finalNames, flushDirs): a Promise; on the thread
 * pool, moves folder/tmp/tmpNames[i] to folder/(new|cur)/finalNames[i] in order
 * (subdirs[i]: 0 new, 1 cur) by renameat2(RENAME_NOREPLACE): one directory operation, and
 * like link() it never replaces a file that exists (EEXIST rejects). Where the filesystem or
 * kernel refuses the flag (EINVAL, ENOSYS: NFS, old kernels) it falls back to link + unlink.
 * Then, if flushDirs, fsyncs new/ and cur/. On failure the files before the failing one are
 * in place.
 *
 * syncFs(path): a Promise; syncfs(2) of the filesystem holding path, on the thread pool.
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
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "napi-util.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

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




/* ---- asynchronous jobs: one thread-pool job, one Promise ---- */

typedef struct Job Job;
struct Job {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the JS buffers the job reads, alive until it completes */
  void (*run)(Job *);
  int err;       /* errno of the failure, 0 if none */
  char where[16700];
  /* the arguments of writeFiles, publishFiles (names, finals, subdirs) and syncFs (dir) */
  char dir[4096];
  size_t n;
  char **names, **finals;
  uint32_t *counts;
  unsigned char *subdirs;
  const char **data;
  size_t *lens;
  double *mtimes;
  int64_t uid, gid;
  int flush_dirs;
};

static void job_free(Job *j) {
  free_strings(j->names, j->n);
  free_strings(j->finals, j->n);
  free(j->counts);
  free(j->subdirs);
  free(j->data);
  free(j->lens);
  free(j->mtimes);
  free(j);
}

static void job_execute(napi_env env, void *data) {
  (void)env;
  Job *j = data;
  j->run(j);
}

static void job_complete(napi_env env, napi_status status, void *data) {
  Job *j = data;
  if (j->keep) napi_delete_reference(env, j->keep);
  if (status == napi_ok && j->err == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, j->deferred, undef);
  } else {
    int err = j->err ? j->err : EIO;
    char message[16900];
    snprintf(message, sizeof message, "%s: %s", j->where, strerror(err));
    napi_value code, msg, error;
    napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &error);
    napi_set_named_property(env, error, "code", code);
    napi_reject_deferred(env, j->deferred, error);
  }
  napi_delete_async_work(env, j->work);
  job_free(j);
}

static napi_value job_start(napi_env env, Job *j, const char *name) {
  napi_value promise, resource_name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  napi_create_async_work(env, NULL, resource_name, job_execute, job_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

static void job_fail(Job *j, int err, const char *a, const char *b) {
  j->err = err;
  if (b) snprintf(j->where, sizeof j->where, "%s -> %s", a, b);
  else snprintf(j->where, sizeof j->where, "%s", a);
}


static void run_write_files(Job *j) {
  int dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0) return job_fail(j, errno, j->dir, NULL);
  size_t piece = 0;
  for (size_t i = 0; i < j->n; i++) {
    char path[8200];
    snprintf(path, sizeof path, "%s/%s", j->dir, j->names[i]);
    int fd = openat(dirfd, j->names[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      job_fail(j, errno, path, NULL);
      break;
    }
    int err = 0;
    for (uint32_t k = 0; k < j->counts[i] && !err; k++, piece++) {
      const char *p = j->data[piece];
      size_t left = j->lens[piece];
      while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
          if (errno == EINTR) continue;
          err = errno;
          break;
        }
        p += w;
        left -= (size_t)w;
      }
    }
    if (!err && j->uid >= 0 && fchown(fd, (uid_t)j->uid, (gid_t)j->gid) != 0) err = errno;
    if (!err) {
      double ms = j->mtimes[i];
      struct timespec ts[2];
      if (!isfinite(ms)) ms = 0, err = EINVAL;
      ts[0].tv_sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
      ts[0].tv_nsec = (long)((ms - (double)ts[0].tv_sec * 1000) * 1e6);
      ts[1] = ts[0];
      if (!err && futimens(fd, ts) != 0) err = errno;
    }
    if (close(fd) != 0 && !err) err = errno;
    if (err) {
      job_fail(j, err, path, NULL);
      break;
    }
  }
  close(dirfd);
}


/*
 * The common start of a job's entry point: its arguments (at least `want`), a new Job running
 * `run`, and its first argument as the job's directory. NULL (with a JS error thrown) if any
 * of that fails.
 */
static Job *job_new(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage, void (*run)(Job *)) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  Job *j = calloc(1, sizeof(Job));
  if (!j) {
    throw_errno(env, ENOMEM, usage);
    return NULL;
  }
  j->run = run;
  if (!path_arg(env, argv[0], j->dir, sizeof j->dir)) {
    job_free(j);
    return NULL;
  }
  return j;
}

static napi_value write_files(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  Job *j = job_new(env, info, 7, argv, "writeFiles(dir, names, pieces, counts, mtimes, uid, gid)", run_write_files);
  if (!j) return NULL;
  uint32_t n, npieces;
  void *counts, *mtimes;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok || napi_get_array_length(env, argv[2], &npieces) != napi_ok) {
    job_free(j);
    napi_throw_type_error(env, NULL, "writeFiles: names and pieces must be arrays");
    return NULL;
  }
  j->n = n;
  if (!string_array(env, argv[1], n, &j->names) || !typed_array(env, argv[3], napi_uint32_array, n, &counts) ||
      !typed_array(env, argv[4], napi_float64_array, n, &mtimes)) {
    job_free(j);
    return NULL;
  }
  j->counts = malloc((n ? n : 1) * sizeof(uint32_t));
  j->mtimes = malloc((n ? n : 1) * sizeof(double));
  j->data = malloc((npieces ? npieces : 1) * sizeof(char *));
  j->lens = malloc((npieces ? npieces : 1) * sizeof(size_t));
  if (!j->counts || !j->mtimes || !j->data || !j->lens) {
    job_free(j);
    return throw_errno(env, ENOMEM, "writeFiles");
  }
  memcpy(j->counts, counts, n * sizeof(uint32_t));
  memcpy(j->mtimes, mtimes, n * sizeof(double));
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) total += j->counts[i];
  if (total != npieces) {
    job_free(j);
    napi_throw_range_error(env, NULL, "counts do not add up to the number of pieces");
    return NULL;
  }
  for (uint32_t i = 0; i < npieces; i++) {
    napi_value v;
    void *bytes;
    size_t len;
    napi_get_element(env, argv[2], i, &v);
    if (napi_get_buffer_info(env, v, &bytes, &len) != napi_ok) {
      job_free(j);
      napi_throw_type_error(env, NULL, "pieces must be Buffers");
      return NULL;
    }
    j->data[i] = bytes;
    j->lens[i] = len;
  }
  if (napi_get_value_int64(env, argv[5], &j->uid) != napi_ok || napi_get_value_int64(env, argv[6], &j->gid) != napi_ok) {
    job_free(j);
    napi_throw_type_error(env, NULL, "writeFiles: uid and gid must be numbers (-1: leave the owner)");
    return NULL;
  }
  napi_create_reference(env, argv[2], 1, &j->keep);
  return job_start(env, j, "mailstore.writeFiles");
}

static void run_publish_files(Job *j) {
  char sub[3][4200];
  snprintf(sub[0], sizeof sub[0], "%s/new", j->dir);
  snprintf(sub[1], sizeof sub[1], "%s/cur", j->dir);
  snprintf(sub[2], sizeof sub[2], "%s/tmp", j->dir);
  int fds[3] = {-1, -1, -1};
  for (int k = 0; k < 3; k++) {
    fds[k] = open(sub[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fds[k] < 0) {
      job_fail(j, errno, sub[k], NULL);
      goto done;
    }
  }
  int use_rename = 1;
  for (size_t i = 0; i < j->n; i++) {
    int dest = fds[j->subdirs[i] ? 1 : 0];
    if (use_rename) {
      if (syscall(SYS_renameat2, fds[2], j->names[i], dest, j->finals[i], RENAME_NOREPLACE) == 0) continue;
      if (errno != EINVAL && errno != ENOSYS) goto failed;
      use_rename = 0;
    }
    if (linkat(fds[2], j->names[i], dest, j->finals[i], 0) != 0 || unlinkat(fds[2], j->names[i], 0) != 0) goto failed;
    continue;
  failed: {
    int err = errno;
    char from[8300], to[8300];
    snprintf(from, sizeof from, "%s/%s", sub[2], j->names[i]);
    snprintf(to, sizeof to, "%s/%s", sub[j->subdirs[i] ? 1 : 0], j->finals[i]);
    job_fail(j, err, from, to);
    goto done;
  }
  }
  if (j->flush_dirs) {
    for (int k = 0; k < 2; k++) {
      if (fsync(fds[k]) != 0) {
        job_fail(j, errno, sub[k], NULL);
        break;
      }
    }
  }
done:
  for (int k = 0; k < 3; k++)
    if (fds[k] >= 0) close(fds[k]);
}

static napi_value publish_files(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Job *j = job_new(env, info, 5, argv, "publishFiles(folder, tmpNames, subdirs, finalNames, flushDirs)", run_publish_files);
  if (!j) return NULL;
  uint32_t n, nfinal;
  void *subdirs;
  bool flush;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok || napi_get_array_length(env, argv[3], &nfinal) != napi_ok || nfinal != n) {
    job_free(j);
    napi_throw_type_error(env, NULL, "publishFiles: bad arguments");
    return NULL;
  }
  j->n = n;
  if (!string_array(env, argv[1], n, &j->names) || !string_array(env, argv[3], n, &j->finals) ||
      !typed_array(env, argv[2], napi_uint8_array, n, &subdirs)) {
    job_free(j);
    return NULL;
  }
  j->subdirs = malloc(n ? n : 1);
  if (!j->subdirs) {
    job_free(j);
    return throw_errno(env, ENOMEM, "publishFiles");
  }
  memcpy(j->subdirs, subdirs, n);
  if (napi_get_value_bool(env, argv[4], &flush) != napi_ok) {
    job_free(j);
    napi_throw_type_error(env, NULL, "publishFiles: flushDirs must be a boolean");
    return NULL;
  }
  j->flush_dirs = flush;
  return job_start(env, j, "mailstore.publishFiles");
}

static void run_sync_fs(Job *j) {
  int fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return job_fail(j, errno, j->dir, NULL);
  if (syncfs(fd) != 0) job_fail(j, errno, j->dir, NULL);
  close(fd);
}

static napi_value sync_fs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Job *j = job_new(env, info, 1, argv, "syncFs(path)", run_sync_fs);
  return j ? job_start(env, j, "mailstore.syncFs") : NULL;
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

void crc32_register(napi_env env, napi_value exports);
void find_from_register(napi_env env, napi_value exports);
void read_heads_register(napi_env env, napi_value exports);
void header_fields_register(napi_env env, napi_value exports);
void sched_register(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "scanDir", scan_dir);
  export_function(env, exports, "writeFiles", write_files);
  export_function(env, exports, "publishFiles", publish_files);
  export_function(env, exports, "syncFs", sync_fs);
  crc32_register(env, exports);
  find_from_register(env, exports);
  read_heads_register(env, exports);
  header_fields_register(env, exports);
  sched_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
