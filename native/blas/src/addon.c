// cellshift_blas: float32 kernels for the 'native-blas' TensorFlow.js backend
// (src-main/ml/native/). Plain C over Node-API, so one build works in Node and Electron.
//
// - gemm: batched row-major sgemm with transposes, through the system BLAS, which is found at
//   run time with dlopen (OpenBLAS / any CBLAS on Linux, Accelerate on macOS). Nothing BLAS is
//   needed to compile, and a machine without it gets a clear "no BLAS" reason from info().
// - Elementwise, reductions, softmax, strided copies and a fused Adam update: loops over the
//   JavaScript typed arrays of the cpu backend (no copies). Each computes exactly what the
//   cpu backend's JavaScript does (double arithmetic, one rounding to float32 when stored; Adam
//   rounds after every step, as its separate tfjs ops do), so results match it bit for bit
//   except where the math library differs (exp, tanh, log: at most an ulp, rarely).
//
// Every function takes typed arrays and numbers only; shapes and broadcasting are worked out in
// TypeScript. Arguments are checked (types, lengths) so a glue bug throws instead of corrupting
// memory.
#define _GNU_SOURCE  // dladdr
#define NAPI_VERSION 6
#include <node_api.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "kernels.h"
#include "stream.h"

// HOT (vectorised copies of hot loops chosen at load time): kernels.h.

// ---------------------------------------------------------------------------------------------
// BLAS, loaded at run time.

// CBLAS constants and sgemm_fn: kernels.h.
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_string_fn)(void);

static sgemm_fn blas_sgemm = NULL;
static void *blas_library = NULL;  // the dlopen handle, for factor.c's LAPACK look-ups
static set_threads_fn blas_set_threads = NULL;
static get_threads_fn blas_get_threads = NULL;
static get_string_fn blas_get_config = NULL;
static get_string_fn blas_get_corename = NULL;
static char blas_path[512] = "";
static char blas_error[1024] = "";

// When the BLAS is an OpenMP build, libgomp is already in the process (loaded with it), and the
// elementwise loops below run on its team too (GOMP_parallel, looked up here, never linked):
// one pool of threads, as PyTorch has, instead of two that wake, sleep and take the cores from
// each other between every kernel of a training step. Otherwise the addon's own pool runs them.
typedef void (*gomp_parallel_fn)(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
typedef int (*omp_int_fn)(void);
static gomp_parallel_fn gomp_parallel = NULL;
static omp_int_fn omp_thread_num = NULL, omp_num_threads = NULL;
// An OpenMP BLAS takes its thread count from the calling thread's OpenMP setting.
static omp_int_fn omp_max_threads = NULL;
static void (*omp_set_threads)(int) = NULL;

int caller_blas_threads(int n) {
  if (!omp_set_threads || !omp_max_threads) return 0;
  const int before = omp_max_threads();
  if (n != before) omp_set_threads(n);
  return before;
}

static void find_openmp_team(void) {
  void *gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (gomp == NULL) return;
  omp_max_threads = (omp_int_fn)dlsym(gomp, "omp_get_max_threads");
  omp_set_threads = (void (*)(int))dlsym(gomp, "omp_set_num_threads");
  if (!omp_max_threads || !omp_set_threads) omp_max_threads = NULL, omp_set_threads = NULL;
  const char *off = getenv("CELLSHIFT_OPENMP_TEAM");
  if (off && strcmp(off, "0") == 0) return;
  gomp_parallel_fn parallel = (gomp_parallel_fn)dlsym(gomp, "GOMP_parallel");
  omp_int_fn num = (omp_int_fn)dlsym(gomp, "omp_get_thread_num"), count = (omp_int_fn)dlsym(gomp, "omp_get_num_threads");
  if (parallel && num && count) {
    omp_thread_num = num;
    omp_num_threads = count;
    gomp_parallel = parallel;
  }
}

static void load_blas(void) {
  // OpenBLAS's idle threads spin for 2^28 cycles (~0.1 s) after every call by default, which
  // starves this addon's own threads (and everything else) between the matmuls of a training
  // step. Unless the user chose a value, make them sleep almost at once: waking them costs a
  // few microseconds per matmul. Read by OpenBLAS when it is loaded, i.e. by the dlopen below.
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
  // Debian's OpenMP build of OpenBLAS, when installed, goes first: on a loaded 2-core machine the
  // pthread build (the usual libopenblas.so.0 alternative) trained the VAE at batch 1024 at a third
  // to a half of the OpenMP build's speed (alternated runs, load 13). Its team (which runs the
  // addon's own loops too, find_openmp_team) sleeps when idle (OMP_WAIT_POLICY=PASSIVE unless the
  // user chose a policy): spinning threads lose most of their speed whenever another process
  // runs. libgomp reads the variable when the dlopen below loads it.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  const char *override = getenv("CELLSHIFT_BLAS");  // when set, the only library tried
  const char *candidates[] = {
      override,
#ifdef __APPLE__
      "/System/Library/Frameworks/Accelerate.framework/Accelerate",
      "libopenblas.dylib",
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
#else
      "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
      "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
      "libopenblas.so.0",
      "libopenblas.so",
      "libopenblasp.so.0",
      "libmkl_rt.so",
      "libmkl_rt.so.2",
      "libblis.so.4",
      "libblas.so.3",
#endif
  };
  size_t used = 0;
  blas_error[0] = '\0';
  const size_t count = override && override[0] ? 1 : sizeof(candidates) / sizeof(candidates[0]);
  for (size_t i = 0; i < count; i++) {
    const char *name = candidates[i];
    if (name == NULL || name[0] == '\0') continue;
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
      const char *why = dlerror();
      int wrote = snprintf(blas_error + used, sizeof(blas_error) - used, "%s%s", used ? "; " : "", why ? why : name);
      if (wrote > 0 && used + (size_t)wrote < sizeof(blas_error)) used += (size_t)wrote;
      continue;
    }
    sgemm_fn sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    if (sgemm == NULL) {
      int wrote = snprintf(blas_error + used, sizeof(blas_error) - used, "%s%s has no cblas_sgemm", used ? "; " : "", name);
      if (wrote > 0 && used + (size_t)wrote < sizeof(blas_error)) used += (size_t)wrote;
      dlclose(handle);
      continue;
    }
    blas_sgemm = sgemm;
    blas_library = handle;
    blas_set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    blas_get_threads = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
    blas_get_config = (get_string_fn)dlsym(handle, "openblas_get_config");
    blas_get_corename = (get_string_fn)dlsym(handle, "openblas_get_corename");
    snprintf(blas_path, sizeof(blas_path), "%s", name);
    find_openmp_team();
    return;
  }
}

// ---------------------------------------------------------------------------------------------
// A small thread pool for the elementwise loops (BLAS has its own). Each element is computed by
// exactly one thread with the same arithmetic, so results do not depend on the thread count.
// Workers sleep on a condition variable between jobs (no spinning by default: the machine's other
// cores belong to BLAS, the garbage collector and other processes). CELLSHIFT_SPIN_US (or setSpin)
// lets idle workers, and the caller waiting for their parts, spin that many microseconds first:
// a training step runs ~15 loops here a few hundred microseconds apart, and each otherwise waits
// for a futex wake-up of the other core's thread before that core does any work. On a loaded
// 2-core machine that spin lost (VAE batch 64 and 1024, load 8-9: 0.90x wall per step median), so
// it stays off until a quiet machine shows it pays; GOMP_SPINCOUNT does the same for OpenBLAS's
// OpenMP threads (libgomp reads it; the PASSIVE policy below otherwise means no spin at all).
// One job at a time; a second JavaScript thread arriving meanwhile runs its loop on its own
// thread instead of waiting.

