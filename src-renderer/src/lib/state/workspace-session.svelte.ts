// The window's remembered state (dataset, view, validation split), restored on the next start.
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import { WorkspaceState } from '../../../../src-main/shared/api/sessions.js';
import type { LabState } from './lab.svelte.js';
import { isViewId, type Router } from './router.svelte.js';
import { SavedView } from './saved-view.svelte.js';

export class WorkspaceSession extends SavedView<typeof WorkspaceState> {
  readonly #router: Router;

  constructor(client: LabClient, lab: LabState, router: Router) {
    super(client, lab, 'workspace', WorkspaceState);
    this.#router = router;
  }

  /** Puts back what was saved, unless this window already chose otherwise (a dataset, a view in the address). */
  restore(): void {
    const { datasetId, view, split } = this.state;
    if (datasetId && !this.lab.datasetChosen && this.lab.datasets.some((d) => d.id === datasetId)) this.lab.selectDataset(datasetId);
    if (split) this.lab.split = split;
    if (view && isViewId(view) && !this.#router.fromAddress) this.#router.go(view);
  }

  /** What to save now (read inside an effect, so every change schedules a save). */
  current(): WorkspaceState {
    return { datasetId: this.lab.selectedDatasetId, view: this.#router.current, split: $state.snapshot(this.lab.split) };
  }
}
