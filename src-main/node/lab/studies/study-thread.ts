// Studies run in a study worker thread (study-worker.ts), one per study, on its own database
// connection: their bodies (generating data, loading models, fitting baselines, scoring) never
// stall the serving thread. Training runs and analyses stay owned by this side: the worker asks for
// a run trained to its end (the training manager starts and watches its worker) and for analyses
// (the lab's one analysis worker and its model cache), and this side answers.
import type { RunSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import type { StudyId, StudyOptions, StudyResult } from '../../../shared/api/studies.js';
import type { TrainingConfig } from '../../../shared/api/training.js';
import type { AnalysisOperationName, AnalysisParams } from '../../analysis/operations.js';
import type { JobContextLike } from '../../data/progress.js';
import { type Answer, JobThread } from '../jobs-thread/job-thread.js';
import { type CollectResult, collectBundle } from '../plans/collect.js';
import { runStudy, type StudyExecution } from '../studies.js';
import type { StudyLab } from './common.js';

export interface StudyWorkerInit {
  databasePath: string;
  /** better_sqlite3.node for another ABI (Electron). */
  nativeBinding?: string;
}

/** The study a worker runs. */
export interface StudyJob {
  id: StudyId;
  options: StudyOptions;
  execution: StudyExecution;
}

/** What the worker asks of the serving side. */
export const StudyAsk = { train: 'train', analysis: 'analysis' } as const;
export interface TrainAsk {
  datasetId: string;
  config: TrainingConfig;
  name?: string;
}
export interface AnalysisAsk {
  operation: AnalysisOperationName;
  params: AnalysisParams<AnalysisOperationName>;
}

/**
 * Runs a study in a worker of its own, closed when the study ends. An in-memory database cannot be
 * opened by a worker: there the study runs here, as before (and fails at its first training run).
 */
export async function runStudyOffThread(
  lab: StudyLab & { nativeBinding?: string },
  job: StudyJob,
  context: JobContextLike,
): Promise<StudyResult> {
  if (lab.store.path === ':memory:') return runStudy(lab, job.id, job.options, context, job.execution);
  return inStudyWorker(lab, 'study', job, 'its runs so far are kept; no report was stored', context);
}

/** A Slurm bundle to collect (plans/collect.ts). */
export interface CollectJob {
  bundle: string;
}

/**
 * Collects a bundle in a study worker: merging its shards writes their runs and checkpoints, and
 * the last collect evaluates the study (models loaded, baselines fitted), which held the serving
 * thread for all of it when it ran there. In memory it runs here, as before.
 */
export async function collectOffThread(
  lab: StudyLab & { nativeBinding?: string },
  bundle: string,
  signal?: AbortSignal,
): Promise<CollectResult> {
  if (lab.store.path === ':memory:') return collectBundle(lab, bundle);
  const context: JobContextLike | undefined = signal ? { signal, progress: () => undefined } : undefined;
  return inStudyWorker(lab, 'collect', { bundle } satisfies CollectJob, 'shards merged so far are kept; no report was stored', context);
}

/** One job in a study worker of its own, closed when the job ends. */
async function inStudyWorker<T>(
  lab: StudyLab & { nativeBinding?: string },
  name: 'study' | 'collect',
  input: StudyJob | CollectJob,
  lostJob: string,
  context: JobContextLike | undefined,
): Promise<T> {
  const init: StudyWorkerInit = { databasePath: lab.store.path, ...(lab.nativeBinding ? { nativeBinding: lab.nativeBinding } : {}) };
  const thread = new JobThread({ entry: new URL('./study-worker.js', import.meta.url), workerData: init, label: 'study worker', lostJob });
  try {
    return await thread.run<T>(name, input, { ...(context ? { context } : {}), answer: answering(lab, context?.signal) });
  } finally {
    await thread.close();
  }
}

function answering(lab: StudyLab, signal: AbortSignal | undefined): Answer {
  return async (name, input) => {
    if (name === StudyAsk.train) {
      const { datasetId, config, name: runName } = input as TrainAsk;
      return lab.training.trainToEnd(datasetId, config, runName, signal) satisfies Promise<RunSummary>;
    }
    if (name === StudyAsk.analysis) {
      const { operation, params } = input as AnalysisAsk;
      return lab.analysis.run(operation, params, signal ? { signal } : {});
    }
    throw new LabError('internal', `The study worker asked for "${name}"`);
  };
}
