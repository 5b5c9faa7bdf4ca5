// The Latents results kept per run and checkpoint (store/latents-results.ts), as they are written
// and read back: projections and the ordered prior shifts the heatmaps cut windows from. No
// TensorFlow.js and no model here: the stored reads are served by a worker of their own (the
// 'latents' lane of lab/analysis.ts, dataset-read-worker.ts with the table below), so opening the
// view never waits behind a model load — 26–65 s at 473,647 samples on a loaded machine — nor
// behind a scan of every sample for the view's columns.
import type { PriorShiftRowsParams, PriorShiftRowsResult, ProjectionResult, TopGenesResult } from '../../shared/api/analysis.js';
import { LabError } from '../../shared/api/errors.js';
import { packArrays, unpackArrays } from '../ml/packed-arrays.js';
import type { CheckpointStamp, LatentsResult, LatentsResultKey } from '../store/latents-results.js';
import type { Store } from '../store/store.js';
import type { Projection } from './inspection.js';
import { type PriorShiftIndex, priorShiftWindow } from './prior-shift-rows.js';

export type ProjectionMethod = 'pca' | 'umap';

/** The projection the view opens with (LatentsSession's defaults): PCA of up to 20,000 points. */
export const DEFAULT_PROJECTION = { method: 'pca', maxPoints: 20_000 } as const;
export type StoredRecord = Omit<LatentsResultKey, 'runId' | 'epoch'> & LatentsResult;

interface ProjectionFacts {
  explainedVariance: number[] | null;
}

interface PriorShiftFacts {
  /** False for a family without an environment prior (nothing to draw). */
  present: boolean;
  keys?: string[];
  latentDim?: number;
  extent?: { mean: number; logStd: number | null };
  sparsityMedian?: number;
  sparsitySample?: number;
}

export function projectionRecord(projection: Projection, maxPoints: number): StoredRecord {
  // Float32 holds sample indices exactly up to 2^24 (16.7 M samples).
  const arrays = packArrays([
    { name: 'sample', shape: [projection.sample.length], values: Float32Array.from(projection.sample) },
    { name: 'x', shape: [projection.x.length], values: Float32Array.from(projection.x) },
    { name: 'y', shape: [projection.y.length], values: Float32Array.from(projection.y) },
  ]);
  const facts: ProjectionFacts = { explainedVariance: projection.explainedVariance };
  return { method: projection.method, points: maxPoints, facts, arrays };
}

/** A projection as analysis.projection answers it, without its run and epoch. */
export type PackedProjection = Omit<ProjectionResult, 'runId' | 'epoch'>;

/** The stored projection as the answer carries it: its Float32 columns as base64, the sample indices as Int32. */
export function projectionOf(result: LatentsResult, method: ProjectionMethod): PackedProjection {
  const arrays = new Map(unpackArrays(result.arrays).map((a) => [a.name, a.values]));
  const column = (name: string) => {
    const values = arrays.get(name);
    if (!values) throw new Error(`The stored projection lacks its ${name} column`);
    return values;
  };
  const sample = column('sample');
  return {
    method,
    points: sample.length,
    x: base64Of(column('x')),
    y: base64Of(column('y')),
    sample: base64Of(Int32Array.from(sample)),
    explainedVariance: (result.facts as ProjectionFacts).explainedVariance,
  };
}

/** The genes the view lists per latent ("Genes driven by latent"): each latent's top TOP_GENES_KEPT are stored. */
export const TOP_GENES_KEPT = 25;

interface TopGenesFacts {
  /** Per latent, its genes (indices) and their effects, strongest first. */
  latents: { gene: number; effect: number }[][];
}

export function topGenesRecord(latents: { gene: number; effect: number }[][]): StoredRecord {
  return { method: 'top-genes', points: TOP_GENES_KEPT, facts: { latents } satisfies TopGenesFacts, arrays: packArrays([]) };
}

