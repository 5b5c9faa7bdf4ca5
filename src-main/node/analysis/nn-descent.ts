// Approximate k nearest neighbours for UMAP at 100k+ points, where the exact blocked search
// (neighbours.ts) costs n² · d: a forest of random-projection trees gives each point candidates
// from its leaves, then NN-descent (Dong, Moses & Li 2011; as in pynndescent) improves every list
// by comparing neighbours of neighbours until few lists change. The descent runs in the addon
// (nnDescent, native/blas/src/projection.c) when it has it, else the same loop in JavaScript.
import { Rng } from '../data/random.js';
import type { NativeBinding } from '../ml/native/addon.js';
import { native } from './dense.js';
import type { NeighbourGraph } from './neighbours.js';

export interface DescentOptions {
  trees?: number;
  leafSize?: number;
  /** At most this many iterations; stops earlier when fewer than delta · n · k entries change. */
  iterations?: number;
  delta?: number;
  seed?: number;
}

/** Approximate k nearest other points of each of n points (n × d, row-major). */
export function approximateNeighbours(points: Float32Array, n: number, d: number, k: number, options: DescentOptions = {}): NeighbourGraph {
  if (points.length !== n * d) throw new RangeError(`expected ${n}×${d} values, got ${points.length}`);
  if (!Number.isInteger(k) || k < 1 || k >= n) throw new RangeError(`k must be 1..${n - 1}, got ${k}`);
  const rng = new Rng(options.seed ?? 0).fork('nn-descent');
  const indices = new Int32Array(n * k).fill(-1);
  const squared = new Float32Array(n * k).fill(Number.POSITIVE_INFINITY);
  const leafSize = Math.max(options.leafSize ?? Math.max(k + 1, 30), 2);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let tree = 0; tree < (options.trees ?? 6); tree++) {
    for (const leaf of randomProjectionLeaves(points, d, order, leafSize, rng)) {
      for (let a = 0; a < leaf.length; a++) {
        for (let b = a + 1; b < leaf.length; b++) {
          const p = leaf[a] as number;
          const q = leaf[b] as number;
          const dist = squaredDistance(points, d, p, q);
          push(indices, squared, k, p, q, dist, null);
          push(indices, squared, k, q, p, dist, null);
        }
      }
    }
  }
  const descend = native()?.nnDescent?.bind(native()) ?? nnDescentJs;
  const seed = Uint32Array.from([1 + rng.int(2 ** 30), 8 + rng.int(2 ** 30), 16 + rng.int(2 ** 30)]);
  descend(points, n, d, k, indices, squared, options.iterations ?? 10, options.delta ?? 0.001, seed);
  return { n, k, indices, distances: squared.map(Math.sqrt) };
}

/**
 * Leaves of one random-projection tree over `order` (shuffled in place): each node splits its points
 * by the hyperplane halfway between two of them, chosen at random, until a node has ≤ leafSize.
 */
function randomProjectionLeaves(points: Float32Array, d: number, order: Int32Array, leafSize: number, rng: Rng): Int32Array[] {
  const leaves: Int32Array[] = [];
  const side = new Uint8Array(order.length);
  const stack: [number, number][] = [[0, order.length]];
  const normal = new Float64Array(d);
  while (stack.length > 0) {
    const [begin, end] = stack.pop() as [number, number];
    const size = end - begin;
    if (size <= leafSize) {
      leaves.push(order.slice(begin, end));
      continue;
    }
    const left = order[begin + rng.int(size)] as number;
    let right = order[begin + rng.int(size)] as number;
    for (let attempt = 0; attempt < 8 && right === left; attempt++) right = order[begin + rng.int(size)] as number;
    let offset = 0;
    for (let j = 0; j < d; j++) {
      const l = points[left * d + j] as number;
      const r = points[right * d + j] as number;
      normal[j] = l - r;
      offset -= (normal[j] as number) * ((l + r) / 2);
    }
    let count = 0;
    for (let i = begin; i < end; i++) {
      const p = order[i] as number;
      let s = offset;
      for (let j = 0; j < d; j++) s += (normal[j] as number) * (points[p * d + j] as number);
      // Points on the hyperplane (duplicates, identical pivots) go to a random side.
      const goesLeft = s > 0 || (s === 0 && rng.next() < 0.5);
      side[i] = goesLeft ? 1 : 0;
      if (goesLeft) count++;
    }
    if (count === 0 || count === size) {
      // No split (all points alike along this direction): halve at random instead.
      for (let i = begin; i < end; i++) side[i] = i - begin < size / 2 ? 1 : 0;
      count = Math.floor((size + 1) / 2);
    }
    // Stable partition: left side first.
    const part = new Int32Array(size);
    let l = 0;
    let r = count;
    for (let i = begin; i < end; i++) part[side[i] ? l++ : r++] = order[i] as number;
    order.set(part, begin);
    stack.push([begin, begin + count], [begin + count, end]);
  }
  return leaves;
}