#define MAX_THREADS 16

static struct {
  pthread_mutex_t job;  // held by the thread running a parallel job
  pthread_mutex_t lock;
  pthread_cond_t start, done;
  int threads;  // wanted, including the caller
  int started;  // workers running
  uint64_t generation;
  range_fn fn;
  void *ctx;
  int64_t n;
  int parts;
  uint64_t pending;  // parts still running; read without the lock while spinning
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, NULL, 0, 0, 0};

static int64_t spin_ns = -1;  // -1: not read from CELLSHIFT_SPIN_US yet

static int64_t spin_limit(void) {
  int64_t ns = __atomic_load_n(&spin_ns, __ATOMIC_RELAXED);
  if (ns >= 0) return ns;
  const char *env = getenv("CELLSHIFT_SPIN_US");
  long us = env && env[0] ? strtol(env, NULL, 10) : 0;
  ns = us < 0 ? 0 : (int64_t)us * 1000;
  __atomic_store_n(&spin_ns, ns, __ATOMIC_RELAXED);
  return ns;
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/**
 * Spins (without the lock) while (*word == value) != until_equal, i.e. until *word leaves value
 * (until_equal 0) or reaches it (1), or the spin bound passes. The caller then waits on its
 * condition variable under the lock as before, so the spin only ever saves the wake-up.
 */
static void spin_wait(const uint64_t *word, uint64_t value, int until_equal) {
  const int64_t limit = spin_limit();
  if (limit <= 0) return;
  const int64_t start = now_ns();
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if ((__atomic_load_n(word, __ATOMIC_ACQUIRE) == value) == until_equal) return;
      cpu_relax();
    }
    if (now_ns() - start > limit) return;
  }
}

static void part_range(int part, int parts, int64_t n, int64_t *begin, int64_t *end) {
  int64_t per = ((n + parts - 1) / parts + 15) & ~(int64_t)15;  // 64-byte aligned chunks
  *begin = per * part < n ? per * part : n;
  *end = per * (part + 1) < n ? per * (part + 1) : n;
}

static void *worker_main(void *arg) {
  const int id = (int)(intptr_t)arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool.lock);
  for (;;) {
    if (pool.generation == seen) {
      pthread_mutex_unlock(&pool.lock);
      spin_wait(&pool.generation, seen, 0);
      pthread_mutex_lock(&pool.lock);
    }
    while (pool.generation == seen) pthread_cond_wait(&pool.start, &pool.lock);
    seen = pool.generation;
    if (id >= pool.parts) continue;
    range_fn fn = pool.fn;
    void *ctx = pool.ctx;
    const int parts = pool.parts;
    const int64_t n = pool.n;
    pthread_mutex_unlock(&pool.lock);
    int64_t begin, end;
    part_range(id, parts, n, &begin, &end);
    if (begin < end) fn(ctx, begin, end);
    pthread_mutex_lock(&pool.lock);
    if (__atomic_sub_fetch(&pool.pending, 1, __ATOMIC_RELEASE) == 0) pthread_cond_signal(&pool.done);
  }
  return NULL;
}

typedef struct {
  range_fn fn;
  void *ctx;
  int64_t n;
  int parts;
} TeamJob;

/** One OpenMP thread's parts of a job (the team can be smaller than asked for). */
static void team_part(void *data) {
  const TeamJob *job = (const TeamJob *)data;
  const int threads = omp_num_threads();
  for (int part = omp_thread_num(); part < job->parts; part += threads) {
    int64_t begin, end;
    part_range(part, job->parts, job->n, &begin, &end);
    if (begin < end) job->fn(job->ctx, begin, end);
  }
}

static int default_threads(void) {
  const char *env = getenv("CELLSHIFT_THREADS");
  long n = env && env[0] ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : (int)n);
}

/** Runs fn over [0, n) in up to pool.threads parts of at least `grain` elements. */
void parallel_for(range_fn fn, void *ctx, int64_t n, int64_t grain) {
  if (stream_parallel(fn, ctx, n, grain)) return;  // on a stream's thread (stream.c)
  int parts = pool.threads;
  if (grain < 1) grain = 1;
  if (parts > n / grain) parts = (int)(n / grain);
  if (parts <= 1) {
    fn(ctx, 0, n);
    return;
  }
  if (gomp_parallel) {
    TeamJob job = {fn, ctx, n, parts};
    gomp_parallel(team_part, &job, (unsigned)parts, 0);
    return;
  }
  if (pthread_mutex_trylock(&pool.job) != 0) {
    fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&pool.lock);
  while (pool.started < parts - 1) {
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attr, worker_main, (void *)(intptr_t)(pool.started + 1));
    pthread_attr_destroy(&attr);
    if (failed) break;
    pool.started++;
  }
  if (parts > pool.started + 1) parts = pool.started + 1;
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.parts = parts;
  __atomic_store_n(&pool.pending, (uint64_t)(parts - 1), __ATOMIC_RELAXED);
  __atomic_add_fetch(&pool.generation, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&pool.start);
  pthread_mutex_unlock(&pool.lock);
  int64_t begin, end;
  part_range(0, parts, n, &begin, &end);
  if (begin < end) fn(ctx, begin, end);
  spin_wait(&pool.pending, 0, 1);
  pthread_mutex_lock(&pool.lock);
  while (pool.pending > 0) pthread_cond_wait(&pool.done, &pool.lock);
  pthread_mutex_unlock(&pool.lock);
  pthread_mutex_unlock(&pool.job);
}

// GRAIN_CHEAP / GRAIN_COSTLY (elements per thread worth a split): kernels.h.

// ---------------------------------------------------------------------------------------------
// Argument helpers: args.h.

#define MAX_RANK 6

// ---------------------------------------------------------------------------------------------
// gemm(batch, m, n, k, transA, transB, a, strideA, b, strideB, c[, accumulate[, bias, relu]])
// c[i] = op(a[i]) · op(b[i]) for each batch i, row-major; strideA/strideB are the element
// offsets between batches (0 broadcasts one matrix to every batch). With accumulate = 1 the
// product is added to what c holds (BLAS beta = 1). With a bias (one matrix only) that row is then
// added to every row of c, and with relu = 1 max(0, ·) applied: a dense layer in one call, its
// epilogue run on each part of c as BLAS finishes it.

typedef struct {
  int64_t batch, m, n, k, strideA, strideB;
  int transA, transB;
  const float *a, *b;
  float *c;
  float beta;
  const float *bias;  // a row added to every row of c afterwards (a dense layer's), or NULL
  int relu;           // then max(0, ·), NaN kept
} GemmTask;

