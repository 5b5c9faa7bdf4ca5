// The Latents view's remembered state: per dataset the run, projection, colouring and the two
// compared groups, plus the dataset's named selections. Loaded from the lab when the view
// opens; every change is saved (debounced) so the next start shows the same thing.
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import { encodeSampleIndices } from '../../../../src-main/shared/api/packed.js';
import { type LatentsDatasetState, LatentsViewState, type Selection } from '../../../../src-main/shared/api/sessions.js';
import type { LabState } from './lab.svelte.js';
import { SavedView } from './saved-view.svelte.js';

export const LATENTS_VIEW = 'latents';

export class LatentsSession extends SavedView<typeof LatentsViewState> {
  // Raw: selections hold their samples packed, nothing to proxy; replaced, never mutated.
  selections = $state.raw<Selection[]>([]);
  selectionsFor = $state<string | null>(null);

  constructor(client: LabClient, lab: LabState) {
    super(client, lab, LATENTS_VIEW, LatentsViewState);
  }

  /** The state of one dataset, created with defaults on first use. */
  forDataset(datasetId: string): LatentsDatasetState {
    this.state.datasets[datasetId] ??= {
      runId: null,
      method: 'pca',
      colourBy: 'environment key',
      maxPoints: 20_000,
      umapPoints: 3_000,
      groupA: null,
      groupB: null,
    };
    return this.state.datasets[datasetId] as LatentsDatasetState;
  }

  async loadSelections(datasetId: string): Promise<void> {
    const list = await this.lab.attempt('Could not load the named selections', () => this.client.call('selections.list', { datasetId }));
    if (list) {
      this.selections = list;
      this.selectionsFor = datasetId;
    }
  }

  /**
   * A new selection named "Selection N" (the first free N) of the samples at these positions in the
   * dataset's sample order, sent packed: a lasso of 100k points is one string, not 100k ids.
   */
  async createSelection(datasetId: string, sampleIndices: ArrayLike<number>): Promise<Selection | undefined> {
    const taken = new Set(this.selections.map((s) => s.name));
    let n = this.selections.length + 1;
    while (taken.has(`Selection ${n}`)) n++;
    const created = await this.lab.attempt('Could not save the selection', () =>
      this.client.call('selections.save', { datasetId, name: `Selection ${n}`, sampleIndices: encodeSampleIndices(sampleIndices) }),
    );
    if (created) this.selections = [...this.selections, created];
    return created;
  }

  async updateSelection(selection: Selection, change: { name?: string; note?: string }): Promise<boolean> {
    const updated = await this.lab.attempt('Could not update the selection', () =>
      this.client.call('selections.save', {
        datasetId: selection.datasetId,
        id: selection.id,
        name: change.name ?? selection.name,
        note: change.note ?? selection.note,
      }),
    );
    if (!updated) return false;
    this.selections = this.selections.map((s) => (s.id === selection.id ? updated : s));
    return true;
  }

  async deleteSelection(selection: Selection): Promise<void> {
    const done = await this.lab.attempt('Could not delete the selection', () =>
      this.client.call('selections.delete', { id: selection.id }),
    );
    if (!done) return;
    this.selections = this.selections.filter((s) => s.id !== selection.id);
    for (const d of Object.values(this.state.datasets)) {
      if (d.groupA && 'selectionId' in d.groupA && d.groupA.selectionId === selection.id) d.groupA = null;
      if (d.groupB && 'selectionId' in d.groupB && d.groupB.selectionId === selection.id) d.groupB = null;
    }
  }
}
