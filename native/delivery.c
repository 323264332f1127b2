/*
 * Maildir delivery on the thread pool (Linux): one job, one Promise per call.
 *
 * writeFiles(dir, names, pieces, counts, mtimes, uid, gid, unnamed): writes a group of
 * messages. Each file gets its counts[i] buffers from pieces, uid:gid (unless uid is -1) and
 * mtimes[i] (ms) as atime and mtime. One job for a group instead of four fs requests per
 * message: the thread that reads the mbox spends ~2 us per message on writing instead of ~40.
 *   - unnamed false: each file is dir/names[i], created O_EXCL and O_NOFOLLOW, mode 0600, and
 *     closed. Resolves undefined.
 *   - unnamed true: each file is created without a name (O_TMPFILE in dir, 0600) and left
 *     open; resolves an Int32Array of their descriptors, for publishFiles to link into place.
 *     A file is created as dir/names[i] instead (descriptor -1) where O_TMPFILE fails, or when
 *     its descriptor would be in the upper half of the table (RLIMIT_NOFILE): held files must
 *     leave room for everything else. On failure the job closes every descriptor it opened.
 *   Why unnamed files: a file named in tmp/ costs two more directory operations (its entry in
 *   tmp/, and the rename's removal of it), on the directory that the next group's creations
 *   wait for. On ext4 that is half of the kernel's directory work (on tmpfs, whose
 *   directories live in memory, it makes no measurable difference); and a crash leaves no
 *   file behind in tmp/.
 *
 * publishFiles(folder, tmpNames, subdirs, finalNames, flush, fds): puts each file into
 * folder/(new|cur)/finalNames[i] in order (subdirs[i]: 0 new, 1 cur), never replacing a file
 * that exists (EEXIST rejects).
 *   - fds[i] >= 0 (fds may be null): an unnamed file, linked by its descriptor (linkat with
 *     AT_EMPTY_PATH, or through /proc/self/fd without CAP_DAC_READ_SEARCH), then closed.
 *   - else tmp/tmpNames[i], moved by renameat2(RENAME_NOREPLACE), or by link + unlink where
 *     the filesystem or kernel refuses the flag (EINVAL, ENOSYS: NFS, old kernels).
 *   Then, if flush: syncfs when a file was linked by descriptor (its link count went from 0
 *   to 1, and on ext4 without a journal an fsync of the directory does not write that), else
 *   fsync of new/ and cur/. On failure the files before the failing one are in place. Every
 *   descriptor given is closed, whatever happens.
 *
 * syncFs(path): syncfs(2) of the filesystem holding path.
 *
 * unnamedFiles(dir): synchronous; whether files can be created unnamed in dir and then linked
 * by descriptor: tried with a probe file, linked in dir and removed at once.
 *
 * linkNewFile(dir, name, bytes, uid, gid): synchronous, for small files (a journal made from a
 * ready-made image). Creates dir/name holding exactly bytes, mode 0600, owned uid:gid (unless
 * uid is -1), never replacing a file and never seen partial: written and flushed without a
 * name (O_TMPFILE), linked, and flushed again. Returns true once created, false if dir/name
 * existed (nothing is written), null where unnamed files cannot be made or linked here (the
 * caller creates the file another way); throws on any other failure. The directory is not
 * flushed: the caller's next flush of it (SQLite's, for a journal) makes the name last.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "napi-util.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* ---- unnamed files ---- */

/*
 * Cleared (for good) once linkat(AT_EMPTY_PATH) is refused: before Linux 6.10 it needs
 * CAP_DAC_READ_SEARCH; since, a file the caller opened itself may be linked without it.
 * Then a file is linked through its descriptor's entry in fd_dir, as open(2) describes.
 */
static int empty_path_links = 1;
static char fd_dir[256] = "/proc/self/fd";

/*
 * MAILSTORE_FD_DIR set: every link goes through that directory from the start. The path a
 * run as a user takes on a kernel before 6.10 is otherwise never taken on a newer one, so
 * the tests take it this way (and, with a directory that does not exist, the probe's refusal).
 * Read once, on the first thread that loads the addon, before any job can run.
 */
static void fd_dir_from_env(void) {
  const char *dir = getenv("MAILSTORE_FD_DIR");
  if (!dir || !*dir || strlen(dir) >= sizeof fd_dir) return;
  strcpy(fd_dir, dir);
  empty_path_links = 0;
}

