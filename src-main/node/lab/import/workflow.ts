// The import workflow the LabApi offers: files named by grants, a preview kept for the import
// that follows it, the import as a job in the import worker thread on its own database connection
// (import-thread.ts; in this thread only for an in-memory database), the unpack cache of .gz
// files, and the lab-wide compound library.
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LabError } from '../../../shared/api/errors.js';
import {
  type AttachSamplesRequest,
  type AttachSamplesResult,
  type CompoundImportResult,
  type ImportPreview,
  ImportRequest,
  ResolvedImport,
  type ResolvedImportInput,
} from '../../../shared/api/imports.js';
import { FormatError } from '../../data/formats/index.js';
import type { JobContextLike } from '../../data/progress.js';
import type { ImportRecord } from '../../store/imports.js';
import type { Store } from '../../store/store.js';
import type { LabChemistry } from '../chemistry.js';
import type { FileGrants } from '../files/grants.js';
import type { JobRunner } from '../jobs.js';
import { readCompoundTable } from './compound-table.js';
import { ImportThread } from './import-thread.js';
import { type ImportRunner, ImportSession, type SyntheticJob } from './session.js';
import { UnpackCache } from './unpack-cache.js';

/** The roles of an import's files, in the order of ImportRequest.files. */
const IMPORT_FILES = [
  ['matrix', 'matrixPath'],
  ['sigInfo', 'sigInfoPath'],
  ['pertInfo', 'pertInfoPath'],
  ['geneInfo', 'geneInfoPath'],
  ['sampleMetadata', 'sampleMetadataPath'],
] as const;

interface ResolvedRequest {
  resolved: ResolvedImport;
  /** What the import journal calls it: a path, or the name of an uploaded file. */
  label: string;
  grantIds: string[];
}

export interface ImportWorkflowOptions {
  store: Store;
  jobs: JobRunner;
  files: FileGrants;
  chemistry: LabChemistry;
  /** better_sqlite3.node for another ABI, for the import's own connection. */
  nativeBinding?: string;
  datasetsChanged: () => void;
  describeFailure: (error: unknown) => LabError | null;
}

export class ImportWorkflow {
  readonly #store: Store;
  readonly #jobs: JobRunner;
  readonly #files: FileGrants;
  readonly #chemistry: LabChemistry;
  readonly #options: ImportWorkflowOptions;
  /** Imports found interrupted when this process started (each reported once, by this process). */
  readonly interrupted: ImportRecord[];
  /** Unpacked copies of .gctx.gz/.h5ad.gz files, next to the database. */
  readonly unpacked: UnpackCache;
  /** Where previews and imports are prepared and stored. */
  readonly #runner: ImportRunner;
  /** The request the runner keeps a prepared preview of, and the unpacked copies that preview holds. */
  #previewed: { key: string; unpacked: string[] } | null = null;

