// The renderer's view of the lab: what it knows (app info, datasets, running jobs) and the
// app-wide conventions for errors (notices) and long work (jobs with progress and cancel).
// One instance per window, created by App and shared through context.
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import type { AppInfo, DatasetSummary, SyntheticPreset } from '../../../../src-main/shared/api/domain.js';
import { LabError } from '../../../../src-main/shared/api/errors.js';
import type { LabEvent } from '../../../../src-main/shared/api/protocol.js';
import type { ValidationSplit } from '../../../../src-main/shared/api/training.js';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  title: string;
  message: string;
}

export interface JobView {
  jobId: string;
  label: string;
  fraction: number | null;
  message: string;
  status: 'running' | 'finished' | 'failed';
}

export class LabState {
  readonly client: LabClient;
  info = $state<AppInfo | null>(null);
  datasets = $state<DatasetSummary[]>([]);
  datasetsLoaded = $state(false);
  selectedDatasetId = $state<string | null>(null);
  /** The validation split chosen in Environments (where it is previewed) and used by Train. */
  split = $state<ValidationSplit>({ kind: 'random-environments', fraction: 0.2, seed: 0 });
  /** Whether the dataset was chosen in this window (views restoring a saved dataset leave it alone then). */
  datasetChosen = $state(false);
  jobs = $state<JobView[]>([]);
  notices = $state<Notice[]>([]);
  readonly selectedDataset = $derived(this.datasets.find((d) => d.id === this.selectedDatasetId) ?? null);
  #nextNotice = 1;

  constructor(client: LabClient) {
    this.client = client;
  }

  /** Loads the initial state and follows lab events; returns the cleanup. */
  start(): () => void {
    const unsubscribe = this.client.onEvent((event) => this.#onEvent(event));
    void this.attempt('Could not reach the lab', async () => {
      this.info = await this.client.call('app.info', {});
      await this.refreshDatasets();
      // An import the app was killed during rolled back; say so once, so nobody wonders where it went.
      for (const entry of await this.client.call('imports.interrupted', {})) {
        this.inform(`Import of ${entry.source} was interrupted`, entry.message ?? '');
      }
    });
    return unsubscribe;
  }

  async refreshDatasets(): Promise<void> {
    this.#setDatasets(await this.client.call('datasets.list', {}));
  }

  selectDataset(id: string | null): void {
    this.selectedDatasetId = id;
    this.datasetChosen = true;
  }

  /** Runs an action; a failure becomes a notice naming what was being done. */
  async attempt<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      this.report(what, error);
      return undefined;
    }
  }

  /**
   * Loads for an $effect: hands the result to `apply` unless the effect has run again (or its view
   * has gone) since; a failure becomes a notice. Returns the effect's cleanup.
   */
  loadLatest<T>(what: string, load: () => Promise<T>, apply: (value: T) => void): () => void {
    let stale = false;
    void this.attempt(what, async () => {
      const value = await load();
      if (!stale) apply(value);
    });
    return () => {
      stale = true;
    };
  }

  report(title: string, error: unknown): void {
    const message =
      error instanceof LabError ? error.message : error instanceof Error ? error.message : `Unexpected failure: ${String(error)}`;
    this.notices.push({ id: this.#nextNotice++, kind: 'error', title, message });
  }

  inform(title: string, message: string): void {
    this.notices.push({ id: this.#nextNotice++, kind: 'info', title, message });
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  async createSynthetic(preset: SyntheticPreset, seed: number, name?: string): Promise<void> {
    await this.attempt('Could not create the synthetic dataset', async () => {
      const { jobId } = await this.client.call('datasets.createSynthetic', { preset, seed, ...(name ? { name } : {}) });
      this.#trackJob(jobId, `Synthetic dataset: ${preset}, seed ${seed}`);
    });
  }

  async cancelJob(jobId: string): Promise<void> {
    await this.attempt('Could not cancel the job', () => this.client.call('jobs.cancel', { jobId }));
  }

  dismissJob(jobId: string): void {
    this.jobs = this.jobs.filter((j) => j.jobId !== jobId);
  }

  trackJob(jobId: string, label: string): void {
    this.#trackJob(jobId, label);
  }

  /** Events may arrive before the call that started the job returns: whoever comes second names it. */
  #trackJob(jobId: string, label: string | null): void {
    const known = this.jobs.find((j) => j.jobId === jobId);
    if (!known) this.jobs.push({ jobId, label: label ?? 'Background job', fraction: 0, message: 'Starting…', status: 'running' });
    else if (label) known.label = label;
  }

  #setDatasets(datasets: DatasetSummary[]): void {
    this.datasets = datasets;
    this.datasetsLoaded = true;
    if (!datasets.some((d) => d.id === this.selectedDatasetId)) this.selectedDatasetId = datasets[0]?.id ?? null;
  }

  #onEvent(event: LabEvent): void {
    switch (event.type) {
      case 'datasets.changed':
        this.#setDatasets(event.datasets);
        return;
      case 'job.progress': {
        this.#trackJob(event.jobId, null);
        const job = this.jobs.find((j) => j.jobId === event.jobId);
        if (job) {
          job.fraction = event.fraction;
          job.message = event.message;
        }
        return;
      }
      case 'job.finished': {
        const job = this.jobs.find((j) => j.jobId === event.jobId);
        if (job) {
          job.status = 'finished';
          job.fraction = 1;
          job.message = 'Done';
        }
        return;
      }
      case 'job.failed': {
        const job = this.jobs.find((j) => j.jobId === event.jobId);
        if (job) {
          job.status = 'failed';
          job.message = event.error.message;
        }
        if (event.error.code !== 'cancelled') this.report(`${job?.label ?? event.kind} failed`, LabError.fromPayload(event.error));
        return;
      }
    }
  }
}
