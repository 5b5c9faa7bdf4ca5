// Entry of the import worker thread: previews and imports on its own read-write connection, so
// parsing sig/pert/gene tables, building environment keys, describing structures (RDKit here, and
// its pool for many) and writing the dataset in one transaction never stall the serving thread.
// A failed import rolls back its transaction here, as it did on the serving thread.
import { parentPort, workerData } from 'node:worker_threads';
import { LabError } from '../../../shared/api/errors.js';
import { Chemistry } from '../../chem/chemistry.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../../chem/pool.js';
import type { JobContextLike } from '../../data/progress.js';
import { databaseFailure } from '../../store/errors.js';
import { Store } from '../../store/store.js';
import { startWorker } from '../../threads/start-worker.js';
import type { ImportWorkerInit, ImportWorkerReply, ImportWorkerRequest } from './import-protocol.js';
import { ImportSession, type Unpack } from './session.js';
import { CachedStructures } from './structures.js';

const init = workerData as ImportWorkerInit;
const port = parentPort;
if (!port) throw new Error('src-main/node/lab/import/import-worker.ts runs as a worker thread');

const store = Store.open(init.databasePath, init.nativeBinding ? { nativeBinding: init.nativeBinding } : {});
let chemistry: Promise<Chemistry> | null = null;
/** RDKit workers for the structures of large imports, started on first use. */
const pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}));
const session = new ImportSession({
  store,
  structures: async (onProgress) => {
    chemistry ??= Chemistry.load();
    return new CachedStructures(await chemistry, store.molecules, { pool, ...(onProgress ? { onProgress } : {}) });
  },
});

const running = new Map<number, AbortController>();
const unpacking = new Map<number, { resolve(path: string): void; reject(error: LabError): void }>();
let nextUnpackId = 1;

function post(reply: ImportWorkerReply): void {
  port?.postMessage(reply);
}

function payloadOf(error: unknown): LabError {
  if (error instanceof LabError) return error;
  const described = databaseFailure(error, store.path, { db: store.db });
  if (described) return described;
  console.error('Import failed:', error);
  return new LabError('internal', error instanceof Error ? error.message : String(error));
}

function unpackFor(id: number): Unpack {
  return (path) =>
    new Promise((resolve, reject) => {
      const unpackId = nextUnpackId++;
      unpacking.set(unpackId, { resolve, reject });
      post({ type: 'unpack', id, unpackId, path });
    });
}

async function handle(request: Extract<ImportWorkerRequest, { type: 'preview' | 'import' }>): Promise<void> {
  const { id } = request;
  const controller = new AbortController();
  running.set(id, controller);
  try {
    if (request.type === 'preview') {
      post({ type: 'previewed', id, preview: await session.preview(request.key, request.resolved, unpackFor(id)) });
      return;
    }
    const context: JobContextLike = {
      signal: controller.signal,
      progress: (fraction, message) => {
        if (controller.signal.aborted) throw new LabError('cancelled', 'The import was cancelled; nothing was stored.');
        post({ type: 'progress', id, fraction, message });
      },
    };
    const { key, resolved, journalEntry } = request;
    post({ type: 'imported', id, summary: await session.importDataset({ key, resolved, journalEntry }, context, unpackFor(id)) });
  } catch (error) {
    const cancelled = controller.signal.aborted && !(error instanceof LabError && error.code !== 'cancelled');
    const payload = cancelled ? new LabError('cancelled', 'The import was cancelled; nothing was stored.') : payloadOf(error);
    post({ type: 'failed', id, error: payload.toPayload() });
  } finally {
    running.delete(id);
  }
}

port.on('message', (request: ImportWorkerRequest) => {
  switch (request.type) {
    case 'preview':
    case 'import':
      void handle(request);
      return;
    case 'discard':
      session.discardPreview();
      return;
    case 'cancel':
      running.get(request.id)?.abort();
      return;
    case 'unpacked':
    case 'unpack-failed': {
      const waiting = unpacking.get(request.unpackId);
      unpacking.delete(request.unpackId);
      if (request.type === 'unpacked') waiting?.resolve(request.path);
      else waiting?.reject(LabError.fromPayload(request.error));
      return;
    }
  }
});
