// The baseline algorithms a sceptical reviewer tries first, behind a generic API (a feature matrix
// in, predictions out) so any evaluation can use them: ridge regression with leave-one-out choice
// of λ, and nearest neighbours by Tanimoto similarity. Both are sized for LINCS (tens of
// thousands of environments × 1024-bit fingerprints): ridge goes through BLAS products in row
// chunks, and fingerprints are compared as packed bits.
import { type Factorisation, factorisationBackend, inverseCholesky, lowerTimes, multiply, multiply64, symmetricEigen } from './dense.js';

/** A matrix given row by row, so callers need not copy their rows into one array. */
export interface Rows {
  count: number;
  width: number;
  row(i: number): ArrayLike<number>;
}

/** Rows of one row-major array. */
export function rowsOf(values: Float32Array, width: number): Rows {
  return { count: width === 0 ? 0 : values.length / width, width, row: (i) => values.subarray(i * width, (i + 1) * width) };
}

export const RIDGE_LAMBDAS = [0.01, 0.1, 1, 10, 100, 1000] as const;

export interface RidgeFit {
  /** The λ with the least leave-one-out error. */
  lambda: number;
  /** Its leave-one-out squared error, summed over rows and targets (centred data). */
  looError: number;
  predict(features: ArrayLike<number>): Float32Array;
  /** Predictions for every row (rows × targets, row-major), in one BLAS product. */
  predictRows(features: Rows): Float32Array;
}

/** Rows per block of the primal fit: bounds memory to a few MB whatever the number of rows. */
const BLOCK_ROWS = 2048;

export interface RidgeOptions {
  lambdas?: readonly number[];
  /** Rows per block in the primal form (tests use small blocks to cover the block boundaries). */
  blockRows?: number;
  /** How the p×p system is solved (default: one eigendecomposition when the addon has LAPACK); benches and tests pick the reference. */
  factorisation?: Factorisation;
}
/** Leverage is capped below 1 so a row the fit interpolates exactly does not divide by zero. */
const MAX_LEVERAGE = 0.999999;

function columnMeans(rows: Rows): Float64Array {
  const mean = new Float64Array(rows.width);
  for (let i = 0; i < rows.count; i++) {
    const r = rows.row(i);
    for (let j = 0; j < rows.width; j++) mean[j] = (mean[j] as number) + (r[j] as number) / rows.count;
  }
  return mean;
}

/** Rows [start, end) copied into one float32 block, minus `centre` when given. */
function block(rows: Rows, start: number, end: number, centre?: Float64Array): Float32Array {
  const out = new Float32Array((end - start) * rows.width);
  for (let i = start; i < end; i++) {
    const r = rows.row(i);
    const o = (i - start) * rows.width;
    for (let j = 0; j < rows.width; j++) out[o + j] = (r[j] as number) - (centre ? (centre[j] as number) : 0);
  }
  return out;
}

function withRidge(gram: Float64Array, p: number, lambda: number): Float64Array {
  const a = Float64Array.from(gram);
  for (let i = 0; i < p; i++) a[i * p + i] = (a[i * p + i] as number) + lambda;
  return a;
}

function looTerm(residual: number, leverage: number): number {
  return (residual / (1 - Math.min(leverage, MAX_LEVERAGE))) ** 2;
}

/**
 * Leave-one-out squared error of a block of rows: targets y and fitted values (rows × g), and
 * leverages Σₖ Mᵢₖ² (× weightₖ when given) from the rows of M (rows × p).
 */
function blockLooError(
  m: Float32Array,
  fitted: Float32Array,
  y: Float32Array,
  rows: number,
  p: number,
  g: number,
  weight?: Float64Array,
): number {
  let error = 0;
  for (let i = 0; i < rows; i++) {
    let leverage = 0;
    if (weight) for (let k = 0; k < p; k++) leverage += (m[i * p + k] as number) ** 2 * (weight[k] as number);
    else for (let k = 0; k < p; k++) leverage += (m[i * p + k] as number) ** 2;
    for (let j = 0; j < g; j++) error += looTerm((y[i * g + j] as number) - (fitted[i * g + j] as number), leverage);
  }
  return error;
}

