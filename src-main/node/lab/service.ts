// LabService: the one place that knows all the parts (store, data and chemistry, jobs, training,
// analysis, studies) and offers them as the LabApi. Plain Node: no Electron, no HTTP.

import { platform, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { AppInfo, CreateSyntheticParams, DatasetSummary, EnvironmentStructure, MetricSeries } from '../../shared/api/domain.js';
import { LabError } from '../../shared/api/errors.js';
import {
  type CompoundImportResult,
  type ImportPreview,
  ImportRequest,
  ResolvedImport,
  type ResolvedImportInput,
} from '../../shared/api/imports.js';
import type { CallContext, LabHandlers } from '../../shared/api/methods.js';
import type { SweepParams } from '../../shared/api/plans.js';
import type { LabEvent } from '../../shared/api/protocol.js';
import type { StudyId, StudyOptions } from '../../shared/api/studies.js';
import { Chemistry } from '../chem/chemistry.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../chem/pool.js';
import { FormatError } from '../data/formats/index.js';
import type { JobContextLike } from '../data/progress.js';
import type { BackendName } from '../ml/backend.js';
import { previewSplit } from '../ml/training-data.js';
import { databaseFailure } from '../store/errors.js';
import type { ImportRecord } from '../store/imports.js';
import { Store } from '../store/store.js';
import { startWorker } from '../threads/start-worker.js';
import { AnalysisService } from './analysis.js';
import { FileGrants } from './files/grants.js';
import { importGeneSets } from './gene-sets.js';
import { readCompoundTable } from './import/compound-table.js';
import { type PreparedImport, prepareImport, runImport } from './import/index.js';
import { CachedStructures } from './import/structures.js';
import { importSyntheticPreset } from './import/synthetic.js';
import { UnpackCache } from './import/unpack-cache.js';
import { JobRunner } from './jobs.js';
import { screenStructures } from './mechanism.js';
import { collectBundle } from './plans/collect.js';
import { bundleStatus, resubmitFailed } from './plans/slurm.js';
import { checkSweep, executeSweep } from './plans/sweep.js';
import { runStudy } from './studies.js';
import { TrainingManager } from './training.js';
import { appVersion } from './version.js';

export type Carrier = AppInfo['carrier'];

const DEMO_SEEDED_KEY = 'demo_dataset_seeded';

export interface LabServiceOptions {
  store: Store;
  carrier: Carrier;
  /** better_sqlite3.node for another ABI, handed to training workers too. */
  nativeBinding?: string;
  /** Force a compute backend for training (default: the fastest that works). */
  preferBackend?: BackendName;
  /** Which files this lab may open: grants, allowed folders, the upload inbox (default: grants only). */
  files?: FileGrants;
}

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

export class LabService {
  readonly store: Store;
  readonly #carrier: Carrier;
  readonly #listeners = new Set<(event: LabEvent) => void>();
  readonly jobs: JobRunner;
  readonly training: TrainingManager;
  readonly analysis: AnalysisService;
  readonly files: FileGrants;
  readonly #nativeBinding: string | undefined;
  /** Imports found interrupted when this process started (each reported once, by this process). */
  readonly interruptedImports: ImportRecord[];
  /** Unpacked copies of .gctx.gz/.h5ad.gz files, next to the database. */
  readonly unpacked: UnpackCache;
  #chemistry: Promise<Chemistry> | null = null;
  /** RDKit workers (one per core) for the structures of large imports; started on first use. */
  readonly #chemistryPool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}));
  #lastPreview: { key: string; prepared: PreparedImport } | null = null;

  constructor(options: LabServiceOptions) {
    this.store = options.store;
    this.#carrier = options.carrier;
    this.jobs = new JobRunner(
      (event) => this.#emit(event),
      (error) => this.describeFailure(error),
    );
    this.training = new TrainingManager({
      store: options.store,
      emit: (event) => this.#emit(event),
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.preferBackend ? { preferBackend: options.preferBackend } : {}),
    });
    this.analysis = new AnalysisService({
      store: options.store,
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.preferBackend ? { preferBackend: options.preferBackend } : {}),
    });
    this.files = options.files ?? new FileGrants();
    this.#nativeBinding = options.nativeBinding;
    this.interruptedImports = this.store.imports.markInterrupted();
    this.unpacked = new UnpackCache(
      this.store.path === ':memory:' ? join(tmpdir(), `cellshift-unpacked-${process.pid}`) : join(dirname(this.store.path), 'unpacked'),
    );
    // Unpacks killed mid-way, and copies whose datasets are gone.
    void this.pruneUnpacked();
    // Whatever was training when the last process died is interrupted, not running.
    this.store.runs.markInterrupted();
  }

  /** A full disk, a read-only or busy database, in words naming the database and what to do; else null. */
  describeFailure(error: unknown): LabError | null {
    return databaseFailure(error, this.store.path, { db: this.store.db });
  }

  onEvent(listener: (event: LabEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * On the very first start the lab gets a demo dataset from the synthetic generator, so every
   * screen has something real to show. Deleting it later is respected: it is not recreated.
   */
  async ensureDemoDataset(): Promise<DatasetSummary | null> {
    if (this.store.getSetting(DEMO_SEEDED_KEY) !== undefined) return null;
    const summary = importSyntheticPreset(this.store, { preset: 'demo', seed: 0, name: 'Demo: synthetic sparse drug effects' });
    this.store.setSetting(DEMO_SEEDED_KEY, summary.id);
    this.#datasetsChanged();
    return summary;
  }

  appInfo(): AppInfo {
    return {
      name: 'CellShift',
      version: appVersion,
      carrier: this.#carrier,
      databasePath: this.store.path,
      schemaVersion: this.store.schemaVersion,
      platform: `${platform()}-${process.arch}`,
    };
  }

  createSynthetic(params: CreateSyntheticParams & { seed: number }): { jobId: string; kind: 'synthetic' } {
    const { jobId } = this.jobs.start('synthetic', async (context) => {
      context.progress(0, `Generating ${params.preset} data (seed ${params.seed})`);
      const summary = importSyntheticPreset(
        this.store,
        { preset: params.preset, seed: params.seed, ...(params.name ? { name: params.name } : {}) },
        context,
      );
      context.progress(1, `Stored ${summary.nSamples} samples × ${summary.nGenes} genes`);
      this.#datasetsChanged();
      return summary;
    });
    return { jobId, kind: 'synthetic' };
  }

  /** Imports cache fingerprints without drawings; the depiction is drawn (and cached) when first asked for. */
  async environmentStructure(datasetId: string, environmentId: string): Promise<EnvironmentStructure> {
    const structure = this.store.datasets.environmentStructure(datasetId, environmentId);
    if (structure.svg !== null || structure.canonicalSmiles === null || structure.smiles === null) return structure;
    const described = (await this.chemistry()).describe(structure.smiles);
    if (!described.ok || described.svg === null) return structure;
    this.store.molecules.setDepiction(structure.smiles, described.svg);
    return { ...structure, svg: described.svg };
  }

  /** RDKit loads once, on the first import that needs structures. */
  chemistry(): Promise<Chemistry> {
    this.#chemistry ??= Chemistry.load();
    return this.#chemistry;
  }

  /** The import's structure source: the molecule cache, then the pool for what is not cached. */
  async #structures(onProgress?: (done: number, total: number) => void): Promise<CachedStructures> {
    return new CachedStructures(await this.chemistry(), this.store.molecules, {
      pool: this.#chemistryPool,
      ...(onProgress ? { onProgress } : {}),
    });
  }

  /**
   * The files behind an import's grants. Each grant is checked again; a path is never taken from
   * the request itself (ImportRequest has no path fields).
   */
  async resolveImport(request: ImportRequest): Promise<ResolvedRequest> {
    const { files, ...settings } = request;
    const paths: Partial<Record<(typeof IMPORT_FILES)[number][1], string>> = {};
    const grantIds: string[] = [];
    const fileLabels: Partial<Record<(typeof IMPORT_FILES)[number][0], string>> = {};
    for (const [role, key] of IMPORT_FILES) {
      const grantId = files[role];
      if (grantId === undefined) continue;
      const file = await this.files.resolve(grantId);
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
  async importRequestFromPaths(input: ResolvedImportInput): Promise<ImportRequest> {
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
      if (path !== undefined) files[field] = (await this.files.trust(path, 'cli', role)).grantId;
    }
    return ImportRequest.parse({ ...settings, files });
  }

  /**
   * The preview's prepared import is kept until the import starts (or another preview replaces
   * it): preparing a 470k-signature file twice doubled peak memory and cost seconds.
   */
  async previewImport(request: ImportRequest): Promise<ImportPreview> {
    this.#discardPreview();
    const { resolved } = await this.resolveImport(request);
    // Unpacking a 20 GB .gctx.gz takes minutes: it runs as a job, with progress and cancel.
    const prepared = await prepareImport(resolved, await this.#structures(), {
      unpackGzip: (path) => this.jobs.start('import', (context) => this.#unpack(path, context)).done,
      library: this.store.compounds,
    });
    this.#lastPreview = { key: JSON.stringify(request), prepared };
    return prepared.preview;
  }

  #takePreview(request: ImportRequest): PreparedImport | null {
    const last = this.#lastPreview;
    if (!last || last.key !== JSON.stringify(request)) return null;
    this.#lastPreview = null;
    return last.prepared;
  }

  #discardPreview(): void {
    this.#lastPreview?.prepared.close();
    if (this.#lastPreview) this.unpacked.release(this.#lastPreview.prepared.plan.source.path);
    this.#lastPreview = null;
  }

  /**
   * Imports on a connection of its own, so nothing of the dataset is visible to the app (or
   * written by anything else) before its single commit. The grants are checked before the job
   * starts, so a bad one is refused at once; uploaded files are deleted once their import landed.
   */
  async startImport(request: ImportRequest): Promise<{ jobId: string; kind: 'import' }> {
    const { resolved, label, grantIds } = await this.resolveImport(request);
    const { jobId } = this.jobs.start('import', async (context) => {
      const entry = this.store.imports.begin(label);
      const connection =
        this.store.path === ':memory:'
          ? this.store
          : Store.open(this.store.path, this.#nativeBinding ? { nativeBinding: this.#nativeBinding } : {});
      let prepared: PreparedImport | undefined;
      try {
        context.progress(null, `Reading ${label}`);
        prepared =
          this.#takePreview(request) ??
          (await prepareImport(
            resolved,
            await this.#structures((done, total) => context.progress(null, `Drug structures: ${done} of ${total} described`)),
            { unpackGzip: (path) => this.#unpack(path, context), library: this.store.compounds },
          ));
        context.progress(0, `${prepared.preview.samples} samples, ${prepared.preview.environments} environments: storing`);
        // The journal is marked completed in the dataset's own transaction: a kill can never
        // leave a stored dataset whose import the journal calls interrupted, or the reverse.
        const summary = await runImport(connection, prepared, context, (datasetId) =>
          connection.imports.finish(entry, 'completed', datasetId, null),
        );
        this.#datasetsChanged();
        // The compound table given with the import now serves later imports without one.
        if (prepared.compounds)
          this.store.compounds.upsert(prepared.compounds.values(), resolved.fileLabels?.pertInfo ?? prepared.compounds.source);
        await this.#releaseUploads(grantIds);
        return summary;
      } catch (error) {
        const cancelled = context.signal.aborted;
        const described = this.describeFailure(error) ?? error;
        try {
          this.store.imports.finish(
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
        throw described;
      } finally {
        if (connection !== this.store) connection.close();
        // Its dataset (if stored) now keeps an unpacked copy from being pruned.
        if (prepared) this.unpacked.release(prepared.plan.source.path);
      }
    });
    return { jobId, kind: 'import' };
  }

  async #unpack(path: string, context: JobContextLike): Promise<string> {
    const { path: unpacked, reused } = await this.unpacked.unpack(path, context);
    if (reused) context.progress(1, `Using the copy unpacked earlier: ${unpacked}`);
    return unpacked;
  }

  /** Removes unpacked copies no dataset refers to any more (and unpacks that were killed). */
  async pruneUnpacked(): Promise<string[]> {
    try {
      return await this.unpacked.prune(this.store.datasets.unpackedCopies());
    } catch (error) {
      console.error('Could not clean the unpack cache:', error);
      return [];
    }
  }

  /**
   * Adds a pert_info / compoundinfo table (or a headerless "pert_id, SMILES" list) to the lab's
   * compound library without importing a dataset.
   */
  async importCompounds(path: string, label = basename(path)): Promise<CompoundImportResult> {
    const table = await readCompoundTable(path).catch((error: unknown) => {
      throw error instanceof FormatError ? new LabError('bad_input', error.message, { code: error.code, file: error.file }) : error;
    });
    if (table.size === 0) throw new LabError('bad_input', `${label}: the table has no compounds (no row with a pert_id).`);
    const values = [...table.values()];
    const { added, updated } = this.store.compounds.upsert(values, label);
    return {
      source: label,
      compounds: values.length,
      withStructure: values.filter((c) => c.smiles !== null).length,
      withTargets: values.filter((c) => c.targets.length > 0).length,
      added,
      updated,
      libraryTotal: this.store.compounds.count(),
    };
  }

  /** An uploaded copy has served its purpose once its dataset is stored. */
  async #releaseUploads(grantIds: string[]): Promise<void> {
    for (const grantId of grantIds) {
      if (this.files.info(grantId)?.source === 'upload') await this.files.release(grantId);
    }
  }

  async releaseFile(grantId: string): Promise<boolean> {
    // A cached preview may still hold the file open.
    if (this.#lastPreview?.key.includes(grantId)) this.#discardPreview();
    return this.files.release(grantId);
  }

  startStudy(id: StudyId, options: StudyOptions): { jobId: string; kind: 'study' } {
    const { jobId } = this.jobs.start('study', (context) => runStudy(this, id, options, context));
    return { jobId, kind: 'study' };
  }

  /** A sweep as a job; the grid and every point are checked first, so a bad value stores nothing. */
  async startSweep(params: SweepParams): Promise<{ jobId: string; kind: 'sweep' }> {
    checkSweep(this, params);
    const executor = params.executor;
    let folder: string | null = null;
    if (executor.kind === 'slurm') {
      const { real } = await this.files.folders.resolve(executor.folderId, '', 'directory');
      folder = join(real, executor.bundleName);
    }
    const { jobId } = this.jobs.start('sweep', (context) => executeSweep(this, params, async () => folder as string, context));
    return { jobId, kind: 'sweep' };
  }

  handlers(): LabHandlers {
    return withDescribedFailures(this.#handlers(), (error) => this.describeFailure(error));
  }

  #handlers(): LabHandlers {
    return {
      'app.info': () => this.appInfo(),
      'datasets.list': () => this.store.datasets.list(),
      'datasets.get': ({ id }) => this.store.datasets.get(id),
      'datasets.rename': ({ id, name }) => {
        const renamed = this.store.datasets.rename(id, name);
        this.#datasetsChanged();
        return renamed;
      },
      'datasets.delete': ({ id }) => {
        this.store.datasets.delete(id);
        this.#datasetsChanged();
        void this.pruneUnpacked();
        return { deleted: true as const };
      },
      'datasets.createSynthetic': (params) => this.createSynthetic(params),
      'environments.list': ({ datasetId }) => this.store.datasets.environments(datasetId),
      'environments.representations': ({ datasetId }) => this.store.datasets.representations(datasetId),
      'environments.structure': ({ datasetId, environmentId }) => this.environmentStructure(datasetId, environmentId),
      'splits.preview': ({ datasetId, split }) =>
        previewSplit(this.store.datasets.environmentView(datasetId), split, (column) =>
          this.store.datasets.sampleColumn(datasetId, column),
        ),
      'runs.list': ({ datasetId }) => this.training.list(datasetId),
      'runs.start': ({ datasetId, name, config }) => this.training.start(datasetId, config, name),
      'runs.get': ({ id }) => this.training.detail(id),
      'runs.metrics': ({ id }) => this.runMetrics(id),
      'runs.control': ({ id, action }) => this.training.control(id, action),
      'runs.rename': ({ id, name }) => this.store.runs.rename(id, name),
      'runs.delete': ({ id }) => {
        this.training.delete(id);
        return { deleted: true as const };
      },
      'datasets.sampleColumn': ({ datasetId, column }) => ({
        column,
        values:
          column === 'environment key'
            ? this.store.datasets.sampleEnvironmentKeys(datasetId)
            : column === 'sample id'
              ? this.store.datasets.sampleIds(datasetId)
              : this.store.datasets.sampleColumn(datasetId, column),
      }),
      'analysis.projection': ({ runId, method, maxPoints }, { signal }) => this.analysis.projection(runId, method, maxPoints, { signal }),
      'analysis.priorShift': ({ runId }, { signal }) => this.analysis.priorShift(runId, { signal }),
      'analysis.topGenes': ({ runId, latent, count }, { signal }) => this.analysis.topGenes(runId, latent, count, { signal }),
      'analysis.differential': (params, { signal }) => this.analysis.run('differential', params, { signal }),
      'sessions.get': ({ view }) => this.store.sessions.view(view),
      'sessions.save': ({ view, state }) => this.store.sessions.saveView(view, state),
      'selections.list': ({ datasetId }) => this.store.sessions.selections(datasetId),
      'selections.save': (params) => this.store.sessions.saveSelection(params),
      'selections.delete': ({ id }) => {
        this.store.sessions.deleteSelection(id);
        return { deleted: true as const };
      },
      'files.sources': () => this.files.sources(),
      'files.list': ({ folderId, path }) => this.files.listFolder(folderId, path),
      'files.grant': ({ folderId, path }) => this.files.grantInFolder(folderId, path),
      'files.release': async ({ grantId }) => ({ released: await this.releaseFile(grantId) }),
      'imports.preview': ({ request }) => this.previewImport(request),
      'imports.start': ({ request }) => this.startImport(request),
      'imports.list': () => this.store.imports.list(),
      'imports.interrupted': () => this.interruptedImports,
      'studies.start': ({ id, options }) => this.startStudy(id, options),
      'studies.list': () => this.store.artifacts.list('study'),
      'studies.get': ({ artifactId }) => JSON.parse(this.store.artifacts.content(artifactId).toString('utf8')),
      'plans.list': () =>
        this.store.plans.list().map(({ plan: _plan, ...p }) => ({ ...p, collected: this.store.plans.collected(p.id).size })),
      'plans.sweep': (params) => this.startSweep(params),
      'plans.status': ({ planId }) => bundleStatus(this.#bundleOf(planId)),
      'plans.resubmit': ({ planId }) => ({ submission: resubmitFailed(this.#bundleOf(planId)) }),
      'plans.collect': async ({ planId }) => {
        const { report: _report, sweep: _sweep, ...summary } = await collectBundle(this, this.#bundleOf(planId));
        return summary;
      },
      'evaluation.unseen': ({ runId }, { signal }) => this.analysis.unseen(runId, { signal }),
      'predict.drug': async ({ runId, smiles, cellLine }, { signal }) =>
        this.analysis.predictDrug(runId, smiles, cellLine ?? null, await this.chemistry(), { signal }),
      'geneSets.list': () => this.store.geneSets.list(),
      'geneSets.import': (params) => importGeneSets(this.store, params),
      'geneSets.delete': ({ id }) => {
        this.store.geneSets.delete(id);
        return { deleted: true as const };
      },
      'analysis.enrichment': (params, { signal }) => this.analysis.run('enrichment', params, { signal }),
      'mechanism.connectivity': (params, { signal }) => this.analysis.run('connectivity', params, { signal }),
      'mechanism.screen': (params, { signal }) => screenStructures(this, params, signal),
      'mechanism.moaRetrieval': (params, { signal }) => this.analysis.run('moaRetrieval', params, { signal }),
      'mechanism.neighbours': (params, { signal }) => this.analysis.run('drugNeighbours', params, { signal }),
      'jobs.cancel': ({ jobId }) => ({ cancelled: this.jobs.cancel(jobId) }),
    };
  }

  #bundleOf(planId: string): string {
    const plan = this.store.plans.get(planId);
    if (!plan.bundlePath) throw new LabError('conflict', `Plan "${plan.name}" ran here and has no bundle.`);
    return plan.bundlePath;
  }

  /** Every metric of a run as series (split, name), in step order. */
  runMetrics(id: string): MetricSeries[] {
    this.store.runs.get(id);
    const series = new Map<string, MetricSeries>();
    for (const p of this.store.runs.metrics(id)) {
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

  async close(): Promise<void> {
    await this.training.stopAll();
    await this.jobs.stopAll();
    this.#discardPreview();
    await this.files.close();
    await this.analysis.dispose();
    await this.#chemistryPool.close();
    this.#listeners.clear();
  }

  #datasetsChanged(): void {
    this.#emit({ type: 'datasets.changed', datasets: this.store.datasets.list() });
  }

  #emit(event: LabEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error('LabEvent listener failed:', error);
      }
    }
  }
}

/** Every handler, with failures of the machine (disk full, database busy) rethrown as specific LabErrors. */
function withDescribedFailures(handlers: LabHandlers, describe: (error: unknown) => LabError | null): LabHandlers {
  const wrapped: Record<string, (params: never, context: CallContext) => unknown> = {};
  for (const [method, handler] of Object.entries(handlers) as unknown as [string, (params: never, context: CallContext) => unknown][]) {
    wrapped[method] = async (params, context) => {
      try {
        return await handler(params, context);
      } catch (error) {
        throw describe(error) ?? error;
      }
    };
  }
  return wrapped as unknown as LabHandlers;
}