/** c[r, c0..c1) = relu?(c + bias) for rows [r0, r1): a dense layer's bias and activation (vectorised: HOT). */
HOT static void gemm_epilogue(const GemmTask *g, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const float *restrict bias = g->bias;
  for (int64_t r = r0; r < r1; r++) {
    float *restrict row = g->c + r * g->n;
    if (g->relu) {
      for (int64_t j = c0; j < c1; j++) {
        const float v = row[j] + bias[j];
        const float positive = v > 0 ? v : 0.0f;
        row[j] = v != v ? v : positive;
      }
    } else {
      for (int64_t j = c0; j < c1; j++) row[j] += bias[j];
    }
  }
}

static void gemm_epilogue_rows(void *ctx, int64_t begin, int64_t end) {
  const GemmTask *g = ctx;
  gemm_epilogue(g, begin, end, 0, g->n);
}

/** A rows × cols block of one of g's products: a and b point at the block's first row of op(a) and column of op(b), c at its corner. */
static void sgemm_block(const GemmTask *g, int64_t rows, int64_t cols, const float *a, const float *b, float *c) {
  blas_sgemm(CblasRowMajor, g->transA ? CblasTrans : CblasNoTrans, g->transB ? CblasTrans : CblasNoTrans, (int)rows, (int)cols, (int)g->k,
             1.0f, a, g->transA ? (int)g->m : (int)g->k, b, g->transB ? (int)g->k : (int)g->n, g->beta, c, (int)g->n);
}

/** Rows [begin, end) of c (one matrix), by one single-threaded BLAS call. */
static void gemm_rows(void *ctx, int64_t begin, int64_t end) {
  const GemmTask *g = ctx;
  sgemm_block(g, end - begin, g->n, g->a + (g->transA ? begin : begin * g->k), g->b, g->c + begin * g->n);
  if (g->bias) gemm_epilogue(g, begin, end, 0, g->n);  // while these rows are still in cache
}

/** Columns [begin, end) of c. */
static void gemm_columns(void *ctx, int64_t begin, int64_t end) {
  const GemmTask *g = ctx;
  sgemm_block(g, g->m, end - begin, g->a, g->b + (g->transB ? begin * g->k : begin), g->c + begin);
  if (g->bias) gemm_epilogue(g, 0, g->m, begin, end);
}

#define GEMM_PART 64  // rows or columns of c at least, per part shared on a stream (stream_parallel)

/** An OpenMP OpenBLAS: one thread when the caller's OpenMP count is 1, safe to call from two threads at once. */
static int blas_uses_openmp(void) {
  static int known = -1;
  if (known < 0) {
    const char *config = blas_get_config ? blas_get_config() : NULL;
    known = omp_set_threads != NULL && config != NULL && strstr(config, "USE_OPENMP") != NULL;
  }
  return known;
}

static const char *run_gemm(void *ctx) {
  const GemmTask *g = ctx;
  if (g->k == 0) {
    if (g->beta == 0.0f) memset(g->c, 0, sizeof(float) * (size_t)(g->batch * g->m * g->n));
  } else if (g->batch == 1 && !g->transB && gemm_sparse(blas_sgemm, g->m, g->n, g->k, g->transA, g->a, g->b, g->c, g->beta == 1.0f)) {
    // A left operand ending in mostly-zero columns (fingerprints): src/sparse.c.
  } else if (g->batch == 1 && blas_uses_openmp() && (g->m >= 2 * GEMM_PART || g->n >= 2 * GEMM_PART) &&
             stream_parallel(g->m >= g->n ? gemm_rows : gemm_columns, (void *)g, g->m >= g->n ? g->m : g->n, GEMM_PART)) {
    // On a stream with an OpenMP BLAS (single-threaded there): parts of c that the stream thread
    // and a waiting JavaScript thread share, each with its epilogue. Split along c's longer side,
    // so the operand each part packs again in full is the smaller one.
    return NULL;
  } else {
    for (int64_t i = 0; i < g->batch; i++) sgemm_block(g, g->m, g->n, g->a + i * g->strideA, g->b + i * g->strideB, g->c + i * g->m * g->n);
  }
  if (g->bias) parallel_for(gemm_epilogue_rows, (void *)g, g->m, (GRAIN_CHEAP + g->n - 1) / g->n);
  return NULL;
}

static napi_value Gemm(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 11)) return NULL;
  int64_t batch = integer(&args, 0), m = integer(&args, 1), n = integer(&args, 2), k = integer(&args, 3);
  int transA = (int)integer(&args, 4), transB = (int)integer(&args, 5);
  size_t la, lb, lc;
  float *a = f32(&args, 6, &la);
  int64_t strideA = integer(&args, 7);
  float *b = f32(&args, 8, &lb);
  int64_t strideB = integer(&args, 9);
  float *c = f32(&args, 10, &lc);
  const int accumulate = args.argc > 11 && integer(&args, 11) == 1;
  size_t lbias = 0;
  napi_valuetype bias_type = napi_undefined;
  if (args.argc > 12) napi_typeof(env, args.argv[12], &bias_type);
  const float *bias = bias_type != napi_undefined ? f32(&args, 12, &lbias) : NULL;
  const int relu = args.argc > 13 && integer(&args, 13) == 1;
  if (lbias == 0) bias = NULL;
  if (args.failed) return NULL;
  need(&args, bias == NULL || (batch == 1 && (int64_t)lbias >= n), "gemm: the bias needs one matrix and n values");
  need(&args, batch >= 1 && m >= 0 && n >= 0 && k >= 0 && strideA >= 0 && strideB >= 0, "gemm: bad sizes");
  need(&args, (batch - 1) * strideA + m * k <= (int64_t)la && (batch - 1) * strideB + k * n <= (int64_t)lb && batch * m * n <= (int64_t)lc,
       "gemm: array too short");
  need(&args, m < INT32_MAX && n < INT32_MAX && k < INT32_MAX, "gemm: matrix too large");
  need(&args, blas_sgemm != NULL, "gemm: no BLAS library was loaded");
  if (args.failed) return NULL;
  if (m == 0 || n == 0) return NULL;
  GemmTask *task = malloc(sizeof(GemmTask));
  if (!task) {
    fail(&args, "cellshift_blas: out of memory");
    return NULL;
  }
  *task = (GemmTask){batch, m, n, k, strideA, strideB, transA, transB, a, b, c, accumulate ? 1.0f : 0.0f, bias, relu};
  return stream_submit(&args, run_gemm, task, NULL);
}

// ---------------------------------------------------------------------------------------------
// binary(op, out, a, b, shape, stridesA, stridesB)
// out (contiguous, row-major over `shape`) = a op b, where a and b are read with the given
// element strides (0 along broadcast dimensions). Rank 1..6 (the glue collapses dimensions).

enum { OP_ADD = 0, OP_SUB, OP_MUL, OP_DIV, OP_SQDIFF, OP_MAX, OP_MIN };

#define BINARY_LOOP(EXPR)                                                \
  for (int64_t j = 0; j < inner; j++) {                                  \
    double x = (double)pa[j * sa], y = (double)pb[j * sb];               \
    po[j] = (float)(EXPR);                                               \
  }
