// Each JavaScript thread's stream of kernel calls (see stream.h).
//
// Why: in a training step JavaScript spends ~4 ms (batch 1024) to ~2 ms (batch 64) of its own
// between kernel calls (tfjs's tape, dispatch, shapes), and while it does the second core has
// nothing to do. Queued, the calls run on the stream's thread back to back while JavaScript
// prepares the next ones, as a GPU stream would; while JavaScript waits for them, it runs parts of
// their loops and matmuls itself (stream_parallel), so the two cores are those two threads.
//
// One ring of tasks per Node-API environment (the main thread and each worker have their own).
// The JavaScript thread fills slots and advances `submitted`; the stream thread runs slots in
// order and advances `completed`; the JavaScript thread then deletes the slots' references
// (Node-API calls belong to it) and advances `reaped`.
#define NAPI_VERSION 6
#include <node_api.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream.h"

#define RING 1024  // queued calls before the JavaScript thread waits (a training step makes ~50-150)

typedef struct {
  task_fn run;
  void (*release)(void *);
  void *ctx;
  napi_ref refs[MAX_ARGS];
  int nrefs;
} Task;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t work, progress;
  pthread_t thread;
  int started, stop, enabled;
  int idle;     // the stream thread waits for work
  int waiting;  // the JavaScript thread waits for progress
  uint64_t submitted, completed, reaped;
  const char *failure;  // the first failed task's message, until a sync reports it
  // For benches (streamStats()): times the stream thread was woken, its time running tasks, the
  // JavaScript thread's time waiting for it and, of that, running parts; the stream thread's time
  // waiting for JavaScript's last part.
  uint64_t wakes;
  int64_t busy_ns, wait_ns, help_ns, lag_ns;
  // The parallel loop the stream thread is running (stream_parallel): parts [0, job_parts), the
  // next to take, those finished. The JavaScript thread takes parts while it waits.
  range_fn job_fn;
  void *job_ctx;
  int64_t job_n;
  int job_parts, job_next, job_done;
  uint64_t observed;  // `completed` when the JavaScript thread began to spin
  pthread_cond_t job_finished;
  Task ring[RING];
} Stream;

static __thread Stream *own_stream;  // set on a stream's own thread

static int64_t clock_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static Stream *stream_of(napi_env env) {
  void *data = NULL;
  return napi_get_instance_data(env, &data) == napi_ok ? (Stream *)data : NULL;
}

static void *stream_main(void *arg) {
  Stream *s = arg;
  own_stream = s;
  // BLAS on this thread alone: the second core is the JavaScript thread's, and it takes parts of
  // the work while it waits (stream_parallel).
  caller_blas_threads(1);
  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (s->completed == s->submitted && !s->stop) {
      s->idle = 1;
      pthread_cond_wait(&s->work, &s->lock);
      s->idle = 0;
      s->wakes++;
    }
    if (s->completed == s->submitted) break;  // stopping, and nothing is left
    Task *t = &s->ring[s->completed % RING];
    pthread_mutex_unlock(&s->lock);
    const int64_t started = clock_ns();
    const char *failed = t->run(t->ctx);
    if (t->release) t->release(t->ctx);
    else free(t->ctx);
    const int64_t took = clock_ns() - started;
    pthread_mutex_lock(&s->lock);
    s->busy_ns += took;
    if (failed && !s->failure) s->failure = failed;
    __atomic_store_n(&s->completed, s->completed + 1, __ATOMIC_RELEASE);  // spinners read it unlocked
    if (s->waiting) pthread_cond_broadcast(&s->progress);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/** Deletes the references of tasks that have run (JavaScript thread). */
static void reap(napi_env env, Stream *s) {
  const uint64_t done = __atomic_load_n(&s->completed, __ATOMIC_ACQUIRE);
  for (; s->reaped < done; s->reaped++) {
    Task *t = &s->ring[s->reaped % RING];
    for (int i = 0; i < t->nrefs; i++) napi_delete_reference(env, t->refs[i]);
    t->nrefs = 0;
  }
}

// Parts of a loop on a stream: few (each part of a matmul packs an operand again), the larger
// first, so that the two threads end close together: the last two are an eighth of the loop each.
// (Six parts weighted 3, 3, 2, 2, 1, 1 ran no faster; six equal ones slower: VAE batch 1024.)
#define MAX_PARTS 4
static const int part_weights[MAX_PARTS + 1] = {0, 3, 6, 7, 8};  // cumulative, of 8
// How long either thread spins before it sleeps, waiting for the other: a step's kernels follow
// each other within microseconds, and a futex wake-up costs ~30 µs each time. The core spun on
// would be idle otherwise (the two threads are the stream and JavaScript).
#define SPIN_NS 50000

static inline void pause_briefly(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/** Spins (lock not held) until ready(s) or SPIN_NS pass; the caller then checks again under the lock. */
static void spin_until(Stream *s, int (*ready)(Stream *)) {
  const int64_t start = clock_ns();
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (ready(s)) return;
      pause_briefly();
    }
    if (clock_ns() - start > SPIN_NS) return;
  }
}

