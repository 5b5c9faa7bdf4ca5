// Scores used across evaluation and studies. Pure functions on plain arrays.
import munkres from 'munkres';

function check(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: lengths differ (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new Error(`${what}: empty input`);
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return s / a.length;
}

/** Coefficient of determination of `predicted` for `observed`: 1 − SS_res / SS_tot. */
export function rSquared(observed: ArrayLike<number>, predicted: ArrayLike<number>): number {
  check(observed, predicted, 'R²');
  const m = mean(observed);
  let residual = 0;
  let total = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i] as number;
    residual += (o - (predicted[i] as number)) ** 2;
    total += (o - m) ** 2;
  }
  return total === 0 ? (residual === 0 ? 1 : Number.NEGATIVE_INFINITY) : 1 - residual / total;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, 'Pearson r');
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

/** 1 − cos(a, b); 0 for parallel vectors, 2 for opposite ones. */
export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, 'cosine distance');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb);
}

/** Fraction of coordinates whose sign agrees (zero counts as disagreement unless both are zero). */
export function directionAgreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, 'direction agreement');
  let agree = 0;
  for (let i = 0; i < a.length; i++) if (Math.sign(a[i] as number) === Math.sign(b[i] as number)) agree++;
  return agree / a.length;
}

/**
 * How many coordinates carry `mass` (default 90 %) of Σ|v|: 1 for an effect on a single latent,
 * d for an effect spread evenly. The sparsity of one environment's shift.
 */
export function coordinatesForMass(v: ArrayLike<number>, mass = 0.9): number {
  const magnitudes = Array.from(v, (x) => Math.abs(x)).sort((a, b) => b - a);
  const total = magnitudes.reduce((s, x) => s + x, 0);
  if (total === 0) return 0;
  let running = 0;
  for (let k = 0; k < magnitudes.length; k++) {
    running += magnitudes[k] as number;
    if (running >= mass * total - 1e-12) return k + 1;
  }
  return magnitudes.length;
}

/**
 * Mean correlation coefficient between true and learned latents after the best one-to-one
 * matching (Hungarian algorithm on |r|): the usual latent-recovery score, 1 = recovered up to
 * permutation, sign and scale.
 */
export function meanCorrelationCoefficient(
  truth: Float32Array | Float64Array,
  learned: Float32Array | Float64Array,
  samples: number,
  trueDims: number,
  learnedDims: number,
): { score: number; matching: [number, number][]; correlations: number[] } {
  if (truth.length !== samples * trueDims || learned.length !== samples * learnedDims) {
    throw new Error('MCC: array sizes do not match samples × dims');
  }
  const column = (m: Float32Array | Float64Array, dims: number, j: number) => {
    const out = new Float64Array(samples);
    for (let i = 0; i < samples; i++) out[i] = m[i * dims + j] as number;
    return out;
  };
  const trueColumns = Array.from({ length: trueDims }, (_, j) => column(truth, trueDims, j));
  const learnedColumns = Array.from({ length: learnedDims }, (_, j) => column(learned, learnedDims, j));
  const abs = trueColumns.map((t) => learnedColumns.map((l) => Math.abs(pearson(t, l))));
  // munkres minimises cost; it handles rectangular matrices.
  const matching = munkres(abs.map((row) => row.map((r) => 1 - r))) as [number, number][];
  const correlations = matching.map(([i, j]) => abs[i]?.[j] ?? 0);
  const score = correlations.reduce((s, r) => s + r, 0) / Math.max(1, Math.min(trueDims, learnedDims));
  return { score, matching, correlations };
}

/**
 * Seed §6.1: rows of M·R_θ (true decoder rotated by θ) against rows of the learned decoder M̃,
 * by cosine distance, for θ on a grid over [0, 2π]; with `flip` the first column of M is negated
 * first (a scaling λ with opposite signs). Returns distances[θ][gene] and the best θ.
 */
export function decoderAlignment(
  trueDecoder: ArrayLike<number>,
  learnedDecoder: ArrayLike<number>,
  genes: number,
  options: { steps?: number; flip?: boolean } = {},
): { thetas: number[]; distances: number[][]; bestTheta: number; bestMeanDistance: number } {
  const steps = options.steps ?? 360;
  if (trueDecoder.length !== genes * 2 || learnedDecoder.length !== genes * 2) {
    throw new Error('Decoder alignment is defined for 2 latents: both decoders must be genes × 2');
  }
  const thetas: number[] = [];
  const distances: number[][] = [];
  let bestTheta = 0;
  let bestMeanDistance = Number.POSITIVE_INFINITY;
  for (let s = 0; s <= steps; s++) {
    const theta = (2 * Math.PI * s) / steps;
    const c = Math.cos(theta);
    const sn = Math.sin(theta);
    const row: number[] = [];
    for (let g = 0; g < genes; g++) {
      const m0 = (trueDecoder[2 * g] as number) * (options.flip ? -1 : 1);
      const m1 = trueDecoder[2 * g + 1] as number;
      // [m0 m1] · R_θ with R_θ = [[cos, −sin], [sin, cos]]
      const rotated = [m0 * c + m1 * sn, -m0 * sn + m1 * c];
      row.push(cosineDistance(rotated, [learnedDecoder[2 * g] as number, learnedDecoder[2 * g + 1] as number]));
    }
    const meanDistance = row.reduce((a, b) => a + b, 0) / genes;
    if (meanDistance < bestMeanDistance) {
      bestMeanDistance = meanDistance;
      bestTheta = theta;
    }
    thetas.push(theta);
    distances.push(row);
  }
  return { thetas, distances, bestTheta, bestMeanDistance };
}
