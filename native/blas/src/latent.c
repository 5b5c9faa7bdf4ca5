// A VAE's latent block as one kernel each way (src-main/node/ml/native/latent.ts): from the
// encoder's raw output [μ | a] and the noise ε, the sample z and the KL of q = N(μ, e^{logVar})
// to the prior, per sample; with the Environment VAE's prior net output [p | s], the prior is
// N(μ̄, e^{2 log σ̄}), else N(0, I). tfjs runs this as ~35 small ops forward and ~60 backward, each
// a dispatch, a tape entry and a fresh [rows, latent] array; at batch 64 that overhead is most of
// the block's time. The math (src-main/node/ml/modules/blocks.ts, math.ts):
//   logVar = B·tanh(a/B),  z = μ + exp(logVar/2)·ε
//   N(0, I):   kl = ½ Σ_j [e^{logVar} + μ² − logVar − 1]
//   prior:     μ̄ = sparsify(p), log σ̄ = sparsify(Bp·tanh(s/Bp)), logVarP = 2 log σ̄,
//              sparsify(v) = v ⊙ softmax(|v|/T) along the row,
//              kl = ½ Σ_j [logVarP − logVar + (e^{logVar} + (μ − μ̄)²)/e^{logVarP} − 1]
// Computed in double and rounded once when stored, so within float32 rounding of the composite
// (not bit for bit: tfjs rounds after every op). The backward recomputes the forward's
// intermediates from the inputs (they are [rows, latent], cheap) instead of keeping them.
//
// - gaussianLatent(z, kl, posterior, noise, prior, rows, latent, bound, priorBound, temperature)
// - gaussianLatentGrad(dPosterior, dPrior, dz, dkl, posterior, noise, prior, rows, latent, bound,
//   priorBound, temperature)
// An empty prior (length 0) means N(0, I) (dPrior is then not written); an empty dz or dkl means
// no gradient reaches that output (zeros). Rows are split between the threads.
#include <node_api.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "kernels.h"

typedef struct {
  float *z, *kl;                // forward outputs
  float *dpost, *dprior;        // backward outputs
  const float *dz, *dkl;        // backward inputs (NULL: zeros)
  const float *post, *noise, *prior;  // prior NULL: N(0, I)
  int64_t latent;
  double bound, prior_bound, temperature;
  int failed;  // a worker could not allocate its scratch
} LatentJob;

// e^x and tanh without libm calls, so the loops over a row's latent values vectorise (AVX-512 /
// AVX2 clones, HOT): with libm's exp and expm1 one at a time the block was ~15% of an Environment
// VAE step's CPU at batch 1024 (six transcendentals per latent value forward, as many backward).
// exp: x = k·ln2 + r, |r| ≤ ln2/2, e^r by a degree-7 polynomial (mpmath's chebyfit of e^r on that
// interval, coefficients rounded to double: relative error < 6e-11, 1/500 of float32's half ulp),
// 2^k from the exponent bits. Every result is rounded to float32 (2^-24 ≈ 6e-8) once: the
// degree-13 Taylor series before (1e-17) bought nothing there and cost twice the multiplies.
static const double LOG2_E = 1.4426950408889634, LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
static const double ROUNDING_SHIFT = 6755399441055744.0;  // 1.5·2^52: adding it rounds to an integer in the low bits

/** e^x for x clamped to [−708, 708] (e^−708 ≈ 3e−308 stands in for 0; NaN stays NaN). */
static inline double exp_poly(double x) {
  x = x < -708.0 ? -708.0 : x;
  x = x > 708.0 ? 708.0 : x;
  double k = x * LOG2_E + ROUNDING_SHIFT;
  int64_t bits;
  memcpy(&bits, &k, sizeof bits);
  k -= ROUNDING_SHIFT;
  const double r = (x - k * LN2_HI) - k * LN2_LO;
  double p = 1.9907569310848288e-04;
  p = p * r + 1.3948578326459795e-03;
  p = p * r + 8.3332835387085280e-03;
  p = p * r + 4.1666218319291945e-02;
  p = p * r + 1.6666666786308587e-01;
  p = p * r + 5.0000001077291660e-01;
  p = p * r + 9.9999999999550900e-01;
  p = p * r + 9.9999999995956180e-01;
  // The low bits of `bits` hold k (two's complement, offset by the shift's 2^51); 2^k's exponent field is k + 1023.
  const int64_t exponent = ((bits - (int64_t)0x4338000000000000LL) + 1023) << 52;
  double scale;
  memcpy(&scale, &exponent, sizeof scale);
  return p * scale;
}

