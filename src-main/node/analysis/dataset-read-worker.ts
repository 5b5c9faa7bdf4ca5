// Entry of the dataset-read worker thread: the reads of datasets.ts (sample columns, environment
// lists, split previews) on its own read-only connection. Apart from the analysis worker, whose
// model loads and projections take seconds to minutes while its thread is busy, so a view's cheap
// reads are answered at once; and it loads no model code (TensorFlow.js), so it starts quickly.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { LabError } from '../../shared/api/errors.js';
import { Store } from '../store/store.js';
import { type DatasetReadContext, datasetReads, isDatasetRead } from './dataset-reads.js';
import type { AnalysisReply, AnalysisRequest, AnalysisWorkerInit } from './worker-protocol.js';
import { answerRequest } from './worker-reply.js';

const init = workerData as AnalysisWorkerInit;
const port = parentPort as MessagePort | null;
if (!port) throw new Error('src-main/node/analysis/dataset-read-worker.ts runs as a worker thread');

const store = Store.open(init.databasePath, { readonly: true, ...(init.nativeBinding ? { nativeBinding: init.nativeBinding } : {}) });
const running = new Map<number, AbortController>();

port.on('message', (request: AnalysisRequest) => {
  switch (request.type) {
    case 'call': {
      const controller = new AbortController();
      running.set(request.id, controller);
      const context: DatasetReadContext = { store, signal: controller.signal };
      void answerRequest(port, request.id, request.params, request.serializeAs, (params) => {
        if (!isDatasetRead(request.operation)) throw new LabError('unknown_method', `No dataset read "${request.operation}"`);
        const read = datasetReads[request.operation] as (context: DatasetReadContext, params: unknown) => Promise<unknown>;
        return read(context, params);
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
