// Entry of the analysis worker thread: runs the operations of ./operations.ts on its own read-only
// database connection, so projections, evaluations and predictions never stall the thread that
// serves the UI. Requests are handled as they arrive; long ones yield (UMAP between epochs), so a
// quick request is answered while a long one is still running. Rebuilding a model from its
// checkpoint reads its split and environments (not the expression, which its operations stream),
// and it keeps what it derives (environment and posterior means, within a byte budget), so the most
// recently used models are kept (keyed by run and checkpoint epoch, so a newer epoch reloads).
import { getHeapStatistics } from 'node:v8';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { LabError } from '../../shared/api/errors.js';
import { selectBackend } from '../ml/backend.js';
import { openDatabase } from '../store/database.js';
import { LatentsResultRepository } from '../store/latents-results.js';
import { Store } from '../store/store.js';
import { type AnalysisContext, analysisOperations, isAnalysisOperation } from './operations.js';
import { TrainedModel } from './trained-model.js';
import type { AnalysisReply, AnalysisRequest, AnalysisWorkerInit, SerializeAs } from './worker-protocol.js';
import { answerRequest } from './worker-reply.js';

const init = workerData as AnalysisWorkerInit;
const port = parentPort;
if (!port) throw new Error('src-main/node/analysis/analysis-worker.ts runs as a worker thread');

const store = Store.open(init.databasePath, { readonly: true, ...(init.nativeBinding ? { nativeBinding: init.nativeBinding } : {}) });
let backend: Promise<unknown> | null = null;
/** A writable connection for the Latents results it computes (latents-results.ts), opened on first need; null when the lab is read-only. */
let results: LatentsResultRepository | null | undefined;

function resultsRepository(): LatentsResultRepository | undefined {
  if (results === undefined) {
    try {
      results = new LatentsResultRepository(
        openDatabase(init.databasePath, init.nativeBinding ? { nativeBinding: init.nativeBinding } : {}),
      );
    } catch (error) {
      console.error('The analysis worker cannot store Latents results (they are computed on each open):', (error as Error).message);
      results = null;
    }
  }
  return results ?? undefined;
}

interface CachedModel {
  model: Promise<TrainedModel>;
  /** Requests using it; an evicted model is disposed when the last one finishes. */
  users: number;
  evicted: boolean;
}

const cache = new Map<string, CachedModel>();
const running = new Map<number, AbortController>();

function disposeWhenUnused(entry: CachedModel): void {
  if (!entry.evicted || entry.users > 0) return;
  void entry.model.then(
    (m) => m.dispose(),
    () => undefined,
  );
}

function release(entry: CachedModel): void {
  entry.users--;
  disposeWhenUnused(entry);
}

async function acquire(runId: string): Promise<{ entry: CachedModel; model: TrainedModel }> {
  backend ??= selectBackend(init.preferBackend ? { prefer: init.preferBackend } : {});
  await backend;
  const epoch = store.runs.checkpointEpochs(runId).at(-1) ?? -1;
  const key = `${runId}@${epoch}`;
  let entry = cache.get(key);
  if (entry) {
    cache.delete(key); // re-insert: most recently used last
  } else {
    entry = { model: TrainedModel.load(store, runId), users: 0, evicted: false };
  }
  cache.set(key, entry);
  entry.users++;
  while (cache.size > init.cacheSize) {
    const [oldest, evicted] = cache.entries().next().value as [string, CachedModel];
    cache.delete(oldest);
    evicted.evicted = true;
    disposeWhenUnused(evicted);
  }
  try {
    return { entry, model: await entry.model };
  } catch (error) {
    if (cache.get(key) === entry) cache.delete(key); // a failed load is not cached
    release(entry);
    throw error;
  }
}

async function handle(id: number, operation: string, params: unknown, serializeAs: SerializeAs | undefined): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  const held: CachedModel[] = [];
  const context: AnalysisContext = {
    store,
    signal: controller.signal,
    get results() {
      return resultsRepository();
    },
    model: async (runId) => {
      const { entry, model } = await acquire(runId);
      held.push(entry);
      return model;
    },
  };
  try {
    await answerRequest(port as MessagePort, id, params, serializeAs, (checked) => {
      if (!isAnalysisOperation(operation)) throw new LabError('unknown_method', `No analysis operation "${operation}"`);
      const run = analysisOperations[operation] as (context: AnalysisContext, params: unknown) => Promise<unknown>;
      return run(context, checked);
    });
  } finally {
    running.delete(id);
    for (const entry of held) release(entry);
  }
}

port.on('message', (request: AnalysisRequest) => {
  switch (request.type) {
    case 'call':
      void handle(request.id, request.operation, request.params, request.serializeAs);
      return;
    case 'cancel':
      running.get(request.id)?.abort(new LabError('cancelled', 'The analysis was cancelled'));
      return;
    case 'stats': {
      const heap = getHeapStatistics();
      port.postMessage({
        type: 'stats',
        id: request.id,
        stats: {
          heapUsed: heap.used_heap_size,
          heapTotal: heap.total_heap_size,
          peakMallocedMemory: heap.peak_malloced_memory,
          externalMemory: heap.external_memory,
          running: running.size,
          cachedModels: [...cache.keys()],
        },
      } satisfies AnalysisReply);
      return;
    }
  }
});
