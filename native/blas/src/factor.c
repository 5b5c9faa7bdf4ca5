// Float64 factorisations through the LAPACK routines of the BLAS the addon loaded (OpenBLAS
// exports them): the ridge baseline's Cholesky and triangular inverse per λ, which took ~11 s
// per λ at p = 1,095 in JavaScript, and the symmetric eigendecomposition that serves every λ at
// once, with the float64 products around it. Each is registered only when the library has it;
// callers fall back to JavaScript (or the Cholesky path) otherwise.
#define NAPI_VERSION 6
#include <node_api.h>

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "stream.h"

// Fortran calling convention; trailing hidden string lengths are passed for gfortran-built LAPACKs.
typedef void (*potrf_fn)(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
typedef void (*trtri_fn)(const char *uplo, const char *diag, const int *n, double *a, const int *lda, int *info, size_t uplo_len,
                         size_t diag_len);

typedef void (*syevd_fn)(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
                         const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len, size_t uplo_len);
typedef void (*dgemm_fn)(const char *transa, const char *transb, const int *m, const int *n, const int *k, const double *alpha,
                         const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c, const int *ldc,
                         size_t transa_len, size_t transb_len);

static potrf_fn lapack_dpotrf;
static trtri_fn lapack_dtrtri;
static syevd_fn lapack_dsyevd;
static dgemm_fn blas_dgemm;

// Float64Array arguments at argv[first..first+count), their data and lengths; false (with a
// TypeError thrown) when one is not a Float64Array.
static bool float64_arrays(napi_env env, napi_value *argv, size_t first, size_t count, double **data, size_t *length, const char *usage) {
  for (size_t i = 0; i < count; i++) {
    bool is_typed = false;
    napi_typedarray_type type;
    void *pointer = NULL;
    if (napi_is_typedarray(env, argv[first + i], &is_typed) != napi_ok || !is_typed ||
        napi_get_typedarray_info(env, argv[first + i], &type, &length[i], &pointer, NULL, NULL) != napi_ok || type != napi_float64_array) {
      napi_throw_type_error(env, NULL, usage);
      return false;
    }
    data[i] = (double *)pointer;
  }
  return true;
}

// choleskyInverse(a: Float64Array, p): number
// In place: a (row-major p×p, symmetric positive definite) becomes Z = L⁻¹ with L Lᵀ = a, row-major,
// zeros above the diagonal. Returns 0, or the 1-based pivot at which a is not positive definite.
// Row-major a read as column-major is the same symmetric matrix; its column-major upper factor U
// (a = Uᵀ U) read back as row-major is L = Uᵀ, and likewise U⁻¹ read row-major is L⁻¹.
static napi_value CholeskyInverse(napi_env env, napi_callback_info info) {
  if (!stream_drain(env)) return NULL;  // after anything queued (stream.h)
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

// symmetricEigen(a: Float64Array, p, values: Float64Array): number
// In place: a (row-major p×p, symmetric) becomes its eigenvectors, one per ROW (row k is the
// eigenvector of values[k]), values ascending (LAPACK dsyevd). Returns 0, or LAPACK's info.
// Column-major eigenvectors (one per column) read row-major are one per row.
static napi_value SymmetricEigen(napi_env env, napi_callback_info info) {
  if (!stream_drain(env)) return NULL;  // after anything queued (stream.h)
  static const char usage[] = "symmetricEigen(a: Float64Array, p: number, values: Float64Array)";
  size_t argc = 3;
  napi_value argv[3];
  double p_value = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_double(env, argv[1], &p_value) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  napi_value arrays[2] = {argv[0], argv[2]};
  double *data[2];
  size_t length[2];
  if (!float64_arrays(env, arrays, 0, 2, data, length, usage)) return NULL;
  const int64_t p64 = (int64_t)p_value;
  if (p64 < 1 || p64 > 46340 || (int64_t)length[0] != p64 * p64 || (int64_t)length[1] != p64) {
    napi_throw_range_error(env, NULL, "symmetricEigen: a must hold p×p values and values p");
    return NULL;
  }
  const int p = (int)p64;
  int status = 0;
  int lwork = -1;
  int liwork = -1;
  double work_size = 0;
  int iwork_size = 0;
  lapack_dsyevd("V", "U", &p, data[0], &p, data[1], &work_size, &lwork, &iwork_size, &liwork, &status, 1, 1);
  if (status == 0) {
    lwork = (int)work_size;
    liwork = iwork_size;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
    if (work == NULL || iwork == NULL) status = -1000;
    else lapack_dsyevd("V", "U", &p, data[0], &p, data[1], work, &lwork, iwork, &liwork, &status, 1, 1);
    free(work);
    free(iwork);
  }
  if (status == -1000) {
    napi_throw_error(env, NULL, "symmetricEigen: out of memory for LAPACK's workspace");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, status, &result);
  return result;
}

// multiply64(a, b, m, n, k, transA, transB, out): out (m×n) = op(a) op(b), all row-major Float64Array,
// op(a) m×k (a stored k×m when transA), op(b) k×n (b stored n×k when transB). Row-major C = A B is
// column-major Cᵀ = Bᵀ Aᵀ, so dgemm gets the operands swapped.
static napi_value Multiply64(napi_env env, napi_callback_info info) {
  if (!stream_drain(env)) return NULL;  // after anything queued (stream.h)
  static const char usage[] = "multiply64(a, b: Float64Array, m, n, k: number, transA, transB: boolean, out: Float64Array)";
  size_t argc = 8;
  napi_value argv[8];
  double dims[3];
  bool trans[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 8) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  for (int i = 0; i < 3; i++)
    if (napi_get_value_double(env, argv[2 + i], &dims[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, usage);
      return NULL;
    }
  for (int i = 0; i < 2; i++)
    if (napi_get_value_bool(env, argv[5 + i], &trans[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, usage);
      return NULL;
    }
  napi_value arrays[3] = {argv[0], argv[1], argv[7]};
  double *data[3];
  size_t length[3];
  if (!float64_arrays(env, arrays, 0, 3, data, length, usage)) return NULL;
  const int64_t m = (int64_t)dims[0], n = (int64_t)dims[1], k = (int64_t)dims[2];
  if (m < 1 || n < 1 || k < 1 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || (int64_t)length[0] != m * k ||
      (int64_t)length[1] != k * n || (int64_t)length[2] != m * n) {
    napi_throw_range_error(env, NULL, "multiply64: a must hold m×k values, b k×n and out m×n");
    return NULL;
  }
  const int mi = (int)m, ni = (int)n, ki = (int)k;
  const int lda = trans[0] ? mi : ki;
  const int ldb = trans[1] ? ki : ni;
  const double one = 1, zero = 0;
  blas_dgemm(trans[1] ? "T" : "N", trans[0] ? "T" : "N", &ni, &mi, &ki, &one, data[1], &ldb, data[0], &lda, &zero, data[2], &ni, 1, 1);
  return NULL;
}

void factor_register(napi_env env, napi_value exports, void *blas_library) {
  if (blas_library == NULL) return;
  lapack_dpotrf = (potrf_fn)dlsym(blas_library, "dpotrf_");
  lapack_dtrtri = (trtri_fn)dlsym(blas_library, "dtrtri_");
  lapack_dsyevd = (syevd_fn)dlsym(blas_library, "dsyevd_");
  blas_dgemm = (dgemm_fn)dlsym(blas_library, "dgemm_");
  const napi_property_attributes attributes = napi_writable | napi_enumerable | napi_configurable;
  napi_property_descriptor props[3];
  size_t count = 0;
  if (lapack_dpotrf != NULL && lapack_dtrtri != NULL)
    props[count++] = (napi_property_descriptor){"choleskyInverse", NULL, CholeskyInverse, NULL, NULL, NULL, attributes, NULL};
  // The eigen path of the ridge needs both: the decomposition and the float64 products after it.
  if (lapack_dsyevd != NULL && blas_dgemm != NULL) {
    props[count++] = (napi_property_descriptor){"symmetricEigen", NULL, SymmetricEigen, NULL, NULL, NULL, attributes, NULL};
    props[count++] = (napi_property_descriptor){"multiply64", NULL, Multiply64, NULL, NULL, NULL, attributes, NULL};
  }
  if (count > 0) napi_define_properties(env, exports, count, props);
}
