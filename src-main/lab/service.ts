// LabService: the one place that knows all the parts (store, data, jobs, later ml and
// analysis) and offers them as the LabApi. Plain Node: no Electron, no HTTP.
import { platform } from 'node:os';
import type { AppInfo, CreateSyntheticParams, DatasetSummary } from '../api/domain.js';
import type { LabHandlers } from '../api/methods.js';
import type { LabEvent } from '../api/protocol.js';
import { importSyntheticPreset } from '../data/synthetic-import.js';
import type { Store } from '../store/store.js';
import { JobRunner } from './jobs.js';
import { appVersion } from './version.js';

export type Carrier = AppInfo['carrier'];

const DEMO_SEEDED_KEY = 'demo_dataset_seeded';

export interface LabServiceOptions {
  store: Store;
  carrier: Carrier;
}

export class LabService {
  readonly store: Store;
  readonly #carrier: Carrier;
  readonly #listeners = new Set<(event: LabEvent) => void>();
  readonly jobs: JobRunner;

  constructor(options: LabServiceOptions) {
    this.store = options.store;
    this.#carrier = options.carrier;
    this.jobs = new JobRunner((event) => this.#emit(event));
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
      'jobs.cancel': ({ jobId }) => ({ cancelled: this.jobs.cancel(jobId) }),
    };
  }

  async close(): Promise<void> {
    await this.jobs.stopAll();
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
