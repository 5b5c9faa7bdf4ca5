// Entry of the import worker thread: previews, imports, generated datasets and attached sample
// tables on its own read-write connection, so parsing sig/pert/gene tables, building environment
// keys, describing structures (RDKit here, and its pool for many), generating data and writing the
// dataset in one transaction never stall the serving thread. A failed import rolls back its
// transaction here, as it did on the serving thread.
import { workerData } from 'node:worker_threads';
import type { ResolvedImport } from '../../../shared/api/imports.js';
import { Chemistry } from '../../chem/chemistry.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../../chem/pool.js';
import { databaseFailure } from '../../store/errors.js';
import { Store } from '../../store/store.js';
import { startWorker } from '../../threads/start-worker.js';
import { serveJobs, type WorkerJob } from '../jobs-thread/serve-jobs.js';
import { type ImportWorkerInit, UNPACK } from './import-thread.js';
import { type AttachJob, type ImportJob, ImportSession, type SyntheticJob, type Unpack } from './session.js';
import { CachedStructures } from './structures.js';

const init = workerData as ImportWorkerInit;
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

const unpackFor =
  (job: WorkerJob): Unpack =>
  async (path) =>
    (await job.ask(UNPACK, path)) as string;

serveJobs(
  {
    preview: (input, job) => {
      const { key, resolved } = input as { key: string; resolved: ResolvedImport };
      return session.preview(key, resolved, unpackFor(job));
    },
    import: (input, job) => session.importDataset(input as ImportJob, job, unpackFor(job)),
    synthetic: (input, job) => session.createSynthetic(input as SyntheticJob, job),
    attach: (input, job) => session.attachSamples(input as AttachJob, job),
  },
  {
    cancelled: () => 'The import was cancelled; nothing was stored.',
    describe: (error) => databaseFailure(error, store.path, { db: store.db }),
    notifications: { discard: () => session.discardPreview() },
  },
);
