// cellshift_blas, projection kernels (issue 13): the two loops of UMAP at 100k points that are too
// slow in JavaScript. Kept apart from addon.c (training kernels) so both evolve without conflict;
// addon.c's Init calls projection_register() to add them to the exports.
//
// - knnSelect: after an sgemm of a block of query rows against a block of points, turns the dot
//   products into squared distances and keeps each query's k nearest (sorted insertion; most
//   candidates fail the first comparison against the current k-th).
// - nnDescent: NN-descent refinement of approximate neighbour lists (see nn-descent.ts).
// - umapEpochs: umap-learn's optimize_layout_euclidean (2-D, head = tail embedding) for a range
//   of epochs, same sampling schedule, gradient clipping and learning-rate decay.
#define NAPI_VERSION 6
#include <node_api.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "stream.h"

// knnSelect(dots, rows, cols, rowNorms, colNorms, rowOffset, colOffset, k, indices, distances)
// dots: rows × cols (query block · point block); rowNorms/colNorms: squared norms of this block's
// queries / points; indices/distances: this block's queries' k slots (sorted ascending by squared
// distance, -1 / +inf when empty). A query never lists itself (global row == global column).
static napi_value KnnSelect(napi_env env, napi_callback_info info) {
  if (!stream_drain(env)) return NULL;  // after anything queued (stream.h)
  Args args;
  if (!args_init(&args, env, info, 10)) return NULL;
  size_t ld, lrn, lcn, li, ldist;
  const float *dots = typed(&args, 0, napi_float32_array, &ld);
  int64_t rows = (int64_t)num(&args, 1), cols = (int64_t)num(&args, 2);
  const float *row_norms = typed(&args, 3, napi_float32_array, &lrn);
  const float *col_norms = typed(&args, 4, napi_float32_array, &lcn);
  int64_t row_offset = (int64_t)num(&args, 5), col_offset = (int64_t)num(&args, 6), k = (int64_t)num(&args, 7);
  int32_t *indices = typed(&args, 8, napi_int32_array, &li);
  float *distances = typed(&args, 9, napi_float32_array, &ldist);
  if (args.failed) return NULL;
  if (rows < 0 || cols < 0 || k < 1 || (int64_t)ld < rows * cols || (int64_t)lrn < rows || (int64_t)lcn < cols || (int64_t)li < rows * k ||
      (int64_t)ldist < rows * k) {
    fail(&args, "knnSelect: array lengths do not match the sizes");
    return NULL;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *dot = dots + r * cols;
    int32_t *idx = indices + r * k;
    float *dist = distances + r * k;
    const float norm = row_norms[r];
    const int64_t self = row_offset + r - col_offset;
    float worst = dist[k - 1];
    for (int64_t c = 0; c < cols; c++) {
      float d2 = norm + col_norms[c] - 2.0f * dot[c];
      if (d2 >= worst || c == self) continue;
      if (d2 < 0) d2 = 0;  // rounding of |q|² + |p|² − 2 q·p for near-identical points
      int64_t slot = k - 1;
      while (slot > 0 && dist[slot - 1] > d2) {
        dist[slot] = dist[slot - 1];
        idx[slot] = idx[slot - 1];
        slot--;
      }
      dist[slot] = d2;
      idx[slot] = (int32_t)(col_offset + c);
      worst = dist[k - 1];
    }
  }
  return NULL;
}

static inline uint32_t tau_rand_int(uint32_t *state) {
  // umap-learn's tau_rand_int (a combined Tausworthe generator).
  state[0] = (((state[0] & 4294967294u) << 12) & 0xffffffffu) ^ ((((state[0] << 13) & 0xffffffffu) ^ state[0]) >> 19);
  state[1] = (((state[1] & 4294967288u) << 4) & 0xffffffffu) ^ ((((state[1] << 2) & 0xffffffffu) ^ state[1]) >> 25);
  state[2] = (((state[2] & 4294967280u) << 17) & 0xffffffffu) ^ ((((state[2] << 3) & 0xffffffffu) ^ state[2]) >> 11);
  return state[0] ^ state[1] ^ state[2];
}

static inline float clip4(float v) { return v > 4.0f ? 4.0f : (v < -4.0f ? -4.0f : v); }

