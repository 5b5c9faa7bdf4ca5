// normalFill(out, state) → the spare normal, or undefined: Rng.fillNormal's numbers
// (src-main/node/data/random.ts: sfc32 pairs, Marsaglia's polar method) bit for bit, in C and on
// both cores. A batch-1024 step draws ~200,000 normals.
//
// - state: the generator's four sfc32 words (Int32Array), advanced in place.
// - Generating the words is serial (sfc32 has no jump-ahead), so one thread at a time draws the
//   next chunk of accepted pairs, branch-free (every attempt is stored, the count of accepted ones
//   advances by the test's 0 or 1), parking the raw words in `out` itself; meanwhile the threads
//   turn finished chunks into normals: scale = √(−2·log r / r), out = u·scale, v·scale, each
//   product rounded to float32 as a Float32Array store rounds it. Any thread takes whichever is
//   due (the next chunk to draw first, else a drawn chunk to transform) and waits only for a chunk
//   another thread is drawing, so the result and its order do not depend on how many threads run.
// - log is fdlibm's __ieee754_log (the one V8's Math.log runs), so the result is the same double
//   as JavaScript's; sqrt and the other operations are IEEE-exact either way, and
//   -ffp-contract=off keeps the compiler from fusing them. The transform runs fdlibm's common path
//   for a block of radii as a loop the compiler vectorises (log_block: its operations in its order,
//   both of its branches computed and one kept by a bit mask) and redoes with the scalar
//   function the few radii (~3 in 2^20) that take fdlibm's |f| < 2^-20 branch. The addon checks
//   log_block against fdlibm_log at load on radii chosen to take every branch (log_self_check);
//   should they ever differ, normalFill throws instead of drawing different numbers.
// - An odd length leaves the pair's second normal as the spare, returned unrounded (a double), as
//   Rng keeps it.
#include <node_api.h>

#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
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

// Radii of accepted pairs lie in [2^-62, 1): normal doubles below one, so of fdlibm's special
// cases (zero, negative, subnormal, infinity, NaN) none can occur and log_block skips them.

