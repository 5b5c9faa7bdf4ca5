// LabService: the one place that knows all the parts (store, data and chemistry, jobs, training,
// analysis, studies) and offers them as the LabApi. Plain Node: no Electron, no HTTP.

import { platform } from 'node:os';
import type { AppInfo, CreateSyntheticParams, DatasetSummary, MetricSeries } from '../api/domain.js';
import type { ImportPreview, ImportRequest } from '../api/imports.js';
import type { LabHandlers } from '../api/methods.js';
import type { LabEvent } from '../api/protocol.js';
import type { StudyId, StudyOptions } from '../api/studies.js';
import { Chemistry } from '../chem/chemistry.js';
import { type PreparedImport, prepareImport, runImport } from '../data/import/index.js';
import { CachedStructures } from '../data/import/structures.js';
import { importSyntheticPreset } from '../data/synthetic-import.js';
import type { BackendName } from '../ml/backend.js';
import type { ImportRecord } from '../store/imports.js';
import { Store } from '../store/store.js';
import { AnalysisService } from './analysis.js';
import { JobRunner } from './jobs.js';
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
}

export class LabService {
  readonly store: Store;
  readonly #carrier: Carrier;
  readonly #listeners = new Set<(event: LabEvent) => void>();
  readonly jobs: JobRunner;
  readonly training: TrainingManager;
  readonly analysis: AnalysisService;
  readonly #nativeBinding: string | undefined;
  /** Imports found interrupted when this process started (each reported once, by this process). */
  readonly interruptedImports: ImportRecord[];
  #chemistry: Promise<Chemistry> | null = null;
  #lastPreview: { key: string; prepared: PreparedImport } | null = null;

  constructor(options: LabServiceOptions) {
    this.store = options.store;
    this.#carrier = options.carrier;
    this.jobs = new JobRunner((event) => this.#emit(event));
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
    this.#nativeBinding = options.nativeBinding;
    this.interruptedImports = this.store.imports.markInterrupted();
    // Whatever was training when the last process died is interrupted, not running.
    this.store.runs.markInterrupted();
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

  /** RDKit loads once, on the first import that needs structures. */
  chemistry(): Promise<Chemistry> {
    this.#chemistry ??= Chemistry.load();
    return this.#chemistry;
  }

  /**
   * The preview's prepared import is kept until the import starts (or another preview replaces
   * it): preparing a 470k-signature file twice doubled peak memory and cost seconds.
   */
  async previewImport(request: ImportRequest): Promise<ImportPreview> {
    this.#discardPreview();
    const prepared = await prepareImport(request, new CachedStructures(await this.chemistry(), this.store.molecules));
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
    this.#lastPreview = null;
  }

  /**
   * Imports on a connection of its own, so nothing of the dataset is visible to the app (or
   * written by anything else) before its single commit.
   */
  startImport(request: ImportRequest): { jobId: string; kind: 'import' } {
    const { jobId } = this.jobs.start('import', async (context) => {
      const entry = this.store.imports.begin(request.matrixPath);
      const connection =
        this.store.path === ':memory:'
          ? this.store
          : Store.open(this.store.path, this.#nativeBinding ? { nativeBinding: this.#nativeBinding } : {});
      try {
        context.progress(null, `Reading ${request.matrixPath}`);
        const prepared =
          this.#takePreview(request) ?? (await prepareImport(request, new CachedStructures(await this.chemistry(), this.store.molecules)));
        context.progress(0, `${prepared.preview.samples} samples, ${prepared.preview.environments} environments: storing`);
        // The journal is marked completed in the dataset's own transaction: a kill can never
        // leave a stored dataset whose import the journal calls interrupted, or the reverse.
        const summary = await runImport(connection, prepared, context, (datasetId) =>
          connection.imports.finish(entry, 'completed', datasetId, null),
        );
        this.#datasetsChanged();
        return summary;
      } catch (error) {
        const cancelled = context.signal.aborted;
        this.store.imports.finish(entry, cancelled ? 'cancelled' : 'failed', null, error instanceof Error ? error.message : String(error));
        throw error;
      } finally {
        if (connection !== this.store) connection.close();
      }
    });
    return { jobId, kind: 'import' };
  }

  startStudy(id: StudyId, options: StudyOptions): { jobId: string; kind: 'study' } {
    const { jobId } = this.jobs.start('study', (context) => runStudy(this, id, options, context));
    return { jobId, kind: 'study' };
  }

  handlers(): LabHandlers {
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
        return { deleted: true as const };
      },
      'datasets.createSynthetic': (params) => this.createSynthetic(params),
      'environments.list': ({ datasetId }) => this.store.datasets.environments(datasetId),
      'environments.representations': ({ datasetId }) => this.store.datasets.representations(datasetId),
      'runs.list': ({ datasetId }) => this.store.runs.list(datasetId),
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
            : this.store.datasets.sampleColumn(datasetId, column),
      }),
      'analysis.projection': ({ runId, method, maxPoints }, { signal }) => this.analysis.projection(runId, method, maxPoints, { signal }),
      'analysis.priorShift': ({ runId }, { signal }) => this.analysis.priorShift(runId, { signal }),
      'analysis.topGenes': ({ runId, latent, count }, { signal }) => this.analysis.topGenes(runId, latent, count, { signal }),
      'imports.preview': ({ request }) => this.previewImport(request),
      'imports.start': ({ request }) => this.startImport(request),
      'imports.list': () => this.store.imports.list(),
      'imports.interrupted': () => this.interruptedImports,
      'studies.start': ({ id, options }) => this.startStudy(id, options),
      'studies.list': () => this.store.artifacts.list('study'),
      'studies.get': ({ artifactId }) => JSON.parse(this.store.artifacts.content(artifactId).toString('utf8')),
      'evaluation.unseen': ({ runId }, { signal }) => this.analysis.unseen(runId, { signal }),
      'predict.drug': async ({ runId, smiles, cellLine }, { signal }) =>
        this.analysis.predictDrug(runId, smiles, cellLine ?? null, await this.chemistry(), { signal }),
      'jobs.cancel': ({ jobId }) => ({ cancelled: this.jobs.cancel(jobId) }),
    };
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
    await this.analysis.dispose();
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
