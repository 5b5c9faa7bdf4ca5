// What the Latents view opens with, kept per run and checkpoint (store/latents-results.ts): the
// projections it drew and the ordered prior shifts its heatmaps cut windows from. Opening the
// view then reads them instead of loading the model — the model load (reading the run's data,
// encoding the samples) took 11–16 s of a cold open at 200k samples. `precomputeLatents` computes
// the default opening in the background when a run completes; a projection or prior-shift index
// computed on demand is stored too. Computations of the same result share one promise, so the
// view asking while the background computes it waits for that one instead of starting another.
import type { ProjectionResult } from '../../shared/api/analysis.js';
import { packArrays, unpackArrays } from '../ml/checkpoint.js';
import type { CheckpointStamp, LatentsResult, LatentsResultKey } from '../store/latents-results.js';
import type { AnalysisContext } from './context.js';
import { type Projection, projectLatents } from './inspection.js';
import { type PriorShiftIndex, priorShiftIndexOf } from './prior-shift-rows.js';

/** The projection the view opens with (LatentsSession's defaults): PCA of up to 20,000 points. */
export const DEFAULT_PROJECTION = { method: 'pca', maxPoints: 20_000 } as const;

type ProjectionMethod = 'pca' | 'umap';
type StoredRecord = Omit<LatentsResultKey, 'runId' | 'epoch'> & LatentsResult;

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

function projectionRecord(projection: Projection, maxPoints: number): StoredRecord {
  // Float32 holds sample indices exactly up to 2^24 (16.7 M samples).
  const arrays = packArrays([
    { name: 'sample', shape: [projection.sample.length], values: Float32Array.from(projection.sample) },
    { name: 'x', shape: [projection.x.length], values: Float32Array.from(projection.x) },
    { name: 'y', shape: [projection.y.length], values: Float32Array.from(projection.y) },
  ]);
  const facts: ProjectionFacts = { explainedVariance: projection.explainedVariance };
  return { method: projection.method, points: maxPoints, facts, arrays };
}

function projectionOf(result: LatentsResult, method: ProjectionMethod): Projection {
  const arrays = new Map(unpackArrays(result.arrays).map((a) => [a.name, a.values]));
  const column = (name: string) => {
    const values = arrays.get(name);
    if (!values) throw new Error(`The stored projection lacks its ${name} column`);
    return Array.from(values);
  };
  return {
    method,
    sample: column('sample'),
    x: column('x'),
    y: column('y'),
    explainedVariance: (result.facts as ProjectionFacts).explainedVariance,
  };
}

