// Entry of the read-only worker threads that load no model: the reads of dataset-reads.ts (sample
// columns, environment lists, split previews) or, started with `reads: 'latents'`, the stored
// Latents results of stored-latents.ts, each on its own read-only connection. Apart from the
// analysis worker, whose model loads and projections take seconds to minutes while its thread is
// busy, so a view's cheap reads are answered at once; and no TensorFlow.js, so they start quickly.
// Two threads rather than one: a scan of every sample for a column would hold up the heatmaps.
// The dataset one also saves selections (selection-writes.ts) on a writable connection of its own,
// opened on the first save: resolving and writing a lasso's samples is no work for the serving thread.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { LabError } from '../../shared/api/errors.js';
import { Store } from '../store/store.js';
import { type DatasetReadContext, datasetReads } from './dataset-reads.js';
import { selectionWrites } from './selection-writes.js';
import { storedLatentsReads } from './stored-latents.js';
import type { AnalysisReply, AnalysisRequest, AnalysisWorkerInit } from './worker-protocol.js';
import { answerRequest } from './worker-reply.js';

const init = workerData as AnalysisWorkerInit;
const port = parentPort as MessagePort | null;
if (!port) throw new Error('src-main/node/analysis/dataset-read-worker.ts runs as a worker thread');

const binding = init.nativeBinding ? { nativeBinding: init.nativeBinding } : {};
const store = Store.open(init.databasePath, { readonly: true, ...binding });
let writer: Store | null = null;
const running = new Map<number, AbortController>();
type Operation = (context: DatasetReadContext, params: unknown) => Promise<unknown>;
// The params were checked against their LabApi method's schema by the carrier on the lab side.
const reads = (init.reads === 'latents' ? storedLatentsReads : datasetReads) as unknown as Record<string, Operation>;
const writes = (init.reads === 'latents' ? {} : selectionWrites) as unknown as Record<string, Operation>;

port.on('message', (request: AnalysisRequest) => {
  switch (request.type) {
    case 'call': {
      const controller = new AbortController();
      running.set(request.id, controller);
      void answerRequest(port, request.id, request.params, request.serializeAs, (params) => {
        const write = Object.hasOwn(writes, request.operation) ? writes[request.operation] : undefined;
        if (write) {
          writer ??= Store.open(init.databasePath, binding);
          return write({ store: writer, signal: controller.signal }, params);
        }
        const read = Object.hasOwn(reads, request.operation) ? reads[request.operation] : undefined;
        if (!read) throw new LabError('unknown_method', `No read "${request.operation}" in this worker`);
        return read({ store, signal: controller.signal }, params);
      }).finally(() => running.delete(request.id));
      return;
    }
    case 'cancel':
      running.get(request.id)?.abort(new LabError('cancelled', 'The read was cancelled'));
      return;
    case 'stats':
      port.postMessage({
        type: 'error',
        id: request.id,
        error: new LabError('invalid_params', 'The dataset-read worker keeps no statistics').toPayload(),
      } satisfies AnalysisReply);
      return;
  }
});
