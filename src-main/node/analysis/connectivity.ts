// Connectivity scores (CMap/LINCS, Subramanian et al. 2017, Cell 171:1437): how strongly each
// signature mimics (positive) or reverses (negative) a query of up- and down-regulated genes.
//   ES     weighted Kolmogorov–Smirnov enrichment score of a gene set in a signature sorted by score,
//          hits weighted by |score| (Subramanian et al. 2005, weight p = 1).
//   WTCS   (ES_up − ES_down) / 2 when the two have different signs, else 0; ES_up alone for an
//          up-only query, −ES_down for a down-only one.
//   NCS    WTCS divided by the mean of the positive (or |mean| of the negative) WTCS of the signatures
//          sharing its cell line and perturbagen type.
//   Tau    signed percentage of a reference distribution of |NCS| below the observed |NCS|; the
//          reference here is the signature's NCS under random queries of the same sizes.
// Every function is pure and works on plain arrays; the store-facing part is in connectivity-query.ts.

import { Rng } from '../data/random.js';
import { benjaminiHochberg } from './differential.js';
import { pearson } from './metrics.js';

/** One signature prepared for scoring: each gene's rank when sorted by score (descending) and |score|. */
export interface RankedSignature {
  /** order[rank] = the gene at that position. */
  order: Int32Array;
  /** rankOf[gene] = 0-based position of the gene in the descending order. */
  rankOf: Int32Array;
  /** |score| per gene (the KS hit weight). */
  weight: Float64Array;
}

/** Sorts one signature (descending; ties keep gene order, so independent implementations agree). */
export function rankSignature(scores: ArrayLike<number>): RankedSignature {
  const n = scores.length;
  const order = Int32Array.from({ length: n }, (_, g) => g);
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  const rankOf = new Int32Array(n);
  for (let r = 0; r < n; r++) rankOf[order[r] as number] = r;
  const weight = new Float64Array(n);
  for (let g = 0; g < n; g++) weight[g] = Math.abs(scores[g] as number);
  return { order, rankOf, weight };
}

/**
 * The weighted KS enrichment score of a gene set (gene indices, no repeats) in a ranked signature.
 * The running sum only changes direction at hits, so its extremes are read at each hit (maximum)
 * and just before it (minimum): O(k log k) for k hits instead of O(genes).
 */
export function enrichmentScore(
  signature: RankedSignature,
  set: readonly number[],
  hitRanks: Int32Array = new Int32Array(set.length),
): number {
  const n = signature.rankOf.length;
  const k = set.length;
  if (k === 0 || k >= n) return 0;
  for (let i = 0; i < k; i++) hitRanks[i] = signature.rankOf[set[i] as number] as number;
  const ranks = hitRanks.subarray(0, k).sort();
  let total = 0;
  for (let i = 0; i < k; i++) total += signature.weight[signature.order[ranks[i] as number] as number] as number;
  const equalWeights = !(total > 0);
  const missStep = 1 / (n - k);
  let cumulative = 0;
  let maxDeviation = 0;
  let minDeviation = 0;
  for (let i = 0; i < k; i++) {
    const missesBefore = (ranks[i] as number) - i;
    const before = cumulative - missesBefore * missStep;
    if (before < minDeviation) minDeviation = before;
    cumulative += equalWeights ? 1 / k : (signature.weight[signature.order[ranks[i] as number] as number] as number) / total;
    const at = cumulative - missesBefore * missStep;
    if (at > maxDeviation) maxDeviation = at;
  }
  return maxDeviation > -minDeviation ? maxDeviation : minDeviation;
}

/** Bi-directional weighted connectivity score of one signature. */
export function weightedConnectivity(
  signature: RankedSignature,
  up: readonly number[],
  down: readonly number[],
  scratch?: Int32Array,
): number {
  if (up.length > 0 && down.length === 0) return enrichmentScore(signature, up, scratch);
  if (down.length > 0 && up.length === 0) return -enrichmentScore(signature, down, scratch);
  const esUp = enrichmentScore(signature, up, scratch);
  const esDown = enrichmentScore(signature, down, scratch);
  return Math.sign(esUp) !== Math.sign(esDown) ? (esUp - esDown) / 2 : 0;
}

/**
 * NCS: each WTCS divided by the mean positive (or |mean negative|) WTCS of its group (cell line ×
 * perturbagen type). A group without positive (negative) scores leaves such a score at 0.
 */
export function normalizeConnectivity(wtcs: ArrayLike<number>, group: readonly string[]): Float64Array {
  const sums = new Map<string, { pos: number; nPos: number; neg: number; nNeg: number }>();
  for (let s = 0; s < wtcs.length; s++) {
    const key = group[s] as string;
    const acc = sums.get(key) ?? { pos: 0, nPos: 0, neg: 0, nNeg: 0 };
    sums.set(key, acc);
    const v = wtcs[s] as number;
    if (v > 0) {
      acc.pos += v;
      acc.nPos++;
    } else if (v < 0) {
      acc.neg += v;
      acc.nNeg++;
    }
  }
  const ncs = new Float64Array(wtcs.length);
  for (let s = 0; s < wtcs.length; s++) {
    const v = wtcs[s] as number;
    const acc = sums.get(group[s] as string) as { pos: number; nPos: number; neg: number; nNeg: number };
    ncs[s] = v > 0 ? v / (acc.pos / acc.nPos) : v < 0 ? v / Math.abs(acc.neg / acc.nNeg) : 0;
  }
  return ncs;
}

