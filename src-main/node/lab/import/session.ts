// Preparing and storing imports on one database connection, wherever that connection lives: in
// the import worker thread (import-worker.ts) for a database file, so reading the tables, building
// keys, describing structures and writing the dataset never stall the serving thread; in the
// serving thread itself only for an in-memory database, which no other thread can open. The
// preview's prepared import is kept for the import that follows it with the same request.
import type { DatasetSummary } from '../../../shared/api/domain.js';
import type { ImportPreview, ResolvedImport } from '../../../shared/api/imports.js';
import type { JobContextLike } from '../../data/progress.js';
import type { Store } from '../../store/store.js';
import { type PreparedImport, prepareImport, runImport } from './index.js';
import type { StructureSource } from './representation.js';
import type { StructureProgress } from './structures.js';

/** The decompressed copy of a .gctx.gz/.h5ad.gz (the lab's unpack cache, on the serving side). */
export type Unpack = (path: string) => Promise<string>;

export interface ImportJob {
  /** Identifies the request: a preview with the same key is reused instead of prepared again. */
  key: string;
  resolved: ResolvedImport;
  /** The journal entry, marked completed in the dataset's own transaction. */
  journalEntry: string;
}

/** What the import workflow asks of wherever imports run. */
export interface ImportRunner {
  preview(key: string, resolved: ResolvedImport, unpack: Unpack): Promise<ImportPreview>;
  importDataset(job: ImportJob, context: JobContextLike, unpack: Unpack): Promise<DatasetSummary>;
  /** Closes the kept preview's files (another preview, a released grant, closing). */
  discardPreview(): void;
  close(): Promise<void>;
}

export interface ImportSessionOptions {
  /** The connection imports are read and written through. */
  store: Store;
  structures(onProgress?: StructureProgress): Promise<StructureSource>;
}

export class ImportSession implements ImportRunner {
  readonly #store: Store;
  readonly #structures: ImportSessionOptions['structures'];
  #lastPreview: { key: string; prepared: PreparedImport } | null = null;

  constructor(options: ImportSessionOptions) {
    this.#store = options.store;
    this.#structures = options.structures;
  }

  /** Preparing a 470k-signature file twice doubled peak memory and cost seconds: the result is kept for the import. */
  async preview(key: string, resolved: ResolvedImport, unpack: Unpack): Promise<ImportPreview> {
    this.discardPreview();
    const prepared = await prepareImport(resolved, await this.#structures(), { unpackGzip: unpack, library: this.#store.compounds });
    this.#lastPreview = { key, prepared };
    return prepared.preview;
  }

  async importDataset({ key, resolved, journalEntry }: ImportJob, context: JobContextLike, unpack: Unpack): Promise<DatasetSummary> {
    const store = this.#store;
    const structures = async () => {
      const source = await this.#structures((done, total) =>
        context.progress(null, `Drug structures: ${done} of ${total} described${source.engineLabel ? ` (${source.engineLabel})` : ''}`),
      );
      return source;
    };
    const prepared =
      this.#takePreview(key) ?? (await prepareImport(resolved, await structures(), { unpackGzip: unpack, library: store.compounds }));
    context.progress(0, `${prepared.preview.samples} samples, ${prepared.preview.environments} environments: storing`);
    // The journal is marked completed in the dataset's own transaction: a kill can never leave a
    // stored dataset whose import the journal calls interrupted, or the reverse.
    const summary = await runImport(store, prepared, context, (datasetId) =>
      store.imports.finish(journalEntry, 'completed', datasetId, null),
    );
    // The compound table given with the import now serves later imports without one.
    if (prepared.compounds) store.compounds.upsert(prepared.compounds.values(), resolved.fileLabels?.pertInfo ?? prepared.compounds.source);
    return summary;
  }

  discardPreview(): void {
    this.#lastPreview?.prepared.close();
    this.#lastPreview = null;
  }

  async close(): Promise<void> {
    this.discardPreview();
  }

  #takePreview(key: string): PreparedImport | null {
    const last = this.#lastPreview;
    if (!last || last.key !== key) return null;
    this.#lastPreview = null;
    return last.prepared;
  }
}
