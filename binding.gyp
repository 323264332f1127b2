# -fvisibility=hidden: the addon exports only its two entry points (Node's and SQLite's). SQLite
# loads an extension with RTLD_GLOBAL (native/fed-rows.c), which would otherwise put every C
# function of the addon (crc32_register, path_arg, ...) in the process's global symbol scope.
{
  "targets": [
    {
      "target_name": "fsops",
      "sources": ["native/fsops.c", "native/delivery.c", "native/napi-util.c", "native/crc32.c", "native/find-from.c", "native/read-heads.c", "native/header-fields.c", "native/index-fields.c", "native/address-text.c", "native/encoded-words.c", "native/fed-rows.c", "native/content-length.c", "native/blank-line.c", "native/sched.c", "native/fcntl-lock.c", "native/exit-now.c"],
      "include_dirs": ["<!(node -p \"require('path').join(require('path').dirname(require.resolve('better-sqlite3/package.json')), 'deps', 'sqlite3')\")"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-fvisibility=hidden"]
    }
  ]
}
