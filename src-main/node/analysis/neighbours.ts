// Exact k nearest neighbours (Euclidean) of every point, for UMAP's graph. Brute force, but as
// BLAS work: distances come from ‖q‖² + ‖p‖² − 2 q·p with the dot products of a block of queries
// against a block of points in one sgemm, and each query keeps its k best in a sorted list (the
// addon's knnSelect, or the same loop in JavaScript). On PCA-50 coordinates that is
// n² · 50 multiply-adds: ~10¹² at 100k points, tens of seconds on two cores, with no recall loss.
import type { NativeBinding } from '../ml/native/addon.js';
import { multiply, native } from './dense.js';

export interface NeighbourGraph {
  n: number;
  k: number;
  /** n × k neighbour indices, nearest first; a point is never its own neighbour. */
  indices: Int32Array;
  /** n × k Euclidean distances, ascending. */
  distances: Float32Array;
}

const QUERY_BLOCK = 1024;
const POINT_BLOCK = 8192;

/**
 * The k nearest other points of each of n points (n × d, row-major). `checkpoint` runs after each
 * block of queries with the fraction done; it may throw to stop.
 */
export function nearestNeighbours(
  points: Float32Array,
  n: number,
  d: number,
  k: number,
  checkpoint: (fraction: number) => void = () => {},
): NeighbourGraph {
  if (points.length !== n * d) throw new RangeError(`expected ${n}×${d} values, got ${points.length}`);
  if (!Number.isInteger(k) || k < 1 || k >= n) throw new RangeError(`k must be 1..${n - 1}, got ${k}`);
  const norms = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (points[i * d + j] as number) ** 2;
    norms[i] = s;
  }
  const indices = new Int32Array(n * k).fill(-1);
  const squared = new Float32Array(n * k).fill(Number.POSITIVE_INFINITY);
  const select = native()?.knnSelect?.bind(native()) ?? knnSelectJs;
  const dots = new Float32Array(QUERY_BLOCK * POINT_BLOCK);
  for (let q0 = 0; q0 < n; q0 += QUERY_BLOCK) {
    const rows = Math.min(QUERY_BLOCK, n - q0);
    const queries = points.subarray(q0 * d, (q0 + rows) * d);
    for (let p0 = 0; p0 < n; p0 += POINT_BLOCK) {
      const cols = Math.min(POINT_BLOCK, n - p0);
      const block = dots.subarray(0, rows * cols);
      multiply(queries, points.subarray(p0 * d, (p0 + cols) * d), rows, cols, d, false, true, block);
      select(
        block,
        rows,
        cols,
        norms.subarray(q0, q0 + rows),
        norms.subarray(p0, p0 + cols),
        q0,
        p0,
        k,
        indices.subarray(q0 * k, (q0 + rows) * k),
        squared.subarray(q0 * k, (q0 + rows) * k),
      );
    }
    checkpoint(Math.min(1, (q0 + rows) / n));
  }
  const distances = squared.map(Math.sqrt);
  return { n, k, indices, distances };
}

/** The addon's knnSelect in JavaScript (same arithmetic in float32, same order of insertion). */
export const knnSelectJs: NonNullable<NativeBinding['knnSelect']> = (
  dots,
  rows,
  cols,
  rowNorms,
  colNorms,
  rowOffset,
  colOffset,
  k,
  indices,
  distances,
) => {
  for (let r = 0; r < rows; r++) {
    const base = r * k;
    const norm = rowNorms[r] as number;
    const self = rowOffset + r - colOffset;
    let worst = distances[base + k - 1] as number;
    for (let c = 0; c < cols; c++) {
      let d2 = Math.fround(Math.fround(norm + (colNorms[c] as number)) - 2 * (dots[r * cols + c] as number));
      if (d2 >= worst || c === self) continue;
      if (d2 < 0) d2 = 0;
      let slot = k - 1;
      while (slot > 0 && (distances[base + slot - 1] as number) > d2) {
        distances[base + slot] = distances[base + slot - 1] as number;
        indices[base + slot] = indices[base + slot - 1] as number;
        slot--;
      }
      distances[base + slot] = d2;
      indices[base + slot] = colOffset + c;
      worst = distances[base + k - 1] as number;
    }
  }
};

/**
 * Mean share of each point's k nearest neighbours in `reference` (e.g. the input space) that are
 * also among its k nearest in `embedded` (e.g. the 2-D layout): 1 when the layout keeps every
 * neighbourhood. Uses the first k columns of both graphs.
 */
export function neighbourPreservation(reference: NeighbourGraph, embedded: NeighbourGraph, k = Math.min(reference.k, embedded.k)): number {
  if (reference.n !== embedded.n) throw new RangeError(`graphs of ${reference.n} and ${embedded.n} points`);
  let kept = 0;
  for (let i = 0; i < reference.n; i++) {
    const mine = new Set(embedded.indices.subarray(i * embedded.k, i * embedded.k + k));
    for (let j = 0; j < k; j++) if (mine.has(reference.indices[i * reference.k + j] as number)) kept++;
  }
  return kept / (reference.n * k);
}
