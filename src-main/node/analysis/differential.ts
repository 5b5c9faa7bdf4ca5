// Differential expression between two groups of samples: per gene the difference of group means
// (a log2 fold change on log-scale data), Welch's t statistic (unequal variances, which two
// lassoed clusters or two drugs rarely share), its two-sided p-value, and Benjamini–Hochberg
// adjusted p-values. Groups are accumulated one expression row at a time, so memory is
// O(genes) however many samples a group holds.
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import type { DifferentialResult, SampleGroup } from '../../shared/api/analysis.js';
import { LabError } from '../../shared/api/errors.js';
import { decodeSampleIndices } from '../../shared/api/packed.js';
import type { Store } from '../store/store.js';

/** Running mean and sum of squared deviations per gene (Welford: stable for large groups). */
export class GroupMoments {
  readonly nGenes: number;
  n = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(nGenes: number) {
    this.nGenes = nGenes;
    this.mean = new Float64Array(nGenes);
    this.m2 = new Float64Array(nGenes);
  }

  add(row: ArrayLike<number>, transform?: (value: number) => number): void {
    if (row.length !== this.nGenes) throw new RangeError(`expected ${this.nGenes} genes, got ${row.length}`);
    this.n++;
    for (let g = 0; g < this.nGenes; g++) {
      const v = transform ? transform(row[g] as number) : (row[g] as number);
      const delta = v - (this.mean[g] as number);
      this.mean[g] = (this.mean[g] as number) + delta / this.n;
      this.m2[g] = (this.m2[g] as number) + delta * (v - (this.mean[g] as number));
    }
  }

  /** Unbiased sample variance (n − 1 in the denominator). */
  variance(gene: number): number {
    return this.n > 1 ? (this.m2[gene] as number) / (this.n - 1) : Number.NaN;
  }
}

export interface WelchTest {
  /** mean A − mean B */
  difference: number;
  /** Null when neither group varies (the statistic is undefined). */
  t: number | null;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number | null;
  /** Two-sided. */
  p: number | null;
}

export function welchTest(meanA: number, varA: number, nA: number, meanB: number, varB: number, nB: number): WelchTest {
  if (nA < 2 || nB < 2) throw new RangeError(`Welch's t-test needs at least 2 samples per group (got ${nA} and ${nB})`);
  const difference = meanA - meanB;
  const sA = varA / nA;
  const sB = varB / nB;
  const se2 = sA + sB;
  if (!(se2 > 0) || !Number.isFinite(se2)) return { difference, t: null, df: null, p: null };
  const t = difference / Math.sqrt(se2);
  const df = (se2 * se2) / ((sA * sA) / (nA - 1) + (sB * sB) / (nB - 1));
  // The lower tail at −|t| keeps tiny p-values exact; 1 − cdf(|t|) would round them to 0.
  const p = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  return { difference, t, df, p };
}

/**
 * Benjamini–Hochberg step-up adjustment (R's p.adjust(p, "BH")): adj(p_(i)) = min over j ≥ i of
 * p_(j)·m/j, capped at 1. Null p-values (untestable genes) stay null and do not count in m.
 */
export function benjaminiHochberg(p: readonly (number | null)[]): (number | null)[] {
  const tested = p.map((value, index) => ({ value, index })).filter((e): e is { value: number; index: number } => e.value !== null);
  for (const e of tested) if (!(e.value >= 0 && e.value <= 1)) throw new RangeError(`p-value out of [0, 1]: ${e.value}`);
  tested.sort((a, b) => a.value - b.value);
  const m = tested.length;
  const adjusted: (number | null)[] = p.map(() => null);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const e = tested[rank - 1] as { value: number; index: number };
    running = Math.min(running, (e.value * m) / rank);
    adjusted[e.index] = running;
  }
  return adjusted;
}

export type ExpressionScale = 'log' | 'linear';

/**
 * Non-negative values reaching above 2^5 cannot be log2 expression (L1000 level 3 tops out near
 * 16): they are counts or intensities and are compared as log2(x + 1). Negative values mean
 * z-scores, log ratios or centred data, compared as they are.
 */
