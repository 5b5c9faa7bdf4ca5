// Matmuls whose left operand ends in mostly-zero columns: an Environment VAE's inputs are
// [genes ‖ fingerprint] for its encoder and the fingerprint alone for its prior network, and a
// 1024-bit Morgan fingerprint has ~4% of its bits set. BLAS multiplies every zero; here the dense
// columns go to BLAS and the sparse ones are added row by row from their nonzeros only (for the
// encoder's first layer about half of its work, for the prior's all of it), in the forward pass.
// Not for the weight gradient (xᵀ·dy): there each nonzero adds a row of dy into a scattered row of
// the output, read and written back through the cache, and at a fingerprint's ~4% density BLAS's
// dense product was faster (Environment VAE batch 1024: 66.0 against 72.4 ms a step, medians of 4
// alternated processes of bench/profile-step.ts on a quiet machine; batch 256 within noise).
//
// Called from gemm() (addon.c) for one matrix; it returns 0 without touching anything when the
// operand has no sparse column block worth it, and gemm runs BLAS as before. Sums run in a fixed
// order split by output rows, so results do not depend on the thread count; they
// differ from BLAS's only by float32 rounding (BLAS sums in its own order too), and where a
// skipped zero meets an infinite weight (0·∞ is NaN in BLAS, nothing here).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define MIN_SPARSE_COLUMNS 64  // fewer: not worth a second pass
#define MAX_COLUMN_DENSITY 2   // a sparse column has at most rows / this nonzeros
#define MAX_BLOCK_DENSITY 8    // and the whole block at most rows · columns / this

/** Nonzeros of each of x's columns ([rows, cols], row-major) added to counts, one row-major pass. */
HOT static void count_nonzeros(const float *x, int64_t rows, int64_t cols, uint32_t *counts) {
  for (int64_t i = 0; i < rows; i++) {
    const float *row = x + i * cols;
    for (int64_t j = 0; j < cols; j++) counts[j] += row[j] != 0.0f;
  }
}

/** First column of the sparse block at the end of x ([rows, cols], row-major), or cols if none. */
static int64_t sparse_suffix(const float *x, int64_t rows, int64_t cols) {
  if (cols < MIN_SPARSE_COLUMNS || rows < 1) return cols;
  // The last column alone first: a dense operand (most matmuls) is recognised at that cost.
  int64_t last = 0;
  for (int64_t i = 0; i < rows; i++) last += x[i * cols + cols - 1] != 0.0f;
  if (last * MAX_COLUMN_DENSITY > rows || last * MAX_BLOCK_DENSITY > rows) return cols;
  // Then every column's count in one row-major pass (a column at a time strides the whole
  // matrix once per column: ~2.5% of an Environment VAE step's CPU in cache misses).
  uint32_t *counts = (uint32_t *)calloc((size_t)cols, sizeof(uint32_t));
  if (counts == NULL) return cols;  // BLAS alone: the same product
  count_nonzeros(x, rows, cols, counts);
  int64_t nonzero = 0, start = cols;
  // Right to left: the longest suffix whose every column and whose whole block are sparse enough.
  for (int64_t j = cols - 1; j >= 0; j--) {
    const int64_t count = counts[j];
    if (count * MAX_COLUMN_DENSITY > rows || (nonzero + count) * MAX_BLOCK_DENSITY > rows * (cols - j)) break;
    nonzero += count;
    start = j;
  }
  free(counts);
  return cols - start >= MIN_SPARSE_COLUMNS ? start : cols;
}

typedef struct {
  const float *x, *b;
  float *c;
  int64_t rows, cols, n, split;
} SparseJob;

/** c[0..n) += v · b[0..n): one nonzero's row, vectorised (each element's sum in the same order). */
HOT static void add_scaled(float *restrict c, float v, const float *restrict b, int64_t n) {
  for (int64_t q = 0; q < n; q++) c[q] += v * b[q];
}

// c[i, :] += Σ_{j ≥ split} x[i, j] · b[j, :], rows [begin, end).
static void sparse_rows(void *ctx, int64_t begin, int64_t end) {
  const SparseJob *s = (const SparseJob *)ctx;
  for (int64_t i = begin; i < end; i++) {
    const float *xi = s->x + i * s->cols;
    float *ci = s->c + i * s->n;
    for (int64_t j = s->split; j < s->cols; j++) {
      const float v = xi[j];
      if (v == 0.0f) continue;
      add_scaled(ci, v, s->b + j * s->n, s->n);
    }
  }
}

int gemm_sparse(sgemm_fn sgemm, int64_t m, int64_t n, int64_t k, int transA, const float *a, const float *b, float *c, int accumulate) {
  if (transA) return 0;  // the weight gradient: BLAS (above)
  // x is a as stored: [m, k], c = x·b.
  const int64_t rows = m, cols = k;
  const int64_t split = sparse_suffix(a, rows, cols);
  if (split == cols) return 0;
  // Dense columns through BLAS (lda = cols keeps the row stride), then the sparse ones.
  if (split > 0)
    sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)split, 1.0f, a, (int)cols, b, (int)n, accumulate ? 1.0f : 0.0f, c,
          (int)n);
  else if (!accumulate)
    memset(c, 0, sizeof(float) * (size_t)(m * n));
  SparseJob job = {a, b, c, rows, cols, n, split};
  parallel_for(sparse_rows, &job, m, 16);
  return 1;
}
