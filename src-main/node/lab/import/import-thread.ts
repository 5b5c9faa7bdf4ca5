// The serving side of the import worker (import-worker.ts): previews, imports, generated datasets
// and sample tables attached to stored datasets are sent there; progress, and requests for
// unpacked copies of .gz matrices (the unpack cache and its jobs live on this side), come back.
// The worker keeps the preview's prepared import for the import that follows it, and is ended
// after storing a large dataset (see #stopAfterLarge).
import type { DatasetSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import type { AttachSamplesResult, ImportPreview, ResolvedImport } from '../../../shared/api/imports.js';
import type { JobContextLike } from '../../data/progress.js';
import { type Answer, JobThread } from '../jobs-thread/job-thread.js';
import { asLabError } from './index.js';
import type { AttachJob, ImportJob, ImportRunner, SyntheticJob, Unpack } from './session.js';

export interface ImportWorkerInit {
  databasePath: string;
  /** better_sqlite3.node for another ABI (Electron). */
  nativeBinding?: string;
}

/** The one thing the import worker asks of the serving side. */
export const UNPACK = 'unpack';

/** A stored matrix from this size (float32 values) ends the worker that read it. */
export const STOP_AFTER_BYTES = 256 * 2 ** 20;

export class ImportThread implements ImportRunner {
  readonly #thread: JobThread;
  readonly #stopAfterBytes: number;

  constructor(init: ImportWorkerInit, options: { stopAfterBytes?: number } = {}) {
    this.#stopAfterBytes = options.stopAfterBytes ?? STOP_AFTER_BYTES;
    this.#thread = new JobThread({
      entry: new URL('./import-worker.js', import.meta.url),
      workerData: init,
      label: 'import worker',
      lostJob: 'nothing of the import was stored',
      describe: (error) => {
        const described = asLabError(error);
        return described instanceof LabError ? described : null;
      },
    });
  }

  preview(key: string, resolved: ResolvedImport, unpack: Unpack): Promise<ImportPreview> {
    return this.#thread.run('preview', { key, resolved }, { answer: unpacking(unpack) });
  }

  importDataset(job: ImportJob, context: JobContextLike, unpack: Unpack): Promise<DatasetSummary> {
    return this.#stopAfterLarge(this.#thread.run('import', job, { context, answer: unpacking(unpack) }));
  }

  createSynthetic(job: SyntheticJob, context: JobContextLike): Promise<DatasetSummary> {
    return this.#stopAfterLarge(this.#thread.run('synthetic', job, { context }));
  }

  attachSamples(job: AttachJob, context: JobContextLike): Promise<Omit<AttachSamplesResult, 'from'>> {
    return this.#thread.run('attach', job, { context });
  }

  /** Whether the worker thread is running: between a preview and its import, and after small jobs. */
  get running(): boolean {
    return this.#thread.running;
  }

  discardPreview(): void {
    this.#thread.notify('discard');
  }

  close(): Promise<void> {
    return this.#thread.close();
  }

  /**
   * Once a large dataset is stored, the worker keeps nothing the next job needs (a preview is taken
   * by its import), yet its heap and buffers stayed allocated beside the training that typically
   * follows (0.5–0.8 GB at 473,647 signatures): the worker is ended, and the next job starts a new
   * one. After small or failed jobs it stays: starting a worker costs seconds, and failed imports
   * come in runs while a user fixes a file (the fuzz corpus is hundreds of them).
   */
  async #stopAfterLarge(job: Promise<DatasetSummary>): Promise<DatasetSummary> {
    const stored = await job;
    if (stored.nSamples * stored.nGenes * 4 >= this.#stopAfterBytes) await this.#thread.stopIfIdle();
    return stored;
  }
}

function unpacking(unpack: Unpack): Answer {
  return async (name, input) => {
    if (name !== UNPACK) throw new LabError('internal', `The import worker asked for "${name}"`);
    return unpack(input as string);
  };
}
