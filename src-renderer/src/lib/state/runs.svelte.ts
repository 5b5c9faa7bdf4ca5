// Training as the renderer sees it: the run history, and for each run being watched its live
// progress and metric curves, fed by run events and backfilled from the stored history.
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import { type MetricSeries, type RunAction, type RunSummary, stoppedRunStatuses } from '../../../../src-main/shared/api/domain.js';
import type { LabEvent } from '../../../../src-main/shared/api/protocol.js';
import type { TrainingConfigInput } from '../../../../src-main/shared/api/training.js';
import type { LabState } from './lab.svelte.js';

export interface CurvePoint {
  x: number;
  y: number;
}

export interface LiveRun {
  epoch: number;
  batchInEpoch: number;
  batchesPerEpoch: number;
  stepLoss: number | null;
  samplesPerSecond: number | null;
  /** `${split}/${name}` → points by epoch. */
  curves: Record<string, CurvePoint[]>;
}

export class RunsState {
  readonly #client: LabClient;
  readonly #lab: LabState;
  runs = $state<RunSummary[]>([]);
  loaded = $state(false);
  live = $state<Record<string, LiveRun>>({});
  /** The run the Train view monitors. */
  watchedRunId = $state<string | null>(null);
  readonly watched = $derived(this.runs.find((r) => r.id === this.watchedRunId) ?? null);

  constructor(client: LabClient, lab: LabState) {
    this.#client = client;
    this.#lab = lab;
  }

  start(): () => void {
    const unsubscribe = this.#client.onEvent((event) => this.#onEvent(event));
    void this.refresh();
    return unsubscribe;
  }

  async refresh(): Promise<void> {
    await this.#lab.attempt('Could not load the run history', async () => {
      this.runs = await this.#client.call('runs.list', {});
      this.loaded = true;
    });
  }

  isActive(run: RunSummary): boolean {
    return !stoppedRunStatuses.includes(run.status);
  }

  async startRun(datasetId: string, config: TrainingConfigInput, name?: string): Promise<RunSummary | undefined> {
    const run = await this.#lab.attempt('Could not start training', () =>
      this.#client.call('runs.start', { datasetId, config, ...(name ? { name } : {}) }),
    );
    if (run) {
      this.#upsert(run);
      this.watchedRunId = run.id;
      // Events can beat the response on a fast run: keep what they already recorded.
      this.live[run.id] ??= emptyLive();
    }
    return run;
  }

  async control(id: string, action: RunAction): Promise<void> {
    const run = await this.#lab.attempt(`Could not ${action} the run`, () => this.#client.call('runs.control', { id, action }));
    if (run) this.#upsert(run);
  }

  async rename(id: string, name: string): Promise<void> {
    const run = await this.#lab.attempt('Could not rename the run', () => this.#client.call('runs.rename', { id, name }));
    if (run) this.#upsert(run);
  }

  async remove(id: string): Promise<void> {
    const done = await this.#lab.attempt('Could not delete the run', () => this.#client.call('runs.delete', { id }));
    if (done) this.runs = this.runs.filter((r) => r.id !== id);
  }

  /** Loads a run's stored curves (for finished runs, or a run started before this window opened). */
  async loadHistory(id: string): Promise<void> {
    const series = await this.#lab.attempt('Could not load the run metrics', () => this.#client.call('runs.metrics', { id }));
    if (!series) return;
    const live = this.live[id] ?? emptyLive();
    live.curves = curvesFrom(series);
    this.live[id] = live;
  }

  #upsert(run: RunSummary): void {
    const index = this.runs.findIndex((r) => r.id === run.id);
    if (index >= 0) this.runs[index] = run;
    else this.runs.unshift(run);
  }

  #onEvent(event: LabEvent): void {
    if (event.type === 'run.status') {
      this.#upsert(event.run);
      return;
    }
    if (event.type !== 'run.progress' && event.type !== 'run.epoch') return;
    // Assigning into $state stores a proxied copy, so always mutate what is read back.
    if (!this.live[event.runId]) this.live[event.runId] = emptyLive();
    const live = this.live[event.runId] as LiveRun;
    if (event.type === 'run.progress') {
      live.epoch = event.epoch;
      live.batchInEpoch = event.batchInEpoch;
      live.batchesPerEpoch = event.batchesPerEpoch;
      live.stepLoss = event.metrics.loss ?? null;
      return;
    }
    live.samplesPerSecond = event.samplesPerSecond;
    if (!live.curves['train/samples_per_second']) live.curves['train/samples_per_second'] = [];
    live.curves['train/samples_per_second'].push({ x: event.epoch, y: event.samplesPerSecond });
    for (const [split, values] of [
      ['train', event.train],
      ['validation', event.validation ?? {}],
    ] as const) {
      for (const [name, value] of Object.entries(values)) {
        const key = `${split}/${name}`;
        if (!live.curves[key]) live.curves[key] = [];
        live.curves[key].push({ x: event.epoch, y: value });
      }
    }
  }
}

function emptyLive(): LiveRun {
  return { epoch: 0, batchInEpoch: 0, batchesPerEpoch: 0, stepLoss: null, samplesPerSecond: null, curves: {} };
}

/** Epoch-level series only (the per-step history is for the Runs detail). */
export function curvesFrom(series: MetricSeries[]): Record<string, CurvePoint[]> {
  const curves: Record<string, CurvePoint[]> = {};
  for (const s of series) {
    if (s.split === 'step') continue;
    curves[`${s.split}/${s.name}`] = s.points.map((p) => ({ x: p.epoch, y: p.value }));
  }
  return curves;
}
