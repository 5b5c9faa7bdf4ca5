// What the Latents view shows of a trained model: where samples sit in latent space, how each
// environment shifts the latent prior (and how sparsely), and which genes each latent drives.
import * as tf from '@tensorflow/tfjs';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { Rng } from '../data/random.js';
import { scoped } from '../ml/scoped.js';
import { coordinatesForMass } from './metrics.js';
import { orderEnvironments } from './prior-shift-rows.js';
import type { TrainedModel } from './trained-model.js';
import { umapEmbedding } from './umap.js';

export interface Projection {
  method: 'pca' | 'umap';
  x: number[];
  y: number[];
  /** Dataset sample index of each point. */
  sample: number[];
  /** Fraction of latent variance along each axis (PCA only). */
  explainedVariance: number[] | null;
}

/** Deterministic subsample of at most `max` of n indices, in ascending order. */
export function subsample(n: number, max: number, seed = 0): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= max) return all;
  return new Rng(seed)
    .fork('subsample')
    .shuffle(all)
    .slice(0, max)
    .sort((a, b) => a - b);
}

/**
 * Samples' posterior means projected to 2-D. Async because UMAP's layout epochs yield to the event
 * loop (about every 20 ms), so the worker running it keeps answering other requests and sees a
 * cancellation; `signal` stops it between chunks of epochs.
 */
export async function projectLatents(
  model: TrainedModel,
  method: 'pca' | 'umap',
  maxPoints: number,
  signal?: AbortSignal,
): Promise<Projection> {
  const sample = subsample(model.nSamples, maxPoints);
  const d = model.latentDim;
  const means = model.encodeMeans(sample);
  signal?.throwIfAborted();
  if (d === 1) return { method, x: Array.from(means), y: sample.map(() => 0), sample, explainedVariance: [1] };
  if (method === 'pca') {
    const { projected, explainedVariance } = principalComponents(means, sample.length, d, 2);
    return {
      method,
      x: Array.from({ length: sample.length }, (_, i) => projected[2 * i] as number),
      y: Array.from({ length: sample.length }, (_, i) => projected[2 * i + 1] as number),
      sample,
      explainedVariance,
    };
  }
  // UMAP from the first two principal axes (umap-learn's init='pca'), with layout epochs in chunks
  // that yield to the event loop so the worker keeps answering and sees a cancellation.
  const start = principalComponents(means, sample.length, d, 2).projected;
  let lastYield = performance.now();
  const embedding = await umapEmbedding(means, sample.length, d, {
    nNeighbors: Math.min(15, Math.max(2, sample.length - 1)),
    seed: model.config.seed,
    init: Float32Array.from(start),
    checkpoint: async () => {
      if (performance.now() - lastYield < 20) return;
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      lastYield = performance.now();
    },
  });
  return {
    method,
    x: Array.from({ length: sample.length }, (_, i) => embedding[2 * i] as number),
    y: Array.from({ length: sample.length }, (_, i) => embedding[2 * i + 1] as number),
    sample,
    explainedVariance: null,
  };
}

/**
 * PCA of n rows × d columns (row-major) through the d × d covariance and its symmetric eigen-
 * decomposition: O(n·d²) with the covariance on the tf backend, where ml-pca took 10 s for 20k × 200
 * latents (and minutes for 100k). Each axis's sign makes its largest loading positive, so results
 * are deterministic. Returns the projections (n × k, row-major) and each axis's share of variance.
 */
