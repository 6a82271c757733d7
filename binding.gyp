{
  "targets": [{
    "target_name": "tlm_native",
    "sources": ["native/addon.c", "native/gemm.c", "native/gemm_rows.c", "native/nn.c", "native/attention.c", "native/quant.c", "native/quant_vnni.c"],
    "cflags": ["-O3", "-std=c11", "-fvisibility=hidden", "-fno-fast-math", "-ffp-contract=off"],
    "libraries": ["-lpthread"]
  }]
}
