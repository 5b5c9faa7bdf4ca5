// What addon.c shares with the other kernel files: its thread pool, row sums and the Adam loop.
#ifndef CELLSHIFT_KERNELS_H
#define CELLSHIFT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// Hot loops get AVX-512 / AVX2 copies chosen at load time (GCC on x86-64 Linux); elsewhere the
// compiler's baseline. Vector width changes no result: every element is computed on its own.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOT
#endif

// Elements per thread below which splitting a loop costs more than it saves.
#define GRAIN_CHEAP 65536
#define GRAIN_COSTLY 8192

enum { CblasRowMajor = 101 };
enum { CblasNoTrans = 111, CblasTrans = 112 };
typedef void (*sgemm_fn)(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);

typedef void (*range_fn)(void *ctx, int64_t begin, int64_t end);

/** Runs fn over [0, n) on the addon's threads, in parts of at least `grain` (addon.c). */
void parallel_for(range_fn fn, void *ctx, int64_t n, int64_t grain);

/**
 * On a stream's own thread: runs fn over [0, n) in parts of at least `grain`, taken in turn by
 * the stream thread and by the JavaScript thread while it waits for the stream; returns 0,
 * having done nothing, on any other thread (stream.c).
 */
int stream_parallel(range_fn fn, void *ctx, int64_t n, int64_t grain);

/** Sets the calling thread's OpenMP thread count (which an OpenMP BLAS follows) and returns the old one; 0 without libgomp (addon.c). */
int caller_blas_threads(int n);

/** Σ row[0..n) in double, in reduce()'s order for whole-row sums (addon.c). */
double sum_row(const float *row, int64_t n);

/** One Adam step over n elements into new arrays, the gradient first multiplied by gscale, every operation rounded to float32 (addon.c). */
void adam_loop(float *restrict wo, float *restrict mo, float *restrict vo, const float *restrict w, const float *restrict g,
               const float *restrict m, const float *restrict v, size_t n, float b1, float c1, float b2, float c2, float d1, float d2,
               float eps, float neglr, float gscale);

/**
 * c = op(a)·b for a left operand whose last columns (as stored) are mostly zeros: dense columns
 * through BLAS, the rest from their nonzeros; returns 0, having done nothing, when a has no such
 * columns (sparse.c).
 */
int gemm_sparse(sgemm_fn sgemm, int64_t m, int64_t n, int64_t k, int transA, const float *a, const float *b, float *c, int accumulate);

#endif
