// Saved selections as the JSON text of their LabApi answers, the ids spliced in as stored (never
// parsed): shared by the dataset-read worker (selections.list) and the serving side (an answer to
// selections.save).
import { LabError } from '../../shared/api/errors.js';
import { Selection } from '../../shared/api/sessions.js';
import type { StoredSelection } from '../store/sessions.js';

const SelectionWithoutIds = Selection.omit({ sampleIds: true });

/** `{...selection, "sampleIds": <stored text>}`: the ids were written by JSON.stringify of strings checked against the dataset. */
export function selectionJson(stored: StoredSelection): string {
  const head = JSON.stringify(SelectionWithoutIds.parse(stored.selection));
  if (!head.endsWith('}')) throw new LabError('internal', 'A selection did not serialize as an object');
  return `${head.slice(0, -1)},"sampleIds":${stored.sampleIdsJson}}`;
}