static int helper_done(Stream *s) { return __atomic_load_n(&s->job_done, __ATOMIC_ACQUIRE) == __atomic_load_n(&s->job_parts, __ATOMIC_RELAXED); }

/** A part to take, or no task left to wait for (JavaScript thread). */
static int work_or_progress(Stream *s) {
  return __atomic_load_n(&s->job_next, __ATOMIC_RELAXED) < __atomic_load_n(&s->job_parts, __ATOMIC_ACQUIRE) ||
         __atomic_load_n(&s->completed, __ATOMIC_ACQUIRE) != s->observed;
}

/** Part `part` of [0, n): by part_weights when there are MAX_PARTS, else equal; bounds 64-byte aligned. */
static void part_bounds(int part, int parts, int64_t n, int64_t *begin, int64_t *end) {
  if (parts == MAX_PARTS) {
    *begin = part == 0 ? 0 : ((n * part_weights[part] / 8 + 15) & ~(int64_t)15);
    *end = part == parts - 1 ? n : ((n * part_weights[part + 1] / 8 + 15) & ~(int64_t)15);
    if (*begin > n) *begin = n;
    if (*end > n) *end = n;
    return;
  }
  int64_t per = ((n + parts - 1) / parts + 15) & ~(int64_t)15;
  *begin = per * part < n ? per * part : n;
  *end = per * (part + 1) < n ? per * (part + 1) : n;
}

/** Takes and runs parts of the current loop until none is left (lock held on entry and exit). */
static void take_parts(Stream *s) {
  while (s->job_next < s->job_parts) {
    const int part = s->job_next++;
    const range_fn fn = s->job_fn;
    void *ctx = s->job_ctx;
    const int64_t n = s->job_n;
    const int parts = s->job_parts;
    pthread_mutex_unlock(&s->lock);
    int64_t begin, end;
    part_bounds(part, parts, n, &begin, &end);
    const int64_t t0 = clock_ns();
    if (begin < end) fn(ctx, begin, end);
    const int64_t t1 = clock_ns();
    pthread_mutex_lock(&s->lock);
    if (own_stream != s) s->help_ns += t1 - t0;
    __atomic_store_n(&s->job_done, s->job_done + 1, __ATOMIC_RELEASE);
    if (s->job_done == s->job_parts) pthread_cond_signal(&s->job_finished);
  }
}

int stream_parallel(range_fn fn, void *ctx, int64_t n, int64_t grain) {
  Stream *s = own_stream;
  if (!s) return 0;
  if (grain < 1) grain = 1;
  const int64_t most = n / grain;
  // Always the same parts for the same sizes (never by who is waiting): a matmul's float32
  // rounding depends on how it is cut, and training must be deterministic.
  const int parts = most < MAX_PARTS ? (int)most : MAX_PARTS;
  // One loop at a time (only this thread sets job_parts): a loop inside a part runs whole.
  if (parts <= 1 || s->job_parts != 0) {
    fn(ctx, 0, n);
    return 1;
  }
  pthread_mutex_lock(&s->lock);
  s->job_fn = fn;
  s->job_ctx = ctx;
  s->job_n = n;
  s->job_next = 0;
  s->job_done = 0;
  __atomic_store_n(&s->job_parts, parts, __ATOMIC_RELEASE);  // last: spinners read it unlocked
  if (s->waiting) pthread_cond_broadcast(&s->progress);
  take_parts(s);
  const int64_t t0 = clock_ns();
  if (s->job_done < s->job_parts) {
    pthread_mutex_unlock(&s->lock);
    spin_until(s, helper_done);
    pthread_mutex_lock(&s->lock);
  }
  while (s->job_done < s->job_parts) pthread_cond_wait(&s->job_finished, &s->lock);
  s->lag_ns += clock_ns() - t0;
  s->job_parts = 0;
  pthread_mutex_unlock(&s->lock);
  return 1;
}