#define BINARY_LOOP_FAST(EXPR)                                                               \
  if (sa == 1 && sb == 1) {                                                                  \
    for (int64_t j = 0; j < inner; j++) {                                                    \
      double x = (double)pa[j], y = (double)pb[j];                                           \
      po[j] = (float)(EXPR);                                                                 \
    }                                                                                        \
  } else if (sa == 1 && sb == 0) {                                                           \
    double y = (double)pb[0];                                                                \
    for (int64_t j = 0; j < inner; j++) {                                                    \
      double x = (double)pa[j];                                                              \
      po[j] = (float)(EXPR);                                                                 \
    }                                                                                        \
  } else if (sa == 0 && sb == 1) {                                                           \
    double x = (double)pa[0];                                                                \
    for (int64_t j = 0; j < inner; j++) {                                                    \
      double y = (double)pb[j];                                                              \
      po[j] = (float)(EXPR);                                                                 \
    }                                                                                        \
  } else {                                                                                   \
    BINARY_LOOP(EXPR)                                                                        \
  }

static inline double dmax(double x, double y) { return (isnan(x) || isnan(y)) ? NAN : (x > y ? x : y); }
static inline double dmin(double x, double y) { return (isnan(x) || isnan(y)) ? NAN : (x < y ? x : y); }

// One IEEE operation on two float32 values gives the same float32 whether done in float or in
// double and rounded once (double's 53 bits are more than 2·24 + 2: no double rounding error), so
// +, −, ×, ÷ run in float, twice as many lanes per vector as the double loops.
#define FLOAT_LOOP(OP)                                                       \
  if (sa == 1 && sb == 1) {                                                  \
    for (int64_t j = 0; j < inner; j++) po[j] = pa[j] OP pb[j];              \
  } else if (sa == 1 && sb == 0) {                                           \
    const float y = pb[0];                                                   \
    for (int64_t j = 0; j < inner; j++) po[j] = pa[j] OP y;                  \
  } else if (sa == 0 && sb == 1) {                                           \
    const float x = pa[0];                                                   \
    for (int64_t j = 0; j < inner; j++) po[j] = x OP pb[j];                  \
  } else {                                                                   \
    for (int64_t j = 0; j < inner; j++) po[j] = pa[j * sa] OP pb[j * sb];    \
  }

HOT static void binary_row(int op, float *po, const float *pa, const float *pb, int64_t inner, int64_t sa, int64_t sb) {
  switch (op) {
    case OP_ADD: FLOAT_LOOP(+) break;
    case OP_SUB: FLOAT_LOOP(-) break;
    case OP_MUL: FLOAT_LOOP(*) break;
    case OP_DIV: FLOAT_LOOP(/) break;
    case OP_SQDIFF: BINARY_LOOP_FAST((x - y) * (x - y)) break;
    case OP_MAX: BINARY_LOOP_FAST(dmax(x, y)) break;
    case OP_MIN: BINARY_LOOP_FAST(dmin(x, y)) break;
  }
}

// Reads rank, shape and strides; returns the element count of `shape`, or -1 after throwing.
static int64_t read_shape(Args *args, size_t i, int64_t *shape, int *rank) {
  size_t len;
  int32_t *s = (int32_t *)typed(args, i, napi_int32_array, &len);
  if (args->failed) return -1;
  if (len < 1 || len > MAX_RANK) {
    fail(args, "cellshift_blas: rank must be 1..6");
    return -1;
  }
  int64_t size = 1;
  for (size_t d = 0; d < len; d++) {
    if (s[d] < 0) {
      fail(args, "cellshift_blas: negative dimension");
      return -1;
    }
    shape[d] = s[d];
    size *= s[d];
  }
  *rank = (int)len;
  return size;
}

static int read_strides(Args *args, size_t i, int rank, const int64_t *shape, int64_t *strides, size_t available) {
  size_t len;
  int32_t *s = (int32_t *)typed(args, i, napi_int32_array, &len);
  if (args->failed) return 0;
  if ((int)len != rank) {
    fail(args, "cellshift_blas: strides and shape differ in rank");
    return 0;
  }
  int64_t last = 0;  // largest element index reached
  for (int d = 0; d < rank; d++) {
    if (s[d] < 0) {
      fail(args, "cellshift_blas: negative stride");
      return 0;
    }
    strides[d] = s[d];
    if (shape[d] > 0) last += (shape[d] - 1) * strides[d];
  }
  if (available == 0 || (size_t)last >= available) {
    fail(args, "cellshift_blas: strides reach past the array");
    return 0;
  }
  return 1;
}

typedef struct {
  int op;
  float *out;
  const float *a, *b;
  int rank;
  int64_t shape[MAX_RANK], sa[MAX_RANK], sb[MAX_RANK];
} BinaryJob;

// Rank 1: a slice of elements.
static void binary_elements(void *ctx, int64_t begin, int64_t end) {
  const BinaryJob *j = (const BinaryJob *)ctx;
  binary_row(j->op, j->out + begin, j->a + begin * j->sa[0], j->b + begin * j->sb[0], end - begin, j->sa[0], j->sb[0]);
}

// Higher rank: whole rows (the last dimension) [begin, end).
static void binary_rows(void *ctx, int64_t begin, int64_t end) {
  const BinaryJob *j = (const BinaryJob *)ctx;
  const int rank = j->rank;
  const int64_t inner = j->shape[rank - 1];
  int64_t index[MAX_RANK] = {0};
  int64_t offA = 0, offB = 0;
  for (int64_t d = rank - 2, r = begin; d >= 0; d--) {
    index[d] = r % j->shape[d];
    r /= j->shape[d];
    offA += index[d] * j->sa[d];
    offB += index[d] * j->sb[d];
  }
  for (int64_t r = begin; r < end; r++) {
    binary_row(j->op, j->out + r * inner, j->a + offA, j->b + offB, inner, j->sa[rank - 1], j->sb[rank - 1]);
    // Advance the multi-index over the outer dimensions.
    for (int d = rank - 2; d >= 0; d--) {
      index[d]++;
      offA += j->sa[d];
      offB += j->sb[d];
      if (index[d] < j->shape[d]) break;
      offA -= j->sa[d] * j->shape[d];
      offB -= j->sb[d] * j->shape[d];
      index[d] = 0;
    }
  }
}

static napi_value Binary(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 7)) return NULL;
  int op = (int)integer(&args, 0);
  size_t lo, la, lb;
  float *out = f32(&args, 1, &lo);
  const float *a = f32(&args, 2, &la);
  const float *b = f32(&args, 3, &lb);
  int64_t shape[MAX_RANK], sa[MAX_RANK], sb[MAX_RANK];
  int rank = 0;
  int64_t size = read_shape(&args, 4, shape, &rank);
  if (args.failed) return NULL;
  if (size == 0) return NULL;
  if (!read_strides(&args, 5, rank, shape, sa, la) || !read_strides(&args, 6, rank, shape, sb, lb)) return NULL;
  need(&args, (size_t)size <= lo, "binary: output too short");
  need(&args, op >= OP_ADD && op <= OP_MIN, "binary: unknown op");
  if (args.failed) return NULL;
  BinaryJob job = {op, out, a, b, rank, {0}, {0}, {0}};
  for (int d = 0; d < rank; d++) {
    job.shape[d] = shape[d];
    job.sa[d] = sa[d];
    job.sb[d] = sb[d];
  }
  const int64_t inner = shape[rank - 1];
  if (rank == 1) return stream_loop(&args, binary_elements, &job, sizeof job, inner, GRAIN_CHEAP, -1);
  return stream_loop(&args, binary_rows, &job, sizeof job, size / inner, (GRAIN_CHEAP + inner - 1) / inner, -1);
}

