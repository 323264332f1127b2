{
  "targets": [
    {
      "target_name": "fsops",
      "sources": ["native/fsops.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
