// PCA by randomized SVD (Halko, Martinsson & Tropp 2011, algorithms 4.4/4.3 and 5.1) for matrices too
// large for a d × d eigendecomposition to be the whole story, e.g. 473,647 signatures × 978 genes.
// Every n-sized product is one sgemm through dense.ts (the native BLAS addon, or its JavaScript
// loop without it); the data is centred implicitly (A − 1μᵀ is never stored, it would double the
// memory); orthonormalisation is Cholesky-QR done twice (CholeskyQR2), whose Gram product is also
// one sgemm, and the l × l factorisations are float64 JavaScript.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { Rng } from '../data/random.js';
import { cholesky, invertLower, multiply } from './dense.js';

export interface RandomizedPcaOptions {
  /** Extra sketch columns beyond k (Halko et al. recommend 5–10). */
  oversampling?: number;
  /** Power iterations: each sharpens the spectrum's decay, at two passes over the data. */
  powerIterations?: number;
  seed?: number;
  /** Called between passes over the data, so a worker can stop early. */
  checkpoint?: () => void;
}

export interface PcaResult {
  /** n × k scores, row-major. */
  scores: Float32Array;
  /** k × d principal axes, row-major, unit length; each axis's largest loading is positive. */
  axes: Float64Array;
  /** Variance along each axis (σ² / (n − 1)). */
  variance: number[];
  /** Each axis's share of the total variance. */
  explainedVarianceRatio: number[];
  mean: Float64Array;
}

/** The top k principal components of n rows × d columns (row-major float32). */
export function randomizedPca(values: Float32Array, n: number, d: number, k: number, options: RandomizedPcaOptions = {}): PcaResult {
  if (values.length !== n * d) throw new RangeError(`expected ${n}×${d} values, got ${values.length}`);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(n, d)) throw new RangeError(`k must be 1..${Math.min(n, d)}, got ${k}`);
  const checkpoint = options.checkpoint ?? (() => {});
  const l = Math.min(n, d, k + (options.oversampling ?? 10));
  const { mean, totalVariance } = columnMoments(values, n, d);
  const mean32 = Float32Array.from(mean);

  // Subspace iteration on the d × d matrix AᵀA (A centred) without forming it: Z ← orth(Aᵀ(A Z))
  // from a Gaussian d × l sketch, so only d × l matrices are orthonormalised in the loop; then
  // Y = A Z = (AAᵀ)^q A Ω, Halko et al.'s power-iterated sketch, and Q = orth(Y).
  const rng = new Rng(options.seed ?? 0).fork('randomized-pca');
  const omega = new Float32Array(d * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let z = orthonormalise(omega, d, l);
  for (let iteration = 0; iteration < (options.powerIterations ?? 2); iteration++) {
    checkpoint();
    const y = centredTimes(values, mean32, z, n, d, l);
    checkpoint();
    z = orthonormalise(centredTransposeTimes(values, mean32, y, n, d, l), d, l);
  }
  checkpoint();
  const q = orthonormalise(centredTimes(values, mean32, z, n, d, l), n, l);
  checkpoint();
  // B = Qᵀ(A − 1μᵀ) is l × d; we hold Bᵀ = Z. B Bᵀ = U Σ² Uᵀ gives B's left singular vectors.
  const bt = centredTransposeTimes(values, mean32, q, n, d, l);
  const gram = gramFloat64(bt, d, l);
  const eigen = new EigenvalueDecomposition(new Matrix(toRows(gram, l)), { assumeSymmetric: true });
  const order = eigen.realEigenvalues
    .map((_, i) => i)
    .sort((a, b) => (eigen.realEigenvalues[b] as number) - (eigen.realEigenvalues[a] as number));
  const u = eigen.eigenvectorMatrix;
  const axes = new Float64Array(k * d);
  const variance: number[] = [];
  const uSigma = new Float32Array(l * k); // scores = Q U Σ, so l × k
  for (let c = 0; c < k; c++) {
    const column = order[c] as number;
    const sigma = Math.sqrt(Math.max(0, eigen.realEigenvalues[column] as number));
    variance.push((sigma * sigma) / Math.max(1, n - 1));
    // Axis = Bᵀ u / σ (a right singular vector of B, i.e. of the centred data).
    const axis = axes.subarray(c * d, (c + 1) * d);
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let t = 0; t < l; t++) s += (bt[j * l + t] as number) * u.get(t, column);
      axis[j] = sigma > 0 ? s / sigma : 0;
    }
    const largest = axis.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0);
    const sign = largest < 0 ? -1 : 1;
    if (sign < 0) for (let j = 0; j < d; j++) axis[j] = -(axis[j] as number);
    for (let t = 0; t < l; t++) uSigma[t * k + c] = sign * u.get(t, column) * sigma;
  }
  const scores = multiply(q, uSigma, n, k, l);
  return {
    scores,
    axes,
    variance,
    explainedVarianceRatio: variance.map((v) => (totalVariance > 0 ? v / totalVariance : 0)),
    mean,
  };
}

