// Float64 factorisations through the LAPACK routines of the BLAS the addon loaded (OpenBLAS
// exports them): the ridge baseline's Cholesky and triangular inverse per λ, which took ~11 s
// per λ at p = 1,095 in JavaScript. Registered only when the library has them; callers fall
// back to JavaScript otherwise.
#define NAPI_VERSION 6
#include <node_api.h>

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Fortran calling convention; trailing hidden string lengths are passed for gfortran-built LAPACKs.
typedef void (*potrf_fn)(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
typedef void (*trtri_fn)(const char *uplo, const char *diag, const int *n, double *a, const int *lda, int *info, size_t uplo_len,
                         size_t diag_len);

static potrf_fn lapack_dpotrf;
static trtri_fn lapack_dtrtri;

// choleskyInverse(a: Float64Array, p): number
// In place: a (row-major p×p, symmetric positive definite) becomes Z = L⁻¹ with L Lᵀ = a, row-major,
// zeros above the diagonal. Returns 0, or the 1-based pivot at which a is not positive definite.
// Row-major a read as column-major is the same symmetric matrix; its column-major upper factor U
// (a = Uᵀ U) read back as row-major is L = Uᵀ, and likewise U⁻¹ read row-major is L⁻¹.
static napi_value CholeskyInverse(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  double p_value = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok ||
      !is_typed || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array ||
      napi_get_value_double(env, argv[1], &p_value) != napi_ok) {
    napi_throw_type_error(env, NULL, "choleskyInverse(a: Float64Array, p: number)");
    return NULL;
  }
  const int64_t p64 = (int64_t)p_value;
  if (p64 < 1 || p64 > INT32_MAX / 2 || (int64_t)length != p64 * p64) {
    napi_throw_range_error(env, NULL, "choleskyInverse: a must hold p×p values");
    return NULL;
  }
  const int p = (int)p64;
  double *a = (double *)data;
  int status = 0;
  lapack_dpotrf("U", &p, a, &p, &status, 1);
  if (status == 0) lapack_dtrtri("U", "N", &p, a, &p, &status, 1, 1);
  // The strict upper triangle (row-major) still holds the input: zero it so Z is exactly lower.
  if (status == 0)
    for (int i = 0; i < p; i++)
      for (int j = i + 1; j < p; j++) a[(int64_t)i * p + j] = 0;
  napi_value result;
  napi_create_int32(env, status, &result);
  return result;
}

void factor_register(napi_env env, napi_value exports, void *blas_library) {
  if (blas_library == NULL) return;
  lapack_dpotrf = (potrf_fn)dlsym(blas_library, "dpotrf_");
  lapack_dtrtri = (trtri_fn)dlsym(blas_library, "dtrtri_");
  if (lapack_dpotrf == NULL || lapack_dtrtri == NULL) return;
  napi_property_descriptor props[] = {
      {"choleskyInverse", NULL, CholeskyInverse, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, 1, props);
}