/* Gives the open file fd the name dirfd/name, never replacing one; -1 with errno on failure. */
static int link_open_file(int fd, int dirfd, const char *name) {
  if (__atomic_load_n(&empty_path_links, __ATOMIC_RELAXED)) {
    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) return 0;
    if (errno != ENOENT) return -1;
    __atomic_store_n(&empty_path_links, 0, __ATOMIC_RELAXED);
  }
  char entry[300];
  snprintf(entry, sizeof entry, "%s/%d", fd_dir, fd);
  return linkat(AT_FDCWD, entry, dirfd, name, AT_SYMLINK_FOLLOW);
}

/* The lowest descriptor an unnamed file may not keep: half the process's limit. */
static int held_ceiling(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 2 > INT32_MAX) return INT32_MAX;
  return (int)(rl.rlim_cur / 2);
}

static void close_held(int *fds, size_t n) {
  if (!fds) return;
  for (size_t i = 0; i < n; i++) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

static napi_value unnamed_files(napi_env env, napi_callback_info info) {
  static unsigned probes;
  size_t argc = 1;
  napi_value argv[1], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char dir[4096];
  if (argc < 1 || !path_arg(env, argv[0], dir, sizeof dir)) return NULL;
  bool works = false;
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd >= 0) {
    int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      char name[96];
      snprintf(name, sizeof name, "mailstore.probe.%ld.%u", (long)getpid(), __atomic_add_fetch(&probes, 1, __ATOMIC_RELAXED));
      if (link_open_file(fd, dirfd, name) == 0) works = unlinkat(dirfd, name, 0) == 0;
      close(fd);
    }
    close(dirfd);
  }
  napi_get_boolean(env, works, &result);
  return result;
}

/* Writes all of len bytes at p to fd; 0, or errno. */
static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static napi_value link_new_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char dir[4096], name[256];
  void *bytes;
  size_t len;
  int64_t uid, gid;
  if (argc < 5 || !path_arg(env, argv[0], dir, sizeof dir) || !path_arg(env, argv[1], name, sizeof name)) return NULL;
  if (napi_get_buffer_info(env, argv[2], &bytes, &len) != napi_ok || napi_get_value_int64(env, argv[3], &uid) != napi_ok ||
      napi_get_value_int64(env, argv[4], &gid) != napi_ok) {
    napi_throw_type_error(env, NULL, "linkNewFile(dir, name, bytes, uid, gid)");
    return NULL;
  }
  char path[4400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0) return throw_errno(env, errno, dir);
  int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    /* No unnamed files here (not Linux 3.11+, or a filesystem without them): the caller's other way. */
    int err = errno;
    close(dirfd);
    if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL || err == ENOENT) {
      napi_get_null(env, &result);
      return result;
    }
    return throw_errno(env, err, path);
  }
  int err = 0, link_err = 0;
  if (uid >= 0 && fchown(fd, (uid_t)uid, (gid_t)gid) != 0) err = errno;
  if (!err) err = write_all(fd, bytes, len);
  /* Flushed before it has a name, so no crash shows the name with less than all the bytes. */
  if (!err && fsync(fd) != 0) err = errno;
  if (!err && link_open_file(fd, dirfd, name) != 0) link_err = errno;
  /* Flushed again once linked: the link count went from 0 to 1 (see publishFiles). */
  if (!err && !link_err && fsync(fd) != 0) err = errno;
  close(fd);
  close(dirfd);
  if (err) return throw_errno(env, err, path);
  if (link_err == EEXIST) {
    napi_get_boolean(env, false, &result);
  } else if (link_err) {
    /* An unnamed file that cannot be linked (see link_open_file, and no /proc): the other way. */
    napi_get_null(env, &result);
  } else {
    napi_get_boolean(env, true, &result);
  }
  return result;
}

/* ---- asynchronous jobs: one thread-pool job, one Promise ---- */

typedef struct Job Job;
static void run_write_files(Job *j);
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
  /* writeFiles: the descriptors of its unnamed files (NULL: named files); publishFiles: those to link */
  int *held;
};

