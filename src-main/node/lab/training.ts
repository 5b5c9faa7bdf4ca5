// Runs training in worker threads, never on the thread that serves the UI, and turns worker
// messages into LabEvents. The run record in SQLite is the truth; this keeps only live handles.
import type { Worker } from 'node:worker_threads';
import {
  type MetricSeries,
  type RunAction,
  type RunDetail,
  type RunStatus,
  type RunSummary,
  resumableRunStatuses,
} from '../../shared/api/domain.js';
import { describeIssues, LabError } from '../../shared/api/errors.js';
import type { LabEvent } from '../../shared/api/protocol.js';
import { type TrainingConfig, TrainingConfig as TrainingConfigSchema } from '../../shared/api/training.js';
import { ControlWord, type WorkerInit, type WorkerMessage } from '../ml/worker-protocol.js';
import type { Store } from '../store/store.js';
import { startWorker } from '../threads/start-worker.js';

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
  /** Runs read their dataset from this read-only database instead of the store (plan tasks). */
  datasetPath?: string;
}

export class TrainingManager {
  readonly #store: Store;
  readonly #emit: (event: LabEvent) => void;
  readonly #options: TrainingManagerOptions;
  readonly #active = new Map<string, ActiveRun>();
  /**
   * Failures that could not be written (the disk was full, so even the status update failed):
   * reported from here and written as soon as a write succeeds. If the app ends first, the
   * next start finds the run's owner gone and reports it interrupted, which is also true.
   */
  readonly #unrecorded = new Map<string, { status: RunStatus; message: string; finishedAt: string }>();
  #retryTimer: NodeJS.Timeout | null = null;

  constructor(options: TrainingManagerOptions) {
    this.#store = options.store;
    this.#emit = options.emit;
    this.#options = options;
  }

  /** The run as stored, or as it really is when its final status could not be stored yet. */
  summary(run: RunSummary): RunSummary {
    const pending = this.#unrecorded.get(run.id);
    return pending ? { ...run, status: pending.status, message: pending.message, finishedAt: pending.finishedAt } : run;
  }

  list(datasetId?: string): RunSummary[] {
    this.#writeUnrecorded();
    return this.#store.runs.list(datasetId).map((run) => this.summary(run));
  }

  #get(id: string): RunSummary {
    this.#writeUnrecorded();
    return this.summary(this.#store.runs.get(id));
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

  /** Every metric of a run as series (split, name), in step order. */
  metrics(id: string): MetricSeries[] {
    this.#store.runs.get(id);
    const series = new Map<string, MetricSeries>();
    for (const p of this.#store.runs.metrics(id)) {
      const key = `${p.split}/${p.name}`;
      let s = series.get(key);
      if (!s) {
        s = { split: p.split, name: p.name, points: [] };
        series.set(key, s);
      }
      s.points.push({ epoch: p.epoch, step: p.step, value: p.value });
    }
    return [...series.values()];
  }

  detail(id: string): RunDetail {
    const run = this.#get(id);
    return {
      ...run,
      config: this.#store.runs.config(id),
      details: this.#store.runs.details(id) as Record<string, unknown> | null,
      checkpoints: this.#store.runs.checkpointEpochs(id),
      active: this.#active.has(id),
    };
  }

  control(id: string, action: RunAction): RunSummary {
    const run = this.#get(id);
    const active = this.#active.get(id);
    if (action === 'resume' && !active) {
      if (!resumableRunStatuses.includes(run.status)) {
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

  /**
   * Starts a run and resolves with its final summary once its worker has exited (what a study
   * waits for); an abort (the study cancelled) cancels the run, which keeps its checkpoints.
   */
  async trainToEnd(datasetId: string, config: TrainingConfig, name?: string, signal?: AbortSignal): Promise<RunSummary> {
    const run = this.start(datasetId, config, name);
    const cancel = () => {
      if (this.isActive(run.id)) this.control(run.id, 'cancel');
    };
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      await this.settled(run.id);
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    if (this.isActive(run.id)) throw new LabError('internal', `Run ${run.id} did not settle`);
    return this.#get(run.id);
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
    this.#writeUnrecorded();
    if (this.#retryTimer) clearInterval(this.#retryTimer);
    this.#retryTimer = null;
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
      ...(this.#options.datasetPath ? { datasetPath: this.#options.datasetPath } : {}),
    };
    this.#store.runs.setStatus(runId, 'queued');
    this.#unrecorded.delete(runId); // stored at last, and superseded
    this.#store.runs.setOwner(runId, process.pid);
    const worker = startWorker(new URL('../ml/training-worker.js', import.meta.url), { workerData: init, background: true });
    let finished = false;
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.#active.delete(runId);
        if (!finished) {
          // The worker died without reporting (crash, out of memory): the history and the
          // last checkpoint are in the database; say so and let the user resume.
          this.#recordFailure(
            runId,
            `The training worker stopped unexpectedly (exit code ${code}); resume to continue from the last checkpoint.`,
          );
        }
        try {
          this.#statusChanged(runId);
        } catch (error) {
          console.error(`Could not read run ${runId} after its worker exited:`, error);
        }
        resolve();
      });
    });
    worker.on('error', (error) => {
      if (finished) return;
      finished = true;
      this.#recordFailure(runId, `Training failed: ${error.message}`);
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
          this.#recordFailure(runId, `Training failed: ${message.message}`);
          return;
      }
    });
    this.#active.set(runId, { worker, control: new Int32Array(controlBuffer), exited });
  }

  /**
   * Marks the run failed, saying what of it is kept. Never throws: this runs in worker event
   * handlers, and when even this write fails (the disk is still full) the run is left as it
   * is, to be reported interrupted by the next start, rather than taking the app down.
   */
  #recordFailure(runId: string, message: string): void {
    let full = message;
    try {
      const done = this.#store.runs.get(runId).epochsDone;
      full +=
        done > 0
          ? ` Its metrics and checkpoint up to epoch ${done} are kept; resume the run to continue from there.`
          : ' No epoch had completed.';
      this.#store.runs.setStatus(runId, 'failed', full);
    } catch (error) {
      console.error(`Could not store that run ${runId} failed; reporting it from memory until a write succeeds:`, error);
      this.#unrecorded.set(runId, { status: 'failed', message: full, finishedAt: new Date().toISOString() });
      this.#retryTimer ??= setInterval(() => this.#writeUnrecorded(), 2000).unref();
    }
  }

  #writeUnrecorded(): void {
    for (const [runId, pending] of this.#unrecorded) {
      try {
        // Unless something newer happened to the run meanwhile (another process resumed it).
        const stored = this.#store.runs.get(runId);
        if (stored.status === 'running' || stored.status === 'queued' || stored.status === 'paused') {
          this.#store.runs.setStatus(runId, pending.status, pending.message);
        }
        this.#unrecorded.delete(runId);
      } catch {
        return; // still no space: try again later
      }
    }
    if (this.#unrecorded.size === 0 && this.#retryTimer) {
      clearInterval(this.#retryTimer);
      this.#retryTimer = null;
    }
  }

  #statusChanged(runId: string): RunSummary {
    const run = this.summary(this.#store.runs.get(runId));
    this.#emit({ type: 'run.status', run });
    return run;
  }
}
