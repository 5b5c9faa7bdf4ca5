// The Gaussian reconstruction loss ½ Σ_g (x − x̂)² per sample and its gradient, each one pass over
// [rows, cols] (src-main/node/ml/native/nll.ts). tfjs composes the loss from SquaredDifference,
// Sum and Mul, and its gradient from Tile, Sub, two Muls and the Mul by ½: at batch 1024 and 978
// genes that is six passes over 4 MB arrays and five temporaries per step, for one read of x and x̂.
//
// - gaussianNll(out, x, y, rows, cols): out[r] = ½ · Σ_c (x − y)², each square rounded to float32
//   (SquaredDifference), summed in double in reduce()'s row order (sum_row), rounded, halved.
// - gaussianNllGrad(dx, dy, a, b, rows, cols): dx[r, c] = (dy[r]·½) · (2·(a − b)), rounding where
//   tfjs's ops round: the gradient for a (x with b = x̂, or x̂ with b = x).
// So both equal the native composite bit for bit. Rows are split between the threads.
#include <node_api.h>

#include <stdlib.h>

#include "args.h"
#include "kernels.h"
#include "stream.h"

typedef struct {
  float *out;
  const float *dy, *a, *b;
  int64_t cols;
  int failed;  // a worker could not allocate its row buffer
} NllJob;

static void nll_rows(void *ctx, int64_t begin, int64_t end) {
  NllJob *j = (NllJob *)ctx;
  const int64_t cols = j->cols;
  // The squares of one row, so sum_row adds them in exactly the order reduce() would.
  float *squares = (float *)malloc(sizeof(float) * (size_t)cols);
  if (squares == NULL) {
    j->failed = 1;
    return;
  }
  for (int64_t r = begin; r < end; r++) {
    const float *x = j->a + r * cols, *y = j->b + r * cols;
    for (int64_t c = 0; c < cols; c++) {
      const double d = (double)x[c] - (double)y[c];
      squares[c] = (float)(d * d);
    }
    j->out[r] = (float)((double)(float)sum_row(squares, cols) * 0.5);
  }
  free(squares);
}

HOT static void nll_grad_row(float *dx, double g, const float *a, const float *b, int64_t cols) {
  for (int64_t c = 0; c < cols; c++) {
    const float diff = (float)((double)a[c] - (double)b[c]);
    const float twice = (float)(2.0 * (double)diff);
    dx[c] = (float)(g * (double)twice);
  }
}

static void nll_grad_rows(void *ctx, int64_t begin, int64_t end) {
  const NllJob *j = (const NllJob *)ctx;
  for (int64_t r = begin; r < end; r++) {
    const double g = (double)(float)((double)j->dy[r] * 0.5);
    nll_grad_row(j->out + r * j->cols, g, j->a + r * j->cols, j->b + r * j->cols, j->cols);
  }
}

/** Reads (out, dy?, a, b, rows, cols), a and b from argument `first` on; returns 0 after throwing. */
static int read_nll(Args *args, size_t first, int with_dy, NllJob *job, int64_t *rows) {
  size_t lo, ldy = 0, la, lb;
  job->out = f32(args, 0, &lo);
  job->dy = with_dy ? f32(args, 1, &ldy) : NULL;
  job->a = f32(args, first, &la);
  job->b = f32(args, first + 1, &lb);
  *rows = integer(args, first + 2);
  job->cols = integer(args, first + 3);
  job->failed = 0;
  if (args->failed) return 0;
  const int64_t r = *rows, c = job->cols;
  const size_t size = (size_t)(r * c);
  need(args, r >= 0 && c >= 1 && size <= la && size <= lb, "gaussianNll: bad sizes");
  need(args, with_dy ? size <= lo && (size_t)r <= ldy : (size_t)r <= lo, "gaussianNll: output too short");
  return !args->failed;
}

/** The loss (with_dy 0: out, x, y, rows, cols) or its gradient (with_dy 1: dx, dy, a, b, rows, cols). */
static napi_value run_nll(napi_env env, napi_callback_info info, int with_dy, range_fn rows_fn) {
  Args args;
  if (!args_init(&args, env, info, with_dy ? 6 : 5)) return NULL;
  NllJob job;
  int64_t rows;
  if (!read_nll(&args, with_dy ? 2 : 1, with_dy, &job, &rows)) return NULL;
  return stream_loop(&args, rows_fn, &job, sizeof job, rows, (GRAIN_CHEAP + job.cols - 1) / job.cols, offsetof(NllJob, failed));
}

static napi_value GaussianNll(napi_env env, napi_callback_info info) { return run_nll(env, info, 0, nll_rows); }

static napi_value GaussianNllGrad(napi_env env, napi_callback_info info) { return run_nll(env, info, 1, nll_grad_rows); }

void loss_register(napi_env env, napi_value exports) {
  stream_export(env, exports, "gaussianNll", GaussianNll);
  stream_export(env, exports, "gaussianNllGrad", GaussianNllGrad);
}
