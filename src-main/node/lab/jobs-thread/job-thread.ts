// The serving side of a job worker thread (imports, studies): jobs are sent there by name,
// progress comes back to the job's context, cancel goes there through the context's signal, and
// what the worker asks of the serving side (things only this side owns) is answered here. The
// worker starts with the first job; if it dies, the jobs it held fail with a clear error and the
// next job starts a new one.
import type { Worker } from 'node:worker_threads';
import { LabError } from '../../../shared/api/errors.js';
import type { JobContextLike } from '../../data/progress.js';
import { settlingWith } from '../../threads/settle.js';
import { startWorker } from '../../threads/start-worker.js';
import type { FromJobWorker, ToJobWorker } from './protocol.js';

/** Answers what a job's worker asks of the serving side (by name). */
export type Answer = (name: string, input: unknown) => Promise<unknown>;

export interface JobThreadOptions {
  /** The worker's entry (`new URL('./x-worker.js', import.meta.url)`). */
  entry: URL;
  workerData: unknown;
  /** How failures name the thread and what a lost job left behind, e.g. "import worker", "nothing of the import was stored". */
  label: string;
  lostJob: string;
  /** Turns an answering failure into the LabError the worker rethrows. */
  describe?: (error: unknown) => LabError | null;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: LabError): void;
  answer?: Answer;
  context?: JobContextLike;
}

export class JobThread {
  readonly #options: JobThreadOptions;
  #worker: Worker | null = null;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  constructor(options: JobThreadOptions) {
    this.#options = options;
  }

  run<T>(name: string, input: unknown, handlers: { context?: JobContextLike; answer?: Answer } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new LabError('cancelled', 'The lab is closing.'));
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    const signal = handlers.context?.signal;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => worker.postMessage({ type: 'cancel', id } satisfies ToJobWorker);
      const settle = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
        if (this.#pending.size === 0) worker.unref();
      };
      this.#pending.set(id, { ...handlers, ...settlingWith({ resolve: resolve as (value: unknown) => void, reject }, settle) });
      signal?.addEventListener('abort', onAbort, { once: true });
      // Keep the process alive while a job waits (an idle worker does not).
      worker.ref();
      worker.postMessage({ type: 'job', id, name, input } satisfies ToJobWorker);
      if (signal?.aborted) onAbort();
    });
  }

  /** Fire-and-forget, and only to a running worker (one not started has nothing to be told). */
  notify(name: string): void {
    this.#worker?.postMessage({ type: 'notify', name } satisfies ToJobWorker);
  }

  /** Whether a worker thread is running (one starts with the next job). */
  get running(): boolean {
    return this.#worker !== null;
  }

  /**
   * Ends the worker if no job is waiting, and with it whatever it kept (its heap, buffers and
   * threads); the next job starts a new one. An import's worker held ~0.5–0.8 GB at 473,647
   * signatures until its next garbage collection, which an idle thread may never run.
   */
  async stopIfIdle(): Promise<void> {
    const worker = this.#worker;
    if (!worker || this.#pending.size > 0) return;
    this.#worker = null;
    await worker.terminate();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    this.#rejectAll(new LabError('cancelled', `The lab is closing; the job was stopped (${this.#options.lostJob}).`));
    await worker?.terminate();
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    // Jobs (imports, studies, collecting plans) are long and no request waits on them turn by turn.
    const worker = startWorker(this.#options.entry, { workerData: this.#options.workerData, background: true });
    let failure: Error | null = null;
    worker.on('message', (reply: FromJobWorker) => this.#receive(worker, reply));
    worker.on('error', (error) => {
      failure = error;
    });
    worker.once('exit', (code) => {
      // A worker ended on purpose (stopIfIdle, close) held no job; jobs pending now are another worker's.
      if (this.#worker !== worker) return;
      this.#worker = null;
      const why = failure ? `it failed: ${failure.message}` : `it exited with code ${code}`;
      this.#rejectAll(new LabError('internal', `The ${this.#options.label} stopped before finishing (${why}); ${this.#options.lostJob}.`));
    });
    this.#worker = worker;
    return worker;
  }

  #receive(worker: Worker, reply: FromJobWorker): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    switch (reply.type) {
      case 'progress':
        try {
          pending.context?.progress(reply.fraction, reply.message);
        } catch {
          // The job was cancelled meanwhile: the worker hears it through its own signal.
        }
        return;
      case 'ask': {
        const answer = pending.answer ?? (() => Promise.reject(new LabError('internal', `Nothing answers "${reply.name}" here`)));
        answer(reply.name, reply.input).then(
          (value) => worker.postMessage({ type: 'answer', askId: reply.askId, value } satisfies ToJobWorker),
          (error: unknown) => worker.postMessage({ type: 'answer-failed', askId: reply.askId, error: this.#asLabError(error).toPayload() }),
        );
        return;
      }
      case 'done':
        pending.resolve(reply.result);
        return;
      case 'failed':
        pending.reject(LabError.fromPayload(reply.error));
        return;
    }
  }

  #asLabError(error: unknown): LabError {
    if (error instanceof LabError) return error;
    return this.#options.describe?.(error) ?? new LabError('internal', error instanceof Error ? error.message : String(error));
  }

  #rejectAll(error: LabError): void {
    for (const pending of [...this.#pending.values()]) pending.reject(error);
  }
}
