// What the Latents view shows of a trained model: where samples sit in latent space, how each
// environment shifts the latent prior (and how sparsely), and which genes each latent drives.
import { PCA } from 'ml-pca';
import { UMAP } from 'umap-js';
import { Rng } from '../data/random.js';
import { coordinatesForMass } from './metrics.js';
import type { TrainedModel } from './trained-model.js';

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

export function projectLatents(model: TrainedModel, method: 'pca' | 'umap', maxPoints: number): Projection {
  const sample = subsample(model.nSamples, maxPoints);
  const d = model.latentDim;
  const means = model.encodeMeans(sample);
  const rows = sample.map((_, i) => Array.from(means.subarray(i * d, (i + 1) * d)));
  if (d === 1) return { method, x: rows.map((r) => r[0] as number), y: rows.map(() => 0), sample, explainedVariance: [1] };
  if (method === 'pca') {
    const pca = new PCA(rows, { center: true, scale: false });
    const projected = pca.predict(rows, { nComponents: 2 }).to2DArray();
    const explained = pca.getExplainedVariance();
    return {
      method,
      x: projected.map((p) => p[0] as number),
      y: projected.map((p) => p[1] as number),
      sample,
      explainedVariance: explained.slice(0, 2),
    };
  }
  const rng = new Rng(model.config.seed).fork('umap');
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(15, Math.max(2, rows.length - 1)), random: () => rng.next() });
  const embedding = umap.fit(rows);
  return { method, x: embedding.map((p) => p[0] as number), y: embedding.map((p) => p[1] as number), sample, explainedVariance: null };
}

export interface PriorShiftReport {
  latentDim: number;
  environments: { key: string; heldOut: boolean }[];
  /** μ̄_e per environment (rows) and latent (columns). */
  mean: number[][];
  logStd: number[][] | null;
  /** Environments ordered so that those moving the same coordinate sit together. */
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
  const dominant = combined.map((row) => row.indexOf(Math.max(...row)));
  const strength = combined.map((row) => Math.max(...row));
  const order = combined
    .map((_, e) => e)
    .sort((a, b) => (dominant[a] as number) - (dominant[b] as number) || (strength[b] as number) - (strength[a] as number));
  const heldOut = new Set(model.data.validationEnvironments);
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
