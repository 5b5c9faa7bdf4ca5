// Does a representation group drugs by mechanism? For each drug (environment) with a known MoA,
// rank every other annotated drug by similarity and score the ranking by average precision, where
// the relevant neighbours share at least one MoA; the mean over drugs (mAP) is compared for the
// model's prior shift, the measured change from control (Δ) and the structure (Morgan fingerprint),
// next to the mAP a random ranking would reach. Environments of the same perturbagen (the same drug
// in another cell line or dose) are left out of each other's rankings: finding itself is no skill.

import { tanimoto } from '../chem/chemistry.js';
import { fingerprintBitCount } from '../data/representation-columns.js';
import type { Store } from '../store/store.js';
import { type DrugBiology, metadataDrugBiology } from './drug-biology.js';
import { priorShiftReport } from './inspection.js';
import { cosineDistance } from './metrics.js';
import type { TrainedModel } from './trained-model.js';

/** Average precision of a ranking: mean over the relevant items of the precision at their rank. */
export function averagePrecision(similarities: readonly number[], relevant: readonly boolean[]): number | null {
  const order = similarities.map((_, i) => i).sort((a, b) => (similarities[b] as number) - (similarities[a] as number) || a - b);
  let hits = 0;
  let sum = 0;
  order.forEach((item, rank) => {
    if (relevant[item]) {
      hits++;
      sum += hits / (rank + 1);
    }
  });
  return hits === 0 ? null : sum / hits;
}

/** Cosine similarity; 0 when either vector is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return 1 - cosineDistance(a, b);
}

export interface RetrievalItem {
  key: string;
  label: string;
  perturbagen: string | null;
  moa: string[];
  targets: string[];
}

/** mAP of same-MoA neighbours under one similarity, and the mAP of a random ranking (its expectation, by averaging the relevant fraction). */
export function meanAveragePrecision(
  items: readonly RetrievalItem[],
  similarity: (i: number, j: number) => number,
): { map: number; chance: number; queries: number } {
  let total = 0;
  let chance = 0;
  let queries = 0;
  items.forEach((query, i) => {
    if (query.moa.length === 0) return;
    const others = items
      .map((_, j) => j)
      .filter((j) => j !== i && items[j]?.moa.length && (query.perturbagen === null || items[j]?.perturbagen !== query.perturbagen));
    const relevant = others.map((j) => (items[j] as RetrievalItem).moa.some((m) => query.moa.includes(m)));
    const ap = averagePrecision(
      others.map((j) => similarity(i, j)),
      relevant,
    );
    if (ap === null) return;
    total += ap;
    chance += relevant.filter(Boolean).length / relevant.length;
    queries++;
  });
  return queries === 0 ? { map: Number.NaN, chance: Number.NaN, queries: 0 } : { map: total / queries, chance: chance / queries, queries };
}

export interface DrugVectors {
  items: RetrievalItem[];
  priorShift: number[][] | null;
  delta: Float64Array[];
  fingerprint: Uint8Array[] | null;
}