  constructor(options: ImportWorkflowOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#jobs = options.jobs;
    this.#files = options.files;
    this.#chemistry = options.chemistry;
    // A worker cannot open an in-memory database: there, imports run on this thread as before.
    this.#runner =
      this.#store.path === ':memory:'
        ? new ImportSession({ store: this.#store, structures: (onProgress) => this.#chemistry.structures(onProgress) })
        : new ImportThread({
            databasePath: this.#store.path,
            ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
          });
    this.interrupted = this.#store.imports.markInterrupted();
    this.unpacked = new UnpackCache(
      this.#store.path === ':memory:' ? join(tmpdir(), `cellshift-unpacked-${process.pid}`) : join(dirname(this.#store.path), 'unpacked'),
    );
    // Unpacks killed mid-way, and copies whose datasets are gone.
    void this.pruneUnpacked();
  }

  /**
   * The files behind an import's grants. Each grant is checked again; a path is never taken from
   * the request itself (ImportRequest has no path fields).
   */
  async resolve(request: ImportRequest): Promise<ResolvedRequest> {
    const { files, ...settings } = request;
    const paths: Partial<Record<(typeof IMPORT_FILES)[number][1], string>> = {};
    const grantIds: string[] = [];
    const fileLabels: Partial<Record<(typeof IMPORT_FILES)[number][0], string>> = {};
    for (const [role, key] of IMPORT_FILES) {
      const grantId = files[role];
      if (grantId === undefined) continue;
      const file = await this.#files.resolve(grantId);
      paths[key] = file.path;
      grantIds.push(grantId);
      if (file.source === 'upload') fileLabels[role] = `${file.name} (uploaded)`;
    }
    const resolved = ResolvedImport.parse({ ...settings, ...paths, ...(Object.keys(fileLabels).length > 0 ? { fileLabels } : {}) });
    return { resolved, label: fileLabels.matrix ?? resolved.matrixPath, grantIds };
  }

  /**
   * For in-process callers whose paths the user gave directly (the command line, scripts, tests):
   * each path becomes a grant, so the import goes the same way as the app's.
   */
  async requestFromPaths(input: ResolvedImportInput): Promise<ImportRequest> {
    const { matrixPath, sigInfoPath, pertInfoPath, geneInfoPath, sampleMetadataPath, fileLabels: _labels, ...settings } = input;
    const given = [
      ['matrix', matrixPath, 'matrix'],
      ['sigInfo', sigInfoPath, 'sig_info'],
      ['pertInfo', pertInfoPath, 'pert_info'],
      ['geneInfo', geneInfoPath, 'gene_info'],
      ['sampleMetadata', sampleMetadataPath, 'sample_metadata'],
    ] as const;
    const files: Record<string, string> = {};
    for (const [field, path, role] of given) {
      if (path !== undefined) files[field] = (await this.#files.trust(path, 'cli', role)).grantId;
    }
    return ImportRequest.parse({ ...settings, files });
  }

  /**
   * The preview's prepared import is kept (by the runner) until the import starts or another
   * preview replaces it: preparing a 470k-signature file twice doubled peak memory and cost seconds.
   */
  async preview(request: ImportRequest): Promise<ImportPreview> {
    this.#discardPreview();
    const { resolved } = await this.resolve(request);
    const key = JSON.stringify(request);
    const unpacked: string[] = [];
    try {
      const preview = await this.#runner.preview(key, resolved, async (path) => {
        // Unpacking a 20 GB .gctx.gz takes minutes: it runs as a job, with progress and cancel.
        const copy = await this.#jobs.start('import', (context) => this.#unpack(path, context)).done;
        unpacked.push(copy);
        return copy;
      });
      this.#previewed = { key, unpacked };
      return preview;
    } catch (error) {
      for (const path of unpacked) this.unpacked.release(path);
      throw error;
    }
  }

  /** The unpacked copies held by the kept preview of this request, which its import now takes over. */
  #takePreview(key: string): string[] {
    const previewed = this.#previewed;
    if (!previewed || previewed.key !== key) return [];
    this.#previewed = null;
    return previewed.unpacked;
  }

  #discardPreview(): void {
    this.#runner.discardPreview();
    for (const path of this.#previewed?.unpacked ?? []) this.unpacked.release(path);
    this.#previewed = null;
  }