/** Waits until at most `pending` tasks are still to run, taking parts of the stream's loops meanwhile. */
static void wait_until(Stream *s, uint64_t pending) {
  const int64_t started = clock_ns();
  // This thread's BLAS calls in those parts on one thread, as the stream's.
  const int threads = caller_blas_threads(1);
  pthread_mutex_lock(&s->lock);
  while (s->submitted - s->completed > pending) {
    if (s->job_next < s->job_parts) {
      take_parts(s);
      continue;
    }
    s->waiting = 1;
    s->observed = s->completed;
    pthread_mutex_unlock(&s->lock);
    spin_until(s, work_or_progress);
    pthread_mutex_lock(&s->lock);
    if (s->job_next < s->job_parts || s->completed != s->observed) continue;
    pthread_cond_wait(&s->progress, &s->lock);
  }
  s->waiting = 0;
  s->wait_ns += clock_ns() - started;
  pthread_mutex_unlock(&s->lock);
  if (threads > 0) caller_blas_threads(threads);
}

/** Throws a failure a task reported; returns 0 if it did. */
static int report(napi_env env, Stream *s) {
  pthread_mutex_lock(&s->lock);
  const char *failure = s->failure;
  s->failure = NULL;
  pthread_mutex_unlock(&s->lock);
  if (!failure) return 1;
  napi_throw_error(env, NULL, failure);
  return 0;
}

int stream_drain(napi_env env) {
  Stream *s = stream_of(env);
  if (!s) return 1;
  if (s->submitted != s->completed) wait_until(s, 0);
  reap(env, s);
  return report(env, s);
}

int stream_enabled(napi_env env) {
  Stream *s = stream_of(env);
  return s && s->enabled;
}

napi_value stream_submit(const Args *args, task_fn run, void *ctx, void (*release)(void *)) {
  napi_env env = args->env;
  Stream *s = stream_of(env);
  if (!s || !s->enabled || !args->queued) {
    // At once, but after what is queued: it may share arrays, and BLAS runs one call at a time.
    if (!stream_drain(env)) {
      if (release) release(ctx);
      else free(ctx);
      return NULL;
    }
    const char *failed = run(ctx);
    if (release) release(ctx);
    else free(ctx);
    if (failed) napi_throw_error(env, NULL, failed);
    return NULL;
  }
  reap(env, s);
  if (s->submitted - s->reaped >= RING) {
    wait_until(s, RING / 2);
    reap(env, s);
  }
  Task *t = &s->ring[s->submitted % RING];
  t->run = run;
  t->release = release;
  t->ctx = ctx;
  t->nrefs = 0;
  // Every typed array (and array of them) the call got stays alive until its task has run, even
  // if JavaScript drops the tensor meanwhile.
  for (size_t i = 0; i < args->argc && i < MAX_ARGS; i++) {
    napi_valuetype type;
    if (napi_typeof(env, args->argv[i], &type) == napi_ok && type == napi_object &&
        napi_create_reference(env, args->argv[i], 1, &t->refs[t->nrefs]) == napi_ok)
      t->nrefs++;
  }
  pthread_mutex_lock(&s->lock);
  if (!s->started) {
    if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
      // No thread: run this call now and stay synchronous.
      s->enabled = 0;
      pthread_mutex_unlock(&s->lock);
      for (int i = 0; i < t->nrefs; i++) napi_delete_reference(env, t->refs[i]);
      t->nrefs = 0;
      return stream_submit(args, run, ctx, release);
    }
    s->started = 1;
  }
  s->submitted++;
  if (s->idle) pthread_cond_signal(&s->work);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

typedef struct {
  range_fn fn;
  int64_t n, grain;
  ptrdiff_t failed_at;
  _Alignas(16) unsigned char job[];
} LoopTask;

static const char *run_loop(void *ctx) {
  LoopTask *task = ctx;
  parallel_for(task->fn, task->job, task->n, task->grain);
  return task->failed_at >= 0 && *(int *)(void *)(task->job + task->failed_at) ? "cellshift_blas: out of memory" : NULL;
}