/** Each non-control environment's three descriptions and known biology. */
export function drugVectors(store: Store, model: TrainedModel | null, datasetId: string): DrugVectors {
  const view = store.datasets.environmentView(datasetId);
  const nGenes = store.datasets.get(datasetId).nGenes;
  const biology = metadataDrugBiology(store).ofSamples(datasetId);
  const nEnv = view.environments.length;
  const sums = Array.from({ length: nEnv }, () => new Float64Array(nGenes));
  const counts = new Int32Array(nEnv);
  const known = Array.from({ length: nEnv }, () => ({ moa: new Set<string>(), targets: new Set<string>() }));
  // Streamed: every environment's sum is all this needs of the expression matrix.
  store.datasets.forEachExpressionRow(datasetId, (s, values) => {
    const e = view.environmentIndex[s] as number;
    if (e < 0) return;
    counts[e] = (counts[e] as number) + 1;
    const sum = sums[e] as Float64Array;
    for (let g = 0; g < nGenes; g++) sum[g] = (sum[g] as number) + (values[g] as number);
    for (const m of (biology[s] as DrugBiology).moa) known[e]?.moa.add(m);
    for (const t of (biology[s] as DrugBiology).targets) known[e]?.targets.add(t);
  });
  const means = sums.map((sum, e) => sum.map((v) => v / Math.max(1, counts[e] as number)));
  // The control of the same cell line when environments carry one, else all controls.
  const controlOf = (cell: string | null): Float64Array => {
    const controls = view.environments.flatMap((env, e) =>
      env.isControl && (cell === null || env.cellLine === cell || env.cellLine === null) ? [e] : [],
    );
    const out = new Float64Array(nGenes);
    let n = 0;
    for (const e of controls) {
      for (let g = 0; g < nGenes; g++) out[g] = (out[g] as number) + (sums[e]?.[g] as number);
      n += counts[e] as number;
    }
    return out.map((v) => (n > 0 ? v / n : 0));
  };
  const drugs = view.environments.map((env, e) => ({ env, e })).filter(({ env, e }) => !env.isControl && (counts[e] as number) > 0);
  const report = model ? priorShiftReport(model) : null;
  const shiftOf = report ? new Map(report.environments.map((env, i) => [env.key, report.mean[i] as number[]])) : null;
  const columns = store.datasets.representations(datasetId).columns;
  const nBits = fingerprintBitCount(columns);
  return {
    items: drugs.map(({ env, e }) => ({
      key: env.key,
      label: env.label,
      perturbagen: env.perturbagen,
      moa: [...(known[e]?.moa ?? [])],
      targets: [...(known[e]?.targets ?? [])],
    })),
    priorShift: shiftOf ? drugs.map(({ env }) => shiftOf.get(env.key) ?? []) : null,
    delta: drugs.map(({ env, e }) => {
      const control = controlOf(env.cellLine);
      return (means[e] as Float64Array).map((v, g) => v - (control[g] as number));
    }),
    fingerprint: nBits > 0 ? drugs.map(({ env }) => Uint8Array.from(env.representation?.subarray(0, nBits) ?? [])) : null,
  };
}

export type RetrievalMethod = 'prior shift' | 'measured Δ' | 'fingerprint';

export interface RetrievalScore {
  method: RetrievalMethod;
  map: number | null;
  chance: number | null;
  queries: number;
  note: string | null;
}

/** The similarity each description is compared by: cosine for vectors, Tanimoto for fingerprints. */
export function similarities(vectors: DrugVectors): Record<RetrievalMethod, ((i: number, j: number) => number) | null> {
  const { priorShift, delta, fingerprint } = vectors;
  return {
    'prior shift': priorShift ? (i, j) => cosine(priorShift[i] as number[], priorShift[j] as number[]) : null,
    'measured Δ': (i, j) => cosine(delta[i] as Float64Array, delta[j] as Float64Array),
    fingerprint: fingerprint ? (i, j) => tanimoto(fingerprint[i] as Uint8Array, fingerprint[j] as Uint8Array) : null,
  };
}

export function moaRetrieval(vectors: DrugVectors): { annotated: number; scores: RetrievalScore[] } {
  const annotated = vectors.items.filter((i) => i.moa.length > 0).length;
  const scores = Object.entries(similarities(vectors)).map(([method, similarity]): RetrievalScore => {
    if (!similarity) {
      return {
        method: method as RetrievalMethod,
        map: null,
        chance: null,
        queries: 0,
        note: method === 'prior shift' ? 'this model family has no environment prior' : 'the dataset has no drug structures',
      };
    }
    const r = meanAveragePrecision(vectors.items, similarity);
    return {
      method: method as RetrievalMethod,
      map: r.queries > 0 ? r.map : null,
      chance: r.queries > 0 ? r.chance : null,
      queries: r.queries,
      note: r.queries > 0 ? null : 'no drug has another drug of the same MoA to find',
    };
  });
  return { annotated, scores };
}

/** The `count` nearest drugs to one, by each description, with shared MoA and targets marked. */
export function drugNeighbours(vectors: DrugVectors, key: string, count: number) {
  const i = vectors.items.findIndex((item) => item.key === key);
  if (i < 0) return null;
  const query = vectors.items[i] as RetrievalItem;
  return Object.entries(similarities(vectors)).map(([method, similarity]) => ({
    method: method as RetrievalMethod,
    neighbours: similarity
      ? vectors.items
          .map((item, j) => ({ item, j }))
          .filter(({ j }) => j !== i)
          .map(({ item, j }) => ({
            key: item.key,
            label: item.label,
            similarity: similarity(i, j),
            moa: item.moa,
            targets: item.targets,
            sharedMoa: item.moa.filter((m) => query.moa.includes(m)),
            sharedTargets: item.targets.filter((t) => query.targets.includes(t)),
          }))
          .sort((a, b) => b.similarity - a.similarity)
          .slice(0, count)
      : [],
  }));
}
