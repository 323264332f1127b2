/*
 * exitNow(code): ends the process at once with that exit status (_exit), without tearing
 * down its JavaScript threads.
 *
 * Why: a process that ends the usual way first stops every worker thread and frees its heap,
 * one thread after another (a nested thread before its parent), and only then exits. At the
 * end of a migration of 30,000 messages that took 40-60 ms after the last result was in and
 * printed (pool worker and index feed thread, measured on 2 cores). Everything those threads
 * wrote is flushed and closed before they report their results, so nothing is left for a
 * teardown to finish; the kernel frees the memory at exit either way. The caller decides
 * when this is safe (src/util/exit-now.ts): its own output written out, its own 'exit'
 * listeners run.
 */
#include <node_api.h>
#include <unistd.h>

#include "napi-util.h"

static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok) {
    napi_throw_type_error(env, NULL, "exitNow(code): code must be a number");
    return NULL;
  }
  _exit(code & 0xff);
}

void exit_now_register(napi_env env, napi_value exports) {
  export_function(env, exports, "exitNow", exit_now);
}