export function principalComponents(
  values: Float32Array,
  n: number,
  d: number,
  k: number,
): { projected: Float64Array; explainedVariance: number[] } {
  if (values.length !== n * d) throw new RangeError(`expected ${n}×${d} values, got ${values.length}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (values[i * d + j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  const centered = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) centered[i] = (values[i] as number) - (mean[i % d] as number);
  const covariance = scoped(() => {
    const x = tf.tensor2d(centered, [n, d]);
    return tf.div(tf.matMul(x, x, true, false), Math.max(1, n - 1)).dataSync() as Float32Array;
  });
  const matrix = new Matrix(d, d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) matrix.set(a, b, ((covariance[a * d + b] as number) + (covariance[b * d + a] as number)) / 2);
  }
  const eigen = new EigenvalueDecomposition(matrix, { assumeSymmetric: true });
  const eigenvalues = eigen.realEigenvalues;
  const order = eigenvalues.map((_, i) => i).sort((a, b) => (eigenvalues[b] as number) - (eigenvalues[a] as number));
  const total = eigenvalues.reduce((sum, v) => sum + Math.max(0, v), 0);
  const axes = order.slice(0, k).map((column) => {
    const axis = eigen.eigenvectorMatrix.getColumn(column);
    const largest = axis.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0);
    return largest < 0 ? axis.map((v) => -v) : axis;
  });
  const projected = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < axes.length; c++) {
      const axis = axes[c] as number[];
      let sum = 0;
      for (let j = 0; j < d; j++) sum += (centered[i * d + j] as number) * (axis[j] as number);
      projected[i * k + c] = sum;
    }
  }
  return {
    projected,
    explainedVariance: order.slice(0, k).map((column) => (total > 0 ? Math.max(0, eigenvalues[column] as number) / total : 0)),
  };
}

export interface PriorShiftReport {
  latentDim: number;
  environments: { key: string; heldOut: boolean }[];
  /** μ̄_e per environment (rows) and latent (columns). */
  mean: number[][];
  logStd: number[][] | null;
  /** Environments grouped by the coordinate each moves most, each group along its leading principal component. */
  order: number[];
  /** Coordinates carrying 90 % of each environment's |μ̄_e| (and log σ̄_e) mass. */
  sparsity: number[];
}

export function priorShiftReport(model: TrainedModel): PriorShiftReport | null {
  const shifts = model.priorShifts();
  if (!shifts) return null;
  const d = model.latentDim;
  const rows = (values: Float32Array) => model.data.environmentKeys.map((_, e) => Array.from(values.subarray(e * d, (e + 1) * d)));
  const mean = rows(shifts.mean);
  const logStd = shifts.logStd ? rows(shifts.logStd) : null;
  const combined = mean.map((m, e) => m.map((v, j) => Math.abs(v) + Math.abs(logStd?.[e]?.[j] ?? 0)));
  const heldOut = new Set(model.data.validationEnvironments);
  const keys = model.data.environmentKeys;
  // The heatmaps' order (prior-shift-rows.ts), so an export of every row reads as the view does.
  const order = Array.from(
    orderEnvironments({ keys, heldOut: keys.map((key) => heldOut.has(key)), latentDim: d, mean: shifts.mean, logStd: shifts.logStd }),
  );
  return {
    latentDim: d,
    environments: model.data.environmentKeys.map((key) => ({ key, heldOut: heldOut.has(key) })),
    mean,
    logStd,
    order,
    sparsity: combined.map((row) => coordinatesForMass(row)),
  };
}

export interface GeneEffect {
  gene: number;
  effect: number;
}

/**
 * The decoder's Jacobian column for one latent, averaged over training samples: how much each
 * gene moves (in the data's units) per unit of the latent. Central differences on the decoder,
 * so it works for every family without symbolic gradients.
 */
export function latentGeneEffects(model: TrainedModel, latent: number, samplesForAverage = 64): Float64Array {
  const d = model.latentDim;
  if (!Number.isInteger(latent) || latent < 0 || latent >= d) throw new RangeError(`latent must be 0..${d - 1}, got ${latent}`);
  const points = subsample(model.data.trainIndices.length, samplesForAverage).map((i) => model.data.trainIndices[i] as number);
  const means = model.encodeMeans(points);
  const h = 0.5;
  const plus = new Float32Array(means);
  const minus = new Float32Array(means);
  for (let i = 0; i < points.length; i++) {
    plus[i * d + latent] = (plus[i * d + latent] as number) + h;
    minus[i * d + latent] = (minus[i * d + latent] as number) - h;
  }
  const reference = referenceEnvironment(model);
  const up = model.decode(plus, points.length, reference);
  const down = model.decode(minus, points.length, reference);
  const g = model.data.nGenes;
  const effect = new Float64Array(g);
  for (let i = 0; i < points.length; i++) {
    for (let k = 0; k < g; k++) effect[k] = (effect[k] as number) + ((up[i * g + k] as number) - (down[i * g + k] as number)) / (2 * h);
  }
  for (let k = 0; k < g; k++) effect[k] = (effect[k] as number) / points.length;
  return effect;
}

export function topGenes(model: TrainedModel, latent: number, count: number): GeneEffect[] {
  const effect = latentGeneEffects(model, latent);
  return Array.from(effect, (value, gene) => ({ gene, effect: value }))
    .sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect))
    .slice(0, count);
}

/** Expression along one latent coordinate, others held at the training mean: genes × steps. */
export function traverse(model: TrainedModel, latent: number, values: number[]): Float32Array {
  const d = model.latentDim;
  const means = model.encodeMeans(model.data.trainIndices);
  const center = new Float64Array(d);
  const n = model.data.trainIndices.length;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) center[j] = (center[j] as number) + (means[i * d + j] as number) / n;
  const z = new Float32Array(values.length * d);
  values.forEach((v, s) => {
    z.set(center, s * d);
    z[s * d + latent] = v;
  });
  return model.decode(z, values.length, referenceEnvironment(model));
}

/** Decoding happens in a control environment when there is one (it matters for the conditional VAE). */
function referenceEnvironment(model: TrainedModel): number {
  const control = model.data.environmentKeys.findIndex((k) => k === 'control' || k.startsWith('control'));
  return Math.max(0, control);
}
