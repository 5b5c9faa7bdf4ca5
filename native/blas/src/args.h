// Node-API argument helpers shared by the addon's source files (addon.c, projection.c). On a
// bad argument they throw a JS TypeError once, set args->failed and return 0/NULL, so a kernel
// reads all its arguments first and checks args.failed once before touching any memory.
#ifndef CELLSHIFT_ARGS_H
#define CELLSHIFT_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 20

typedef struct {
  napi_env env;
  size_t argc;
  napi_value argv[MAX_ARGS];
  int failed;
  int queued;  // called as queued.<name> (stream.h): its work may be queued
} Args;

static inline int args_init(Args *args, napi_env env, napi_callback_info info, size_t expected) {
  args->env = env;
  args->argc = MAX_ARGS;
  args->failed = 0;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &args->argc, args->argv, NULL, &data) != napi_ok || args->argc < expected) {
    napi_throw_type_error(env, NULL, "cellshift_blas: wrong number of arguments");
    args->failed = 1;
    return 0;
  }
  args->queued = data != NULL;
  return 1;
}

static inline void fail(Args *args, const char *message) {
  if (!args->failed) napi_throw_type_error(args->env, NULL, message);
  args->failed = 1;
}

static inline void need(Args *args, int ok, const char *message) {
  if (!ok) fail(args, message);
}

static inline double num(Args *args, size_t i) {
  double value = 0;
  if (args->failed) return 0;
  if (napi_get_value_double(args->env, args->argv[i], &value) != napi_ok) fail(args, "cellshift_blas: expected a number");
  return value;
}

static inline int64_t integer(Args *args, size_t i) {
  int64_t value = 0;
  if (args->failed) return 0;
  if (napi_get_value_int64(args->env, args->argv[i], &value) != napi_ok) fail(args, "cellshift_blas: expected an integer");
  return value;
}

static inline const char *typed_array_name(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return "cellshift_blas: expected a Float32Array";
    case napi_float64_array: return "cellshift_blas: expected a Float64Array";
    case napi_int32_array: return "cellshift_blas: expected an Int32Array";
    case napi_uint32_array: return "cellshift_blas: expected a Uint32Array";
    default: return "cellshift_blas: a typed array argument has the wrong type";
  }
}

/** The data of argument i, which must be a typed array of type `want`; its element count in *length. */
static inline void *typed(Args *args, size_t i, napi_typedarray_type want, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *data = NULL;
  size_t len = 0;
  *length = 0;
  if (args->failed) return NULL;
  if (napi_is_typedarray(args->env, args->argv[i], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(args->env, args->argv[i], &type, &len, &data, NULL, NULL) != napi_ok || type != want) {
    fail(args, typed_array_name(want));
    return NULL;
  }
  *length = len;
  return data;
}

static inline float *f32(Args *args, size_t i, size_t *length) { return (float *)typed(args, i, napi_float32_array, length); }

#endif
