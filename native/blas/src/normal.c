// normalFill(out, state) → the spare normal, or undefined: Rng.fillNormal's numbers
// (src-main/node/data/random.ts: sfc32 pairs, Marsaglia's polar method) bit for bit, in C and on
// both cores. A batch-1024 step draws ~200,000 normals: ~4 ms of JavaScript on the training
// thread, while the other core waited.
//
// - state: the generator's four sfc32 words (Int32Array), advanced in place.
// - The accepted uniform pairs are found in order on the calling thread (integer work and one
//   comparison per pair; the raw words are parked in `out` itself), then the threads turn them
//   into normals: scale = √(−2·log r / r), out = u·scale, v·scale, each product rounded to
//   float32 as a Float32Array store rounds it.
// - log is fdlibm's __ieee754_log (the one V8's Math.log runs), so the result is the same double
//   as JavaScript's; sqrt and the other operations are IEEE-exact either way, and
//   -ffp-contract=off keeps the compiler from fusing them.
// - An odd length leaves the pair's second normal as the spare, returned unrounded (a double), as
//   Rng keeps it.
#include <node_api.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "args.h"
#include "kernels.h"

// fdlibm's e_log.c (Sun Microsystems, 1993: "Permission to use, copy, modify, and distribute
// this software is freely granted, provided that this notice is preserved."), as V8 ships it.
static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10, two54 = 1.80143985094819840000e+16,
                    Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
                    Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                    Lg7 = 1.479819860511658591e-01;

static inline int32_t high_word(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  return (int32_t)(bits >> 32);
}

static inline uint32_t low_word(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  return (uint32_t)bits;
}

static inline double with_high_word(double x, int32_t hi) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  bits = ((uint64_t)(uint32_t)hi << 32) | (bits & 0xffffffffu);
  memcpy(&x, &bits, sizeof bits);
  return x;
}

static double fdlibm_log(double x) {
  double hfsq, f, s, z, R, w, t1, t2, dk;
  int32_t k = 0, hx = high_word(x), i, j;
  const uint32_t lx = low_word(x);
  if (hx < 0x00100000) {                             // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) == 0) return -INFINITY;  // log(±0)
    if (hx < 0) return NAN;                          // log(negative)
    k -= 54;
    x *= two54;  // subnormal: scale up
    hx = high_word(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  i = (hx + 0x95f64) & 0x100000;
  x = with_high_word(x, hx | (i ^ 0x3ff00000));  // normalise x or x/2
  k += (i >> 20);
  f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {  // |f| < 2^-20
    if (f == 0.0) {
      if (k == 0) return 0.0;
      dk = (double)k;
      return dk * ln2_hi + dk * ln2_lo;
    }
    R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    dk = (double)k;
    return dk * ln2_hi - ((R - dk * ln2_lo) - f);
  }
  s = f / (2.0 + f);
  dk = (double)k;
  z = s * s;
  i = hx - 0x6147a;
  w = z * z;
  j = 0x6b851 - hx;
  t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  R = t2 + t1;
  if (i > 0) {
    hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

typedef struct {
  uint32_t a, b, c, d;
} Sfc32;

static inline uint32_t sfc32_next(Sfc32 *g) {
  const uint32_t t = g->a + g->b + g->d;
  g->d += 1;
  g->a = g->b ^ (g->b >> 9);
  g->b = g->c + (g->c << 3);
  g->c = ((g->c << 21) | (g->c >> 11)) + t;
  return t;
}

/** 2·(t / 2³²) − 1, exact in double, as Rng computes it. */
static inline double centred(uint32_t t) { return 2.0 * ((double)t / 4294967296.0) - 1.0; }

/** The next accepted pair's raw words (radius² in (0, 1)). */
static inline void next_pair(Sfc32 *g, uint32_t *tu, uint32_t *tv) {
  for (;;) {
    *tu = sfc32_next(g);
    *tv = sfc32_next(g);
    const double u = centred(*tu), v = centred(*tv), r = u * u + v * v;
    if (r < 1 && r != 0) return;
  }
}

/** √(−2·log r / r) for the pair (u, v), as Rng computes it. */
static inline double polar_scale(double u, double v) {
  const double r = u * u + v * v;
  return sqrt((-2 * fdlibm_log(r)) / r);
}

typedef struct {
  float *out;  // pairs of raw words in, pairs of normals out
} PairsJob;

static void pairs_to_normals(void *ctx, int64_t begin, int64_t end) {
  float *out = ((const PairsJob *)ctx)->out;
  for (int64_t p = begin; p < end; p++) {
    uint32_t tu, tv;
    memcpy(&tu, out + 2 * p, sizeof tu);
    memcpy(&tv, out + 2 * p + 1, sizeof tv);
    const double u = centred(tu), v = centred(tv), scale = polar_scale(u, v);
    out[2 * p] = (float)(u * scale);
    out[2 * p + 1] = (float)(v * scale);
  }
}

static napi_value NormalFill(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 2)) return NULL;
  size_t n, words;
  float *out = f32(&args, 0, &n);
  int32_t *state = (int32_t *)typed(&args, 1, napi_int32_array, &words);
  need(&args, words == 4, "normalFill: the state must be four Int32 words");
  if (args.failed) return NULL;
  Sfc32 g = {(uint32_t)state[0], (uint32_t)state[1], (uint32_t)state[2], (uint32_t)state[3]};
  const int64_t pairs = (int64_t)(n / 2);
  for (int64_t p = 0; p < pairs; p++) {
    uint32_t tu, tv;
    next_pair(&g, &tu, &tv);
    memcpy(out + 2 * p, &tu, sizeof tu);
    memcpy(out + 2 * p + 1, &tv, sizeof tv);
  }
  napi_value spare = NULL;
  if (n % 2 == 1) {
    uint32_t tu, tv;
    next_pair(&g, &tu, &tv);
    const double u = centred(tu), v = centred(tv), scale = polar_scale(u, v);
    out[n - 1] = (float)(u * scale);
    napi_create_double(env, v * scale, &spare);
  }
  PairsJob job = {out};
  // log and sqrt make each pair costly enough to split from a few thousand.
  if (pairs > 0) parallel_for(pairs_to_normals, &job, pairs, GRAIN_COSTLY / 2);
  state[0] = (int32_t)g.a;
  state[1] = (int32_t)g.b;
  state[2] = (int32_t)g.c;
  state[3] = (int32_t)g.d;
  return spare;
}

void normal_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"normalFill", NULL, NormalFill, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
