// Entry of a study worker thread (study-thread.ts): one study's body, or the collecting of a Slurm
// bundle's results, on its own read-write connection. It writes what the study makes (its datasets, its report at the end, in one
// artifact) and asks the serving side to train runs and to run analyses, which that side owns.
import { workerData } from 'node:worker_threads';
import type { RunSummary } from '../../../shared/api/domain.js';
import type { TrainingConfig } from '../../../shared/api/training.js';
import type { AnalysisOperationName, AnalysisParams, AnalysisResult } from '../../analysis/operations.js';
import { Chemistry } from '../../chem/chemistry.js';
import { databaseFailure } from '../../store/errors.js';
import { Store } from '../../store/store.js';
import { serveJobs, type WorkerJob } from '../jobs-thread/serve-jobs.js';
import { collectBundle } from '../plans/collect.js';
import { runStudy } from '../studies.js';
import type { StudyLab } from './common.js';
import { type AnalysisAsk, type CollectJob, StudyAsk, type StudyJob, type StudyWorkerInit, type TrainAsk } from './study-thread.js';

const init = workerData as StudyWorkerInit;
const store = Store.open(init.databasePath, init.nativeBinding ? { nativeBinding: init.nativeBinding } : {});
let chemistry: Promise<Chemistry> | null = null;

/** The study body's view of the lab: this thread's connection, and what the serving side owns asked of it. */
function workerLab(job: WorkerJob): StudyLab {
  return {
    store,
    training: {
      trainToEnd: async (datasetId: string, config: TrainingConfig, name?: string) =>
        (await job.ask(StudyAsk.train, { datasetId, config, ...(name ? { name } : {}) } satisfies TrainAsk)) as RunSummary,
    },
    chemistry: { load: () => (chemistry ??= Chemistry.load()) },
    analysis: {
      run: async <N extends AnalysisOperationName>(operation: N, params: AnalysisParams<N>) =>
        (await job.ask(StudyAsk.analysis, { operation, params } as AnalysisAsk)) as AnalysisResult<N>,
    },
  };
}

serveJobs(
  {
    study: (input, job) => {
      const { id, options, execution } = input as StudyJob;
      return runStudy(workerLab(job), id, options, job, execution);
    },
    // A Slurm bundle's shards merged and, once all are in, its study's report built (models loaded, baselines fitted).
    collect: (input, job) => collectBundle(workerLab(job), (input as CollectJob).bundle),
  },
  {
    cancelled: (name) =>
      name === 'collect'
        ? 'Collecting was cancelled; the shards merged so far are kept and no report was stored.'
        : 'The study was cancelled; its runs so far are kept and no report was stored.',
    describe: (error) => databaseFailure(error, store.path, { db: store.db }),
  },
);