/**
 * Ridge regression from features (n×p) to targets (n×g), both centred, with λ chosen by exact
 * leave-one-out error. Solves in whichever of the primal (p×p) or dual (n×n) form is smaller; the
 * two give the same predictions. Needs at least two rows.
 */
export function fitRidge(features: Rows, targets: Rows, options: RidgeOptions = {}): RidgeFit {
  const lambdas = options.lambdas ?? RIDGE_LAMBDAS;
  const n = features.count;
  if (n < 2 || targets.count !== n)
    throw new Error(`ridge needs at least two rows of features and targets (got ${n} and ${targets.count})`);
  const featureMean = columnMeans(features);
  const targetMean = columnMeans(targets);
  const factorisation = options.factorisation ?? factorisationBackend();
  const chunk = options.blockRows ?? BLOCK_ROWS;
  const fit =
    n <= features.width
      ? fitDual(features, targets, featureMean, targetMean, lambdas, factorisation)
      : factorisation === 'eigen'
        ? fitPrimalEigen(features, targets, featureMean, targetMean, lambdas, chunk)
        : fitPrimal(features, targets, featureMean, targetMean, lambdas, chunk, factorisation);
  const { weights, lambda, looError } = fit;
  const p = features.width;
  const g = targets.width;
  return {
    lambda,
    looError,
    predict: (x) => predictRows({ count: 1, width: p, row: () => x }),
    predictRows,
  };

  function predictRows(rows: Rows): Float32Array {
    const prediction = multiply(block(rows, 0, rows.count, featureMean), weights, rows.count, g, p);
    for (let i = 0; i < prediction.length; i++) prediction[i] = (prediction[i] as number) + (targetMean[i % g] as number);
    return prediction;
  }
}

/**
 * A per-key predictor that answers the keys of `order` a block at a time, as they are asked for in
 * that order (one BLAS product per block instead of one per key, and only the current block kept);
 * any other key is predicted alone.
 */
export function inBlocks(
  order: readonly number[],
  width: number,
  predictBlock: (keys: readonly number[]) => Float32Array,
  predictOne: (key: number) => Float32Array,
  blockSize = 512,
): (key: number) => Float32Array {
  const position = new Map(order.map((key, i) => [key, i]));
  let start = -1;
  let values: Float32Array = new Float32Array(0);
  return (key) => {
    const at = position.get(key);
    if (at === undefined) return predictOne(key);
    const wanted = at - (at % blockSize);
    if (wanted !== start) {
      values = predictBlock(order.slice(wanted, wanted + blockSize));
      start = wanted;
    }
    return values.slice((at - start) * width, (at - start + 1) * width);
  };
}

interface Solved {
  weights: Float32Array;
  lambda: number;
  looError: number;
}

/**
 * Primal form, for more rows than features: with XcᵀXc + λI = L Lᵀ and Z = L⁻¹, the rows of
 * M = Xc Zᵀ give the fitted values M (Z XcᵀYc) and the leverages ‖Mᵢ‖²; M is computed block by
 * block, never whole. One Cholesky per λ, of a p×p matrix.
 */
