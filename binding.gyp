{
  "targets": [
    {
      "target_name": "fsops",
      "sources": ["native/fsops.c", "native/crc32.c", "native/find-from.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
