// UMAP (McInnes, Healy & Melville 2018) on typed arrays, following umap-learn step by step: the
// fuzzy simplicial set of a kNN graph (exact for small n, random-projection trees + NN-descent
// beyond, as umap-learn's pynndescent; smooth_knn_dist, fuzzy union), edges sampled in
// proportion to their weight, negative sampling, learning rate decaying to zero. Replaces umap-js,
// whose NN-descent and layout work on arrays of arrays (45.5 s for 20k points). The layout epochs
// run in the addon (umapEpochs) when it has them, else the same loop in JavaScript; either way in
// chunks, between which the caller's checkpoint can report progress, yield and cancel.
import { Rng } from '../data/random.js';
import type { NativeBinding } from '../ml/native/addon.js';
import { native } from './dense.js';
import { type NeighbourGraph, nearestNeighbours } from './neighbours.js';
import { approximateNeighbours } from './nn-descent.js';

export interface UmapOptions {
  /** Neighbours per point, the point itself included (umap-learn's n_neighbors). */
  nNeighbors?: number;
  /** Default as umap-learn: 500 below 10,000 points, 200 from there. */
  nEpochs?: number;
  seed?: number;
  /** n × 2 starting coordinates (e.g. the first two principal components); random when absent. */
  init?: Float32Array;
  /** Exact search up to EXACT_NEIGHBOURS_UP_TO points (cheap there), approximate beyond. */
  neighbours?: 'exact' | 'approximate';
  /** Called with the fraction done (kNN graph counts for the first 40 %); may throw to cancel. */
  checkpoint?: (fraction: number) => Promise<void> | void;
}

// The curve 1 / (1 + a·d^(2b)) that umap-learn's find_ab_params fits for min_dist = 0.1, spread = 1.
const A = 1.576943460405378;
const B = 0.8950608781227859;
const NEGATIVE_SAMPLE_RATE = 5;
const REPULSION = 1;
const LEARNING_RATE = 1;
export const EXACT_NEIGHBOURS_UP_TO = 10_000;

/** 2-D UMAP coordinates (n × 2, row-major) of n points × d. */
export async function umapEmbedding(points: Float32Array, n: number, d: number, options: UmapOptions = {}): Promise<Float32Array> {
  const nNeighbors = Math.min(options.nNeighbors ?? 15, n);
  if (n < 3) throw new RangeError(`UMAP needs at least 3 points, got ${n}`);
  const checkpoint = options.checkpoint ?? (() => {});
  const exact = (options.neighbours ?? (n <= EXACT_NEIGHBOURS_UP_TO ? 'exact' : 'approximate')) === 'exact';
  const graph = exact
    ? nearestNeighbours(points, n, d, nNeighbors - 1)
    : approximateNeighbours(points, n, d, nNeighbors - 1, { seed: options.seed ?? 0 });
  await checkpoint(0.4);
  return umapLayout(graph, { ...options, checkpoint: (fraction) => checkpoint(0.4 + 0.6 * fraction) });
}

/** The layout stage from a kNN graph (neighbours exclude the point itself). */
export async function umapLayout(graph: NeighbourGraph, options: UmapOptions = {}): Promise<Float32Array> {
  const { n } = graph;
  const nEpochs = options.nEpochs ?? (n < 10_000 ? 500 : 200);
  const checkpoint = options.checkpoint ?? (() => {});
  const edges = fuzzySimplicialSet(graph, graph.k + 1);
  // umap-learn drops edges too weak to be sampled once in n_epochs.
  let largest = 0;
  for (const w of edges.weight) largest = Math.max(largest, w);
  const keep: number[] = [];
  for (let e = 0; e < edges.weight.length; e++) if ((edges.weight[e] as number) >= largest / nEpochs) keep.push(e);
  const head = Int32Array.from(keep, (e) => edges.head[e] as number);
  const tail = Int32Array.from(keep, (e) => edges.tail[e] as number);
  const epochsPerSample = Float64Array.from(keep, (e) => largest / (edges.weight[e] as number));
  const nextSample = Float64Array.from(epochsPerSample);
  const nextNegative = epochsPerSample.map((v) => v / NEGATIVE_SAMPLE_RATE);

  const rng = new Rng(options.seed ?? 0).fork('umap');
  const embedding = initialCoordinates(n, options.init, rng);
  const rngState = Uint32Array.from([1 + rng.int(2 ** 30), 8 + rng.int(2 ** 30), 16 + rng.int(2 ** 30)]);
  const epochs = native()?.umapEpochs?.bind(native()) ?? umapEpochsJs;
  const chunk = Math.max(1, Math.round(nEpochs / 50));
  // What the epochs update in place, and the schedule's constants: the same at every chunk.
  const layout = [head, tail, epochsPerSample, nextSample, nextNegative, embedding, n] as const;
  const schedule = [A, B, REPULSION, LEARNING_RATE, NEGATIVE_SAMPLE_RATE, rngState] as const;
  for (let from = 0; from < nEpochs; from += chunk) {
    const to = Math.min(nEpochs, from + chunk);
    epochs(...layout, from, to, nEpochs, ...schedule);
    await checkpoint(to / nEpochs);
  }
  return embedding;
}