export const LINEAR_SCALE_THRESHOLD = 32;

export function chooseScale(min: number, max: number): { scale: ExpressionScale; reason: string } {
  if (min < 0) {
    return { scale: 'log', reason: `values go below 0 (min ${round(min)}): z-scores or log-scale data, compared as they are` };
  }
  if (max <= LINEAR_SCALE_THRESHOLD) {
    return { scale: 'log', reason: `values lie in [${round(min)}, ${round(max)}]: read as log2 expression, compared as they are` };
  }
  return {
    scale: 'linear',
    reason: `non-negative values up to ${round(max)}: read as linear counts or intensities, compared as log2(x + 1)`,
  };
}

function round(v: number): string {
  return Number(v.toPrecision(4)).toString();
}

const log2p1 = (v: number) => Math.log2(v + 1);

/**
 * Both groups as raw and as log2(x + 1) moments, so the scale can be chosen after one pass over
 * the rows (from the range of values seen, or as the caller asks).
 */
export class DifferentialAccumulator {
  readonly a: { raw: GroupMoments; log: GroupMoments };
  readonly b: { raw: GroupMoments; log: GroupMoments };
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(nGenes: number) {
    this.a = { raw: new GroupMoments(nGenes), log: new GroupMoments(nGenes) };
    this.b = { raw: new GroupMoments(nGenes), log: new GroupMoments(nGenes) };
  }

