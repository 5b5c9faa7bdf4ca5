{
  "targets": [
    {
      "target_name": "cellshift_blas",
      "sources": ["src/addon.c", "src/projection.c", "src/factor.c", "src/training.c", "src/sparse.c", "src/loss.c", "src/latent.c", "src/normal.c", "src/stream.c"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O2"],
      "libraries": ["-ldl", "-lm"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-ffp-contract=off", "-fno-math-errno"]
      }
    }
  ]
}