// ---------------------------------------------------------------------------------------------
// unary(op, out, x, alpha): contiguous, out.length elements.

enum { U_RELU = 0, U_STEP, U_EXP, U_TANH, U_SQRT, U_SQUARE, U_NEG, U_ABS, U_LOG, U_SIGMOID, U_RECIPROCAL, U_RSQRT, U_SOFTPLUS };

HOT static int unary_loop(int op, float *out, const float *x, size_t n, double alpha) {
  switch (op) {
    case U_RELU:  // max(0, x), NaN stays NaN (written branch-free so it vectorises)
      for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        const float r = v > 0 ? v : 0.0f;
        out[i] = v != v ? v : r;
      }
      break;
    case U_STEP: {  // x > 0 ? 1 : alpha, NaN stays NaN
      const float a = (float)alpha;
      for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        const float r = v > 0 ? 1.0f : a;
        out[i] = v != v ? v : r;
      }
      break;
    }
    case U_EXP:
      for (size_t i = 0; i < n; i++) out[i] = (float)exp((double)x[i]);
      break;
    case U_TANH:
      for (size_t i = 0; i < n; i++) out[i] = (float)tanh((double)x[i]);
      break;
    case U_SQRT:
      for (size_t i = 0; i < n; i++) out[i] = (float)sqrt((double)x[i]);
      break;
    case U_SQUARE:
      for (size_t i = 0; i < n; i++) out[i] = x[i] * x[i];
      break;
    case U_NEG:
      for (size_t i = 0; i < n; i++) out[i] = -x[i];
      break;
    case U_ABS:
      for (size_t i = 0; i < n; i++) out[i] = fabsf(x[i]);
      break;
    case U_LOG:
      for (size_t i = 0; i < n; i++) out[i] = (float)log((double)x[i]);
      break;
    case U_SIGMOID:
      for (size_t i = 0; i < n; i++) out[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
      break;
    case U_RECIPROCAL:
      for (size_t i = 0; i < n; i++) out[i] = (float)(1.0 / (double)x[i]);
      break;
    case U_RSQRT:
      for (size_t i = 0; i < n; i++) out[i] = (float)(1.0 / sqrt((double)x[i]));
      break;
    default:
      return 0;
  }
  return 1;
}

typedef struct {
  int op;
  float *out;
  const float *x;
  double alpha;
} UnaryJob;

static void unary_range(void *ctx, int64_t begin, int64_t end) {
  const UnaryJob *j = (const UnaryJob *)ctx;
  unary_loop(j->op, j->out + begin, j->x + begin, (size_t)(end - begin), j->alpha);
}

static napi_value Unary(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 4)) return NULL;
  int op = (int)integer(&args, 0);
  size_t lo, lx;
  float *out = f32(&args, 1, &lo);
  const float *x = f32(&args, 2, &lx);
  double alpha = num(&args, 3);
  if (args.failed) return NULL;
  need(&args, lo <= lx, "unary: input shorter than output");
  if (args.failed) return NULL;
  if (op < U_RELU || op > U_RSQRT) {
    fail(&args, "unary: unknown op");
    return NULL;
  }
  UnaryJob job = {op, out, x, alpha};
  const int costly = op == U_EXP || op == U_TANH || op == U_LOG || op == U_SIGMOID;
  return stream_loop(&args, unary_range, &job, sizeof job, (int64_t)lo, costly ? GRAIN_COSTLY : GRAIN_CHEAP, -1);
}

// ---------------------------------------------------------------------------------------------
// reduce(op, out, x, outer, mid, inner, scale)
// x viewed as [outer, mid, inner]; out[o, i] = reduction over m of x[o, m, i] with double
// accumulators: in the order m = 0..mid-1, as the cpu backend's transposed loop sums, except
// whole-row sums (inner = 1), which use sum_row below.
// op 0 = sum, 1 = max, 2 = min, 3 = mean-like: Σ float(x / scale) (tfjs Mean = Sum(Div(x, n))).

// Σ row in double. Eight interleaved accumulators (instead of the cpu backend's one running sum)
// keep the adds from waiting on each other; in double the order changes the float32 result only
// in the rarest of ties.
HOT double sum_row(const float *row, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t m = 0;
  for (; m + 8 <= n; m += 8)
    for (int j = 0; j < 8; j++) acc[j] += (double)row[m + j];
  double total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; m < n; m++) total += (double)row[m];
  return total;
}

typedef struct {
  int op;
  float *out;
  const float *x;
  int64_t outer, mid, inner;
  double scale;
} ReduceJob;

#define REDUCE_COLUMNS 256  // columns whose double accumulators stay on the stack

/** One row's columns [0, n) into their accumulators (vectorised: HOT). */
HOT static void reduce_row(int op, double *restrict acc, const float *restrict row, int64_t n, double scale) {
  if (op == 0)
    for (int64_t i = 0; i < n; i++) acc[i] += (double)row[i];
  else if (op == 3)
    for (int64_t i = 0; i < n; i++) acc[i] += (double)(float)((double)row[i] / scale);
  else
    for (int64_t i = 0; i < n; i++) {
      double v = (double)row[i];
      if (!isnan(acc[i]) && (isnan(v) || (op == 1 ? v > acc[i] : v < acc[i]))) acc[i] = v;
    }
}

/** out[o, c0 .. c0 + REDUCE_COLUMNS) for one block o, rows m = 0..mid-1 in order. */
static void reduce_chunk(const ReduceJob *j, int64_t o, int64_t c0) {
  const float *block = j->x + o * j->mid * j->inner;
  const int sum = j->op == 0 || j->op == 3;
  double acc[REDUCE_COLUMNS];
  const int64_t width = j->inner - c0 < REDUCE_COLUMNS ? j->inner - c0 : REDUCE_COLUMNS;
  for (int64_t i = 0; i < width; i++) acc[i] = sum ? 0 : (j->mid > 0 ? (double)block[c0 + i] : (j->op == 1 ? -INFINITY : INFINITY));
  for (int64_t m = sum ? 0 : 1; m < j->mid; m++) reduce_row(j->op, acc, block + m * j->inner + c0, width, j->scale);
  for (int64_t i = 0; i < width; i++) j->out[o * j->inner + c0 + i] = (float)acc[i];
}

/** Column chunks [begin, end) of every block: each column's sum in the same order, whoever runs it. */
static void reduce_chunks(void *ctx, int64_t begin, int64_t end) {
  const ReduceJob *j = ctx;
  for (int64_t o = 0; o < j->outer; o++)
    for (int64_t chunk = begin; chunk < end; chunk++) reduce_chunk(j, o, chunk * REDUCE_COLUMNS);
}

