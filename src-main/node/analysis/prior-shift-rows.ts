// The prior-shift heatmaps at LINCS scale (tens of thousands of environments): the environments
// are ordered here once per model, and the Latents view asks for the rows it draws (a window of
// rows, a search, or a zoomed-out overview of block means) instead of receiving every row.
import { coordinatesForMass } from './metrics.js';
import type { TrainedModel } from './trained-model.js';

/** μ̄_e and log σ̄_e of every environment: rows of `latentDim` in environment order. */
export interface PriorShiftMatrix {
  keys: readonly string[];
  heldOut: readonly boolean[];
  latentDim: number;
  mean: Float32Array;
  logStd: Float32Array | null;
}

export interface PriorShiftIndex {
  matrix: PriorShiftMatrix;
  /** Environment at each heatmap position. */
  order: Int32Array;
  /** Largest |value| of each matrix: the colour scale, the same for every window. */
  extent: { mean: number; logStd: number | null };
  /** Median over environments (at most SPARSITY_SAMPLE of them) of the coordinates carrying 90 % of the shift. */
  sparsityMedian: number;
  /** How many environments that median is taken over. */
  sparsitySample: number;
  /** Lower-case keys by position, for the search. */
  searchKeys: string[];
  /** Positions matching the last few searches. */
  matches: Map<string, Int32Array>;
}

export interface RowsRequest {
  /** Case-insensitive substring of the environment key; '' for every row. */
  query: string;
  /** First row (or block) of the matching rows, and how many. */
  first: number;
  count: number;
  /** Rows averaged into one (1: the rows themselves; more: a zoomed-out overview). */
  block: number;
}

export interface RowsWindow {
  /** Rows matching the query. */
  matching: number;
  rows: { position: number; key: string; heldOut: boolean; size: number }[];
  mean: Float32Array;
  logStd: Float32Array | null;
}

// Enough to settle the order's leading axis from the group's own latent; each is a pass over the group.
const POWER_ITERATIONS = 12;
const REMEMBERED_SEARCHES = 8;
const SPARSITY_SAMPLE = 2000;

/**
 * Groups the environments by the latent each moves most (|μ̄| + |log σ̄|), groups in latent order,
 * and within a group orders them along the group's leading principal component of the signed
 * shift vectors (μ̄ and log σ̄ side by side), so that environments moving the same latent the same
 * way sit together and those with similar secondary effects are neighbours. Linear in the
 * environments: no pairwise distances, which at 50k environments would be 10⁹ pairs.
 */
export function orderEnvironments(matrix: PriorShiftMatrix): Int32Array {
  const { latentDim: d, mean, logStd } = matrix;
  const n = matrix.keys.length;
  const dominant = new Int32Array(n);
  for (let e = 0; e < n; e++) {
    let best = 0;
    let largest = -1;
    for (let j = 0; j < d; j++) {
      const size = Math.abs(mean[e * d + j] as number) + Math.abs(logStd ? (logStd[e * d + j] as number) : 0);
      if (size > largest) {
        largest = size;
        best = j;
      }
    }
    dominant[e] = best;
  }
  // Counting sort by dominant latent (stable: environment order within a group).
  const starts = new Int32Array(d + 1);
  for (let e = 0; e < n; e++) {
    const j = (dominant[e] as number) + 1;
    starts[j] = (starts[j] as number) + 1;
  }
  for (let j = 0; j < d; j++) starts[j + 1] = (starts[j + 1] as number) + (starts[j] as number);
  const order = new Int32Array(n);
  const fill = starts.slice(0, d);
  for (let e = 0; e < n; e++) {
    const j = dominant[e] as number;
    order[fill[j] as number] = e;
    fill[j] = (fill[j] as number) + 1;
  }
  for (let j = 0; j < d; j++) {
    const group = order.subarray(starts[j] as number, starts[j + 1] as number);
    if (group.length > 1) sortAlongLeadingComponent(matrix, group, j);
  }
  return order;
}

