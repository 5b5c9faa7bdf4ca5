// Long work (imports, generation, training) runs as jobs: each reports progress events,
// can be cancelled, and ends in exactly one finished or failed event.
import { randomUUID } from 'node:crypto';
import { LabError } from '../../shared/api/errors.js';
import type { LabEvent } from '../../shared/api/protocol.js';

export type JobKind = Extract<LabEvent, { type: 'job.progress' }>['kind'];

export interface JobContext {
  readonly signal: AbortSignal;
  /** fraction in 0..1 or null when unknown. Throws LabError('cancelled') once cancelled. */
  progress(fraction: number | null, message: string): void;
}

export class JobRunner {
  readonly #emit: (event: LabEvent) => void;
  readonly #describe: (error: unknown) => LabError | null;
  readonly #running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();

  /** `describe` turns failures the user can act on (a full disk, a busy database) into specific errors. */
  constructor(emit: (event: LabEvent) => void, describe: (error: unknown) => LabError | null = () => null) {
    this.#emit = emit;
    this.#describe = describe;
  }

  start<T>(kind: JobKind, work: (context: JobContext) => Promise<T>): { jobId: string; done: Promise<T> } {
    const jobId = `job_${randomUUID().slice(0, 8)}`;
    const controller = new AbortController();
    const context: JobContext = {
      signal: controller.signal,
      progress: (fraction, message) => {
        if (controller.signal.aborted) throw new LabError('cancelled', `Job ${jobId} was cancelled`);
        this.#emit({ type: 'job.progress', jobId, kind, fraction: fraction === null ? null : clamp01(fraction), message });
      },
    };
    // Start on the next tick so the caller can hand out the job id before the first event.
    const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => work(context));
    const tracked = done.then(
      (result) => {
        this.#emit({ type: 'job.finished', jobId, kind, result });
      },
      (error: unknown) => {
        const labError =
          error instanceof LabError
            ? error
            : controller.signal.aborted
              ? new LabError('cancelled', `Job ${jobId} was cancelled`)
              : (this.#describe(error) ?? new LabError('internal', error instanceof Error ? error.message : String(error)));
        this.#emit({ type: 'job.failed', jobId, kind, error: labError.toPayload() });
      },
    );
    this.#running.set(jobId, { controller, done: tracked });
    void tracked.finally(() => this.#running.delete(jobId));
    return { jobId, done };
  }

  cancel(jobId: string): boolean {
    const job = this.#running.get(jobId);
    if (!job) return false;
    job.controller.abort();
    return true;
  }

  /** Cancels everything and waits for the jobs to wind down (on shutdown). */
  async stopAll(): Promise<void> {
    const jobs = [...this.#running.values()];
    for (const job of jobs) job.controller.abort();
    await Promise.allSettled(jobs.map((job) => job.done));
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