// umapEpochs(head, tail, epochsPerSample, epochOfNextSample, epochOfNextNegativeSample, embedding,
//            nVertices, fromEpoch, toEpoch, nEpochs, a, b, gamma, initialAlpha, negativeSampleRate, rngState)
static napi_value UmapEpochs(napi_env env, napi_callback_info info) {
  if (!stream_drain(env)) return NULL;  // after anything queued (stream.h)
  Args args;
  if (!args_init(&args, env, info, 16)) return NULL;
  size_t lh, lt, leps, lnext, lneg, lemb, lrng;
  const int32_t *head = typed(&args, 0, napi_int32_array, &lh);
  const int32_t *tail = typed(&args, 1, napi_int32_array, &lt);
  const double *epochs_per_sample = typed(&args, 2, napi_float64_array, &leps);
  double *next_sample = typed(&args, 3, napi_float64_array, &lnext);
  double *next_negative = typed(&args, 4, napi_float64_array, &lneg);
  float *embedding = typed(&args, 5, napi_float32_array, &lemb);
  int64_t n_vertices = (int64_t)num(&args, 6), from = (int64_t)num(&args, 7), to = (int64_t)num(&args, 8);
  double n_epochs = num(&args, 9);
  const float a = (float)num(&args, 10), b = (float)num(&args, 11), gamma = (float)num(&args, 12);
  const double initial_alpha = num(&args, 13), negative_rate = num(&args, 14);
  uint32_t *rng = typed(&args, 15, napi_uint32_array, &lrng);
  if (args.failed) return NULL;
  const size_t edges = lh;
  if (lt != edges || leps != edges || lnext != edges || lneg != edges || (int64_t)lemb != 2 * n_vertices || lrng < 3 || n_vertices < 1) {
    fail(&args, "umapEpochs: array lengths do not match");
    return NULL;
  }
  for (size_t e = 0; e < edges; e++) {
    if (head[e] < 0 || head[e] >= n_vertices || tail[e] < 0 || tail[e] >= n_vertices) {
      fail(&args, "umapEpochs: an edge names a vertex out of range");
      return NULL;
    }
  }
  for (int64_t epoch = from; epoch < to; epoch++) {
    const float alpha = (float)(initial_alpha * (1.0 - (double)epoch / n_epochs));
    const double n = (double)epoch;
    for (size_t e = 0; e < edges; e++) {
      if (next_sample[e] > n) continue;
      float *current = embedding + 2 * (int64_t)head[e];
      float *other = embedding + 2 * (int64_t)tail[e];
      float dx = current[0] - other[0], dy = current[1] - other[1];
      float d2 = dx * dx + dy * dy;
      float coeff = 0.0f;
      if (d2 > 0.0f) {
        const float pb = powf(d2, b);
        coeff = (-2.0f * a * b * pb / d2) / (a * pb + 1.0f);
      }
      float gx = clip4(coeff * dx), gy = clip4(coeff * dy);
      current[0] += gx * alpha;
      current[1] += gy * alpha;
      other[0] -= gx * alpha;
      other[1] -= gy * alpha;
      next_sample[e] += epochs_per_sample[e];
      const double per_negative = epochs_per_sample[e] / negative_rate;
      int64_t negatives = (int64_t)((n - next_negative[e]) / per_negative);
      if (negatives < 0) negatives = 0;
      for (int64_t p = 0; p < negatives; p++) {
        const int64_t k = (int64_t)(tau_rand_int(rng) % (uint32_t)n_vertices);
        if (k == head[e]) continue;
        const float *far = embedding + 2 * k;
        dx = current[0] - far[0];
        dy = current[1] - far[1];
        d2 = dx * dx + dy * dy;
        if (d2 <= 0.0f) continue;
        coeff = (2.0f * gamma * b) / ((0.001f + d2) * (a * powf(d2, b) + 1.0f));
        current[0] += clip4(coeff * dx) * alpha;
        current[1] += clip4(coeff * dy) * alpha;
      }
      next_negative[e] += (double)negatives * per_negative;
    }
  }
  return NULL;
}

// nnDescent(points, n, d, k, indices, squared, iterations, delta, rngState): improves each point's
// sorted k-list (indices, squared distances; filled by the caller's random-projection trees) by
// local joins of its new × (new ∪ old) candidates, sampled as in pynndescent, until an iteration
// changes at most delta · n · k entries. Same algorithm as nnDescentJs (nn-descent.ts).
static float sq_dist(const float *points, int64_t d, int64_t p, int64_t q) {
  const float *a = points + p * d, *b = points + q * d;
  float s = 0.0f;
  for (int64_t j = 0; j < d; j++) {
    const float diff = a[j] - b[j];
    s += diff * diff;
  }
  return s;
}

static int list_push(int32_t *indices, float *squared, uint8_t *fresh, int64_t k, int64_t p, int32_t q, float dist) {
  const int64_t base = p * k;
  if (dist >= squared[base + k - 1]) return 0;
  for (int64_t j = 0; j < k; j++)
    if (indices[base + j] == q) return 0;
  int64_t slot = k - 1;
  while (slot > 0 && squared[base + slot - 1] > dist) {
    squared[base + slot] = squared[base + slot - 1];
    indices[base + slot] = indices[base + slot - 1];
    fresh[base + slot] = fresh[base + slot - 1];
    slot--;
  }
  squared[base + slot] = dist;
  indices[base + slot] = q;
  fresh[base + slot] = 1;
  return 1;
}