static void job_free(Job *j) {
  free_strings(j->names, j->n);
  free_strings(j->finals, j->n);
  free(j->counts);
  free(j->subdirs);
  free(j->data);
  free(j->lens);
  free(j->mtimes);
  free(j->held);
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
    napi_value value;
    if (j->held && j->run == run_write_files) {
      napi_value buffer;
      void *data;
      napi_create_arraybuffer(env, j->n * sizeof(int), &data, &buffer);
      if (j->n) memcpy(data, j->held, j->n * sizeof(int));
      napi_create_typedarray(env, napi_int32_array, j->n, buffer, 0, &value);
    } else {
      napi_get_undefined(env, &value);
    }
    napi_resolve_deferred(env, j->deferred, value);
  } else {
    /* A failed job holds no descriptor: not writeFiles' unnamed files, nor those publishFiles did not link. */
    close_held(j->held, j->n);
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

/* Fails the job at dir/name: the path is formatted only then, not for every file written. */
static void job_fail_at(Job *j, int err, const char *name) {
  char path[8200];
  snprintf(path, sizeof path, "%s/%s", j->dir, name);
  job_fail(j, err, path, NULL);
}

static void run_write_files(Job *j) {
  int dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0) return job_fail(j, errno, j->dir, NULL);
  int ceiling = j->held ? held_ceiling() : 0;
  size_t piece = 0;
  for (size_t i = 0; i < j->n; i++) {
    int fd = j->held ? openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600) : -1;
    if (fd >= ceiling) {
      close(fd);
      fd = -1;
    }
    bool unnamed = fd >= 0;
    if (!unnamed) fd = openat(dirfd, j->names[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      job_fail_at(j, errno, j->names[i]);
      break;
    }
    int err = 0;
    for (uint32_t k = 0; k < j->counts[i] && !err; k++, piece++) err = write_all(fd, j->data[piece], j->lens[piece]);
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
    if (unnamed && !err) {
      j->held[i] = fd;
      continue;
    }
    if (close(fd) != 0 && !err) err = errno;
    if (err) {
      job_fail_at(j, err, j->names[i]);
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
  napi_value argv[8];
  Job *j = job_new(env, info, 8, argv, "writeFiles(dir, names, pieces, counts, mtimes, uid, gid, unnamed)", run_write_files);
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
  bool unnamed;
  if (napi_get_value_bool(env, argv[7], &unnamed) != napi_ok) {
    job_free(j);
    napi_throw_type_error(env, NULL, "writeFiles: unnamed must be a boolean");
    return NULL;
  }
  if (unnamed) {
    j->held = malloc((n ? n : 1) * sizeof(int));
    if (!j->held) {
      job_free(j);
      return throw_errno(env, ENOMEM, "writeFiles");
    }
    for (uint32_t i = 0; i < n; i++) j->held[i] = -1;
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
  bool linked = false;
  for (size_t i = 0; i < j->n; i++) {
    int dest = fds[j->subdirs[i] ? 1 : 0];
    bool unnamed = j->held && j->held[i] >= 0;
    if (unnamed) {
      int r = link_open_file(j->held[i], dest, j->finals[i]);
      int err = errno;
      close(j->held[i]);
      j->held[i] = -1;
      errno = err;
      if (r != 0) goto failed;
      linked = true;
      continue;
    }
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
    snprintf(from, sizeof from, "%s/%s%s", sub[2], j->names[i], unnamed ? " (unnamed)" : "");
    snprintf(to, sizeof to, "%s/%s", sub[j->subdirs[i] ? 1 : 0], j->finals[i]);
    job_fail(j, err, from, to);
    goto done;
  }
  }
  if (j->flush_dirs && linked) {
    if (syncfs(fds[1]) != 0) job_fail(j, errno, sub[1], NULL);
  } else if (j->flush_dirs) {
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
  napi_value argv[6];
  Job *j = job_new(env, info, 6, argv, "publishFiles(folder, tmpNames, subdirs, finalNames, flush, fds)", run_publish_files);
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
  napi_valuetype fds_type;
  napi_typeof(env, argv[5], &fds_type);
  if (fds_type != napi_null) {
    void *fds;
    if (!typed_array(env, argv[5], napi_int32_array, n, &fds)) {
      job_free(j);
      return NULL;
    }
    j->held = malloc((n ? n : 1) * sizeof(int));
    if (!j->held) {
      job_free(j);
      return throw_errno(env, ENOMEM, "publishFiles");
    }
    memcpy(j->held, fds, n * sizeof(int));
  }
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

void delivery_register(napi_env env, napi_value exports) {
  static pthread_once_t env_read = PTHREAD_ONCE_INIT;
  pthread_once(&env_read, fd_dir_from_env);
  export_function(env, exports, "writeFiles", write_files);
  export_function(env, exports, "publishFiles", publish_files);
  export_function(env, exports, "syncFs", sync_fs);
  export_function(env, exports, "unnamedFiles", unnamed_files);
  export_function(env, exports, "linkNewFile", link_new_file);
}
