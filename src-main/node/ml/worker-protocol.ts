// Messages between the lab (main thread) and a training worker. The control word is shared
// memory so pause/cancel reach a worker that is busy computing, without a message loop turn.
import type { BackendName } from './backend.js';
import type { EpochReport, StepReport, TrainOutcome } from './trainer.js';

export interface WorkerInit {
  runId: string;
  databasePath: string;
  /** Where the run's dataset is read from when not the run's own database (a read-only snapshot). */
  datasetPath?: string;
  nativeBinding?: string;
  /** Continue from the run's latest checkpoint instead of starting fresh. */
  resume: boolean;
  /** Int32Array view: [0] = ControlWord. */
  control: SharedArrayBuffer;
  preferBackend?: BackendName;
}

export const ControlWord = { run: 0, pause: 1, cancel: 2 } as const;

export type WorkerMessage =
  | { type: 'started'; backend: string; threads: number | null; reason: string; resumedFromEpoch: number | null }
  | { type: 'step'; report: StepReport }
  | { type: 'epoch'; report: Omit<EpochReport, 'stepLosses'> }
  | { type: 'finished'; outcome: TrainOutcome }
  | { type: 'failed'; message: string };
