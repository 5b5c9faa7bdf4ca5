// Saved selections as the JSON text of their LabApi answers, the ids spliced in as stored (never
// parsed): shared by the dataset-read worker (selections.list) and the serving side (an answer to
// selections.save).
import { LabError } from '../../shared/api/errors.js';
import { Selection } from '../../shared/api/sessions.js';
import type { StoredSelection } from '../store/sessions.js';

const SelectionWithoutIds = Selection.omit({ sampleIds: true });

/** `{...selection, "sampleIds":` : the answer's text up to its ids. */
function selectionHead(selection: StoredSelection['selection']): string {
  const head = JSON.stringify(SelectionWithoutIds.parse(selection));
  if (!head.endsWith('}')) throw new LabError('internal', 'A selection did not serialize as an object');
  return `${head.slice(0, -1)},"sampleIds":`;
}

/** `{...selection, "sampleIds": <stored text>}`: the ids were written by JSON.stringify of strings checked against the dataset. */
export function selectionJson(stored: StoredSelection): string {
  return `${selectionHead(stored.selection)}${stored.sampleIdsJson}}`;
}

const encoder = new TextEncoder();

/** selectionJson as UTF-8, from the ids' JSON already encoded (by the worker that resolved them): 100k ids are not encoded again here. */
export function selectionJsonBytes(selection: StoredSelection['selection'], sampleIdsUtf8: Uint8Array): Uint8Array {
  const head = encoder.encode(selectionHead(selection));
  const bytes = new Uint8Array(head.byteLength + sampleIdsUtf8.byteLength + 1);
  bytes.set(head, 0);
  bytes.set(sampleIdsUtf8, head.byteLength);
  bytes[bytes.byteLength - 1] = 0x7d; // }
  return bytes;
}
