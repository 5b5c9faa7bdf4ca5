// Saving a named selection, done whole in the dataset-read worker on a writable connection of its
// own: a 100k-point lasso is 100k ids to resolve and ~2 MB (their text and positions) to write, and
// a selection given by ids (the command line, scripts) is every sample id of the dataset to check
// them against (473k at LINCS size). On the serving thread either took 37 ms to 0.7 s of its CPU;
// there it is now a message out and the answer's bytes back.
import type { ValidParamsOf } from '../../shared/api/methods.js';
import type { Selection } from '../../shared/api/sessions.js';
import type { Store } from '../store/store.js';
import { base64Of, datasetReads } from './dataset-reads.js';
import { samplesAtIndices } from './differential.js';

/** What a write is given: a writable connection (the worker's, opened on first use) and the request's cancel signal. */
export interface SelectionWriteContext {
  readonly store: Store;
  readonly signal: AbortSignal;
}

export const selectionWrites = {
  /** Creates or updates a selection (samples by index, by id, or kept for a rename) and answers it with its samples packed. */
  async saveSelection(context: SelectionWriteContext, params: ValidParamsOf<'selections.save'>): Promise<Selection> {
    const { store } = context;
    const { sampleIds, sampleIndices, ...input } = params;
    if (sampleIndices !== undefined) {
      const { ids, indices } = samplesAtIndices(store, input.datasetId, sampleIndices, 'The selection');
      context.signal.throwIfAborted();
      const bytes = new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength);
      const saved = store.sessions.saveCheckedSelection(input, { idsJson: JSON.stringify(ids), indices: bytes });
      return { ...saved, size: ids.length, sampleIndices: base64Of(indices) };
    }
    const saved =
      sampleIds !== undefined ? store.sessions.saveSelection({ ...input, sampleIds }) : store.sessions.saveCheckedSelection(input, null);
    return datasetReads.selection(context, { id: saved.id });
  },
} satisfies Record<string, (context: SelectionWriteContext, params: never) => Promise<unknown>>;

export type SelectionWriteName = keyof typeof selectionWrites;

export function isSelectionWrite(name: string): name is SelectionWriteName {
  return Object.hasOwn(selectionWrites, name);
}