/**
 * tanh(x) = (e^{2x} − 1)/(e^{2x} + 1), ±1 beyond |x| = 20 (tanh(±20) is ±1 in double). Its error
 * is absolute (< 3e−11, from exp_poly's), not relative near 0: the block only scales it by a bound
 * (logVar, log σ̄), adds it to O(1) values or takes exp of it, never returns it.
 */
static inline double tanh_poly(double x) {
  x = x < -20.0 ? -20.0 : x;
  x = x > 20.0 ? 20.0 : x;
  const double u = exp_poly(2 * x) - 1;
  return u / (u + 2);
}

/** t[c] = tanh(raw[c]/bound) for a row of float inputs. */
HOT static void tanh_row(const float *raw, double bound, double *t, int64_t n) {
  for (int64_t c = 0; c < n; c++) t[c] = tanh_poly((double)raw[c] / bound);
}

/** std[c] = e^{½·bound·t[c]} (σ of logVar = bound·t). */
HOT static void std_row(const double *t, double bound, double *std, int64_t n) {
  for (int64_t c = 0; c < n; c++) std[c] = exp_poly(0.5 * (bound * t[c]));
}

/** out[c] = e^{x[c] − shift}. */
HOT static void exp_row(const double *x, double shift, double *out, int64_t n) {
  for (int64_t c = 0; c < n; c++) out[c] = exp_poly(x[c] - shift);
}

/** y = v ⊙ softmax(|v|/T) into y, keeping the softmax in s. */
static void sparsify(const double *v, double *s, double *y, int64_t n, double temperature) {
  double top = -INFINITY;
  for (int64_t j = 0; j < n; j++) {
    s[j] = fabs(v[j]) / temperature;
    if (s[j] > top) top = s[j];
  }
  exp_row(s, top, s, n);
  double total = 0;
  for (int64_t j = 0; j < n; j++) total += s[j];
  for (int64_t j = 0; j < n; j++) {
    s[j] /= total;
    y[j] = v[j] * s[j];
  }
}

/** dv from dy through y = v ⊙ softmax(|v|/T): dy⊙s + sign(v)/T · s⊙(w − Σ w⊙s), w = dy⊙v. */
static void sparsify_grad(const double *v, const double *s, const double *dy, double *dv, int64_t n, double temperature) {
  double c = 0;
  for (int64_t j = 0; j < n; j++) c += dy[j] * v[j] * s[j];
  for (int64_t j = 0; j < n; j++) {
    // tfjs differentiates |v| as step(v, −1): −1 at v = 0.
    const double sign = v[j] > 0 ? 1.0 : -1.0;
    dv[j] = dy[j] * s[j] + sign / temperature * s[j] * (dy[j] * v[j] - c);
  }
}

/**
 * Scratch per row: the prior's raw mean and log σ̄, their softmaxes and sparsified values, two
 * gradients, tanh of the prior's bounded log σ̄, e^{log σ̄}, and the posterior's tanh and σ.
 */
enum {
  RAW_MEAN,
  SOFT_MEAN,
  PRIOR_MEAN,
  RAW_LOG_STD,
  SOFT_LOG_STD,
  PRIOR_LOG_STD,
  GRAD_A,
  GRAD_B,
  PRIOR_TANH,
  PRIOR_STD,
  POSTERIOR_TANH,
  POSTERIOR_STD,
  SCRATCH_ROWS
};