static const char *run_reduce(void *ctx) {
  const ReduceJob *j = ctx;
  const int op = j->op;
  const int64_t outer = j->outer, mid = j->mid;
  if (j->inner == 1) {
    for (int64_t o = 0; o < outer; o++) {
      const float *row = j->x + o * mid;
      double acc;
      if (op == 0) {
        acc = sum_row(row, mid);
      } else if (op == 3) {
        acc = 0;
        for (int64_t m = 0; m < mid; m++) acc += (double)(float)((double)row[m] / j->scale);
      } else {
        acc = mid > 0 ? (double)row[0] : (op == 1 ? -INFINITY : INFINITY);
        for (int64_t m = 1; m < mid; m++) {
          double v = (double)row[m];
          if (isnan(v) || (op == 1 ? v > acc : v < acc)) acc = v;
          if (isnan(acc)) break;
        }
      }
      j->out[o] = (float)acc;
    }
    return NULL;
  }
  // Vectorised, on one thread except on a stream, whose waiting JavaScript thread is already
  // awake: on the addon's pool a bias gradient's column sums over [1024, 978] took longer split
  // between its threads (0.19 -> 0.32 ms a step, quiet; likewise copy() below).
  const int64_t chunks = (j->inner + REDUCE_COLUMNS - 1) / REDUCE_COLUMNS;
  if (!stream_parallel(reduce_chunks, (void *)j, chunks, (GRAIN_CHEAP / REDUCE_COLUMNS + outer * mid - 1) / (outer * mid)))
    reduce_chunks((void *)j, 0, chunks);
  return NULL;
}

static napi_value Reduce(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 7)) return NULL;
  int op = (int)integer(&args, 0);
  size_t lo, lx;
  float *out = f32(&args, 1, &lo);
  const float *x = f32(&args, 2, &lx);
  int64_t outer = integer(&args, 3), mid = integer(&args, 4), inner = integer(&args, 5);
  double scale = num(&args, 6);
  if (args.failed) return NULL;
  need(&args, outer >= 0 && mid >= 0 && inner >= 0, "reduce: bad sizes");
  need(&args, (size_t)(outer * mid * inner) <= lx && (size_t)(outer * inner) <= lo, "reduce: array too short");
  need(&args, op >= 0 && op <= 3, "reduce: unknown op");
  if (args.failed) return NULL;
  ReduceJob *job = malloc(sizeof(ReduceJob));
  if (!job) {
    fail(&args, "cellshift_blas: out of memory");
    return NULL;
  }
  *job = (ReduceJob){op, out, x, outer, mid, inner, scale};
  return stream_submit(&args, run_reduce, job, NULL);
}

// ---------------------------------------------------------------------------------------------
// reluGrad(dx, dbias, dy, y, rows, cols): the backward of a dense layer's bias + ReLU in one pass
// over [rows, cols]: dx = dy · step(y) and dbias[c] = Σ_r dx[r, c]. Bit for bit what tfjs
// composes from Step, Multiply and Sum (step(NaN) = NaN; sums in double, row after row, as
// reduce() does), in one read of dy and y instead of three passes and two temporary arrays.

typedef struct {
  float *dx, *dbias;
  const float *dy, *y;
  int64_t rows, cols;
} ReluGradJob;

#define RELU_GRAD_BLOCK 256  // columns summed at once (their accumulators stay on the stack)

/** One row's `width` columns: dx = dy · step(y), added to the columns' sums (vectorised: HOT). */
HOT static void relu_grad_row(float *restrict dx, double *restrict acc, const float *restrict dy, const float *restrict y, int64_t width) {
  for (int64_t c = 0; c < width; c++) {
    const float step = isnan(y[c]) ? NAN : (y[c] > 0 ? 1.0f : 0.0f);
    dx[c] = dy[c] * step;
    acc[c] += (double)dx[c];
  }
}

static void relu_grad_columns(void *ctx, int64_t begin, int64_t end) {
  const ReluGradJob *j = (const ReluGradJob *)ctx;
  const int64_t cols = j->cols;
  double acc[RELU_GRAD_BLOCK];
  for (int64_t from = begin; from < end; from += RELU_GRAD_BLOCK) {
    const int64_t width = end - from < RELU_GRAD_BLOCK ? end - from : RELU_GRAD_BLOCK;
    for (int64_t c = 0; c < width; c++) acc[c] = 0;
    for (int64_t r = 0; r < j->rows; r++) relu_grad_row(j->dx + r * cols + from, acc, j->dy + r * cols + from, j->y + r * cols + from, width);
    for (int64_t c = 0; c < width; c++) j->dbias[from + c] = (float)acc[c];
  }
}

static napi_value ReluGrad(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 6)) return NULL;
  size_t ldx, ldb, ldy, ly;
  float *dx = f32(&args, 0, &ldx);
  float *dbias = f32(&args, 1, &ldb);
  const float *dy = f32(&args, 2, &ldy);
  const float *y = f32(&args, 3, &ly);
  int64_t rows = integer(&args, 4), cols = integer(&args, 5);
  if (args.failed) return NULL;
  const size_t size = (size_t)(rows * cols);
  need(&args, rows >= 0 && cols >= 1 && size <= ldx && size <= ldy && size <= ly && (size_t)cols <= ldb, "reluGrad: bad sizes");
  if (args.failed) return NULL;
  ReluGradJob job = {dx, dbias, dy, y, rows, cols};
  // Columns split between the threads, so each sums its columns in the same row order.
  return stream_loop(&args, relu_grad_columns, &job, sizeof job, cols, rows > 0 ? (GRAIN_CHEAP + rows - 1) / rows : cols, -1);
}

// ---------------------------------------------------------------------------------------------
// softmax(out, x, rows, cols): along the last axis, as the cpu backend composes it:
// max → sub → exp → sum (double) → div, each result rounded to float32.

typedef struct {
  float *out;
  const float *x;
  int64_t cols;
} SoftmaxJob;

static void softmax_rows(void *ctx, int64_t begin, int64_t end) {
  const SoftmaxJob *j = (const SoftmaxJob *)ctx;
  const int64_t cols = j->cols;
  const float *x = j->x;
  float *out = j->out;
  for (int64_t r = begin; r < end; r++) {
    const float *xr = x + r * cols;
    float *orow = out + r * cols;
    float mx = xr[0];
    for (int64_t c = 1; c < cols; c++) {
      if (isnan(mx)) break;
      if (isnan(xr[c]) || xr[c] > mx) mx = xr[c];
    }
    double sum = 0;
    for (int64_t c = 0; c < cols; c++) {
      float shifted = (float)((double)xr[c] - (double)mx);
      float e = (float)exp((double)shifted);
      orow[c] = e;
      sum += (double)e;
    }
    double s = (double)(float)sum;
    for (int64_t c = 0; c < cols; c++) orow[c] = (float)((double)orow[c] / s);
  }
}

static napi_value Softmax(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 4)) return NULL;
  size_t lo, lx;
  float *out = f32(&args, 0, &lo);
  const float *x = f32(&args, 1, &lx);
  int64_t rows = integer(&args, 2), cols = integer(&args, 3);
  if (args.failed) return NULL;
  need(&args, rows >= 0 && cols > 0 && (size_t)(rows * cols) <= lx && (size_t)(rows * cols) <= lo, "softmax: bad sizes");
  if (args.failed) return NULL;
  SoftmaxJob job = {out, x, cols};
  return stream_loop(&args, softmax_rows, &job, sizeof job, rows, (GRAIN_COSTLY + cols - 1) / cols, -1);
}

// ---------------------------------------------------------------------------------------------
// copy(out, outOffset, outStrides, x, xOffset, xStrides, shape)
// out[outOffset + Σ i_d·outStrides_d] = x[xOffset + Σ i_d·xStrides_d] over `shape`: slices,
// splits, concatenation and transposes are all this one strided copy.

