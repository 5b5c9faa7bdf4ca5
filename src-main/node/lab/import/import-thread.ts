// The serving side of the import worker (import-worker.ts): previews and imports are sent there,
// progress and requests for unpacked copies come back. The worker starts with the first preview
// or import and keeps the preview's prepared import for the import that follows; if it dies, the
// requests it held fail with a clear error and the next request starts a new one.
import type { Worker } from 'node:worker_threads';
import type { DatasetSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import type { ImportPreview, ResolvedImport } from '../../../shared/api/imports.js';
import type { JobContextLike } from '../../data/progress.js';
import { settlingWith } from '../../threads/settle.js';
import { startWorker } from '../../threads/start-worker.js';
import type { ImportWorkerInit, ImportWorkerReply, ImportWorkerRequest } from './import-protocol.js';
import { asLabError } from './index.js';
import type { ImportJob, ImportRunner, Unpack } from './session.js';

type RequestBody =
  | Omit<Extract<ImportWorkerRequest, { type: 'preview' }>, 'id'>
  | Omit<Extract<ImportWorkerRequest, { type: 'import' }>, 'id'>;

interface Pending {
  resolve(value: unknown): void;
  reject(error: LabError): void;
  unpack: Unpack;
  context?: JobContextLike;
}

export class ImportThread implements ImportRunner {
  readonly #init: ImportWorkerInit;
  #worker: Worker | null = null;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  constructor(init: ImportWorkerInit) {
    this.#init = init;
  }

  preview(key: string, resolved: ResolvedImport, unpack: Unpack): Promise<ImportPreview> {
    return this.#request({ type: 'preview', key, resolved }, { unpack }) as Promise<ImportPreview>;
  }

  importDataset(job: ImportJob, context: JobContextLike, unpack: Unpack): Promise<DatasetSummary> {
    return this.#request({ type: 'import', ...job }, { unpack, context }) as Promise<DatasetSummary>;
  }

  discardPreview(): void {
    this.#worker?.postMessage({ type: 'discard' } satisfies ImportWorkerRequest);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    this.#rejectAll(new LabError('cancelled', 'The lab is closing; the import was stopped.'));
    await worker?.terminate();
  }

  #request(message: RequestBody, handlers: Omit<Pending, 'resolve' | 'reject'>): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LabError('cancelled', 'The lab is closing.'));
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    const signal = handlers.context?.signal;
    return new Promise((resolve, reject) => {
      const onAbort = () => worker.postMessage({ type: 'cancel', id } satisfies ImportWorkerRequest);
      const settle = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
        if (this.#pending.size === 0) worker.unref();
      };
      this.#pending.set(id, { ...handlers, ...settlingWith({ resolve, reject }, settle) });
      signal?.addEventListener('abort', onAbort, { once: true });
      // Keep the process alive while a request waits (an idle worker does not).
      worker.ref();
      worker.postMessage({ ...message, id } as ImportWorkerRequest);
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker(new URL('./import-worker.js', import.meta.url), { workerData: this.#init });
    let failure: Error | null = null;
    worker.on('message', (reply: ImportWorkerReply) => this.#receive(worker, reply));
    worker.on('error', (error) => {
      failure = error;
    });
    worker.once('exit', (code) => {
      if (this.#worker === worker) this.#worker = null;
      const why = failure ? `it failed: ${failure.message}` : `it exited with code ${code}`;
      this.#rejectAll(new LabError('internal', `The import worker stopped before finishing (${why}); nothing of the import was stored.`));
    });
    this.#worker = worker;
    return worker;
  }

  #receive(worker: Worker, reply: ImportWorkerReply): void {
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
      case 'unpack':
        pending.unpack(reply.path).then(
          (path) => worker.postMessage({ type: 'unpacked', unpackId: reply.unpackId, path } satisfies ImportWorkerRequest),
          (error: unknown) => {
            const described = asLabError(error);
            const labError =
              described instanceof LabError ? described : new LabError('internal', error instanceof Error ? error.message : String(error));
            worker.postMessage({
              type: 'unpack-failed',
              unpackId: reply.unpackId,
              error: labError.toPayload(),
            } satisfies ImportWorkerRequest);
          },
        );
        return;
      case 'previewed':
        pending.resolve(reply.preview);
        return;
      case 'imported':
        pending.resolve(reply.summary);
        return;
      case 'failed':
        pending.reject(LabError.fromPayload(reply.error));
        return;
    }
  }

  #rejectAll(error: LabError): void {
    const pending = [...this.#pending.values()];
    for (const p of pending) p.reject(error);
  }
}