function priorShiftRecord(index: PriorShiftIndex | null): StoredRecord {
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

/** Results being computed, by run, checkpoint and kind: one computation each however many ask. */
const inFlight = new Map<string, Promise<unknown>>();

function once<T>(key: string, compute: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key) as Promise<T> | undefined;
  if (running) return running;
  const started = compute().finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

/** Decoded prior-shift indexes kept in the worker (each tens of MB at 40k environments): the last two. */
const KEPT_INDEXES = 2;
const keptIndexes = new Map<string, PriorShiftIndex | null>();

function keepIndex(key: string, index: PriorShiftIndex | null): void {
  keptIndexes.delete(key);
  keptIndexes.set(key, index);
  while (keptIndexes.size > KEPT_INDEXES) keptIndexes.delete(keptIndexes.keys().next().value as string);
}

function newestCheckpoint(context: AnalysisContext, runId: string): CheckpointStamp | null {
  // A run without a checkpoint has nothing stored; the model load then says why it cannot answer.
  return context.store.latentsResults.newestCheckpoint(runId);
}

const stampKey = (runId: string, stamp: CheckpointStamp | null, what: string) =>
  `${runId}@${stamp?.epoch ?? -1}@${stamp?.createdAt ?? ''}/${what}`;

/** Stores `records` computed from `stamp` (all or none); a failure to store is reported, not thrown: the answer stands. */
function store(context: AnalysisContext, runId: string, stamp: CheckpointStamp | null, records: StoredRecord[]): boolean {
  if (!context.results || !stamp) return false;
  try {
    return context.results.put(runId, stamp, records);
  } catch (error) {
    console.error(`Could not store the Latents results of run ${runId}:`, error);
    return false;
  }
}

async function computeProjection(
  context: AnalysisContext,
  runId: string,
  method: ProjectionMethod,
  maxPoints: number,
): Promise<{ epoch: number; projection: Projection; record: StoredRecord }> {
  const model = await context.model(runId);
  const projection = await projectLatents(model, method, maxPoints, context.signal);
  const record = projectionRecord(projection, maxPoints);
  // What is stored is float32: answer with the same values now as a later read of them will.
  return { epoch: model.epoch, projection: projectionOf(record, method), record };
}

/** The run's projection at its newest checkpoint: stored, or computed (and stored). */
export async function projectionFor(
  context: AnalysisContext,
  runId: string,
  method: ProjectionMethod,
  maxPoints: number,
): Promise<ProjectionResult> {
  const stamp = newestCheckpoint(context, runId);
  if (stamp) {
    const stored = context.store.latentsResults.get({ runId, epoch: stamp.epoch, method, points: maxPoints });
    if (stored) return { runId, epoch: stamp.epoch, ...projectionOf(stored, method) };
  }
  const { epoch, projection } = await once(stampKey(runId, stamp, `${method}/${maxPoints}`), async () => {
    const computed = await computeProjection(context, runId, method, maxPoints);
    store(context, runId, stamp, [computed.record]);
    return computed;
  });
  return { runId, epoch, ...projection };
}

/** The run's ordered prior shifts at its newest checkpoint: kept in the worker, stored, or built from the model (and stored). */
export async function priorShiftIndexFor(
  context: AnalysisContext,
  runId: string,
): Promise<{ epoch: number; index: PriorShiftIndex | null }> {
  const stamp = newestCheckpoint(context, runId);
  const key = stampKey(runId, stamp, 'prior-shifts');
  if (stamp && keptIndexes.has(key)) {
    const index = keptIndexes.get(key) ?? null;
    keepIndex(key, index);
    return { epoch: stamp.epoch, index };
  }
  if (stamp) {
    const stored = context.store.latentsResults.get({ runId, epoch: stamp.epoch, method: 'prior-shifts', points: 0 });
    if (stored) {
      const index = priorShiftIndexFrom(stored);
      keepIndex(key, index);
      return { epoch: stamp.epoch, index };
    }
  }
  return once(key, async () => {
    const model = await context.model(runId);
    const index = priorShiftIndexOf(model);
    store(context, runId, stamp, [priorShiftRecord(index)]);
    if (stamp) keepIndex(key, index);
    return { epoch: model.epoch, index };
  });
}

/**
 * Computes and stores what the Latents view opens with for the run's newest checkpoint — the
 * ordered prior shifts and the default projection — in one transaction (a cancelled or failed
 * precompute stores nothing). Returns whether anything was written (false when already stored,
 * or when the run trained on meanwhile).
 */
export async function precomputeLatents(context: AnalysisContext, runId: string): Promise<{ stored: boolean }> {
  const stamp = newestCheckpoint(context, runId);
  if (!stamp) return { stored: false };
  const { method, maxPoints } = DEFAULT_PROJECTION;
  const results = context.store.latentsResults;
  const needShifts = !results.has({ runId, epoch: stamp.epoch, method: 'prior-shifts', points: 0 });
  const needProjection = !results.has({ runId, epoch: stamp.epoch, method, points: maxPoints });
  if (!needShifts && !needProjection) return { stored: false };
  const records: StoredRecord[] = [];
  if (needShifts) {
    const model = await context.model(runId);
    context.signal.throwIfAborted();
    records.push(priorShiftRecord(priorShiftIndexOf(model)));
  }
  if (needProjection) {
    // Shared with a view asking for the same projection meanwhile; stored below with the shifts.
    const computed = await once(stampKey(runId, stamp, `${method}/${maxPoints}`), () =>
      computeProjection(context, runId, method, maxPoints),
    );
    records.push(computed.record);
  }
  context.signal.throwIfAborted();
  return { stored: store(context, runId, stamp, records) };
}