/** The run's stored top genes of `latent` (at most TOP_GENES_KEPT), or null when none are stored or more are asked. */
export function storedTopGenes(store: Store, runId: string, latent: number, count: number): TopGenesResult | null {
  if (count > TOP_GENES_KEPT) return null;
  const stamp = store.latentsResults.newestCheckpoint(runId);
  const stored = stamp && store.latentsResults.get({ runId, epoch: stamp.epoch, method: 'top-genes', points: TOP_GENES_KEPT });
  if (!stored) return null;
  const { latents } = stored.facts as TopGenesFacts;
  const ofLatent = latents[latent];
  if (!ofLatent) {
    throw new LabError('invalid_params', `This model has latents 0..${latents.length - 1}; there is no latent ${latent}.`);
  }
  return { runId, latent, genes: namedGenes(store, runId, ofLatent.slice(0, count)) };
}

/** Gene indices of the run's dataset as the view shows them (id, symbol). */
export function namedGenes(store: Store, runId: string, effects: readonly { gene: number; effect: number }[]): TopGenesResult['genes'] {
  const genes = store.datasets.genes(store.runs.get(runId).datasetId);
  return effects.map((g) => ({
    id: genes[g.gene]?.id ?? String(g.gene),
    symbol: genes[g.gene]?.symbol ?? String(g.gene),
    effect: g.effect,
  }));
}

/** The kinds of result a run's precompute stores (latents-results.ts): what the view asks for when it opens. */
export const PRECOMPUTED = [
  { method: 'prior-shifts', points: 0 },
  { method: DEFAULT_PROJECTION.method, points: DEFAULT_PROJECTION.maxPoints },
  { method: 'top-genes', points: TOP_GENES_KEPT },
] as const;

export function priorShiftRecord(index: PriorShiftIndex | null): StoredRecord {
  if (!index) return { method: 'prior-shifts', points: 0, facts: { present: false } satisfies PriorShiftFacts, arrays: packArrays([]) };
  const { matrix } = index;
  const arrays = packArrays([
    { name: 'order', shape: [index.order.length], values: Float32Array.from(index.order) },
    { name: 'heldOut', shape: [matrix.heldOut.length], values: Float32Array.from(matrix.heldOut, (h) => (h ? 1 : 0)) },
    { name: 'mean', shape: [matrix.keys.length, matrix.latentDim], values: matrix.mean },
    ...(matrix.logStd ? [{ name: 'logStd', shape: [matrix.keys.length, matrix.latentDim], values: matrix.logStd }] : []),
  ]);
  const facts: PriorShiftFacts = {
    present: true,
    keys: [...matrix.keys],
    latentDim: matrix.latentDim,
    extent: index.extent,
    sparsityMedian: index.sparsityMedian,
    sparsitySample: index.sparsitySample,
  };
  return { method: 'prior-shifts', points: 0, facts, arrays };
}

function priorShiftIndexFrom(result: LatentsResult): PriorShiftIndex | null {
  const facts = result.facts as PriorShiftFacts;
  if (!facts.present) return null;
  const arrays = new Map(unpackArrays(result.arrays).map((a) => [a.name, a.values]));
  const keys = facts.keys ?? [];
  const order = Int32Array.from(arrays.get('order') ?? []);
  const mean = arrays.get('mean');
  if (!mean || order.length !== keys.length) throw new Error('The stored prior shifts are incomplete');
  return {
    matrix: {
      keys,
      heldOut: Array.from(arrays.get('heldOut') ?? [], (h) => h === 1),
      latentDim: facts.latentDim ?? 0,
      mean,
      logStd: arrays.get('logStd') ?? null,
    },
    order,
    extent: facts.extent ?? { mean: 1e-9, logStd: null },
    sparsityMedian: facts.sparsityMedian ?? 0,
    sparsitySample: facts.sparsitySample ?? 0,
    searchKeys: Array.from(order, (e) => (keys[e] as string).toLowerCase()),
    matches: new Map(),
  };
}

/** Decoded prior-shift indexes kept in this thread (each tens of MB at 40k environments): the last two. */
const KEPT_INDEXES = 2;
const keptIndexes = new Map<string, PriorShiftIndex | null>();

export const stampKey = (runId: string, stamp: CheckpointStamp | null, what: string) =>
  `${runId}@${stamp?.epoch ?? -1}@${stamp?.createdAt ?? ''}/${what}`;