/** Row r's posterior tanh and σ, and (with a prior) the prior's μ̄, log σ̄ and σ̄, into the scratch. */
static void row_values(const LatentJob *j, int64_t r, double *scratch) {
  const int64_t n = j->latent;
  double *w[SCRATCH_ROWS];
  for (int k = 0; k < SCRATCH_ROWS; k++) w[k] = scratch + k * n;
  const float *p = j->post + r * 2 * n;
  tanh_row(p + n, j->bound, w[POSTERIOR_TANH], n);
  std_row(w[POSTERIOR_TANH], j->bound, w[POSTERIOR_STD], n);
  if (!j->prior) return;
  const float *q = j->prior + r * 2 * n;
  tanh_row(q + n, j->prior_bound, w[PRIOR_TANH], n);
  for (int64_t c = 0; c < n; c++) {
    w[RAW_MEAN][c] = q[c];
    w[RAW_LOG_STD][c] = j->prior_bound * w[PRIOR_TANH][c];
  }
  sparsify(w[RAW_MEAN], w[SOFT_MEAN], w[PRIOR_MEAN], n, j->temperature);
  sparsify(w[RAW_LOG_STD], w[SOFT_LOG_STD], w[PRIOR_LOG_STD], n, j->temperature);
  exp_row(w[PRIOR_LOG_STD], 0, w[PRIOR_STD], n);
}

static double *row_scratch(LatentJob *j) {
  double *scratch = (double *)malloc(sizeof(double) * (size_t)(j->latent * SCRATCH_ROWS));
  if (scratch == NULL) j->failed = 1;
  return scratch;
}

static void forward_rows(void *ctx, int64_t begin, int64_t end) {
  LatentJob *j = (LatentJob *)ctx;
  const int64_t n = j->latent;
  double *scratch = row_scratch(j);
  if (scratch == NULL) return;
  const double *t = scratch + POSTERIOR_TANH * n, *std = scratch + POSTERIOR_STD * n;
  for (int64_t r = begin; r < end; r++) {
    const float *p = j->post + r * 2 * n, *eps = j->noise + r * n;
    row_values(j, r, scratch);
    double kl = 0;
    for (int64_t c = 0; c < n; c++) {
      const double mean = p[c], log_var = j->bound * t[c], var = std[c] * std[c];
      j->z[r * n + c] = (float)(mean + std[c] * (double)eps[c]);
      if (j->prior) {
        const double prior_log_std = scratch[PRIOR_LOG_STD * n + c], prior_std = scratch[PRIOR_STD * n + c];
        const double d = mean - scratch[PRIOR_MEAN * n + c];
        kl += 2 * prior_log_std - log_var + (var + d * d) / (prior_std * prior_std) - 1;
      } else {
        kl += var + mean * mean - log_var - 1;
      }
    }
    j->kl[r] = (float)(0.5 * kl);
  }
  free(scratch);
}

static void backward_rows(void *ctx, int64_t begin, int64_t end) {
  LatentJob *j = (LatentJob *)ctx;
  const int64_t n = j->latent;
  double *scratch = row_scratch(j);
  if (scratch == NULL) return;
  const double *tanh_s = scratch + PRIOR_TANH * n, *t = scratch + POSTERIOR_TANH * n, *std = scratch + POSTERIOR_STD * n;
  double *d_prior_mean = scratch + GRAD_A * n, *d_prior_log_std = scratch + GRAD_B * n;
  for (int64_t r = begin; r < end; r++) {
    const float *p = j->post + r * 2 * n, *eps = j->noise + r * n;
    float *dp = j->dpost + r * 2 * n;
    const double g = j->dkl ? 0.5 * (double)j->dkl[r] : 0;
    row_values(j, r, scratch);
    for (int64_t c = 0; c < n; c++) {
      const double mean = p[c], var = std[c] * std[c];
      const double dz = j->dz ? (double)j->dz[r * n + c] : 0;
      double d_mean = dz, d_log_var = dz * (double)eps[c] * std[c] * 0.5;
      if (j->prior) {
        const double prior_std = scratch[PRIOR_STD * n + c], prior_var = prior_std * prior_std;
        const double d = mean - scratch[PRIOR_MEAN * n + c];
        d_mean += g * 2 * d / prior_var;
        d_log_var += g * (var / prior_var - 1);
        d_prior_mean[c] = -g * 2 * d / prior_var;
        // ∂kl/∂logVarP = g·(1 − ratio), and logVarP = 2 log σ̄.
        d_prior_log_std[c] = 2 * g * (1 - (var + d * d) / prior_var);
      } else {
        d_mean += g * 2 * mean;
        d_log_var += g * (var - 1);
      }
      dp[c] = (float)d_mean;
      dp[n + c] = (float)(d_log_var * (1 - t[c] * t[c]));
    }
    if (j->prior) {
      float *dq = j->dprior + r * 2 * n;
      // Each gradient goes into its sparsified-value row, which is not read after the loop above.
      double *d_raw_mean = scratch + PRIOR_MEAN * n, *d_bounded_log_std = scratch + PRIOR_LOG_STD * n;
      sparsify_grad(scratch + RAW_MEAN * n, scratch + SOFT_MEAN * n, d_prior_mean, d_raw_mean, n, j->temperature);
      sparsify_grad(scratch + RAW_LOG_STD * n, scratch + SOFT_LOG_STD * n, d_prior_log_std, d_bounded_log_std, n, j->temperature);
      for (int64_t c = 0; c < n; c++) {
        dq[c] = (float)d_raw_mean[c];
        dq[n + c] = (float)(d_bounded_log_std[c] * (1 - tanh_s[c] * tanh_s[c]));
      }
    }
  }
  free(scratch);
}