function fitPrimal(
  features: Rows,
  targets: Rows,
  featureMean: Float64Array,
  targetMean: Float64Array,
  lambdas: readonly number[],
  chunk: number,
  factorisation: Factorisation,
): Solved {
  const n = features.count;
  const p = features.width;
  const g = targets.width;
  const { gram, cross } = centredProducts(features, targets, featureMean, targetMean, chunk);
  let best: { lambda: number; looError: number; z: Float64Array } | null = null;
  // The fitted values are float32 products anyway, so Z XcᵀYc is one for each λ too (through BLAS:
  // in JavaScript that p×p×g product took longer than the rest of the λ); the chosen λ's weights
  // are then formed in float64.
  const crossF32 = Float32Array.from(cross);
  for (const lambda of lambdas) {
    const z = inverseCholesky(withRidge(gram, p, lambda), p, factorisation);
    const zt = Float32Array.from(z);
    const cf = multiply(zt, crossF32, p, g, p);
    const zMean = Float32Array.from(lowerTimes(z, featureMean, p, 1));
    let looError = 0;
    for (let start = 0; start < n; start += chunk) {
      const rows = Math.min(n, start + chunk) - start;
      const m = multiply(block(features, start, start + rows), zt, rows, p, p, false, true);
      for (let i = 0; i < rows; i++) for (let k = 0; k < p; k++) m[i * p + k] = (m[i * p + k] as number) - (zMean[k] as number);
      const fitted = multiply(m, cf, rows, g, p);
      const y = block(targets, start, start + rows, targetMean);
      looError += blockLooError(m, fitted, y, rows, p, g);
    }
    if (!best || looError < best.looError) best = { lambda, looError, z };
  }
  const chosen = best as NonNullable<typeof best>;
  const c = lowerTimes(chosen.z, cross, p, g);
  return { weights: Float32Array.from(lowerTimes(chosen.z, c, p, g, true)), lambda: chosen.lambda, looError: chosen.looError };
}

/** XcᵀXc (p×p) and XcᵀYc (p×g) in float64, summed over blocks of `chunk` rows. */
function centredProducts(
  features: Rows,
  targets: Rows,
  featureMean: Float64Array,
  targetMean: Float64Array,
  chunk: number,
): { gram: Float64Array; cross: Float64Array } {
  const n = features.count;
  const p = features.width;
  const g = targets.width;
  // Uncentred products are exact in float32 for 0/1 fingerprints; centre afterwards in float64.
  const gram = new Float64Array(p * p);
  const cross = new Float64Array(p * g);
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const x = block(features, start, end);
    const y = block(targets, start, end, targetMean);
    const xx = multiply(x, x, p, p, end - start, true);
    const xy = multiply(x, y, p, g, end - start, true);
    for (let i = 0; i < xx.length; i++) gram[i] = (gram[i] as number) + (xx[i] as number);
    for (let i = 0; i < xy.length; i++) cross[i] = (cross[i] as number) + (xy[i] as number);
  }
  // Σ Yc = 0, so Xᵀ Yc is already Xcᵀ Yc.
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) gram[i * p + j] = (gram[i * p + j] as number) - n * (featureMean[i] as number) * (featureMean[j] as number);
  return { gram, cross };
}

/**
 * Primal form through one eigendecomposition XcᵀXc = V diag(s) Vᵀ for every λ: with M = Xc V
 * (computed once per block of rows) and B = Vᵀ XcᵀYc, the fitted values at λ are
 * M diag(1/(s + λ)) B and the leverages Σₖ Mᵢₖ² / (sₖ + λ). Per λ that is one n×p×g product and
 * O(n·p), instead of a Cholesky, an inverse and an n×p×p product besides.
 */