/** Sorts `group` (environment indices, in place) by their scores on the group's first principal axis. */
function sortAlongLeadingComponent(matrix: PriorShiftMatrix, group: Int32Array, latent: number): void {
  const { latentDim: d, mean, logStd } = matrix;
  const width = logStd ? 2 * d : d;
  const m = group.length;
  const rows = new Float64Array(m * width);
  const centre = new Float64Array(width);
  for (let i = 0; i < m; i++) {
    const e = group[i] as number;
    for (let j = 0; j < d; j++) {
      rows[i * width + j] = mean[e * d + j] as number;
      if (logStd) rows[i * width + d + j] = logStd[e * d + j] as number;
    }
  }
  for (let i = 0; i < m; i++) for (let c = 0; c < width; c++) centre[c] = (centre[c] as number) + (rows[i * width + c] as number) / m;
  for (let i = 0; i < m; i++) for (let c = 0; c < width; c++) rows[i * width + c] = (rows[i * width + c] as number) - (centre[c] as number);
  // Power iteration on XᵀX from the group's own latent: the axis its members differ along most.
  let axis = new Float64Array(width);
  axis[latent] = 1;
  const scores = new Float64Array(m);
  for (let iteration = 0; iteration < POWER_ITERATIONS; iteration++) {
    // next = Xᵀ(X·axis), one pass over the rows.
    const next = new Float64Array(width);
    for (let i = 0; i < m; i++) {
      const offset = i * width;
      let s = 0;
      for (let c = 0; c < width; c++) s += (rows[offset + c] as number) * (axis[c] as number);
      for (let c = 0; c < width; c++) next[c] = (next[c] as number) + s * (rows[offset + c] as number);
    }
    const norm = Math.hypot(...next);
    // Identical members (no spread): any order is as good; keep the first axis.
    if (!(norm > 1e-12)) break;
    for (let c = 0; c < width; c++) next[c] = (next[c] as number) / norm;
    const change = next.reduce((s, v, c) => s + Math.abs(v - (axis[c] as number)), 0);
    axis = next;
    if (change < 1e-9) break;
  }
  // The sign makes the order read from the strongest positive shift of the group's latent down.
  if ((axis[latent] as number) < 0) for (let c = 0; c < width; c++) axis[c] = -(axis[c] as number);
  project(rows, width, axis, scores);
  const ranked = Array.from(group, (e, i) => ({ e, score: scores[i] as number })).sort((a, b) => b.score - a.score || a.e - b.e);
  ranked.forEach(({ e }, i) => {
    group[i] = e;
  });
}

function project(rows: Float64Array, width: number, axis: Float64Array, into: Float64Array): void {
  for (let i = 0; i < into.length; i++) {
    let sum = 0;
    for (let c = 0; c < width; c++) sum += (rows[i * width + c] as number) * (axis[c] as number);
    into[i] = sum;
  }
}

export function indexPriorShifts(matrix: PriorShiftMatrix): PriorShiftIndex {
  const { latentDim: d, mean, logStd } = matrix;
  const order = orderEnvironments(matrix);
  const largest = (values: Float32Array) => {
    let extent = 1e-9;
    for (let i = 0; i < values.length; i++) {
      const size = Math.abs(values[i] as number);
      // NaN fails the comparison; an infinite value would wash out every other colour.
      if (size > extent && size !== Number.POSITIVE_INFINITY) extent = size;
    }
    return extent;
  };
  // The median over at most SPARSITY_SAMPLE evenly spaced environments: a sort per environment
  // took seconds at 50k environments × 200 latents, for one number in a caption.
  const n = matrix.keys.length;
  const sampled = Math.min(n, SPARSITY_SAMPLE);
  const combined = new Float64Array(d);
  const sparsity = new Int32Array(sampled);
  for (let s = 0; s < sampled; s++) {
    const e = Math.floor((s * n) / sampled);
    for (let j = 0; j < d; j++) combined[j] = Math.abs(mean[e * d + j] as number) + Math.abs(logStd ? (logStd[e * d + j] as number) : 0);
    sparsity[s] = coordinatesForMass(combined);
  }
  sparsity.sort();
  return {
    matrix,
    order,
    extent: { mean: largest(mean), logStd: logStd ? largest(logStd) : null },
    sparsityMedian: sparsity[Math.floor(sparsity.length / 2)] ?? 0,
    sparsitySample: sampled,
    searchKeys: Array.from(order, (e) => (matrix.keys[e] as string).toLowerCase()),
    matches: new Map(),
  };
}

