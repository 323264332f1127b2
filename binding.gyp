{
  "targets": [
    {
      "target_name": "scandir",
      "sources": ["native/scandir.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