function squaredDistance(points: Float32Array, d: number, p: number, q: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = (points[p * d + j] as number) - (points[q * d + j] as number);
    s += diff * diff;
  }
  return Math.fround(s);
}

/**
 * Inserts q into p's sorted list unless it is there or farther than the k-th; returns 1 when the
 * list changed. `fresh` marks entries not yet used in a local join.
 */
function push(indices: Int32Array, squared: Float32Array, k: number, p: number, q: number, dist: number, fresh: Uint8Array | null): number {
  const base = p * k;
  if (dist >= (squared[base + k - 1] as number)) return 0;
  for (let j = 0; j < k; j++) if (indices[base + j] === q) return 0;
  let slot = k - 1;
  while (slot > 0 && (squared[base + slot - 1] as number) > dist) {
    squared[base + slot] = squared[base + slot - 1] as number;
    indices[base + slot] = indices[base + slot - 1] as number;
    if (fresh) fresh[base + slot] = fresh[base + slot - 1] as number;
    slot--;
  }
  squared[base + slot] = dist;
  indices[base + slot] = q;
  if (fresh) fresh[base + slot] = 1;
  return 1;
}

/** The addon's nnDescent in JavaScript: local joins of new × (new ∪ old) candidates per point. */
export const nnDescentJs: NonNullable<NativeBinding['nnDescent']> = (points, n, d, k, indices, squared, iterations, delta, rngState) => {
  const fresh = new Uint8Array(n * k).fill(1);
  const maxCandidates = k;
  // Candidate lists keep the maxCandidates entries with the smallest random priority.
  const newIds = new Int32Array(n * maxCandidates);
  const newKeys = new Float64Array(n * maxCandidates);
  const oldIds = new Int32Array(n * maxCandidates);
  const oldKeys = new Float64Array(n * maxCandidates);
  const random = new Rng(rngState[0] as number);
  const offer = (ids: Int32Array, keys: Float64Array, p: number, q: number, key: number) => {
    const base = p * maxCandidates;
    let worst = base;
    for (let j = base; j < base + maxCandidates; j++) {
      if (ids[j] === q) return;
      if ((keys[j] as number) > (keys[worst] as number)) worst = j;
    }
    if (key < (keys[worst] as number)) {
      ids[worst] = q;
      keys[worst] = key;
    }
  };
  for (let iteration = 0; iteration < iterations; iteration++) {
    newIds.fill(-1);
    oldIds.fill(-1);
    newKeys.fill(Number.POSITIVE_INFINITY);
    oldKeys.fill(Number.POSITIVE_INFINITY);
    for (let p = 0; p < n; p++) {
      for (let j = 0; j < k; j++) {
        const q = indices[p * k + j] as number;
        if (q < 0) continue;
        const key = random.next();
        if (fresh[p * k + j]) {
          offer(newIds, newKeys, p, q, key);
          offer(newIds, newKeys, q, p, key);
        } else {
          offer(oldIds, oldKeys, p, q, key);
          offer(oldIds, oldKeys, q, p, key);
        }
      }
    }
    // Entries sampled as new candidates are old from now on.
    for (let p = 0; p < n; p++) {
      for (let j = 0; j < k; j++) {
        const q = indices[p * k + j] as number;
        if (!fresh[p * k + j]) continue;
        for (let c = 0; c < maxCandidates; c++) {
          if (newIds[p * maxCandidates + c] === q) {
            fresh[p * k + j] = 0;
            break;
          }
        }
      }
    }
    let changes = 0;
    for (let p = 0; p < n; p++) {
      const base = p * maxCandidates;
      for (let a = 0; a < maxCandidates; a++) {
        const u = newIds[base + a] as number;
        if (u < 0) continue;
        for (let b = a + 1; b < maxCandidates; b++) {
          const v = newIds[base + b] as number;
          if (v < 0 || v === u) continue;
          const dist = squaredDistance(points, d, u, v);
          changes += push(indices, squared, k, u, v, dist, fresh) + push(indices, squared, k, v, u, dist, fresh);
        }
        for (let b = 0; b < maxCandidates; b++) {
          const v = oldIds[base + b] as number;
          if (v < 0 || v === u) continue;
          const dist = squaredDistance(points, d, u, v);
          changes += push(indices, squared, k, u, v, dist, fresh) + push(indices, squared, k, v, u, dist, fresh);
        }
      }
    }
    if (changes <= delta * n * k) break;
  }
};