static void offer(int32_t *ids, uint32_t *keys, int64_t m, int64_t p, int32_t q, uint32_t key) {
  const int64_t base = p * m;
  int64_t worst = base;
  for (int64_t j = base; j < base + m; j++) {
    if (ids[j] == q) return;
    if (keys[j] > keys[worst]) worst = j;
  }
  if (key < keys[worst]) {
    ids[worst] = q;
    keys[worst] = key;
  }
}

static napi_value NnDescent(napi_env env, napi_callback_info info) {
  if (!stream_drain(env)) return NULL;  // after anything queued (stream.h)
  Args args;
  if (!args_init(&args, env, info, 9)) return NULL;
  size_t lp, li, ls, lrng;
  const float *points = typed(&args, 0, napi_float32_array, &lp);
  const int64_t n = (int64_t)num(&args, 1), d = (int64_t)num(&args, 2), k = (int64_t)num(&args, 3);
  int32_t *indices = typed(&args, 4, napi_int32_array, &li);
  float *squared = typed(&args, 5, napi_float32_array, &ls);
  const int64_t iterations = (int64_t)num(&args, 6);
  const double delta = num(&args, 7);
  uint32_t *rng = typed(&args, 8, napi_uint32_array, &lrng);
  if (args.failed) return NULL;
  if (n < 2 || d < 1 || k < 1 || k >= n || (int64_t)lp != n * d || (int64_t)li != n * k || (int64_t)ls != n * k || lrng < 3) {
    fail(&args, "nnDescent: array lengths do not match the sizes");
    return NULL;
  }
  for (int64_t i = 0; i < n * k; i++) {
    if (indices[i] < -1 || indices[i] >= n) {
      fail(&args, "nnDescent: a neighbour index is out of range");
      return NULL;
    }
  }
  const int64_t m = k;  // candidates per point and kind
  uint8_t *fresh = malloc((size_t)(n * k));
  int32_t *new_ids = malloc(sizeof(int32_t) * (size_t)(n * m));
  int32_t *old_ids = malloc(sizeof(int32_t) * (size_t)(n * m));
  uint32_t *new_keys = malloc(sizeof(uint32_t) * (size_t)(n * m));
  uint32_t *old_keys = malloc(sizeof(uint32_t) * (size_t)(n * m));
  if (!fresh || !new_ids || !old_ids || !new_keys || !old_keys) {
    free(fresh), free(new_ids), free(old_ids), free(new_keys), free(old_keys);
    fail(&args, "nnDescent: out of memory");
    return NULL;
  }
  memset(fresh, 1, (size_t)(n * k));
  for (int64_t iteration = 0; iteration < iterations; iteration++) {
    for (int64_t i = 0; i < n * m; i++) new_ids[i] = old_ids[i] = -1, new_keys[i] = old_keys[i] = UINT32_MAX;
    for (int64_t p = 0; p < n; p++) {
      for (int64_t j = 0; j < k; j++) {
        const int32_t q = indices[p * k + j];
        if (q < 0) continue;
        const uint32_t key = tau_rand_int(rng) >> 1;  // below UINT32_MAX, the empty slot's key
        if (fresh[p * k + j]) {
          offer(new_ids, new_keys, m, p, q, key);
          offer(new_ids, new_keys, m, q, (int32_t)p, key);
        } else {
          offer(old_ids, old_keys, m, p, q, key);
          offer(old_ids, old_keys, m, q, (int32_t)p, key);
        }
      }
    }
    for (int64_t p = 0; p < n; p++) {
      for (int64_t j = 0; j < k; j++) {
        if (!fresh[p * k + j]) continue;
        for (int64_t c = 0; c < m; c++) {
          if (new_ids[p * m + c] == indices[p * k + j]) {
            fresh[p * k + j] = 0;
            break;
          }
        }
      }
    }
    int64_t changes = 0;
    for (int64_t p = 0; p < n; p++) {
      const int32_t *fresh_ids = new_ids + p * m, *stale_ids = old_ids + p * m;
      for (int64_t a = 0; a < m; a++) {
        const int32_t u = fresh_ids[a];
        if (u < 0) continue;
        for (int64_t b = a + 1; b < m; b++) {
          const int32_t v = fresh_ids[b];
          if (v < 0 || v == u) continue;
          const float dist = sq_dist(points, d, u, v);
          changes += list_push(indices, squared, fresh, k, u, v, dist) + list_push(indices, squared, fresh, k, v, u, dist);
        }
        for (int64_t b = 0; b < m; b++) {
          const int32_t v = stale_ids[b];
          if (v < 0 || v == u) continue;
          const float dist = sq_dist(points, d, u, v);
          changes += list_push(indices, squared, fresh, k, u, v, dist) + list_push(indices, squared, fresh, k, v, u, dist);
        }
      }
    }
    if ((double)changes <= delta * (double)n * (double)k) break;
  }
  free(fresh), free(new_ids), free(old_ids), free(new_keys), free(old_keys);
  return NULL;
}

void projection_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"knnSelect", NULL, KnnSelect, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"nnDescent", NULL, NnDescent, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"umapEpochs", NULL, UmapEpochs, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
