/*
 * fcntlLock(fd, exclusive, openFile): tries once for a POSIX record lock (fcntl F_SETLK, the
 * kind MDAs take on an mbox) on the whole file: a write lock if exclusive, else a read lock.
 * With openFile, an open file description lock (F_OFD_SETLK, Linux 3.15) instead: held by the
 * descriptor, not the process, so it conflicts with another descriptor of this process too and
 * no other descriptor's close drops it (the uidlist lock's liveness, src/maildir/uidlist.ts).
 * true: taken; false: another holder has a conflicting one (EAGAIN, EACCES); throws on any
 * other error. Synchronous, as F_SETLK never waits: the caller's loop sleeps between tries.
 * os-lock does the same through the thread pool, a round trip that a worker with many small
 * mailboxes felt (one lock and one unlock for the source and for the index, each mailbox). A
 * POSIX lock is the process's: it goes when the process closes any descriptor of the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <string.h>

#include "napi-util.h"

static napi_value fcntl_lock(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  bool exclusive, open_file = false;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_bool(env, argv[1], &exclusive) != napi_ok ||
      (argc > 2 && napi_get_value_bool(env, argv[2], &open_file) != napi_ok)) {
    napi_throw_type_error(env, NULL, "fcntlLock(fd, exclusive, openFile)");
    return NULL;
  }
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  int rc;
  int command = open_file ? F_OFD_SETLK : F_SETLK;
  do rc = fcntl(fd, command, &fl);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EAGAIN && errno != EACCES) return throw_errno(env, errno, open_file ? "fcntl(F_OFD_SETLK)" : "fcntl(F_SETLK)");
  napi_get_boolean(env, rc == 0, &result);
  return result;
}

void fcntl_lock_register(napi_env env, napi_value exports) {
  export_function(env, exports, "fcntlLock", fcntl_lock);
}
