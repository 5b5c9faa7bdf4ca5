// Computes in the background what the Latents view opens with (analysis/latents-results.ts), so
// that opening it reads stored results instead of waiting for a model load: on a served lab's
// start for the run the view would open on each dataset, and after that for every run the user
// trains once it completes. One run at a time, after the lab has started: the analysis worker
// stays free for what the user asks meanwhile (a view asking for the same result waits for this
// computation rather than starting its own).

import type { RunSummary } from '../../shared/api/domain.js';
import { LatentsViewState } from '../../shared/api/sessions.js';
import { PRECOMPUTED } from '../analysis/stored-latents.js';
import type { Store } from '../store/store.js';
import type { AnalysisService } from './analysis.js';

/** The saved state of the Latents view (the renderer's LATENTS_VIEW). */
const LATENTS_VIEW = 'latents';
const STILL_TRAINING: readonly string[] = ['running', 'queued', 'paused'];
const WARMED = 2;

export class LatentsPrecompute {
  readonly #store: Store;
  readonly #analysis: AnalysisService;
  readonly #abort = new AbortController();
  readonly #queued: string[] = [];
  /** Runs the user started: precomputed when they complete. */
  readonly #watched = new Set<string>();
  /** Runs whose stored prior shifts are read into the 'latents' worker once stored. */
  readonly #warm = new Set<string>();
  #enabled = false;
  #draining: Promise<void> | null = null;

  constructor(store: Store, analysis: AnalysisService) {
    this.#store = store;
    this.#analysis = analysis;
  }

  /** From now on runs are precomputed (a served lab; not a CLI command or a test's lab). Queues the runs the view would open. */
  start(): void {
    if (this.#enabled || this.#store.path === ':memory:') return;
    this.#enabled = true;
    const opened = this.runsTheViewOpens();
    // The 'latents' worker keeps two runs' prior shifts: those of the datasets last looked at.
    for (const runId of opened.slice(0, WARMED)) this.#warm.add(runId);
    const missing = new Set(this.#store.latentsResults.runsMissing(opened, PRECOMPUTED));
    for (const runId of opened) {
      if (missing.has(runId)) this.#enqueue(runId);
      else if (this.#warm.delete(runId)) void this.#warmUp(runId);
    }
  }

  /** A run the user started or resumed: its results are computed once it completes. */
  watch(runId: string): void {
    this.#watched.add(runId);
  }

  runStatusChanged(run: RunSummary): void {
    if (run.status !== 'completed' || !this.#watched.delete(run.id) || !this.#enabled) return;
    this.#enqueue(run.id);
  }

  /** Resolves once every queued run is done (stored, or failed and reported). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  close(): void {
    this.#queued.length = 0;
    this.#abort.abort();
  }

  async #warmUp(runId: string): Promise<void> {
    try {
      await this.#analysis.warmStoredLatents(runId, { signal: this.#abort.signal });
    } catch (error) {
      if (!this.#abort.signal.aborted)
        console.error(`Could not read the stored Latents results of run ${runId}:`, error instanceof Error ? error.message : error);
    }
  }

  /** Per dataset (the one the view last showed first), the run it opens on: the one it last showed, else the newest with a checkpoint. */
  runsTheViewOpens(): string[] {
    const saved = LatentsViewState.safeParse(this.#store.sessions.view(LATENTS_VIEW).state ?? {});
    const remembered = saved.success ? saved.data.datasets : {};
    const runs = this.#store.runs.list().filter((r) => r.epochsDone > 0 && !STILL_TRAINING.includes(r.status));
    const chosen: string[] = [];
    const lastShown = saved.success ? saved.data.datasetId : null;
    const datasets = [...new Set(runs.map((r) => r.datasetId))].sort((a, b) => Number(b === lastShown) - Number(a === lastShown));
    for (const dataset of datasets) {
      const ofDataset = runs.filter((r) => r.datasetId === dataset);
      const savedRun = remembered[dataset]?.runId;
      const run = ofDataset.find((r) => r.id === savedRun) ?? ofDataset[0];
      if (run) chosen.push(run.id);
    }
    return chosen;
  }

  #enqueue(runId: string): void {
    if (!this.#queued.includes(runId)) this.#queued.push(runId);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  async #drain(): Promise<void> {
    // Let the lab finish starting (the carrier, the page's first calls) before the first model load.
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (let runId = this.#queued.shift(); runId !== undefined; runId = this.#queued.shift()) {
      try {
        await this.#analysis.run('precomputeLatents', { runId }, { signal: this.#abort.signal });
        if (this.#warm.delete(runId)) await this.#warmUp(runId);
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        // The view computes on open as before; the reason goes to the log.
        console.error(`Could not precompute the Latents view of run ${runId}:`, error instanceof Error ? error.message : error);
      }
    }
  }
}
