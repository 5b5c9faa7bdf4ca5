// The worker side of a job thread (job-thread.ts): runs the jobs the serving side sends, each with
// its own cancel signal and progress, asks the serving side for what only it owns, and replies
// once per job. A failure is reported as a LabError (the worker's `describe` names database
// failures); a job cancelled meanwhile is reported as cancelled.
import { parentPort } from 'node:worker_threads';
import { LabError } from '../../../shared/api/errors.js';
import type { JobContextLike } from '../../data/progress.js';
import type { FromJobWorker, ToJobWorker } from './protocol.js';

/** What a job gets: cancel, progress (which throws once cancelled), and asking the serving side. */
export interface WorkerJob extends JobContextLike {
  readonly signal: AbortSignal;
  ask(name: string, input: unknown): Promise<unknown>;
}

export interface ServeJobsOptions {
  /** What a job of this name left behind when cancelled, e.g. "The import was cancelled; nothing was stored." */
  cancelled(name: string): string;
  /** Failures the user can act on (a full disk, a busy database) as specific errors; else null. */
  describe(error: unknown): LabError | null;
  /** Fire-and-forget messages by name. */
  notifications?: Record<string, () => void>;
}

export type JobHandler = (input: unknown, job: WorkerJob) => Promise<unknown>;

export function serveJobs(handlers: Record<string, JobHandler>, options: ServeJobsOptions): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs runs in a worker thread');
  const post = (message: FromJobWorker) => port.postMessage(message);
  const running = new Map<number, AbortController>();
  const asking = new Map<number, { resolve(value: unknown): void; reject(error: LabError): void }>();
  let nextAskId = 1;

  const failureOf = (error: unknown): LabError => {
    if (error instanceof LabError) return error;
    const described = options.describe(error);
    if (described) return described;
    console.error('A job failed in its worker:', error);
    return new LabError('internal', error instanceof Error ? error.message : String(error));
  };

  async function run(id: number, name: string, input: unknown): Promise<void> {
    const controller = new AbortController();
    running.set(id, controller);
    const job: WorkerJob = {
      signal: controller.signal,
      progress: (fraction, message) => {
        if (controller.signal.aborted) throw new LabError('cancelled', options.cancelled(name));
        post({ type: 'progress', id, fraction, message });
      },
      ask: (askName, askInput) =>
        new Promise((resolve, reject) => {
          const askId = nextAskId++;
          asking.set(askId, { resolve, reject });
          post({ type: 'ask', id, askId, name: askName, input: askInput });
        }),
    };
    try {
      const handler = handlers[name];
      if (!handler) throw new LabError('internal', `This worker runs no "${name}" jobs`);
      post({ type: 'done', id, result: await handler(input, job) });
    } catch (error) {
      const cancelled = controller.signal.aborted && !(error instanceof LabError && error.code !== 'cancelled');
      const failure = cancelled ? new LabError('cancelled', options.cancelled(name)) : failureOf(error);
      post({ type: 'failed', id, error: failure.toPayload() });
    } finally {
      running.delete(id);
    }
  }

  port.on('message', (message: ToJobWorker) => {
    switch (message.type) {
      case 'job':
        void run(message.id, message.name, message.input);
        return;
      case 'cancel':
        running.get(message.id)?.abort();
        return;
      case 'notify':
        options.notifications?.[message.name]?.();
        return;
      case 'answer':
      case 'answer-failed': {
        const waiting = asking.get(message.askId);
        asking.delete(message.askId);
        if (message.type === 'answer') waiting?.resolve(message.value);
        else waiting?.reject(LabError.fromPayload(message.error));
        return;
      }
    }
  });
}