  /**
   * Imports on a connection of its own, so nothing of the dataset is visible to the app (or
   * written by anything else) before its single commit. The grants are checked before the job
   * starts, so a bad one is refused at once; uploaded files are deleted once their import landed.
   */
  async start(request: ImportRequest): Promise<{ jobId: string; kind: 'import' }> {
    const { resolved, label, grantIds } = await this.resolve(request);
    const key = JSON.stringify(request);
    const store = this.#store;
    const { jobId } = this.#jobs.start('import', async (context) => {
      const entry = store.imports.begin(label);
      const held = this.#takePreview(key);
      try {
        context.progress(null, `Reading ${label}`);
        const summary = await this.#runner.importDataset({ key, resolved, journalEntry: entry }, context, async (path) => {
          const copy = await this.#unpack(path, context);
          held.push(copy);
          return copy;
        });
        this.#options.datasetsChanged();
        await this.#releaseUploads(grantIds);
        return summary;
      } catch (error) {
        throw this.#journalFailure(entry, error, context.signal.aborted);
      } finally {
        // Its dataset (if stored) now keeps an unpacked copy from being pruned.
        for (const path of held) this.unpacked.release(path);
      }
    });
    return { jobId, kind: 'import' };
  }

  /**
   * A sample table joined to a stored dataset, as a job: a new dataset on the import worker's
   * connection (one commit), the original untouched. The dataset and grant are checked before the job starts.
   */
  async attachSamples(request: AttachSamplesRequest): Promise<{ jobId: string; kind: 'import' }> {
    const file = await this.#files.resolve(request.table);
    const original = this.#store.datasets.get(request.datasetId);
    const label = file.source === 'upload' ? `${file.name} (uploaded)` : file.path;
    const { jobId } = this.#jobs.start('import', async (context): Promise<AttachSamplesResult> => {
      const entry = this.#store.imports.begin(`${label} → ${original.name}`);
      try {
        const attached = await this.#runner.attachSamples(
          {
            datasetId: request.datasetId,
            path: file.path,
            tableLabel: file.source === 'upload' ? file.name : basename(file.path),
            dropUnmatched: request.dropUnmatched,
            journalEntry: entry,
          },
          context,
        );
        this.#options.datasetsChanged();
        await this.#releaseUploads([request.table]);
        return { ...attached, from: request.datasetId };
      } catch (error) {
        throw this.#journalFailure(entry, error, context.signal.aborted);
      }
    });
    return { jobId, kind: 'import' };
  }

  /** A generated dataset, as a job in the import worker (generating 100k samples took the serving thread for seconds). */
  createSynthetic(job: SyntheticJob): { jobId: string; kind: 'synthetic' } {
    const { jobId } = this.#jobs.start('synthetic', async (context) => {
      const summary = await this.#runner.createSynthetic(job, context);
      this.#options.datasetsChanged();
      return summary;
    });
    return { jobId, kind: 'synthetic' };
  }

  /** The failed or cancelled import recorded in the journal; the error to rethrow (described when it can be). */
  #journalFailure(entry: string, error: unknown, cancelled: boolean): unknown {
    const described = this.#options.describeFailure(error) ?? error;
    try {
      this.#store.imports.finish(
        entry,
        cancelled ? 'cancelled' : 'failed',
        null,
        described instanceof Error ? described.message : String(described),
      );
    } catch (journalError) {
      // The journal could not be updated either (the disk is still full): the entry stays
      // "running" until this process ends, then reads as interrupted. The import's own error matters more.
      console.error('Could not record the failed import in the journal:', journalError);
    }
    return described;
  }

  async #unpack(path: string, context: JobContextLike): Promise<string> {
    const { path: unpacked, reused } = await this.unpacked.unpack(path, context);
    if (reused) context.progress(1, `Using the copy unpacked earlier: ${unpacked}`);
    return unpacked;
  }

  /** Removes unpacked copies no dataset refers to any more (and unpacks that were killed). */
  async pruneUnpacked(): Promise<string[]> {
    try {
      return await this.unpacked.prune(this.#store.datasets.unpackedCopies());
    } catch (error) {
      console.error('Could not clean the unpack cache:', error);
      return [];
    }
  }

  /**
   * Adds a pert_info / compoundinfo table (or a headerless "pert_id, SMILES" list) to the lab's
   * compound library without importing a dataset.
   */
  async addCompounds(path: string, label = basename(path)): Promise<CompoundImportResult> {
    const table = await readCompoundTable(path).catch((error: unknown) => {
      throw error instanceof FormatError ? new LabError('bad_input', error.message, { code: error.code, file: error.file }) : error;
    });
    if (table.size === 0) throw new LabError('bad_input', `${label}: the table has no compounds (no row with a pert_id).`);
    const values = [...table.values()];
    const { added, updated } = this.#store.compounds.upsert(values, label);
    return {
      source: label,
      compounds: values.length,
      withStructure: values.filter((c) => c.smiles !== null).length,
      withTargets: values.filter((c) => c.targets.length > 0).length,
      added,
      updated,
      libraryTotal: this.#store.compounds.count(),
    };
  }

  /** A compound table chosen in the UI; an uploaded copy is released once read, whatever the outcome. */
  async addCompoundsFromGrant(grantId: string): Promise<CompoundImportResult> {
    const file = await this.#files.resolve(grantId);
    try {
      return await this.addCompounds(file.path, file.name);
    } finally {
      await this.#releaseUploads([grantId]);
    }
  }

  /** An uploaded copy has served its purpose once its dataset is stored. */
  async #releaseUploads(grantIds: string[]): Promise<void> {
    for (const grantId of grantIds) {
      if (this.#files.info(grantId)?.source === 'upload') await this.#files.release(grantId);
    }
  }

  async releaseFile(grantId: string): Promise<boolean> {
    // A kept preview may still hold the file open.
    if (this.#previewed?.key.includes(grantId)) this.#discardPreview();
    return this.#files.release(grantId);
  }

  async close(): Promise<void> {
    this.#discardPreview();
    await this.#runner.close();
  }
}
