// Optimiser-step kernels over all of a model's variables in one call (src-main/node/ml/native/
// adam.ts and norm.ts): a training step used to cross into the addon, and wake its threads,
// once or three times per variable.
//
// - sumSquares(out, arrays): out[i] = Σ_j arrays[i][j]², each square rounded to float32 (tfjs
//   Square) and summed in double (tfjs Sum), rounded to float32 once per array. The global norm
//   for gradient clipping, without a squared copy of every gradient.
// - adamMany(wOut[], mOut[], vOut[], w[], g[], m[], v[], beta1, oneMinusBeta1, beta2,
//   oneMinusBeta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon, negLearningRate[, gradScale]):
//   addon.c's adam() for every variable, with one pass of the thread pool over all of them. With
//   gradScale each gradient is first multiplied by it (rounded to float32, as tfjs's Mul by a
//   scalar): gradient clipping's rescale without a scaled copy of every gradient. The export
//   adamManyScales says this addon reads it.
//
// Each element is computed by one thread with the same arithmetic, and sums are taken over fixed
// blocks combined in order, so results do not depend on the thread count.
#include <node_api.h>

#include <stdlib.h>

#include "args.h"
#include "kernels.h"
#include "stream.h"

typedef struct {
  uint32_t count;
  float **data;
  size_t *length;
} ArrayList;

static void list_free(ArrayList *list) {
  free(list->data);
  free(list->length);
  list->data = NULL;
  list->length = NULL;
}

/** Argument i as a list of Float32Arrays; `count` (unless 0) is the length it must have. */
static int read_list(Args *args, size_t i, uint32_t count, ArrayList *list, const char *what) {
  list->count = 0;
  list->data = NULL;
  list->length = NULL;
  if (args->failed) return 0;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(args->env, args->argv[i], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(args->env, args->argv[i], &n) != napi_ok || (count != 0 && n != count)) {
    fail(args, what);
    return 0;
  }
  list->data = (float **)calloc(n ? n : 1, sizeof(float *));
  list->length = (size_t *)calloc(n ? n : 1, sizeof(size_t));
  if (list->data == NULL || list->length == NULL) {
    fail(args, "cellshift_blas: out of memory");
    list_free(list);
    return 0;
  }
  list->count = n;
  for (uint32_t k = 0; k < n; k++) {
    napi_value element;
    bool is_typed = false;
    napi_typedarray_type type;
    void *data = NULL;
    size_t len = 0;
    if (napi_get_element(args->env, args->argv[i], k, &element) != napi_ok || napi_is_typedarray(args->env, element, &is_typed) != napi_ok ||
        !is_typed || napi_get_typedarray_info(args->env, element, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
      fail(args, what);
      list_free(list);
      return 0;
    }
    list->data[k] = (float *)data;
    list->length[k] = len;
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// sumSquares

#define SQUARES_BLOCK 8192  // elements per partial sum (fixed: the result must not depend on threads)

typedef struct {
  const ArrayList *arrays;
  const int64_t *first_block;  // per array, index of its first block; [count] = total
  double *partial;
} SquaresJob;

HOT static double sum_squares(const float *x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) {
      const float s = x[i + j] * x[i + j];
      acc[j] += (double)s;
    }
  double total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; i++) {
    const float s = x[i] * x[i];
    total += (double)s;
  }
  return total;
}

static void squares_blocks(void *ctx, int64_t begin, int64_t end) {
  const SquaresJob *job = (const SquaresJob *)ctx;
  uint32_t a = 0;
  for (int64_t b = begin; b < end; b++) {
    while (job->first_block[a + 1] <= b) a++;
    const int64_t offset = (b - job->first_block[a]) * SQUARES_BLOCK;
    const int64_t left = (int64_t)job->arrays->length[a] - offset;
    job->partial[b] = sum_squares(job->arrays->data[a] + offset, left < SQUARES_BLOCK ? left : SQUARES_BLOCK);
  }
}

static napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, 2) || !stream_drain(env)) return NULL;
  size_t lo;
  float *out = f32(&args, 0, &lo);
  ArrayList arrays;
  if (!read_list(&args, 1, 0, &arrays, "sumSquares: expected an array of Float32Array")) return NULL;
  need(&args, arrays.count <= lo, "sumSquares: output shorter than the list of arrays");
  int64_t *first = args.failed ? NULL : (int64_t *)malloc(sizeof(int64_t) * (arrays.count + 1));
  need(&args, first != NULL, "cellshift_blas: out of memory");
  if (args.failed) {
    free(first);
    list_free(&arrays);
    return NULL;
  }
  first[0] = 0;
  for (uint32_t a = 0; a < arrays.count; a++) first[a + 1] = first[a] + ((int64_t)arrays.length[a] + SQUARES_BLOCK - 1) / SQUARES_BLOCK;
  const int64_t blocks = first[arrays.count];
  double *partial = (double *)malloc(sizeof(double) * (size_t)(blocks ? blocks : 1));
  if (partial == NULL) {
    fail(&args, "cellshift_blas: out of memory");
  } else {
    SquaresJob job = {&arrays, first, partial};
    if (blocks > 0) parallel_for(squares_blocks, &job, blocks, GRAIN_CHEAP / SQUARES_BLOCK);
    for (uint32_t a = 0; a < arrays.count; a++) {
      double total = 0;
      for (int64_t b = first[a]; b < first[a + 1]; b++) total += partial[b];
      out[a] = (float)total;
    }
  }
  free(partial);
  free(first);
  list_free(&arrays);
  return NULL;
}