typedef struct {
  float *out;
  const float *x;
  int rank;
  int64_t shape[MAX_RANK], so[MAX_RANK], sx[MAX_RANK];
} CopyTask;

/** Rows [begin, end) of the copy (its last dimension is a row). */
static void copy_rows(void *ctx, int64_t begin, int64_t end) {
  const CopyTask *t = ctx;
  const int rank = t->rank;
  float *o = t->out;
  const float *s = t->x;
  const int64_t inner = t->shape[rank - 1];
  const int64_t iso = t->so[rank - 1], isx = t->sx[rank - 1];
  int64_t index[MAX_RANK] = {0};
  int64_t po = 0, px = 0;
  for (int64_t d = rank - 2, r = begin; d >= 0; d--) {
    index[d] = r % t->shape[d];
    r /= t->shape[d];
    po += index[d] * t->so[d];
    px += index[d] * t->sx[d];
  }
  for (int64_t r = begin; r < end; r++) {
    if (iso == 1 && isx == 1) {
      memcpy(o + po, s + px, sizeof(float) * (size_t)inner);
    } else {
      for (int64_t j = 0; j < inner; j++) o[po + j * iso] = s[px + j * isx];
    }
    for (int d = rank - 2; d >= 0; d--) {
      index[d]++;
      po += t->so[d];
      px += t->sx[d];
      if (index[d] < t->shape[d]) break;
      po -= t->so[d] * t->shape[d];
      px -= t->sx[d] * t->shape[d];
      index[d] = 0;
    }
  }
}

// On one thread except on a stream: one core moves a copy at memory speed, and split between the
// addon pool's two threads it took longer (a batch-1024 VAE step's four bias broadcasts 0.83 ->
// 1.18 ms, the Environment VAE's eight copies 1.41 -> 1.76 ms, quiet, CELLSHIFT_KERNEL_TIMES=1
// bench/profile-step.ts); a stream's waiting JavaScript thread is already awake.
static const char *run_copy(void *ctx) {
  const CopyTask *t = ctx;
  int64_t size = 1;
  for (int d = 0; d < t->rank; d++) size *= t->shape[d];
  const int64_t inner = t->shape[t->rank - 1], rows = size / inner;
  if (!stream_parallel(copy_rows, (void *)t, rows, (GRAIN_CHEAP + inner - 1) / inner)) copy_rows((void *)t, 0, rows);
  return NULL;
}

static napi_value Copy(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 7)) return NULL;
  size_t lo, lx;
  float *out = f32(&args, 0, &lo);
  int64_t outOffset = integer(&args, 1);
  const float *x = f32(&args, 3, &lx);
  int64_t xOffset = integer(&args, 4);
  CopyTask task = {0};
  int64_t size = read_shape(&args, 6, task.shape, &task.rank);
  if (args.failed) return NULL;
  if (size == 0) return NULL;
  need(&args, outOffset >= 0 && xOffset >= 0 && (size_t)outOffset < lo && (size_t)xOffset < lx, "copy: offset out of range");
  if (args.failed) return NULL;
  if (!read_strides(&args, 2, task.rank, task.shape, task.so, lo - (size_t)outOffset) ||
      !read_strides(&args, 5, task.rank, task.shape, task.sx, lx - (size_t)xOffset))
    return NULL;
  task.out = out + outOffset;
  task.x = x + xOffset;
  CopyTask *queued = malloc(sizeof task);
  if (!queued) {
    fail(&args, "cellshift_blas: out of memory");
    return NULL;
  }
  *queued = task;
  return stream_submit(&args, run_copy, queued, NULL);
}

// ---------------------------------------------------------------------------------------------
// addN(out, [a, b, ...]): out = Σ inputs, accumulated left to right in double like the cpu
// backend (which adds each input into a float32 buffer: rounding after every addition).

typedef struct {
  float *out;
  size_t length;
  uint32_t count;
  const float *inputs[];
} AddNTask;

static const char *run_add_n(void *ctx) {
  const AddNTask *t = ctx;
  float *out = t->out;
  memset(out, 0, sizeof(float) * t->length);
  for (uint32_t k = 0; k < t->count; k++) {
    const float *x = t->inputs[k];
    for (size_t i = 0; i < t->length; i++) out[i] = (float)((double)out[i] + (double)x[i]);
  }
  return NULL;
}

static napi_value AddN(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 2)) return NULL;
  size_t lo;
  float *out = f32(&args, 0, &lo);
  if (args.failed) return NULL;
  uint32_t count = 0;
  bool is_array = false;
  if (napi_is_array(env, args.argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, args.argv[1], &count) != napi_ok) {
    fail(&args, "addN: expected an array of Float32Array");
    return NULL;
  }
  AddNTask *task = malloc(sizeof(AddNTask) + sizeof(float *) * count);
  if (!task) {
    fail(&args, "cellshift_blas: out of memory");
    return NULL;
  }
  task->out = out;
  task->length = lo;
  task->count = count;
  Args element_args = args;  // the elements are read through a spare argument slot
  for (uint32_t t = 0; t < count && !element_args.failed; t++) {
    napi_value element;
    if (napi_get_element(env, args.argv[1], t, &element) != napi_ok) {
      fail(&element_args, "addN: bad element");
      break;
    }
    element_args.argv[MAX_ARGS - 1] = element;
    size_t len;
    task->inputs[t] = f32(&element_args, MAX_ARGS - 1, &len);
    if (!element_args.failed) need(&element_args, len >= lo, "addN: input too short");
  }
  if (element_args.failed) {
    free(task);
    return NULL;
  }
  return stream_submit(&args, run_add_n, task, NULL);
}

// ---------------------------------------------------------------------------------------------
// adam(wOut, mOut, vOut, w, g, m, v, beta1, oneMinusBeta1, beta2, oneMinusBeta2,
//      oneMinusAccBeta1, oneMinusAccBeta2, epsilon, negLearningRate)
// The same float32 steps as tf.train.adam's applyGradients (each of its ops rounds to float32;
// so does each line here), written to three new arrays (which must not overlap the inputs):
//   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2)
//   w' = (m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε) · (−lr) + w

// Built with -ffp-contract=off: no fused multiply-adds, every operation rounds to float32.
HOT void adam_loop(float *restrict wo, float *restrict mo, float *restrict vo, const float *restrict w, const float *restrict g,
                          const float *restrict m, const float *restrict v, size_t n,
                          float b1, float c1, float b2, float c2, float d1, float d2, float eps, float neglr, float gscale) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i] * gscale;
    const float mn = m[i] * b1 + gi * c1;
    const float vn = v[i] * b2 + (gi * gi) * c2;
    const float mh = mn / d1;
    const float vh = vn / d2;
    const float step = (mh / (sqrtf(vh) + eps)) * neglr;
    mo[i] = mn;
    vo[i] = vn;
    wo[i] = step + w[i];
  }
}

typedef struct {
  float *wo, *mo, *vo;
  const float *w, *g, *m, *v;
  float b1, c1, b2, c2, d1, d2, eps, neglr;
} AdamJob;