  add(group: 'a' | 'b', row: ArrayLike<number>): void {
    for (let g = 0; g < row.length; g++) {
      const v = row[g] as number;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
    this[group].raw.add(row);
    // log2(x + 1) is undefined below −1; such data are never compared on that scale.
    if (this.min >= 0) this[group].log.add(row, log2p1);
  }

  finish(requested: ExpressionScale | 'auto'): DifferentialTable {
    const auto = chooseScale(this.min, this.max);
    const choice =
      requested === 'auto'
        ? auto
        : { scale: requested, reason: `${requested === 'log' ? 'compared as they are' : 'compared as log2(x + 1)'}, as requested` };
    if (choice.scale === 'linear' && this.min < 0) {
      throw new RangeError(`log2(x + 1) needs non-negative values, but the groups contain ${this.min}`);
    }
    const key = choice.scale === 'linear' ? 'log' : 'raw';
    // A difference of log2 values is a log2 fold change; of z-scores or other signed data, just a difference.
    const effect =
      choice.scale === 'linear' || (this.min >= 0 && this.max <= LINEAR_SCALE_THRESHOLD) ? 'log2 fold change' : 'mean difference';
    return { ...differentialTable(this.a[key], this.b[key]), scale: choice.scale, scaleReason: choice.reason, effect };
  }
}

export interface DifferentialRow {
  meanA: number;
  meanB: number;
  /** mean A − mean B on the compared scale. */
  difference: number;
  t: number | null;
  df: number | null;
  p: number | null;
  adjustedP: number | null;
}

export interface DifferentialTable {
  rows: DifferentialRow[];
  nA: number;
  nB: number;
  scale?: ExpressionScale;
  scaleReason?: string;
  effect?: 'log2 fold change' | 'mean difference';
}

export function differentialTable(a: GroupMoments, b: GroupMoments): DifferentialTable {
  if (a.nGenes !== b.nGenes) throw new RangeError('groups have different genes');
  const tests = Array.from({ length: a.nGenes }, (_, g) =>
    welchTest(a.mean[g] as number, a.variance(g), a.n, b.mean[g] as number, b.variance(g), b.n),
  );
  const adjusted = benjaminiHochberg(tests.map((t) => t.p));
  return {
    nA: a.n,
    nB: b.n,
    rows: tests.map((test, g) => ({
      meanA: a.mean[g] as number,
      meanB: b.mean[g] as number,
      ...test,
      adjustedP: adjusted[g] ?? null,
    })),
  };
}

/** Differential expression between two groups of one dataset, read row by row from the store. */
export function compareGroups(
  store: Store,
  request: { datasetId: string; groupA: SampleGroup; groupB: SampleGroup; scale: ExpressionScale | 'auto' },
): DifferentialResult {
  const a = resolveGroup(store, request.datasetId, request.groupA, 'A');
  const b = resolveGroup(store, request.datasetId, request.groupB, 'B');
  const inA = new Set(a.sampleIds);
  const shared = b.sampleIds.filter((id) => inA.has(id));
  if (shared.length > 0) {
    throw new LabError(
      'bad_input',
      `${shared.length} sample${shared.length === 1 ? ' is' : 's are'} in both groups (${shared.slice(0, 3).join(', ')}${shared.length > 3 ? ', …' : ''}): the t-test needs two separate groups`,
    );
  }
  const genes = store.datasets.genes(request.datasetId);
  const accumulator = new DifferentialAccumulator(genes.length);
  for (const [group, side] of [
    [a, 'a'],
    [b, 'b'],
  ] as const) {
    for (const row of store.datasets.expressionOf(request.datasetId, group.sampleIds).rows) accumulator.add(side, row);
  }
  let table: DifferentialTable;
  try {
    table = accumulator.finish(request.scale);
  } catch (error) {
    throw new LabError('bad_input', error instanceof Error ? error.message : String(error));
  }
  const scale = table.scale ?? 'log';
  return {
    datasetId: request.datasetId,
    groupA: { name: a.name, n: table.nA },
    groupB: { name: b.name, n: table.nB },
    scale,
    effect: table.effect ?? 'mean difference',
    scaleReason: table.scaleReason ?? '',
    tested: table.rows.filter((r) => r.p !== null).length,
    genes: table.rows.map((row, g) => ({
      id: genes[g]?.id ?? String(g),
      symbol: genes[g]?.symbol ?? String(g),
      ...row,
    })),
  };
}

function resolveGroup(store: Store, datasetId: string, group: SampleGroup, label: string): { name: string; sampleIds: string[] } {
  let resolved: { name: string; sampleIds: string[] };
  if ('selectionId' in group) {
    const selection = store.sessions.selection(group.selectionId);
    if (selection.datasetId !== datasetId) {
      throw new LabError('bad_input', `Selection "${selection.name}" belongs to another dataset`);
    }
    resolved = { name: selection.name, sampleIds: selection.sampleIds };
  } else if ('environmentKey' in group) {
    resolved = { name: group.environmentKey, sampleIds: store.datasets.sampleIdsOfEnvironment(datasetId, group.environmentKey) };
  } else if ('sampleIndices' in group) {
    resolved = { name: group.name, sampleIds: idsAtIndices(store, datasetId, group.sampleIndices, `Group ${label}`) };
  } else {
    resolved = { name: group.name, sampleIds: [...new Set(group.sampleIds)] };
  }
  if (resolved.sampleIds.length < 2) {
    throw new LabError(
      'bad_input',
      `Group ${label} ("${resolved.name}") has ${resolved.sampleIds.length} sample${resolved.sampleIds.length === 1 ? '' : 's'}; a t-test needs at least 2 per group`,
    );
  }
  return resolved;
}

/** The ids of samples given by index (each once, in sample order); an index outside the dataset is an error naming it. */
export function idsAtIndices(store: Store, datasetId: string, packed: string, what: string): string[] {
  return samplesAtIndices(store, datasetId, packed, what).ids;
}

/** idsAtIndices with the indices themselves, each once and ascending (a selection's members). */
export function samplesAtIndices(store: Store, datasetId: string, packed: string, what: string): { ids: string[]; indices: Int32Array } {
  let indices: Int32Array;
  try {
    indices = decodeSampleIndices(packed);
  } catch (error) {
    throw new LabError('bad_input', `${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const ids = store.datasets.sampleIds(datasetId);
  const chosen = new Uint8Array(ids.length);
  for (const index of indices) {
    if (index < 0 || index >= ids.length) {
      throw new LabError('bad_input', `${what}: sample index ${index} is outside this dataset's 0..${ids.length - 1}`);
    }
    chosen[index] = 1;
  }
  const out: string[] = [];
  const positions: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (chosen[i] === 1) {
      out.push(ids[i] as string);
      positions.push(i);
    }
  }
  return { ids: out, indices: Int32Array.from(positions) };
}