// ---------------------------------------------------------------------------------------------
// adamMany

enum { W_OUT, M_OUT, V_OUT, W, G, M, V, LISTS };

typedef struct {
  ArrayList *lists;       // LISTS of them, each `count` long
  const int64_t *start;   // per variable, its first element in the concatenation; [count] = total
  uint32_t count;
  float b1, c1, b2, c2, d1, d2, eps, neglr;
  float gscale;
} AdamManyJob;

static void adam_many_range(void *ctx, int64_t begin, int64_t end) {
  const AdamManyJob *job = (const AdamManyJob *)ctx;
  uint32_t k = 0;
  while (job->start[k + 1] <= begin) k++;
  for (int64_t at = begin; at < end; k++) {
    const int64_t from = at - job->start[k];
    const int64_t to = (end < job->start[k + 1] ? end : job->start[k + 1]) - job->start[k];
    float **d[LISTS];
    for (int l = 0; l < LISTS; l++) d[l] = job->lists[l].data;
    adam_loop(d[W_OUT][k] + from, d[M_OUT][k] + from, d[V_OUT][k] + from, d[W][k] + from, d[G][k] + from, d[M][k] + from, d[V][k] + from,
              (size_t)(to - from), job->b1, job->c1, job->b2, job->c2, job->d1, job->d2, job->eps, job->neglr, job->gscale);
    at = job->start[k] + to;
  }
}

static int overlaps(const float *a, size_t la, const float *b, size_t lb) { return a < b + lb && b < a + la; }

/** An adamMany call as queued: the job, its lists and offsets, freed together. */
typedef struct {
  AdamManyJob job;
  ArrayList lists[LISTS];
  int64_t *start;
} AdamManyTask;

static const char *run_adam_many(void *ctx) {
  AdamManyTask *t = ctx;
  parallel_for(adam_many_range, &t->job, t->start[t->job.count], GRAIN_CHEAP / 2);
  return NULL;
}

static void release_adam_many(void *ctx) {
  AdamManyTask *t = ctx;
  free(t->start);
  for (int l = 0; l < LISTS; l++) list_free(&t->lists[l]);
  free(t);
}

static napi_value AdamMany(napi_env env, napi_callback_info info) {
  Args args;
  if (!args_init(&args, env, info, LISTS + 8)) return NULL;
  AdamManyTask *task = calloc(1, sizeof(AdamManyTask));
  if (!task) {
    fail(&args, "cellshift_blas: out of memory");
    return NULL;
  }
  ArrayList *lists = task->lists;
  const char *what = "adamMany: expected seven equally long arrays of Float32Array";
  int read = 0;
  for (; read < LISTS; read++)
    if (!read_list(&args, (size_t)read, read == 0 ? 0 : lists[0].count, &lists[read], what)) break;
  const float b1 = (float)num(&args, 7), c1 = (float)num(&args, 8), b2 = (float)num(&args, 9), c2 = (float)num(&args, 10);
  const float d1 = (float)num(&args, 11), d2 = (float)num(&args, 12), eps = (float)num(&args, 13), neglr = (float)num(&args, 14);
  // g·1 = g exactly, so no scale and a scale of 1 give the same steps.
  const float gscale = args.argc > LISTS + 8 ? (float)num(&args, LISTS + 8) : 1.0f;
  const uint32_t count = read == LISTS ? lists[0].count : 0;
  int64_t *start = args.failed ? NULL : (int64_t *)malloc(sizeof(int64_t) * (count + 1));
  need(&args, args.failed || start != NULL, "cellshift_blas: out of memory");
  if (!args.failed) {
    start[0] = 0;
    for (uint32_t k = 0; k < count && !args.failed; k++) {
      const size_t n = lists[W].length[k];
      for (int l = 0; l < LISTS; l++) need(&args, lists[l].length[k] == n, "adam: arrays differ in length");
      start[k + 1] = start[k] + (int64_t)n;
    }
    // No output may overlap any other array of the call (inputs are only read).
    for (int l = 0; l < V_OUT + 1 && !args.failed; l++)
      for (uint32_t k = 0; k < count && !args.failed; k++)
        for (int l2 = 0; l2 < LISTS && !args.failed; l2++)
          for (uint32_t k2 = 0; k2 < count && !args.failed; k2++) {
            if (l2 == l && k2 == k) continue;
            need(&args, !overlaps(lists[l].data[k], lists[l].length[k], lists[l2].data[k2], lists[l2].length[k2]),
                 "adam: outputs must not overlap inputs or each other");
          }
  }
  task->start = start;
  if (args.failed || start[count] == 0) {
    release_adam_many(task);  // list_free of a list never read is a no-op
    return NULL;
  }
  task->job = (AdamManyJob){lists, start, count, b1, c1, b2, c2, d1, d2, eps, neglr, gscale};
  return stream_submit(&args, run_adam_many, task, release_adam_many);
}

void training_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sumSquares", NULL, SumSquares, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  stream_export(env, exports, "adamMany", AdamMany);
  napi_value yes;
  if (napi_get_boolean(env, true, &yes) == napi_ok) napi_set_named_property(env, exports, "adamManyScales", yes);
}
