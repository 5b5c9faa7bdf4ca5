// Preparing and storing imports on one database connection, wherever that connection lives: in
// the import worker thread (import-worker.ts) for a database file, so reading the tables, building
// keys, describing structures and writing the dataset never stall the serving thread; in the
// serving thread itself only for an in-memory database, which no other thread can open. The
// preview's prepared import is kept for the import that follows it with the same request.
import type { DatasetSummary, SyntheticPreset } from '../../../shared/api/domain.js';
import type { AttachSamplesResult, ImportPreview, ResolvedImport } from '../../../shared/api/imports.js';
import type { JobContextLike } from '../../data/progress.js';
import type { Store } from '../../store/store.js';
import { prepareAttach } from './attach-samples.js';
import { type PreparedImport, prepareImport, runImport } from './index.js';
import type { StructureSource } from './representation.js';
import type { StructureProgress } from './structures.js';
import { importSyntheticPreset } from './synthetic.js';

/** The decompressed copy of a .gctx.gz/.h5ad.gz (the lab's unpack cache, on the serving side). */
export type Unpack = (path: string) => Promise<string>;

export interface ImportJob {
  /** Identifies the request: a preview with the same key is reused instead of prepared again. */
  key: string;
  resolved: ResolvedImport;
  /** The journal entry, marked completed in the dataset's own transaction. */
  journalEntry: string;
}

/** A generated dataset (datasets.createSynthetic). */
export interface SyntheticJob {
  preset: SyntheticPreset;
  seed: number;
  name?: string;
}

/** A sample table joined to a stored dataset (imports.attachSamples): the grant already resolved to a path. */
export interface AttachJob {
  datasetId: string;
  path: string;
  tableLabel: string;
  dropUnmatched: boolean;
  /** The journal entry, marked completed in the new dataset's own transaction. */
  journalEntry: string;
}

/** What the import workflow asks of wherever imports run. */
export interface ImportRunner {
  preview(key: string, resolved: ResolvedImport, unpack: Unpack): Promise<ImportPreview>;
  importDataset(job: ImportJob, context: JobContextLike, unpack: Unpack): Promise<DatasetSummary>;
  createSynthetic(job: SyntheticJob, context: JobContextLike): Promise<DatasetSummary>;
  attachSamples(job: AttachJob, context: JobContextLike): Promise<Omit<AttachSamplesResult, 'from'>>;
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

  async createSynthetic(job: SyntheticJob, context: JobContextLike): Promise<DatasetSummary> {
    context.progress(0, `Generating ${job.preset} data (seed ${job.seed})`);
    const summary = importSyntheticPreset(this.#store, job, context);
    context.progress(1, `Stored ${summary.nSamples} samples × ${summary.nGenes} genes`);
    return summary;
  }

  async attachSamples(job: AttachJob, context: JobContextLike): Promise<Omit<AttachSamplesResult, 'from'>> {
    const store = this.#store;
    context.progress(null, `Reading ${job.tableLabel}`);
    const prepared = await prepareAttach(store, job.datasetId, job.path, await this.#structures(), {
      dropUnmatched: job.dropUnmatched,
      tableLabel: job.tableLabel,
      library: store.compounds,
    });
    context.progress(0, `${prepared.preview.samples} samples, ${prepared.preview.environments} environments: storing`);
    const dataset = await runImport(store, prepared, context, (datasetId) =>
      store.imports.finish(job.journalEntry, 'completed', datasetId, null),
    );
    return { dataset, unmatchedDropped: prepared.unmatched, warnings: prepared.preview.warnings };
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