/** Heatmap positions whose key contains the query (every position for ''). */
function matchingPositions(index: PriorShiftIndex, query: string): Int32Array | null {
  const q = query.trim().toLowerCase();
  if (!q) return null;
  const known = index.matches.get(q);
  if (known) return known;
  const found: number[] = [];
  index.searchKeys.forEach((key, position) => {
    if (key.includes(q)) found.push(position);
  });
  const positions = Int32Array.from(found);
  if (index.matches.size >= REMEMBERED_SEARCHES) index.matches.delete(index.matches.keys().next().value as string);
  index.matches.set(q, positions);
  return positions;
}

/**
 * Rows [first, first + count) of the heatmap after the search; with block > 1, blocks of `block`
 * consecutive rows, each the mean of its rows (the last block may be shorter), labelled by its first.
 */
export function priorShiftWindow(index: PriorShiftIndex, request: RowsRequest): RowsWindow {
  const { matrix, order } = index;
  const { latentDim: d, mean, logStd } = matrix;
  const positions = matchingPositions(index, request.query);
  const matching = positions ? positions.length : order.length;
  const at = (p: number) => (positions ? (positions[p] as number) : p);
  const block = Math.max(1, Math.floor(request.block));
  const blocks = Math.ceil(matching / block);
  const first = Math.min(Math.max(0, Math.floor(request.first)), blocks);
  const count = Math.max(0, Math.min(Math.floor(request.count), blocks - first));
  const meanOut = new Float32Array(count * d);
  const logStdOut = logStd ? new Float32Array(count * d) : null;
  const rows: RowsWindow['rows'] = [];
  const sum = new Float64Array(d);
  const sumLog = new Float64Array(d);
  for (let b = 0; b < count; b++) {
    const start = (first + b) * block;
    const end = Math.min(matching, start + block);
    sum.fill(0);
    sumLog.fill(0);
    for (let p = start; p < end; p++) {
      const e = order[at(p)] as number;
      for (let j = 0; j < d; j++) {
        sum[j] = (sum[j] as number) + (mean[e * d + j] as number);
        if (logStd) sumLog[j] = (sumLog[j] as number) + (logStd[e * d + j] as number);
      }
    }
    const size = end - start;
    for (let j = 0; j < d; j++) {
      meanOut[b * d + j] = (sum[j] as number) / size;
      if (logStdOut) logStdOut[b * d + j] = (sumLog[j] as number) / size;
    }
    const e = order[at(start)] as number;
    rows.push({ position: start, key: matrix.keys[e] as string, heldOut: matrix.heldOut[e] as boolean, size });
  }
  return { matching, rows, mean: meanOut, logStd: logStdOut };
}

const indexes = new WeakMap<TrainedModel, PriorShiftIndex | null>();

/** The model's ordered prior shifts, built on first use and kept as long as the worker keeps the model. */
export function priorShiftIndexOf(model: TrainedModel): PriorShiftIndex | null {
  if (!indexes.has(model)) {
    const shifts = model.priorShifts();
    const heldOut = new Set(model.data.validationEnvironments);
    const keys = model.data.environmentKeys;
    indexes.set(
      model,
      shifts
        ? indexPriorShifts({
            keys,
            heldOut: keys.map((key) => heldOut.has(key)),
            latentDim: model.latentDim,
            mean: shifts.mean,
            logStd: shifts.logStd,
          })
        : null,
    );
  }
  return indexes.get(model) ?? null;
}
