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
#include "stream.h"

// Non-stop IEEE arithmetic (no trap handlers, as everywhere in the addon): GCC may then compute an
// exp beside its clamp and select, instead of branching around it, which is what lets the row
// loops vectorise without AVX-512's masks (the AVX2 and baseline clones did not).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

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

/** e^x for |x| ≤ 708 (NaN stays NaN). */
static inline double exp_near(double x) {
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

/** e^x for x clamped to [−708, 708] (e^−708 ≈ 3e−308 stands in for 0; NaN stays NaN). */
static inline double exp_poly(double x) {
  x = x < -708.0 ? -708.0 : x;
  x = x > 708.0 ? 708.0 : x;
  return exp_near(x);
}

/**
 * tanh(x) = (e^{2x} − 1)/(e^{2x} + 1): ±1 in double from |x| ≈ 19, and exp_poly's clamp keeps it
 * there for any larger |x| (no clamp of its own: none is needed, and it cost ~10%). Its error
 * is absolute (< 3e−11, from exp_poly's), not relative near 0: the block only scales it by a bound
 * (logVar, log σ̄), adds it to O(1) values or takes exp of it, never returns it.
 */
static inline double tanh_poly(double x) {
  const double u = exp_poly(2 * x) - 1;
  return u / (u + 2);
}

// Each pass over a row below is one loop without branches or calls, so it vectorises; sums and
// maxima go through LANES partial results (a reassociated double sum: no change at float32).
#define LANES 8

/** Σ x[0..n), in LANES partial sums. */
HOT static double row_sum(const double *restrict x, int64_t n) {
  double part[LANES] = {0};
  int64_t c = 0;
  for (; c + LANES <= n; c += LANES)
    for (int l = 0; l < LANES; l++) part[l] += x[c + l];
  double total = 0;
  for (; c < n; c++) total += x[c];
  for (int l = 0; l < LANES; l++) total += part[l];
  return total;
}

/** max x[0..n) (NaNs skipped, as `if (x > top) top = x` does), in LANES partial maxima. */
HOT static double row_max(const double *restrict x, int64_t n) {
  double part[LANES];
  for (int l = 0; l < LANES; l++) part[l] = -INFINITY;
  int64_t c = 0;
  for (; c + LANES <= n; c += LANES)
    for (int l = 0; l < LANES; l++) part[l] = x[c + l] > part[l] ? x[c + l] : part[l];
  double top = -INFINITY;
  for (; c < n; c++) top = x[c] > top ? x[c] : top;
  for (int l = 0; l < LANES; l++) top = part[l] > top ? part[l] : top;
  return top;
}

/** x[c] = e^{x[c] − shift}. */
HOT static void exp_row(double *restrict x, double shift, int64_t n) {
  for (int64_t c = 0; c < n; c++) x[c] = exp_poly(x[c] - shift);
}

/**
 * The prior's first pass: t = tanh(s/Bp), v = Bp·t (log σ̄ before sparsifying), and the softmax
 * arguments |p|/T and |v|/T.
 */
HOT static void prior_bound_row(const float *restrict p, const float *restrict s, double prior_bound, double inverse_temperature,
                                double *restrict tanh_s, double *restrict v, double *restrict abs_mean, double *restrict abs_log_std,
                                int64_t n) {
  const double inverse_bound = 1 / prior_bound;
  for (int64_t c = 0; c < n; c++) {
    const double t = tanh_poly((double)s[c] * inverse_bound);
    const double log_std = prior_bound * t;
    tanh_s[c] = t;
    v[c] = log_std;
    abs_mean[c] = fabs((double)p[c]) * inverse_temperature;
    abs_log_std[c] = fabs(log_std) * inverse_temperature;
  }
}

/**
 * Scratch per row (doubles): the prior's tanh, bounded log σ̄ before sparsifying and the two
 * softmaxes' exponentials; the forward's KL terms or the backward's gradients of μ̄ and log σ̄
 * and their dot-product terms; a row of zeros for a missing dz.
 */
enum { PRIOR_TANH, PRIOR_LOG_STD, SOFT_MEAN, SOFT_LOG_STD, TERMS, GRAD_MEAN, GRAD_LOG_STD, DOT_MEAN, DOT_LOG_STD, SCRATCH_ROWS };

/**
 * The prior's softmaxes for row r: PRIOR_TANH, PRIOR_LOG_STD, and the unnormalised SOFT_MEAN and
 * SOFT_LOG_STD rows, with 1/Σ of each in inverse[0] and inverse[1]. sparsify(v) = v ⊙ softmax(|v|/T).
 */
static void prior_softmaxes(const LatentJob *j, int64_t r, double *scratch, double inverse[2]) {
  const int64_t n = j->latent;
  const float *q = j->prior + r * 2 * n;
  double *soft_mean = scratch + SOFT_MEAN * n, *soft_log_std = scratch + SOFT_LOG_STD * n;
  prior_bound_row(q, q + n, j->prior_bound, 1 / j->temperature, scratch + PRIOR_TANH * n, scratch + PRIOR_LOG_STD * n, soft_mean,
                  soft_log_std, n);
  exp_row(soft_mean, row_max(soft_mean, n), n);
  exp_row(soft_log_std, row_max(soft_log_std, n), n);
  inverse[0] = 1 / row_sum(soft_mean, n);
  inverse[1] = 1 / row_sum(soft_log_std, n);
}

/** Row r's posterior inputs μ and a, its noise ε, and the bound B. */
typedef struct {
  const float *mean, *raw, *eps;
  double bound;
} PosteriorRow;

/** z, and the KL terms 2 log σ̄ − logVar + (e^{logVar} + (μ − μ̄)²)/σ̄² − 1 with μ̄ = p⊙softmax, log σ̄ = v⊙softmax. */
HOT static void forward_prior_row(PosteriorRow in, const float *restrict p, const double *restrict v, const double *restrict soft_mean,
                                  const double *restrict soft_log_std, double inverse_mean, double inverse_log_std, float *restrict z,
                                  double *restrict terms, int64_t n) {
  const double inverse_bound = 1 / in.bound;
  for (int64_t c = 0; c < n; c++) {
    const double prior_mean = (double)p[c] * (soft_mean[c] * inverse_mean);
    const double prior_log_std = v[c] * (soft_log_std[c] * inverse_log_std);
    const double inverse_prior_var = exp_near(-2 * prior_log_std);
    const double mean = in.mean[c], log_var = in.bound * tanh_poly((double)in.raw[c] * inverse_bound);
    const double std = exp_near(0.5 * log_var), d = mean - prior_mean;
    z[c] = (float)(mean + std * (double)in.eps[c]);
    terms[c] = 2 * prior_log_std - log_var + (std * std + d * d) * inverse_prior_var - 1;
  }
}

/** z, and the KL terms e^{logVar} + μ² − logVar − 1 to N(0, I). */
HOT static void forward_normal_row(PosteriorRow in, float *restrict z, double *restrict terms, int64_t n) {
  const double inverse_bound = 1 / in.bound;
  for (int64_t c = 0; c < n; c++) {
    const double mean = in.mean[c], log_var = in.bound * tanh_poly((double)in.raw[c] * inverse_bound);
    const double std = exp_near(0.5 * log_var);
    z[c] = (float)(mean + std * (double)in.eps[c]);
    terms[c] = std * std + mean * mean - log_var - 1;
  }
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
  double *terms = scratch + TERMS * n;
  for (int64_t r = begin; r < end; r++) {
    const float *post = j->post + r * 2 * n;
    const PosteriorRow in = {post, post + n, j->noise + r * n, j->bound};
    if (j->prior) {
      double inverse[2];
      prior_softmaxes(j, r, scratch, inverse);
      forward_prior_row(in, j->prior + r * 2 * n, scratch + PRIOR_LOG_STD * n, scratch + SOFT_MEAN * n, scratch + SOFT_LOG_STD * n,
                        inverse[0], inverse[1], j->z + r * n, terms, n);
    } else {
      forward_normal_row(in, j->z + r * n, terms, n);
    }
    j->kl[r] = (float)(0.5 * row_sum(terms, n));
  }
  free(scratch);
}

/**
 * dPosterior of row r through z (dz) and the KL (g = ½·dkl) to the learnt prior, and the
 * gradients of μ̄ and log σ̄ (GRAD_MEAN, GRAD_LOG_STD) with their products with the sparsified
 * values and softmaxes (DOT_MEAN, DOT_LOG_STD: the terms of sparsify's backward Σ).
 */
HOT static void backward_prior_row(PosteriorRow in, const float *restrict dz, double g, const float *restrict p, const double *restrict v,
                                   const double *restrict soft_mean, const double *restrict soft_log_std, double inverse_mean,
                                   double inverse_log_std, float *restrict dpost, double *restrict grad_mean, double *restrict grad_log_std,
                                   double *restrict dot_mean, double *restrict dot_log_std, int64_t n) {
  const double inverse_bound = 1 / in.bound;
  for (int64_t c = 0; c < n; c++) {
    const double s_mean = soft_mean[c] * inverse_mean, s_log_std = soft_log_std[c] * inverse_log_std;
    const double prior_mean = (double)p[c] * s_mean, prior_log_std = v[c] * s_log_std;
    const double inverse_prior_var = exp_near(-2 * prior_log_std);
    const double mean = in.mean[c], t = tanh_poly((double)in.raw[c] * inverse_bound), log_var = in.bound * t;
    const double std = exp_near(0.5 * log_var), var = std * std, d = mean - prior_mean, dzc = dz[c];
    // ∂kl/∂μ = g·2d/σ̄², ∂kl/∂logVar = g·(e^{logVar}/σ̄² − 1), ∂kl/∂μ̄ = −∂kl/∂μ, and ∂kl/∂log σ̄ = 2g·(1 − ratio) (logVarP = 2 log σ̄).
    const double d_mean_kl = 2 * g * d * inverse_prior_var;
    const double d_log_var = dzc * (double)in.eps[c] * std * 0.5 + g * (var * inverse_prior_var - 1);
    const double d_prior_log_std = 2 * g * (1 - (var + d * d) * inverse_prior_var);
    dpost[c] = (float)(dzc + d_mean_kl);
    dpost[n + c] = (float)(d_log_var * (1 - t * t));
    grad_mean[c] = -d_mean_kl;
    grad_log_std[c] = d_prior_log_std;
    dot_mean[c] = -d_mean_kl * (double)p[c] * s_mean;
    dot_log_std[c] = d_prior_log_std * v[c] * s_log_std;
  }
}

/**
 * dPrior of row r: through y = v ⊙ softmax(|v|/T), dv = dy⊙s + sign(v)/T · s⊙(dy⊙v − Σ dy⊙v⊙s)
 * for μ̄ (v = p) and log σ̄ (v = Bp·tanh(s_raw/Bp), then its tanh's derivative).
 */
HOT static void prior_grad_row(const float *restrict p, const double *restrict v, const double *restrict tanh_s,
                               const double *restrict soft_mean, const double *restrict soft_log_std, double inverse_mean,
                               double inverse_log_std, const double *restrict grad_mean, const double *restrict grad_log_std, double sum_mean,
                               double sum_log_std, double inverse_temperature, float *restrict dprior, int64_t n) {
  for (int64_t c = 0; c < n; c++) {
    const double s_mean = soft_mean[c] * inverse_mean, s_log_std = soft_log_std[c] * inverse_log_std, raw = p[c];
    // tfjs differentiates |v| as step(v, −1): −1 at v = 0.
    const double sign_mean = raw > 0 ? inverse_temperature : -inverse_temperature;
    const double sign_log_std = v[c] > 0 ? inverse_temperature : -inverse_temperature;
    const double dv_mean = grad_mean[c] * s_mean + sign_mean * s_mean * (grad_mean[c] * raw - sum_mean);
    const double dv_log_std = grad_log_std[c] * s_log_std + sign_log_std * s_log_std * (grad_log_std[c] * v[c] - sum_log_std);
    dprior[c] = (float)dv_mean;
    dprior[n + c] = (float)(dv_log_std * (1 - tanh_s[c] * tanh_s[c]));
  }
}

/** dPosterior of row r through z (dz) and the KL (g = ½·dkl) to N(0, I). */
HOT static void backward_normal_row(PosteriorRow in, const float *restrict dz, double g, float *restrict dpost, int64_t n) {
  const double inverse_bound = 1 / in.bound;
  for (int64_t c = 0; c < n; c++) {
    const double mean = in.mean[c], t = tanh_poly((double)in.raw[c] * inverse_bound), log_var = in.bound * t;
    const double std = exp_near(0.5 * log_var), dzc = dz[c];
    const double d_log_var = dzc * (double)in.eps[c] * std * 0.5 + g * (std * std - 1);
    dpost[c] = (float)(dzc + 2 * g * mean);
    dpost[n + c] = (float)(d_log_var * (1 - t * t));
  }
}

static void backward_rows(void *ctx, int64_t begin, int64_t end) {
  LatentJob *j = (LatentJob *)ctx;
  const int64_t n = j->latent;
  double *scratch = row_scratch(j);
  // A missing dz reads as a row of zeros.
  float *zeros = j->dz ? NULL : (float *)calloc((size_t)n, sizeof(float));
  if (scratch == NULL || (j->dz == NULL && zeros == NULL)) {
    j->failed = 1;
    free(scratch);
    return;
  }
  double *w[SCRATCH_ROWS];
  for (int k = 0; k < SCRATCH_ROWS; k++) w[k] = scratch + k * n;
  for (int64_t r = begin; r < end; r++) {
    const float *post = j->post + r * 2 * n, *dz = j->dz ? j->dz + r * n : zeros;
    const PosteriorRow in = {post, post + n, j->noise + r * n, j->bound};
    const double g = j->dkl ? 0.5 * (double)j->dkl[r] : 0;
    float *dpost = j->dpost + r * 2 * n;
    if (!j->prior) {
      backward_normal_row(in, dz, g, dpost, n);
      continue;
    }
    const float *p = j->prior + r * 2 * n;
    double inverse[2];
    prior_softmaxes(j, r, scratch, inverse);
    backward_prior_row(in, dz, g, p, w[PRIOR_LOG_STD], w[SOFT_MEAN], w[SOFT_LOG_STD], inverse[0], inverse[1], dpost, w[GRAD_MEAN],
                       w[GRAD_LOG_STD], w[DOT_MEAN], w[DOT_LOG_STD], n);
    prior_grad_row(p, w[PRIOR_LOG_STD], w[PRIOR_TANH], w[SOFT_MEAN], w[SOFT_LOG_STD], inverse[0], inverse[1], w[GRAD_MEAN], w[GRAD_LOG_STD],
                   row_sum(w[DOT_MEAN], n), row_sum(w[DOT_LOG_STD], n), 1 / j->temperature, j->dprior + r * 2 * n, n);
  }
  free(zeros);
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
  // σ = e^{B·t/2} and 1/σ̄² = e^{−2 log σ̄} (|log σ̄| ≤ Bp) take exp_near: their arguments must stay within ±708.
  need(args, job->bound <= 1416 && job->prior_bound <= 354, "gaussianLatent: the bounds must be at most 1416 (posterior) and 354 (prior)");
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
  return stream_loop(&args, backward ? backward_rows : forward_rows, &job, sizeof job, rows, (GRAIN_COSTLY + job.latent - 1) / job.latent,
                     offsetof(LatentJob, failed));
}

static napi_value GaussianLatent(napi_env env, napi_callback_info info) { return run_latent(env, info, 0); }

static napi_value GaussianLatentGrad(napi_env env, napi_callback_info info) { return run_latent(env, info, 1); }

void latent_register(napi_env env, napi_value exports) {
  stream_export(env, exports, "gaussianLatent", GaussianLatent);
  stream_export(env, exports, "gaussianLatentGrad", GaussianLatentGrad);
}