static void adam_range(void *ctx, int64_t begin, int64_t end) {
  const AdamJob *j = (const AdamJob *)ctx;
  adam_loop(j->wo + begin, j->mo + begin, j->vo + begin, j->w + begin, j->g + begin, j->m + begin, j->v + begin, (size_t)(end - begin),
            j->b1, j->c1, j->b2, j->c2, j->d1, j->d2, j->eps, j->neglr, 1.0f);
}

static napi_value Adam(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 15)) return NULL;
  size_t lwo, lmo, lvo, lw, lg, lm, lv;
  float *wo = f32(&args, 0, &lwo);
  float *mo = f32(&args, 1, &lmo);
  float *vo = f32(&args, 2, &lvo);
  const float *w = f32(&args, 3, &lw);
  const float *g = f32(&args, 4, &lg);
  const float *m = f32(&args, 5, &lm);
  const float *v = f32(&args, 6, &lv);
  const float b1 = (float)num(&args, 7), c1 = (float)num(&args, 8), b2 = (float)num(&args, 9), c2 = (float)num(&args, 10);
  const float d1 = (float)num(&args, 11), d2 = (float)num(&args, 12), eps = (float)num(&args, 13), neglr = (float)num(&args, 14);
  if (args.failed) return NULL;
  need(&args, lg == lw && lm == lw && lv == lw && lwo == lw && lmo == lw && lvo == lw, "adam: arrays differ in length");
  const float *ins[4] = {w, g, m, v};
  const float *outs[3] = {wo, mo, vo};
  for (int i = 0; i < 3 && !args.failed; i++)
    for (int j = 0; j < 4; j++) need(&args, outs[i] + lw <= ins[j] || ins[j] + lw <= outs[i], "adam: outputs must not overlap inputs");
  need(&args, wo + lw <= mo || mo + lw <= wo, "adam: outputs overlap");
  need(&args, wo + lw <= vo || vo + lw <= wo, "adam: outputs overlap");
  need(&args, mo + lw <= vo || vo + lw <= mo, "adam: outputs overlap");
  if (args.failed) return NULL;
  AdamJob job = {wo, mo, vo, w, g, m, v, b1, c1, b2, c2, d1, d2, eps, neglr};
  return stream_loop(&args, adam_range, &job, sizeof job, (int64_t)lw, GRAIN_CHEAP / 2, -1);
}

// ---------------------------------------------------------------------------------------------
// info() → { blas, error, config, corename, threads }; setThreads(n).

static napi_value make_string(napi_env env, const char *s) {
  napi_value value;
  napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &value);
  return value;
}

static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, threads;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "blas", make_string(env, blas_sgemm ? blas_path : ""));
  napi_set_named_property(env, result, "error", make_string(env, blas_sgemm ? "" : blas_error));
  napi_set_named_property(env, result, "config", make_string(env, blas_get_config ? blas_get_config() : ""));
  napi_set_named_property(env, result, "corename", make_string(env, blas_get_corename ? blas_get_corename() : ""));
  napi_create_int32(env, blas_get_threads ? blas_get_threads() : -1, &threads);
  napi_set_named_property(env, result, "threads", threads);
  napi_value kernel_threads;
  napi_create_int32(env, pool.threads, &kernel_threads);
  napi_set_named_property(env, result, "kernelThreads", kernel_threads);
  napi_value spin;
  napi_create_double(env, (double)spin_limit() / 1000, &spin);
  napi_set_named_property(env, result, "spinMicroseconds", spin);
  // Where the elementwise loops run, and how that team waits when idle (as libgomp read it).
  napi_set_named_property(env, result, "loopThreads", make_string(env, gomp_parallel ? "openmp" : "own"));
  const char *policy = getenv("OMP_WAIT_POLICY"), *count = getenv("GOMP_SPINCOUNT");
  char wait[160];
  snprintf(wait, sizeof wait, "%s%s%s%s%s", policy ? "OMP_WAIT_POLICY=" : "", policy ? policy : "", policy && count ? ", " : "",
           count ? "GOMP_SPINCOUNT=" : "", count ? count : "");
  napi_set_named_property(env, result, "openmpWait", make_string(env, gomp_parallel ? wait : ""));
  napi_value queued;
  napi_get_boolean(env, stream_enabled(env), &queued);
  napi_set_named_property(env, result, "stream", queued);
  return result;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 1)) return NULL;
  int64_t n = integer(&args, 0);
  if (args.failed || !stream_drain(env)) return NULL;
  if (n >= 1) {
    if (blas_set_threads) blas_set_threads((int)n);
    pool.threads = n > MAX_THREADS ? MAX_THREADS : (int)n;
  }
  return NULL;
}

/** setSpin(microseconds): how long the pool's idle threads spin before sleeping (0: never). */
static napi_value SetSpin(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 1)) return NULL;
  int64_t us = integer(&args, 0);
  if (args.failed || !stream_drain(env)) return NULL;
  __atomic_store_n(&spin_ns, us < 0 ? 0 : us * 1000, __ATOMIC_RELAXED);
  return NULL;
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

// Node unloads an addon when the last thread that loaded it exits (a training or analysis worker
// thread). The pool's detached threads and the BLAS handle outlive every such thread: unloaded,
// the pool threads would wake in unmapped code, or, reloaded at the same address, wait on a
// re-initialised condition variable and deadlock the next parallel loop. So the library pins
// itself: an extra reference with RTLD_NODELETE keeps it mapped until the process ends.
static void pin_library(void) {
  Dl_info self;
  if (dladdr((void *)&pin_library, &self) && self.dli_fname) dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);
}

// Projection kernels (kNN selection, UMAP layout epochs): src/projection.c.
void projection_register(napi_env env, napi_value exports);
// LAPACK factorisations (choleskyInverse), when the loaded BLAS has them: src/factor.c.
void factor_register(napi_env env, napi_value exports, void *blas_library);
// Optimiser kernels over all of a model's variables in one call: src/training.c.
void training_register(napi_env env, napi_value exports);
// The Gaussian reconstruction loss and its gradient, each in one pass: src/loss.c.
void loss_register(napi_env env, napi_value exports);
// A VAE's latent block (posterior sample and KL) and its gradient, each in one call: src/latent.c.
void latent_register(napi_env env, napi_value exports);
// Normal draws as Rng.fillNormal makes them, on both cores: src/normal.c.
void normal_register(napi_env env, napi_value exports);

static napi_value Init(napi_env env, napi_value exports) {
  pthread_once(&pin_once, pin_library);
  pthread_once(&blas_once, load_blas);  // once per process, though Init runs in every thread
  if (pool.threads == 0) pool.threads = default_threads();
  napi_property_descriptor props[] = {
      {"info", NULL, Info, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"setSpin", NULL, SetSpin, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  stream_export(env, exports, "gemm", Gemm);
  stream_export(env, exports, "binary", Binary);
  stream_export(env, exports, "unary", Unary);
  stream_export(env, exports, "reduce", Reduce);
  stream_export(env, exports, "reluGrad", ReluGrad);
  stream_export(env, exports, "softmax", Softmax);
  stream_export(env, exports, "copy", Copy);
  stream_export(env, exports, "addN", AddN);
  stream_export(env, exports, "adam", Adam);
  stream_register(env, exports);
  projection_register(env, exports);
  factor_register(env, exports, blas_library);
  training_register(env, exports);
  loss_register(env, exports);
  latent_register(env, exports);
  normal_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