function fitPrimalEigen(
  features: Rows,
  targets: Rows,
  featureMean: Float64Array,
  targetMean: Float64Array,
  lambdas: readonly number[],
  chunk: number,
): Solved {
  const n = features.count;
  const p = features.width;
  const g = targets.width;
  const { gram, cross } = centredProducts(features, targets, featureMean, targetMean, chunk);
  const { values, vectors } = symmetricEigen(gram, p);
  // XcᵀXc is positive semidefinite: rounding can leave its null directions slightly negative.
  for (let k = 0; k < p; k++) values[k] = Math.max(0, values[k] as number);
  const rotatedCross = multiply64(vectors, cross, p, g, p);
  const rotation = Float32Array.from(vectors);
  // Row k of `vectors` is eigenvector k, so (μᵀV)ₖ is its dot product with the feature means.
  const rotatedMean = new Float32Array(p);
  for (let k = 0; k < p; k++) {
    let s = 0;
    for (let i = 0; i < p; i++) s += (vectors[k * p + i] as number) * (featureMean[i] as number);
    rotatedMean[k] = s;
  }
  const shrunk = (lambda: number) => {
    const out = new Float64Array(p * g);
    for (let k = 0; k < p; k++) {
      const f = 1 / ((values[k] as number) + lambda);
      for (let j = 0; j < g; j++) out[k * g + j] = (rotatedCross[k * g + j] as number) * f;
    }
    return out;
  };
  const shrunkCross = lambdas.map((lambda) => Float32Array.from(shrunk(lambda)));
  const inverseShrink = lambdas.map((lambda) => Float64Array.from(values, (v) => 1 / (v + lambda)));
  const looErrors = new Float64Array(lambdas.length);
  const fitted = new Float32Array(Math.min(n, chunk) * g);
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(n, start + chunk) - start;
    const m = multiply(block(features, start, start + rows), rotation, rows, p, p, false, true);
    for (let i = 0; i < rows; i++) for (let k = 0; k < p; k++) m[i * p + k] = (m[i * p + k] as number) - (rotatedMean[k] as number);
    const y = block(targets, start, start + rows, targetMean);
    for (let l = 0; l < lambdas.length; l++) {
      multiply(m, shrunkCross[l] as Float32Array, rows, g, p, false, false, fitted.subarray(0, rows * g));
      looErrors[l] = (looErrors[l] as number) + blockLooError(m, fitted, y, rows, p, g, inverseShrink[l]);
    }
  }
  let chosen = 0;
  for (let l = 1; l < lambdas.length; l++) if ((looErrors[l] as number) < (looErrors[chosen] as number)) chosen = l;
  const lambda = lambdas[chosen] as number;
  // W = V diag(1/(s + λ)) Vᵀ XcᵀYc, in float64 like the Cholesky path's weights.
  const weights = multiply64(vectors, shrunk(lambda), p, g, p, true);
  return { weights: Float32Array.from(weights), lambda, looError: looErrors[chosen] as number };
}

/**
 * Dual form, for fewer rows than features: K = Xc Xcᵀ, (K + λI)⁻¹ = ZᵀZ with Z = L⁻¹, so the
 * residuals are λ ZᵀZ Yc and the leverages 1 − λ diag(ZᵀZ). All in float64 (n ≤ p is small).
 */
function fitDual(
  features: Rows,
  targets: Rows,
  featureMean: Float64Array,
  targetMean: Float64Array,
  lambdas: readonly number[],
  factorisation: Factorisation,
): Solved {
  const n = features.count;
  const p = features.width;
  const g = targets.width;
  const x = Float64Array.from(block(features, 0, n), (v, i) => v - (featureMean[i % p] as number));
  const y = new Float64Array(n * g);
  for (let i = 0; i < n; i++) {
    const r = targets.row(i);
    for (let j = 0; j < g; j++) y[i * g + j] = (r[j] as number) - (targetMean[j] as number);
  }
  const kernel = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < p; k++) s += (x[i * p + k] as number) * (x[j * p + k] as number);
      kernel[i * n + j] = s;
      kernel[j * n + i] = s;
    }
  let best: { lambda: number; looError: number; alpha: Float64Array } | null = null;
  for (const lambda of lambdas) {
    const z = inverseCholesky(withRidge(kernel, n, lambda), n, factorisation);
    const alpha = lowerTimes(z, lowerTimes(z, y, n, g), n, g, true);
    let looError = 0;
    for (let i = 0; i < n; i++) {
      let inverseDiagonal = 0;
      for (let k = i; k < n; k++) inverseDiagonal += (z[k * n + i] as number) ** 2;
      const leverage = 1 - lambda * inverseDiagonal;
      for (let j = 0; j < g; j++) looError += looTerm(lambda * (alpha[i * g + j] as number), leverage);
    }
    if (!best || looError < best.looError) best = { lambda, looError, alpha };
  }
  const chosen = best as NonNullable<typeof best>;
  // W = Xcᵀ α, so a prediction costs p·g whatever n was.
  const weights = new Float64Array(p * g);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < p; k++) {
      const f = x[i * p + k] as number;
      if (f === 0) continue;
      for (let j = 0; j < g; j++) weights[k * g + j] = (weights[k * g + j] as number) + f * (chosen.alpha[i * g + j] as number);
    }
  return { weights: Float32Array.from(weights), lambda: chosen.lambda, looError: chosen.looError };
}