export function keepIndex(key: string, index: PriorShiftIndex | null): void {
  keptIndexes.delete(key);
  keptIndexes.set(key, index);
  while (keptIndexes.size > KEPT_INDEXES) keptIndexes.delete(keptIndexes.keys().next().value as string);
}

/** The run's stored projection at its newest checkpoint, or null when none is stored. */
export function storedProjection(store: Store, runId: string, method: ProjectionMethod, maxPoints: number): ProjectionResult | null {
  const stamp = store.latentsResults.newestCheckpoint(runId);
  if (!stamp) return null;
  const stored = store.latentsResults.get({ runId, epoch: stamp.epoch, method, points: maxPoints });
  return stored ? { runId, epoch: stamp.epoch, ...projectionOf(stored, method) } : null;
}

/** The run's ordered prior shifts at its newest checkpoint (kept in this thread, or read from the store); null when none are stored. */
export function storedPriorShifts(store: Store, runId: string): { epoch: number; index: PriorShiftIndex | null } | null {
  const stamp = store.latentsResults.newestCheckpoint(runId);
  if (!stamp) return null;
  const key = stampKey(runId, stamp, 'prior-shifts');
  if (keptIndexes.has(key)) {
    const index = keptIndexes.get(key) ?? null;
    keepIndex(key, index);
    return { epoch: stamp.epoch, index };
  }
  const stored = store.latentsResults.get({ runId, epoch: stamp.epoch, method: 'prior-shifts', points: 0 });
  if (!stored) return null;
  const index = priorShiftIndexFrom(stored);
  keepIndex(key, index);
  return { epoch: stamp.epoch, index };
}

/** The heatmaps' rows the view asked for, from the ordered prior shifts. */
export function priorShiftRowsOf(
  runId: string,
  epoch: number,
  index: PriorShiftIndex | null,
  request: Omit<PriorShiftRowsParams, 'runId'>,
): PriorShiftRowsResult {
  if (!index) return { runId, epoch, report: null };
  const window = priorShiftWindow(index, request);
  return {
    runId,
    epoch,
    report: {
      latentDim: index.matrix.latentDim,
      environments: index.order.length,
      matching: window.matching,
      block: request.block,
      rows: window.rows,
      mean: base64Of(window.mean),
      logStd: window.logStd ? base64Of(window.logStd) : null,
      extent: index.extent,
      sparsityMedian: index.sparsityMedian,
      sparsitySample: index.sparsitySample,
    },
  };
}

function base64Of(values: Float32Array | Int32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

const notStored = (what: string) =>
  new LabError('not_found', `No stored ${what} for this run's newest checkpoint: it is computed by the analysis worker.`);

/** What the 'latents' lane serves: stored results only (a miss is 'not_found', and the lab asks the analysis worker). */
export const storedLatentsReads = {
  async storedProjection(
    context: { store: Store },
    { runId, method, maxPoints }: { runId: string; method: ProjectionMethod; maxPoints: number },
  ): Promise<ProjectionResult> {
    const found = storedProjection(context.store, runId, method, maxPoints);
    if (!found) throw notStored('projection');
    return found;
  },

  async storedPriorShiftRows(context: { store: Store }, { runId, ...request }: PriorShiftRowsParams): Promise<PriorShiftRowsResult> {
    const found = storedPriorShifts(context.store, runId);
    if (!found) throw notStored('prior shifts');
    return priorShiftRowsOf(runId, found.epoch, found.index, request);
  },

  async storedTopGenes(
    context: { store: Store },
    { runId, latent, count }: { runId: string; latent: number; count: number },
  ): Promise<TopGenesResult> {
    const found = storedTopGenes(context.store, runId, latent, count);
    if (!found) throw notStored('top genes');
    return found;
  },

  /** Reads the run's stored prior shifts into this thread ahead of the view (a served lab's start). */
  async warmPriorShifts(context: { store: Store }, { runId }: { runId: string }): Promise<{ warm: boolean }> {
    return { warm: storedPriorShifts(context.store, runId) !== null };
  },
} satisfies Record<string, (context: { store: Store }, params: never) => Promise<unknown>>;

export type StoredLatentsReadName = keyof typeof storedLatentsReads;