/** umap-learn rescales the starting layout to [0, 10] on each axis (plus a little noise for ties). */
function initialCoordinates(n: number, init: Float32Array | undefined, rng: Rng): Float32Array {
  const embedding = new Float32Array(2 * n);
  if (init && init.length !== 2 * n) throw new RangeError(`init must hold ${n}×2 coordinates, got ${init.length}`);
  for (let i = 0; i < 2 * n; i++) embedding[i] = init ? (init[i] as number) + 1e-4 * rng.normal() : rng.next() * 20 - 10;
  for (let axis = 0; axis < 2; axis++) {
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (let i = axis; i < 2 * n; i += 2) {
      low = Math.min(low, embedding[i] as number);
      high = Math.max(high, embedding[i] as number);
    }
    const scale = high > low ? 10 / (high - low) : 1;
    for (let i = axis; i < 2 * n; i += 2) embedding[i] = ((embedding[i] as number) - low) * scale;
  }
  return embedding;
}

/**
 * Membership strengths exp(−(d − ρᵢ)/σᵢ) of each directed kNN edge (ρᵢ the nearest distance, σᵢ
 * found by bisection so that the strengths sum to log₂ nNeighbors), then the fuzzy union
 * w = a + aᵀ − a∘aᵀ, listed in both directions as umap-learn's symmetric matrix is.
 */
export function fuzzySimplicialSet(
  graph: NeighbourGraph,
  nNeighbors: number,
): { head: Int32Array; tail: Int32Array; weight: Float32Array } {
  const { n, k, indices, distances } = graph;
  const target = Math.log2(nNeighbors);
  let meanDistance = 0;
  for (const v of distances) meanDistance += v / distances.length;
  const strength = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = distances.subarray(i * k, (i + 1) * k);
    const rho = row.find((v) => v > 0) ?? 0;
    let low = 0;
    let high = Number.POSITIVE_INFINITY;
    let sigma = 1;
    for (let step = 0; step < 64; step++) {
      let sum = 0;
      for (const v of row) sum += v - rho > 0 ? Math.exp(-(v - rho) / sigma) : 1;
      if (Math.abs(sum - target) < 1e-5) break;
      if (sum > target) {
        high = sigma;
        sigma = (low + high) / 2;
      } else {
        low = sigma;
        sigma = high === Number.POSITIVE_INFINITY ? sigma * 2 : (low + high) / 2;
      }
    }
    let rowMean = 0;
    for (const v of row) rowMean += v / k;
    sigma = Math.max(sigma, 1e-3 * (rho > 0 ? rowMean : meanDistance));
    for (let j = 0; j < k; j++) {
      const v = row[j] as number;
      strength[i * k + j] = v - rho <= 0 ? 1 : Math.exp(-(v - rho) / sigma);
    }
  }
  const head: number[] = [];
  const tail: number[] = [];
  const weight: number[] = [];
  const reverseStrength = (from: number, to: number): number => {
    for (let j = 0; j < k; j++) if (indices[from * k + j] === to) return strength[from * k + j] as number;
    return 0;
  };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const other = indices[i * k + j] as number;
      if (other < 0) continue;
      const a = strength[i * k + j] as number;
      const b = reverseStrength(other, i);
      const w = a + b - a * b;
      if (w <= 0) continue;
      head.push(i);
      tail.push(other);
      weight.push(w);
      // An edge only i lists still appears in both directions of the symmetric matrix.
      if (b === 0) {
        head.push(other);
        tail.push(i);
        weight.push(w);
      }
    }
  }
  return { head: Int32Array.from(head), tail: Int32Array.from(tail), weight: Float32Array.from(weight) };
}