static inline double from_bits(uint64_t bits) {
  double x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

static inline uint64_t to_bits(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  return bits;
}

/** Whether fdlibm's log takes its |f| < 2^-20 branch for x (the high word's 20 low bits are 0xffffe, 0xfffff or 0). */
static inline int log_is_rare(double x) { return ((2 + (int64_t)(to_bits(x) >> 32)) & 0x000fffff) < 3; }

static const double SHIFT_1_5_2_52 = 6755399441055744.0;  // 1.5·2^52: (double)k exactly from k's bits, for |k| < 2^51

/**
 * lg[p] = fdlibm_log(r[p]) for radii in [2^-62, 1), vectorised: every operation fdlibm does, in its
 * order, for both of its common branches, keeping the one it takes; radii that take the
 * |f| < 2^-20 branch get the scalar function after the loop. Integer work is in 64-bit lanes
 * (hx, k) so the loop keeps one vector width.
 */
HOT static void log_block(const double *restrict r, double *restrict lg, int64_t n) {
  int64_t rare = 0;
  for (int64_t p = 0; p < n; p++) {
    const uint64_t bits = to_bits(r[p]);
    int64_t hx = (int64_t)(bits >> 32);
    int64_t k = (hx >> 20) - 1023;
    hx &= 0x000fffff;
    const int64_t i = (hx + 0x95f64) & 0x100000;
    const double x = from_bits(((uint64_t)(hx | (i ^ 0x3ff00000)) << 32) | (bits & 0xffffffffu));  // x or x/2 normalised
    k += i >> 20;
    const double f = x - 1.0;
    rare |= ((2 + hx) & 0x000fffff) < 3;
    const double s = f / (2.0 + f);
    const double dk = from_bits(0x4338000000000000u + (uint64_t)k) - SHIFT_1_5_2_52;  // (double)k, exactly
    const double z = s * s;
    const double w = z * z;
    const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
    const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
    const int64_t band = (hx - 0x6147a) | (0x6b851 - hx);
    const double R = t2 + t1;
    const double hfsq = 0.5 * f * f;
    // fdlibm returns f − (…) for k = 0 and dk·ln2_hi − ((…) − f) otherwise; with dk = 0 the latter
    // is 0 − ((…) − f), the same double (rounding to nearest is symmetric, 0 − y is −y exactly, and
    // f ≠ 0 here), so one formula serves both. Both of its branches, then the one it returns,
    // picked with a bit mask: a ?: left the AVX2 and baseline loops unvectorised (control flow).
    const double near = dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
    const double far = dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
    const uint64_t in_band = -(uint64_t)(band > 0);
    lg[p] = from_bits((to_bits(near) & in_band) | (to_bits(far) & ~in_band));
  }
  if (rare) {
    for (int64_t p = 0; p < n; p++) {
      if (log_is_rare(r[p])) lg[p] = fdlibm_log(r[p]);
    }
  }
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

/** The same double as centred(t) (both exact): (t − 2^31)·2^−31, from a signed conversion that vectorises. */
static inline double centred_signed(uint32_t t) { return (double)(int32_t)(t ^ 0x80000000u) * 0x1p-31; }

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

/**
 * Draws the next `count` accepted pairs into words[0..2·count) (tu, tv), exactly the attempts Rng
 * makes: each round makes as many attempts as pairs are still missing, so it never draws past the
 * last accepted pair, and stores every attempt where the next accepted pair goes, keeping it by
 * counting it (no branch to mispredict on the ~21% rejected). The loop is bound by its
 * instruction count (sfc32 alone runs at ~2 cycles a word), so the test is lean: with
 * x = u·2^31 and y = v·2^31 (exact integers), x² + y² rounds as u² + v² does scaled by 2^62, and
 * being a rounded sum of squares of integers it is 0 or at least 1; so 0 < r < 1 is
 * 1 ≤ x² + y² < 2^62, one unsigned comparison of the non-negative double's bits.
 */
static void draw_pairs(Sfc32 *state, uint32_t *words, int64_t count) {
  Sfc32 g = *state;
  const uint64_t one = to_bits(1.0), span = to_bits(0x1p62) - to_bits(1.0);
  int64_t have = 0;
  while (have < count) {
    const int64_t attempts = count - have;
    for (int64_t a = 0; a < attempts; a++) {
      const uint32_t tu = sfc32_next(&g), tv = sfc32_next(&g);
      const double x = (double)(int32_t)(tu ^ 0x80000000u), y = (double)(int32_t)(tv ^ 0x80000000u), r = x * x + y * y;
      words[2 * have] = tu;
      words[2 * have + 1] = tv;
      have += to_bits(r) - one < span;
    }
  }
  *state = g;
}

enum { BLOCK = 512 };  // pairs per transform block (u, v, radii and logs: 16 KiB on the stack)

/** Pairs of raw words in out[2·begin, 2·end) → pairs of normals in place. */
HOT static void pairs_to_normals(float *out, int64_t begin, int64_t end) {
  double u[BLOCK], v[BLOCK], r[BLOCK], lg[BLOCK];
  for (int64_t first = begin; first < end; first += BLOCK) {
    const int64_t n = end - first < BLOCK ? end - first : BLOCK;
    const uint32_t *restrict words = (const uint32_t *)(const void *)(out + 2 * first);
    for (int64_t p = 0; p < n; p++) {
      u[p] = centred_signed(words[2 * p]);
      v[p] = centred_signed(words[2 * p + 1]);
      r[p] = u[p] * u[p] + v[p] * v[p];
    }
    log_block(r, lg, n);
    float *restrict normals = out + 2 * first;
    for (int64_t p = 0; p < n; p++) {
      const double scale = sqrt((-2 * lg[p]) / r[p]);
      normals[2 * p] = (float)(u[p] * scale);
      normals[2 * p + 1] = (float)(v[p] * scale);
    }
  }
}

// The pipeline's shared state. `drawn` (pairs drawn so far) is published with release order after
// the words are stored; `drawing` is the turn to draw (one thread at a time owns `g`); `claimed`
// counts transform chunks handed out.
enum { DRAW_CHUNK = 2048, TRANSFORM_CHUNK = 2048 };

typedef struct {
  float *out;
  int64_t pairs;
  Sfc32 g;
  int64_t drawn;
  int64_t claimed;
  int drawing;
} FillJob;

/**
 * One thread's share of a normalFill: it ignores the range parallel_for gives it, since every part
 * runs this same loop and takes whatever is due; a part that starts late (or never) only means
 * the others do more. It waits only for a chunk another thread is drawing at that moment.
 */
static void fill_worker(void *ctx, int64_t begin, int64_t end) {
  FillJob *job = ctx;
  const int64_t pairs = job->pairs, chunks = (pairs + TRANSFORM_CHUNK - 1) / TRANSFORM_CHUNK;
  int idle = 0;
  for (;;) {
    // Drawing is the serial part: whoever is free takes the next chunk of it first.
    if (__atomic_load_n(&job->drawn, __ATOMIC_ACQUIRE) < pairs && !__atomic_exchange_n(&job->drawing, 1, __ATOMIC_ACQUIRE)) {
      const int64_t from = __atomic_load_n(&job->drawn, __ATOMIC_RELAXED), count = pairs - from < DRAW_CHUNK ? pairs - from : DRAW_CHUNK;
      if (count > 0) draw_pairs(&job->g, (uint32_t *)(void *)(job->out + 2 * from), count);
      __atomic_store_n(&job->drawn, from + count, __ATOMIC_RELEASE);
      __atomic_store_n(&job->drawing, 0, __ATOMIC_RELEASE);
      idle = 0;
      continue;
    }
    int64_t chunk = __atomic_load_n(&job->claimed, __ATOMIC_RELAXED);
    if (chunk >= chunks) return;
    const int64_t first = chunk * TRANSFORM_CHUNK, last = first + TRANSFORM_CHUNK < pairs ? first + TRANSFORM_CHUNK : pairs;
    if (__atomic_load_n(&job->drawn, __ATOMIC_ACQUIRE) >= last) {
      if (__atomic_compare_exchange_n(&job->claimed, &chunk, chunk + 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        pairs_to_normals(job->out, first, last);
        idle = 0;
      }
      continue;
    }
    // The chunk is being drawn by the thread holding the turn: wait for it, politely.
    if (++idle < 256) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield();
    }
  }
}

// log_block against fdlibm_log on radii that take each of fdlibm's branches: |f| < 2^-20 with
// f = 0 (powers of two) and not, k = 0 (r ≥ √2/2) and not, inside and outside the band where it
// uses hfsq, at the band's edges and the normalisation threshold, the extremes of the range.
// Run once at load; a difference (a compiler or flag change breaking bit-identity) makes
// normalFill throw rather than draw numbers that are not Rng's.
static char self_check_error[160] = "";

static void log_self_check(void) {
  enum { COUNT = 1024 };
  double r[COUNT], lg[COUNT];
  int n = 0;
  static const uint32_t lows[] = {0x00000, 0x00001, 0x00002, 0xffffd, 0xffffe, 0xfffff, 0x6147a, 0x6147b, 0x6b850, 0x6b851, 0x6b852, 0x6a09b, 0x6a09c, 0x6a09d, 0x12345, 0x80000};
  for (int e = 0x3fe; e >= 0x3c1 && n + 32 <= COUNT - 16; e -= 3) {  // exponents of [2^-62, 1)
    for (size_t l = 0; l < sizeof lows / sizeof lows[0]; l++) {
      const uint64_t hi = (uint64_t)e << 20 | lows[l];
      r[n++] = from_bits(hi << 32);
      r[n++] = from_bits(hi << 32 | 0x9e3779b9u);
    }
  }
  // Radii just below 1 (k = 0) where fdlibm's |f| < 2^-20 branch and its common path round
  // differently, found by sampling 102.4 million radii that take that branch: about 1 in 1,400
  // of those with high word 0x3feffffe, 1 in 29,000 with 0x3fefffff, none elsewhere. Without the
  // scalar redo these come out an ulp off.
  static const double differ[] = {0x1.ffffe21de3b36p-1, 0x1.ffffe0de978cbp-1, 0x1.ffffe1c67b4eap-1, 0x1.fffff09cbb687p-1, 0x1.fffffb7169b33p-1};
  for (size_t d = 0; d < sizeof differ / sizeof differ[0]; d++) r[n++] = differ[d];
  r[n++] = 0x1p-62;
  r[n++] = nextafter(1.0, 0.0);
  r[n++] = 0.7071067811865476;  // √2/2, where k becomes 0
  r[n++] = 0.7071067811865475;
  for (int p = 0; p < n; p++) {
    if (!(r[p] >= 0x1p-62 && r[p] < 1)) r[p] = 0.5;  // every radius in the range log_block covers
  }
  log_block(r, lg, n);
  for (int p = 0; p < n; p++) {
    const double want = fdlibm_log(r[p]);
    if (to_bits(lg[p]) != to_bits(want)) {
      snprintf(self_check_error, sizeof self_check_error, "normalFill: the vectorised log differs from fdlibm's at %a (%a, not %a)", r[p],
               lg[p], want);
      return;
    }
  }
}

// Runs at once on the calling thread without waiting for the stream (stream.h): the noise of a
// step is drawn mid-forward, and waiting there would idle the cores. So `out` must be an array no
// queued call is using (the backend's writableArray gives such a one).
static napi_value NormalFill(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 2)) return NULL;
  size_t n, words;
  float *out = f32(&args, 0, &n);
  int32_t *state = (int32_t *)typed(&args, 1, napi_int32_array, &words);
  need(&args, words == 4, "normalFill: the state must be four Int32 words");
  need(&args, self_check_error[0] == 0, self_check_error);
  if (args.failed) return NULL;
  FillJob job = {out, (int64_t)(n / 2), {(uint32_t)state[0], (uint32_t)state[1], (uint32_t)state[2], (uint32_t)state[3]}, 0, 0, 0};
  // Two parts of 16 (parallel_for aligns parts to 16): each runs the whole pipeline loop, and
  // either finishes it alone if the other never starts. Below 16,384 pairs one thread is done
  // before the pool's other thread would be woken and joined (batch 64's 12,800 normals: 0.025
  // against 0.038 ms, medians of 1,000 alternated calls, quiet).
  if (job.pairs >= 8 * TRANSFORM_CHUNK) {
    parallel_for(fill_worker, &job, 32, 16);
  } else if (job.pairs > 0) {
    fill_worker(&job, 0, 32);
  }
  Sfc32 g = job.g;
  napi_value spare = NULL;
  if (n % 2 == 1) {
    uint32_t tu, tv;
    next_pair(&g, &tu, &tv);
    const double u = centred(tu), v = centred(tv), scale = polar_scale(u, v);
    out[n - 1] = (float)(u * scale);
    napi_create_double(env, v * scale, &spare);
  }
  state[0] = (int32_t)g.a;
  state[1] = (int32_t)g.b;
  state[2] = (int32_t)g.c;
  state[3] = (int32_t)g.d;
  return spare;
}

void normal_register(napi_env env, napi_value exports) {
  log_self_check();
  napi_property_descriptor props[] = {
      {"normalFill", NULL, NormalFill, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