/** Set bits of every 16-bit word: a popcount is two lookups per 32-bit word. */
export const POPCOUNT16 = (() => {
  const table = new Uint8Array(65536);
  for (let i = 1; i < 65536; i++) table[i] = (table[i >> 1] as number) + (i & 1);
  return table;
})();

export interface Neighbour {
  index: number;
  similarity: number;
}

/**
 * Similarity between the rows of a matrix: Tanimoto between 0/1 rows (fingerprints, compared as
 * packed bits with popcounts), else 1 / (1 + Euclidean distance).
 */
export class SimilarityIndex {
  readonly #rows: Rows;
  readonly #words: number;
  readonly #bits: Uint32Array;
  readonly #counts: Int32Array;
  /** Per row: whether it is all 0/1 (only such pairs are compared by Tanimoto). */
  readonly #binary: Uint8Array;

  constructor(rows: Rows) {
    this.#rows = rows;
    this.#words = Math.ceil(rows.width / 32);
    this.#bits = new Uint32Array(rows.count * this.#words);
    this.#counts = new Int32Array(rows.count);
    this.#binary = new Uint8Array(rows.count);
    for (let i = 0; i < rows.count; i++) {
      const r = rows.row(i);
      let binary = 1;
      let count = 0;
      for (let j = 0; j < rows.width; j++) {
        const v = r[j] as number;
        if (v === 1) {
          const w = i * this.#words + (j >>> 5);
          this.#bits[w] = ((this.#bits[w] as number) | (1 << (j & 31))) >>> 0;
          count++;
        } else if (v !== 0) binary = 0;
      }
      this.#binary[i] = binary;
      this.#counts[i] = count;
    }
  }

  similarity(a: number, b: number): number {
    if (this.#binary[a] && this.#binary[b]) {
      let both = 0;
      const oa = a * this.#words;
      const ob = b * this.#words;
      for (let w = 0; w < this.#words; w++) {
        const v = ((this.#bits[oa + w] as number) & (this.#bits[ob + w] as number)) >>> 0;
        both += (POPCOUNT16[v & 0xffff] as number) + (POPCOUNT16[v >>> 16] as number);
      }
      const either = (this.#counts[a] as number) + (this.#counts[b] as number) - both;
      return either === 0 ? 1 : both / either;
    }
    const ra = this.#rows.row(a);
    const rb = this.#rows.row(b);
    let d = 0;
    for (let j = 0; j < this.#rows.width; j++) d += ((ra[j] as number) - (rb[j] as number)) ** 2;
    return 1 / (1 + Math.sqrt(d));
  }

  /** The k candidates most similar to row `query`, most similar first; ties keep candidate order. */
  nearest(query: number, candidates: readonly number[], k: number): Neighbour[] {
    const top: Neighbour[] = [];
    for (const index of candidates) {
      const similarity = this.similarity(query, index);
      if (top.length === k && similarity <= (top[k - 1] as Neighbour).similarity) continue;
      let at = top.length;
      while (at > 0 && (top[at - 1] as Neighbour).similarity < similarity) at--;
      top.splice(at, 0, { index, similarity });
      if (top.length > k) top.pop();
    }
    return top;
  }
}