function tauRandInt(state: Uint32Array): number {
  const s0 = state[0] as number;
  const s1 = state[1] as number;
  const s2 = state[2] as number;
  state[0] = (((s0 & 4294967294) << 12) ^ ((((s0 << 13) ^ s0) >>> 0) >>> 19)) >>> 0;
  state[1] = (((s1 & 4294967288) << 4) ^ ((((s1 << 2) ^ s1) >>> 0) >>> 25)) >>> 0;
  state[2] = (((s2 & 4294967280) << 17) ^ ((((s2 << 3) ^ s2) >>> 0) >>> 11)) >>> 0;
  return ((state[0] as number) ^ (state[1] as number) ^ (state[2] as number)) >>> 0;
}

const clip4 = (v: number) => Math.min(4, Math.max(-4, v));

/** The addon's umapEpochs in JavaScript: umap-learn's optimize_layout_euclidean for 2-D. */
export const umapEpochsJs: NonNullable<NativeBinding['umapEpochs']> = (
  head,
  tail,
  epochsPerSample,
  nextSample,
  nextNegative,
  embedding,
  nVertices,
  fromEpoch,
  toEpoch,
  nEpochs,
  a,
  b,
  gamma,
  initialAlpha,
  negativeSampleRate,
  rngState,
) => {
  for (let epoch = fromEpoch; epoch < toEpoch; epoch++) {
    const alpha = initialAlpha * (1 - epoch / nEpochs);
    for (let e = 0; e < head.length; e++) {
      if ((nextSample[e] as number) > epoch) continue;
      const j = head[e] as number;
      const t = tail[e] as number;
      let dx = (embedding[2 * j] as number) - (embedding[2 * t] as number);
      let dy = (embedding[2 * j + 1] as number) - (embedding[2 * t + 1] as number);
      let d2 = dx * dx + dy * dy;
      let coeff = 0;
      if (d2 > 0) {
        const pb = d2 ** b;
        coeff = (-2 * a * b * pb) / d2 / (a * pb + 1);
      }
      const gx = clip4(coeff * dx) * alpha;
      const gy = clip4(coeff * dy) * alpha;
      embedding[2 * j] = (embedding[2 * j] as number) + gx;
      embedding[2 * j + 1] = (embedding[2 * j + 1] as number) + gy;
      embedding[2 * t] = (embedding[2 * t] as number) - gx;
      embedding[2 * t + 1] = (embedding[2 * t + 1] as number) - gy;
      nextSample[e] = (nextSample[e] as number) + (epochsPerSample[e] as number);
      const perNegative = (epochsPerSample[e] as number) / negativeSampleRate;
      const negatives = Math.max(0, Math.trunc((epoch - (nextNegative[e] as number)) / perNegative));
      for (let p = 0; p < negatives; p++) {
        const far = tauRandInt(rngState) % nVertices;
        if (far === j) continue;
        dx = (embedding[2 * j] as number) - (embedding[2 * far] as number);
        dy = (embedding[2 * j + 1] as number) - (embedding[2 * far + 1] as number);
        d2 = dx * dx + dy * dy;
        if (d2 <= 0) continue;
        coeff = (2 * gamma * b) / ((0.001 + d2) * (a * d2 ** b + 1));
        embedding[2 * j] = (embedding[2 * j] as number) + clip4(coeff * dx) * alpha;
        embedding[2 * j + 1] = (embedding[2 * j + 1] as number) + clip4(coeff * dy) * alpha;
      }
      nextNegative[e] = (nextNegative[e] as number) + negatives * perNegative;
    }
  }
};