/** Spearman correlation of the signature's scores on the query genes with the query's own values. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}

function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => (values[x] as number) - (values[y] as number));
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1] as number] === values[order[i] as number]) j++;
    for (let t = i; t <= j; t++) ranks[order[t] as number] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

export interface ConnectivityQueryGenes {
  up: readonly number[];
  down: readonly number[];
  /** The query's value per gene of up ∪ down (up first), for the correlation score; ±1 for plain lists. */
  values?: readonly number[];
}

export interface ConnectivityOptions {
  /** Random queries of the same sizes for p-values and Tau (0 for none). */
  randomQueries: number;
  /** Tau needs a reference of at least this many random queries; below it Tau is null. */
  minTauReference?: number;
  seed?: number;
  /** Checked between signatures so a cancelled request stops. */
  checkCancelled?: () => void;
}

export interface ConnectivityScores {
  wtcs: Float64Array;
  ncs: Float64Array;
  /** null when the reference is too small. */
  tau: Float64Array | null;
  correlation: Float64Array;
  /** Two-sided, from random queries: (1 + #{|null WTCS| ≥ |WTCS|}) / (1 + random queries). null without random queries. */
  p: Float64Array | null;
  fdr: (number | null)[] | null;
  randomQueries: number;
}

/** Scores every signature (rows of `scores`, genes as columns) against one query. */
export function scoreConnectivity(
  scores: { nSignatures: number; nGenes: number; values: ArrayLike<number> },
  group: readonly string[],
  query: ConnectivityQueryGenes,
  options: ConnectivityOptions,
): ConnectivityScores {
  const { nSignatures, nGenes } = scores;
  const k = options.randomQueries;
  const random = makeRandomQueries(nGenes, query.up.length, query.down.length, k, options.seed ?? 1);
  const queryGenes = [...query.up, ...query.down];
  const queryValues = query.values ?? [...query.up.map(() => 1), ...query.down.map(() => -1)];
  const wtcs = new Float64Array(nSignatures);
  const correlation = new Float64Array(nSignatures);
  const nullWtcs = new Float64Array(k * nSignatures);
  const scratch = new Int32Array(Math.max(query.up.length, query.down.length, 1));
  const row = new Float64Array(nGenes);
  const onQuery = new Float64Array(queryGenes.length);
  for (let s = 0; s < nSignatures; s++) {
    options.checkCancelled?.();
    for (let g = 0; g < nGenes; g++) row[g] = scores.values[s * nGenes + g] as number;
    const ranked = rankSignature(row);
    wtcs[s] = weightedConnectivity(ranked, query.up, query.down, scratch);
    for (let i = 0; i < queryGenes.length; i++) onQuery[i] = row[queryGenes[i] as number] as number;
    correlation[s] = spearman(onQuery, queryValues);
    for (let q = 0; q < k; q++) {
      const r = random[q] as { up: number[]; down: number[] };
      nullWtcs[q * nSignatures + s] = weightedConnectivity(ranked, r.up, r.down, scratch);
    }
  }
  const ncs = normalizeConnectivity(wtcs, group);
  if (k === 0) return { wtcs, ncs, tau: null, correlation, p: null, fdr: null, randomQueries: 0 };
  const exceed = new Float64Array(nSignatures);
  const below = new Float64Array(nSignatures);
  for (let q = 0; q < k; q++) {
    const nullRow = nullWtcs.subarray(q * nSignatures, (q + 1) * nSignatures);
    const nullNcs = normalizeConnectivity(nullRow, group);
    for (let s = 0; s < nSignatures; s++) {
      if (Math.abs(nullRow[s] as number) >= Math.abs(wtcs[s] as number)) exceed[s] = (exceed[s] as number) + 1;
      if (Math.abs(nullNcs[s] as number) < Math.abs(ncs[s] as number)) below[s] = (below[s] as number) + 1;
    }
  }
  const p = exceed.map((e) => (1 + e) / (1 + k));
  const tau = k >= (options.minTauReference ?? 100) ? below.map((b, s) => (Math.sign(ncs[s] as number) * 100 * b) / k) : null;
  return { wtcs, ncs, tau, correlation, p, fdr: benjaminiHochberg(Array.from(p)), randomQueries: k };
}

/** Random up/down sets of the query's sizes, disjoint within a query, drawn reproducibly. */
export function makeRandomQueries(nGenes: number, nUp: number, nDown: number, count: number, seed: number) {
  const rng = new Rng(seed);
  const pool = Int32Array.from({ length: nGenes }, (_, g) => g);
  const queries: { up: number[]; down: number[] }[] = [];
  const size = Math.min(nUp + nDown, nGenes);
  for (let q = 0; q < count; q++) {
    // Partial Fisher–Yates: the first `size` entries become a uniform random subset.
    for (let i = 0; i < size; i++) {
      const j = i + rng.int(nGenes - i);
      const t = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = t;
    }
    queries.push({ up: Array.from(pool.subarray(0, nUp)), down: Array.from(pool.subarray(nUp, size)) });
  }
  return queries;
}
