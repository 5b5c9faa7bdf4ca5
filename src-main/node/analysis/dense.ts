// Dense linear algebra for the analyses that outgrow ml-matrix at LINCS size: matrix products go
// through the native BLAS addon when it is loaded (a plain JavaScript loop otherwise, same
// results to float32 rounding); the p×p float64 factorisations go through the addon's LAPACK when
// it has it, JavaScript otherwise.
// All matrices are row-major typed arrays.
import { loadAddon, type NativeBinding } from '../ml/native/addon.js';

let binding: NativeBinding | null | undefined;

/** The native addon when it is loaded in this thread (its projection kernels may still be absent in older builds). */
export function native(): NativeBinding | null {
  if (binding === undefined) {
    const load = loadAddon();
    binding = load.ok ? load.binding : null;
  }
  return binding;
}

/** Which implementation multiply() uses in this thread, for benches to print. */
export function multiplyBackend(): string {
  const load = loadAddon();
  return load.ok ? `native BLAS (${load.blas})` : `JavaScript (${load.why})`;
}

/**
 * C (m×n) = op(A) op(B), where op(A) is m×k (A stored k×m when transA) and op(B) is k×n (B stored
 * n×k when transB). Float32 in and out, as the addon's sgemm.
 */
export function multiply(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transA = false,
  transB = false,
  out = new Float32Array(m * n),
): Float32Array {
  const blas = native();
  if (blas) {
    blas.gemm(1, m, n, k, transA ? 1 : 0, transB ? 1 : 0, a, 0, b, 0, out);
    return out;
  }
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let t = 0; t < k; t++) {
      const av = (transA ? a[t * m + i] : a[i * k + t]) as number;
      if (av === 0) continue;
      if (transB) for (let j = 0; j < n; j++) row[j] = (row[j] as number) + av * (b[j * k + t] as number);
      else {
        const offset = t * n;
        for (let j = 0; j < n; j++) row[j] = (row[j] as number) + av * (b[offset + j] as number);
      }
    }
    for (let j = 0; j < n; j++) out[i * n + j] = row[j] as number;
  }
  return out;
}

/** Lower-triangular L with L Lᵀ = A (p×p, symmetric positive definite); throws when A is not. */
export function cholesky(a: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    const ri = i * p;
    for (let j = 0; j <= i; j++) {
      const rj = j * p;
      let s = a[ri + j] as number;
      for (let k = 0; k < j; k++) s -= (l[ri + k] as number) * (l[rj + k] as number);
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: the matrix is not positive definite (pivot ${i} is ${s})`);
        l[ri + i] = Math.sqrt(s);
      } else l[ri + j] = s / (l[rj + j] as number);
    }
  }
  return l;
}

/** L⁻¹ of a lower-triangular L (p×p), by row operations so every inner loop is contiguous. */
export function invertLower(l: Float64Array, p: number): Float64Array {
  const z = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    const ri = i * p;
    // row_i(Z) = (e_i − Σ_{k<i} L[i,k] row_k(Z)) / L[i,i]; row_k(Z) is zero beyond column k.
    for (let k = 0; k < i; k++) {
      const f = l[ri + k] as number;
      if (f === 0) continue;
      const rk = k * p;
      for (let j = 0; j <= k; j++) z[ri + j] = (z[ri + j] as number) - f * (z[rk + j] as number);
    }
    z[ri + i] = (z[ri + i] as number) + 1;
    const d = l[ri + i] as number;
    for (let j = 0; j <= i; j++) z[ri + j] = (z[ri + j] as number) / d;
  }
  return z;
}

/**
 * How the ridge factorises: 'eigen' decomposes the p×p matrix once for every λ (LAPACK dsyevd
 * through the addon); 'native' and 'javascript' take a Cholesky and triangular inverse per λ,
 * through LAPACK (dpotrf + dtrtri) or in JavaScript.
 */
export type Factorisation = 'eigen' | 'native' | 'javascript';

/** The addon's float64 LAPACK and BLAS entry points (native/blas/src/factor.c), each present only when the loaded BLAS has it. */
interface Float64Binding {
  symmetricEigen?(a: Float64Array, p: number, values: Float64Array): number;
  multiply64?(a: Float64Array, b: Float64Array, m: number, n: number, k: number, transA: boolean, transB: boolean, out: Float64Array): void;
}

function float64Binding(): Float64Binding | null {
  return native() as Float64Binding | null;
}

/** Which factorisation the ridge uses by default in this thread, for benches to print. */
export function factorisationBackend(): Factorisation {
  const binding = float64Binding();
  if (binding?.symmetricEigen && binding.multiply64) return 'eigen';
  return native()?.choleskyInverse ? 'native' : 'javascript';
}

/**
 * Eigendecomposition of a symmetric p×p matrix through the addon's LAPACK (dsyevd): eigenvalues
 * ascending, and the eigenvectors one per row (row k belongs to values[k]). Only where
 * factorisationBackend() is 'eigen'.
 */
export function symmetricEigen(a: Float64Array, p: number): { values: Float64Array; vectors: Float64Array } {
  const lapack = float64Binding()?.symmetricEigen;
  if (!lapack) throw new Error('symmetricEigen needs the native addon with LAPACK (dsyevd)');
  const vectors = Float64Array.from(a);
  const values = new Float64Array(p);
  const info = lapack(vectors, p, values);
  if (info !== 0) throw new Error(`symmetricEigen: LAPACK dsyevd failed (info ${info})`);
  return { values, vectors };
}

/** multiply() in float64 through the addon's dgemm; only where factorisationBackend() is 'eigen'. */
export function multiply64(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
  transA = false,
  transB = false,
): Float64Array {
  const dgemm = float64Binding()?.multiply64;
  if (!dgemm) throw new Error('multiply64 needs the native addon with dgemm');
  const out = new Float64Array(m * n);
  dgemm(a, b, m, n, k, transA, transB, out);
  return out;
}

/**
 * Z = L⁻¹ for the Cholesky factor L of A (p×p, symmetric positive definite), lower-triangular;
 * throws when A is not positive definite. LAPACK's dpotrf + dtrtri through the addon when loaded
 * (same values to float64 rounding), else cholesky() and invertLower() in JavaScript.
 */
export function inverseCholesky(a: Float64Array, p: number, using: Factorisation = factorisationBackend()): Float64Array {
  const lapack = using === 'javascript' ? undefined : native()?.choleskyInverse;
  if (!lapack) return invertLower(cholesky(a, p), p);
  const z = Float64Array.from(a);
  const pivot = lapack(z, p);
  if (pivot !== 0) throw new Error(`cholesky: the matrix is not positive definite (pivot ${pivot - 1})`);
  return z;
}

/** Z B (or Zᵀ B when transpose) for a lower-triangular Z (p×p) and B (p×g), in float64. */
export function lowerTimes(z: Float64Array, b: Float64Array, p: number, g: number, transpose = false): Float64Array {
  const out = new Float64Array(p * g);
  for (let i = 0; i < p; i++) {
    for (let k = 0; k <= i; k++) {
      const f = z[i * p + k] as number;
      if (f === 0) continue;
      // Z[i,k] adds row k of B to row i of the product, or row i of B to row k of Zᵀ B.
      const ro = (transpose ? k : i) * g;
      const rb = (transpose ? i : k) * g;
      for (let j = 0; j < g; j++) out[ro + j] = (out[ro + j] as number) + f * (b[rb + j] as number);
    }
  }
  return out;
}
