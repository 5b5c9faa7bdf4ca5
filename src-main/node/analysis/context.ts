// What every analysis operation is given by the analysis worker.
import type { LatentsResultRepository } from '../store/latents-results.js';
import type { Store } from '../store/store.js';
import type { TrainedModel } from './trained-model.js';

export interface AnalysisContext {
  /** The worker's own read-only connection to the lab database. */
  readonly store: Store;
  /** The run's model at its newest checkpoint; the worker keeps the most recently used ones. */
  model(runId: string): Promise<TrainedModel>;
  /** Aborted (with a LabError 'cancelled') when the caller gives up; long work stops at its next check. */
  readonly signal: AbortSignal;
  /** Where computed Latents results are stored (a writable connection); absent, they are only returned. */
  readonly results?: LatentsResultRepository;
}
