// What the Latents view opens with, computed in the analysis worker and kept per run and checkpoint
// (stored-latents.ts): the projections it drew and the ordered prior shifts its heatmaps cut
// windows from. Opening the view then reads them instead of loading the model — the model load
// (reading the run's data, encoding the samples) took 11–16 s of a cold open at 200k samples, and
// tens of seconds at 473,647 on a loaded machine. `precomputeLatents` computes
// the default opening in the background when a run completes; a projection or prior-shift index
// computed on demand is stored too. Computations of the same result share one promise, so the
// view asking while the background computes it waits for that one instead of starting another.
import type { ProjectionResult } from '../../shared/api/analysis.js';
import type { CheckpointStamp } from '../store/latents-results.js';
import type { AnalysisContext } from './context.js';
import { projectLatents, topGenes } from './inspection.js';
import { type PriorShiftIndex, priorShiftIndexOf } from './prior-shift-rows.js';
import {
  DEFAULT_PROJECTION,
  keepIndex,
  type PackedProjection,
  type ProjectionMethod,
  priorShiftRecord,
  projectionOf,
  projectionRecord,
  type StoredRecord,
  stampKey,
  storedPriorShifts,
  storedProjection,
  TOP_GENES_KEPT,
  topGenesRecord,
} from './stored-latents.js';

/** Results being computed, by run, checkpoint and kind: one computation each however many ask. */
const inFlight = new Map<string, Promise<unknown>>();

function once<T>(key: string, compute: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key) as Promise<T> | undefined;
  if (running) return running;
  const started = compute().finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

function newestCheckpoint(context: AnalysisContext, runId: string): CheckpointStamp | null {
  // A run without a checkpoint has nothing stored; the model load then says why it cannot answer.
  return context.store.latentsResults.newestCheckpoint(runId);
}

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
): Promise<{ epoch: number; projection: PackedProjection; record: StoredRecord }> {
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
  const stored = storedProjection(context.store, runId, method, maxPoints);
  if (stored) return stored;
  const stamp = newestCheckpoint(context, runId);
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
  const stored = storedPriorShifts(context.store, runId);
  if (stored) return stored;
  const stamp = newestCheckpoint(context, runId);
  const key = stampKey(runId, stamp, 'prior-shifts');
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
 * ordered prior shifts, the default projection and every latent's top genes — in one transaction (a cancelled or failed
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
  const needGenes = !results.has({ runId, epoch: stamp.epoch, method: 'top-genes', points: TOP_GENES_KEPT });
  if (!needShifts && !needProjection && !needGenes) return { stored: false };
  const records: StoredRecord[] = [];
  if (needShifts) {
    const model = await context.model(runId);
    context.signal.throwIfAborted();
    records.push(priorShiftRecord(priorShiftIndexOf(model)));
  }
  if (needGenes) {
    // Every latent's genes: the list under the heatmaps then opens without the model (64 samples
    // decoded twice per latent, seconds for 200 latents).
    const model = await context.model(runId);
    const latents: { gene: number; effect: number }[][] = [];
    for (let latent = 0; latent < model.latentDim; latent++) {
      context.signal.throwIfAborted();
      latents.push(topGenes(model, latent, TOP_GENES_KEPT));
      if (latent % 16 === 15) await new Promise((resolve) => setImmediate(resolve)); // the worker keeps answering
    }
    records.push(topGenesRecord(latents));
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