/** An optional array: NULL when empty, else it must hold at least `want` elements. */
static const float *optional(Args *args, size_t i, size_t want, const char *message) {
  size_t length;
  const float *data = f32(args, i, &length);
  if (args->failed || length == 0) return NULL;
  need(args, length >= want, message);
  return data;
}

/** Reads rows, latent, bounds and temperature from argument `first`, and posterior, noise, prior before them. */
static int read_common(Args *args, size_t first, LatentJob *job, int64_t *rows) {
  *rows = integer(args, first + 3);
  job->latent = integer(args, first + 4);
  job->bound = num(args, first + 5);
  job->prior_bound = num(args, first + 6);
  job->temperature = num(args, first + 7);
  job->failed = 0;
  if (args->failed) return 0;
  const int64_t r = *rows, n = job->latent;
  need(args, r >= 0 && n >= 1, "gaussianLatent: bad sizes");
  need(args, job->bound > 0 && job->prior_bound > 0 && job->temperature > 0, "gaussianLatent: bounds and temperature must be positive");
  if (args->failed) return 0;
  size_t lp, le;
  job->post = f32(args, first, &lp);
  job->noise = f32(args, first + 1, &le);
  job->prior = optional(args, first + 2, (size_t)(r * 2 * n), "gaussianLatent: prior too short");
  need(args, lp >= (size_t)(r * 2 * n) && le >= (size_t)(r * n), "gaussianLatent: posterior or noise too short");
  return !args->failed;
}

/** The block (backward 0: z, kl, then the inputs) or its gradient (backward 1: dPosterior, dPrior, dz, dkl, then the inputs). */
static napi_value run_latent(napi_env env, napi_callback_info info, int backward) {
  Args args;
  if (!args_init(&args, env, info, backward ? 12 : 10)) return NULL;
  LatentJob job = {0};
  int64_t rows;
  size_t l0, l1;
  float *out0 = f32(&args, 0, &l0), *out1 = f32(&args, 1, &l1);
  if (!read_common(&args, backward ? 4 : 2, &job, &rows)) return NULL;
  const size_t block = (size_t)(rows * job.latent);
  if (backward) {
    job.dpost = out0;
    job.dprior = out1;
    job.dz = optional(&args, 2, block, "gaussianLatentGrad: dz too short");
    job.dkl = optional(&args, 3, (size_t)rows, "gaussianLatentGrad: dkl too short");
    need(&args, l0 >= 2 * block && (job.prior == NULL || l1 >= 2 * block), "gaussianLatentGrad: output too short");
  } else {
    job.z = out0;
    job.kl = out1;
    need(&args, l0 >= block && l1 >= (size_t)rows, "gaussianLatent: output too short");
  }
  if (args.failed) return NULL;
  parallel_for(backward ? backward_rows : forward_rows, &job, rows, (GRAIN_COSTLY + job.latent - 1) / job.latent);
  if (job.failed) fail(&args, "cellshift_blas: out of memory");
  return NULL;
}

static napi_value GaussianLatent(napi_env env, napi_callback_info info) { return run_latent(env, info, 0); }

static napi_value GaussianLatentGrad(napi_env env, napi_callback_info info) { return run_latent(env, info, 1); }

void latent_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gaussianLatent", NULL, GaussianLatent, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"gaussianLatentGrad", NULL, GaussianLatentGrad, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