napi_value stream_loop(const Args *args, range_fn fn, const void *job, size_t size, int64_t n, int64_t grain, ptrdiff_t failed_at) {
  if (!args->queued || !stream_enabled(args->env)) {
    if (!stream_drain(args->env)) return NULL;
    parallel_for(fn, (void *)job, n, grain);
    if (failed_at >= 0 && *(const int *)(const void *)((const unsigned char *)job + failed_at))
      napi_throw_error(args->env, NULL, "cellshift_blas: out of memory");
    return NULL;
  }
  LoopTask *task = malloc(sizeof(LoopTask) + size);
  if (!task) {
    napi_throw_error(args->env, NULL, "cellshift_blas: out of memory");
    return NULL;
  }
  task->fn = fn;
  task->n = n;
  task->grain = grain;
  task->failed_at = failed_at;
  memcpy(task->job, job, size);
  return stream_submit(args, run_loop, task, NULL);
}

static void stream_cleanup(void *arg) {
  Stream *s = arg;
  pthread_mutex_lock(&s->lock);
  s->stop = 1;
  pthread_cond_signal(&s->work);
  const int started = s->started;
  pthread_mutex_unlock(&s->lock);
  // The thread runs what is queued first: those tasks' arrays are still referenced.
  if (started) pthread_join(s->thread, NULL);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->progress);
  pthread_cond_destroy(&s->job_finished);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/** sync(): returns once every queued call has run; throws the first failure among them. */
static napi_value Sync(napi_env env, napi_callback_info info) {
  (void)info;
  stream_drain(env);
  return NULL;
}

/** streamStats() → { tasks, wakes, busyMs, waitMs, helpMs, lagMs } since this thread's stream began (see Stream). */
static napi_value Stats(napi_env env, napi_callback_info info) {
  (void)info;
  Stream *s = stream_of(env);
  napi_value result, value;
  napi_create_object(env, &result);
  if (!s) return result;
  pthread_mutex_lock(&s->lock);
  const double numbers[6] = {(double)s->completed, (double)s->wakes, (double)s->busy_ns / 1e6, (double)s->wait_ns / 1e6, (double)s->help_ns / 1e6, (double)s->lag_ns / 1e6};
  pthread_mutex_unlock(&s->lock);
  const char *names[6] = {"tasks", "wakes", "busyMs", "waitMs", "helpMs", "lagMs"};
  for (int i = 0; i < 6; i++) {
    napi_create_double(env, numbers[i], &value);
    napi_set_named_property(env, result, names[i], value);
  }
  return result;
}

/** setStream(on): queue calls (true) or run each before it returns (false); drains first. */
static napi_value SetStream(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 1)) return NULL;
  bool on = false;
  if (napi_get_value_bool(env, args.argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "setStream: expected a boolean");
    return NULL;
  }
  if (!stream_drain(env)) return NULL;
  Stream *s = stream_of(env);
  if (s) s->enabled = on;
  return NULL;
}

void stream_export(napi_env env, napi_value exports, const char *name, napi_callback callback) {
  napi_value now, later, queued;
  bool has = false;
  if (napi_has_named_property(env, exports, "queued", &has) != napi_ok) return;
  if (has) napi_get_named_property(env, exports, "queued", &queued);
  else if (napi_create_object(env, &queued) != napi_ok || napi_set_named_property(env, exports, "queued", queued) != napi_ok) return;
  // Non-NULL data marks the queued variant (Args.queued).
  static char marker;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, NULL, &now) == napi_ok) napi_set_named_property(env, exports, name, now);
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, &marker, &later) == napi_ok)
    napi_set_named_property(env, queued, name, later);
}

void stream_register(napi_env env, napi_value exports) {
  Stream *s = calloc(1, sizeof(Stream));
  if (s) {
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->progress, NULL);
    pthread_cond_init(&s->job_finished, NULL);
    const char *setting = getenv("CELLSHIFT_STREAM");
    s->enabled = !(setting && strcmp(setting, "0") == 0);
    // Without both, there is no stream: every call runs at once.
    if (napi_add_env_cleanup_hook(env, stream_cleanup, s) != napi_ok) {
      stream_cleanup(s);
    } else if (napi_set_instance_data(env, s, NULL, NULL) != napi_ok) {
      napi_remove_env_cleanup_hook(env, stream_cleanup, s);
      stream_cleanup(s);
    }
  }
  napi_property_descriptor props[] = {
      {"sync", NULL, Sync, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"setStream", NULL, SetStream, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"streamStats", NULL, Stats, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
