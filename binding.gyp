{
  "targets": [{
    "target_name": "tlm_native",
    "sources": ["native/tlm_native.c"],
    "cflags": ["-O3", "-std=c11", "-fno-fast-math", "-ffp-contract=off"],
    "libraries": ["-lpthread"]
  }]
}