function columnMoments(values: Float32Array, n: number, d: number): { mean: Float64Array; totalVariance: number } {
  const sum = new Float64Array(d);
  const sumSquares = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) {
      const v = values[row + j] as number;
      sum[j] = (sum[j] as number) + v;
      sumSquares[j] = (sumSquares[j] as number) + v * v;
    }
  }
  const mean = sum.map((s) => s / n);
  let totalVariance = 0;
  for (let j = 0; j < d; j++) totalVariance += Math.max(0, (sumSquares[j] as number) - n * (mean[j] as number) ** 2) / Math.max(1, n - 1);
  return { mean, totalVariance };
}

/** (A − 1μᵀ) X for X d × l: A X − 1 (μᵀX). */
function centredTimes(a: Float32Array, mean: Float32Array, x: Float32Array, n: number, d: number, l: number): Float32Array {
  const out = multiply(a, x, n, l, d);
  const shift = multiply(mean, x, 1, l, d);
  for (let i = 0; i < n; i++) for (let t = 0; t < l; t++) out[i * l + t] = (out[i * l + t] as number) - (shift[t] as number);
  return out;
}

/** (A − 1μᵀ)ᵀ Q for Q n × l: AᵀQ − μ (1ᵀQ). */
function centredTransposeTimes(a: Float32Array, mean: Float32Array, q: Float32Array, n: number, d: number, l: number): Float32Array {
  const out = multiply(a, q, d, l, n, true);
  const columnSums = new Float64Array(l);
  for (let i = 0; i < n; i++) for (let t = 0; t < l; t++) columnSums[t] = (columnSums[t] as number) + (q[i * l + t] as number);
  for (let j = 0; j < d; j++) {
    for (let t = 0; t < l; t++) out[j * l + t] = (out[j * l + t] as number) - (mean[j] as number) * (columnSums[t] as number);
  }
  return out;
}

function gramFloat64(y: Float32Array, rows: number, l: number): Float64Array {
  return Float64Array.from(multiply(y, y, l, l, rows, true));
}

function toRows(values: Float64Array, l: number): number[][] {
  return Array.from({ length: l }, (_, i) => Array.from(values.subarray(i * l, (i + 1) * l)));
}

/**
 * An orthonormal basis of Y's columns (rows × l) by CholeskyQR2: Y = Q R with R from the Cholesky
 * factor of YᵀY, twice, because one pass loses orthogonality as κ(Y)². The first pass shifts the
 * Gram matrix slightly (shifted CholeskyQR) so a rank-deficient sketch still factorises.
 */
export function orthonormalise(y: Float32Array, rows: number, l: number): Float32Array {
  let q = y;
  for (let pass = 0; pass < 2; pass++) {
    const gram = gramFloat64(q, rows, l);
    let trace = 0;
    for (let t = 0; t < l; t++) trace += gram[t * l + t] as number;
    const shift = pass === 0 ? 1e-6 * Math.max(trace, Number.MIN_VALUE) : 1e-12 * Math.max(trace, Number.MIN_VALUE);
    for (let t = 0; t < l; t++) gram[t * l + t] = (gram[t * l + t] as number) + shift;
    // Gram = L Lᵀ, R = Lᵀ, Q = Y R⁻¹ = Y (L⁻¹)ᵀ.
    const inverse = Float32Array.from(invertLower(cholesky(gram, l), l));
    q = multiply(q, inverse, rows, l, l, false, true);
  }
  return q;
}
