// What the Latents view has fetched, kept by the app while the window lives: the view is unmounted
// whenever another view shows, and coming back (or switching a run or dataset back) draws from here
// at once rather than asking the lab again. Keys name what an answer depends on: the run and its
// epochs done (a run that trained further has a newer checkpoint), the dataset, the method and points.
import type { DecodedProjection, PriorShiftRowsResult, TopGenesResult } from '../../../../src-main/shared/api/analysis.js';
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import { KeptAnswers } from './kept-answers.js';
import type { LabState } from './lab.svelte.js';
import { LatentsSession } from './latents-session.svelte.js';
import { SampleColumns } from './sample-columns.js';

/** A run's checkpoint as the renderer knows it: its id and the epochs it has done. */
export const checkpointKey = (runId: string, epochsDone: number) => `${runId}@${epochsDone}`;

export function projectionKey(runId: string, epochsDone: number, method: 'pca' | 'umap', maxPoints: number): string {
  return `${checkpointKey(runId, epochsDone)}/${method}/${maxPoints}`;
}

/** One window of prior-shift rows asked of the lab (both heatmaps share it). */
export interface ShiftWindow {
  query: string;
  first: number;
  count: number;
  block: number;
  answer: Promise<NonNullable<PriorShiftRowsResult['report']>>;
}

export class LatentsCache {
  /** The view's remembered choices and the named selections (loaded once per window). */
  readonly session: LatentsSession;
  readonly columns: SampleColumns;
  /** Decoded once: a 200,000-point projection is 2.4 MB of typed arrays (and its 1 MB packed indices) here; two are kept. */
  readonly projections = new KeptAnswers<DecodedProjection>(2);
  /** Sample ids of a projection's points (tooltips, selections' marks), by dataset and projection. */
  readonly pointIds = new KeptAnswers<string[]>(2);
  /** The heatmaps' shape and first rows, per checkpoint. */
  readonly shifts = new KeptAnswers<PriorShiftRowsResult>(4);
  readonly #shiftWindows = new Map<string, ShiftWindow[]>();
  readonly genes = new KeptAnswers<TopGenesResult>(32);

  constructor(client: LabClient, lab: LabState) {
    this.session = new LatentsSession(client, lab);
    this.columns = new SampleColumns(client);
  }

  /**
   * The heatmaps' windows asked for this checkpoint (cut from again when they hold the rows drawn),
   * `first` (the shape's answer) when none yet; those of the last four checkpoints are kept.
   */
  shiftWindows(key: string, first: ShiftWindow): ShiftWindow[] {
    const windows = this.#shiftWindows.get(key) ?? [first];
    this.#shiftWindows.delete(key);
    this.#shiftWindows.set(key, windows);
    while (this.#shiftWindows.size > 4) this.#shiftWindows.delete(this.#shiftWindows.keys().next().value as string);
    return windows;
  }
}
