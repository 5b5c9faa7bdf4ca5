// Runs training in worker threads, never on the thread that serves the UI, and turns worker
// messages into LabEvents. The run record in SQLite is the truth; this keeps only live handles.
import type { Worker } from 'node:worker_threads';
import type { RunAction, RunDetail, RunSummary } from '../api/domain.js';
import { describeIssues, LabError } from '../api/errors.js';
import type { LabEvent } from '../api/protocol.js';
import { type TrainingConfig, TrainingConfig as TrainingConfigSchema } from '../api/training.js';
import { ControlWord, type WorkerInit, type WorkerMessage } from '../ml/worker-protocol.js';
import type { Store } from '../store/store.js';
import { startWorker } from './worker-thread.js';

interface ActiveRun {
  worker: Worker;
  control: Int32Array;
  exited: Promise<void>;
}

export interface TrainingManagerOptions {
  store: Store;
  emit: (event: LabEvent) => void;
  nativeBinding?: string;
  preferBackend?: WorkerInit['preferBackend'];
}

const RESUMABLE = new Set(['interrupted', 'cancelled', 'failed', 'paused']);

export class TrainingManager {
  readonly #store: Store;
  readonly #emit: (event: LabEvent) => void;
  readonly #options: TrainingManagerOptions;
  readonly #active = new Map<string, ActiveRun>();

  constructor(options: TrainingManagerOptions) {
    this.#store = options.store;
    this.#emit = options.emit;
    this.#options = options;
  }

  start(datasetId: string, config: TrainingConfig, name?: string): RunSummary {
    if (this.#store.path === ':memory:')
      throw new LabError('conflict', 'Training needs a database file (workers open their own connection).');
    const checked = TrainingConfigSchema.safeParse(config);
    if (!checked.success)
      throw new LabError('invalid_params', `Invalid training configuration: ${describeIssues('config', checked.error)}`);
    const parsed = checked.data;
    const run = this.#store.runs.create({
      datasetId,
      name: name ?? `${parsed.model.family} · seed ${parsed.seed}`,
      model: parsed.model.family,
      config: parsed,
      seed: parsed.seed,
    });
    this.#spawn(run.id, false);
    return this.#statusChanged(run.id);
  }

  detail(id: string): RunDetail {
    const run = this.#store.runs.get(id);
    return {
      ...run,
      config: this.#store.runs.config(id),
      details: this.#store.runs.details(id) as Record<string, unknown> | null,
      checkpoints: this.#store.runs.checkpointEpochs(id),
      active: this.#active.has(id),
    };
  }

  control(id: string, action: RunAction): RunSummary {
    const run = this.#store.runs.get(id);
    const active = this.#active.get(id);
    if (action === 'resume' && !active) {
      if (!RESUMABLE.has(run.status)) {
        throw new LabError('conflict', `Run "${run.name}" is ${run.status}; only interrupted, cancelled, failed or paused runs resume.`);
      }
      this.#spawn(id, true);
      return this.#statusChanged(id);
    }
    if (!active) throw new LabError('conflict', `Run "${run.name}" is not training (it is ${run.status}).`);
    if (action === 'pause') {
      Atomics.store(active.control, 0, ControlWord.pause);
      this.#store.runs.setStatus(id, 'paused');
    } else if (action === 'resume') {
      Atomics.store(active.control, 0, ControlWord.run);
      this.#store.runs.setStatus(id, 'running');
    } else {
      Atomics.store(active.control, 0, ControlWord.cancel);
    }
    return this.#statusChanged(id);
  }

  delete(id: string): void {
    if (this.#active.has(id)) throw new LabError('conflict', 'Cancel the run before deleting it.');
    this.#store.runs.delete(id);
  }

  isActive(id: string): boolean {
    return this.#active.has(id);
  }

  /** Resolves when the run's worker has exited (immediately if none is running). */
  async settled(id: string): Promise<void> {
    await this.#active.get(id)?.exited;
  }

  /** Cancels all training (app shutdown); their checkpoints let them resume later. */
  async stopAll(): Promise<void> {
    const running = [...this.#active.values()];
    for (const run of running) Atomics.store(run.control, 0, ControlWord.cancel);
    await Promise.allSettled(running.map((r) => r.exited));
  }

  #spawn(runId: string, resume: boolean): void {
    const controlBuffer = new SharedArrayBuffer(4);
    const init: WorkerInit = {
      runId,
      databasePath: this.#store.path,
      resume,
      control: controlBuffer,
      ...(this.#options.nativeBinding ? { nativeBinding: this.#options.nativeBinding } : {}),
      ...(this.#options.preferBackend ? { preferBackend: this.#options.preferBackend } : {}),
    };
    this.#store.runs.setStatus(runId, 'queued');
    this.#store.runs.setOwner(runId, process.pid);
    const worker = startWorker('ml/worker', { workerData: init });
    let finished = false;
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.#active.delete(runId);
        if (!finished) {
          // The worker died without reporting (crash, out of memory): the history and the
          // last checkpoint are in the database; say so and let the user resume.
          this.#store.runs.setStatus(
            runId,
            'failed',
            `The training worker stopped unexpectedly (exit code ${code}); resume to continue from the last checkpoint.`,
          );
        }
        this.#statusChanged(runId);
        resolve();
      });
    });
    worker.on('error', (error) => {
      if (finished) return;
      finished = true;
      this.#store.runs.setStatus(runId, 'failed', `Training failed: ${error.message}`);
    });
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'started':
          this.#statusChanged(runId);
          return;
        case 'step':
          this.#emit({ type: 'run.progress', runId, ...message.report });
          return;
        case 'epoch':
          this.#emit({ type: 'run.epoch', runId, ...message.report });
          return;
        case 'finished':
          finished = true;
          return;
        case 'failed':
          finished = true;
          this.#store.runs.setStatus(runId, 'failed', `Training failed: ${message.message}`);
          return;
      }
    });
    this.#active.set(runId, { worker, control: new Int32Array(controlBuffer), exited });
  }

  #statusChanged(runId: string): RunSummary {
    const run = this.#store.runs.get(runId);
    this.#emit({ type: 'run.status', run });
    return run;
  }
}
