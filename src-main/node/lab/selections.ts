// Named selections, saved and listed without their sample ids passing through the serving thread
// as values: a lasso's 100k ids cost it a read of every sample id of the dataset (473k at LINCS
// size) to check them, and parsing, validating and stringifying them again for each answer. A
// lasso's samples come as indices, resolved to ids in the dataset-read worker; the ids are stored
// and sent as the JSON text they are, spliced into the answer.
import type { CallContext, ResultOf, ValidParamsOf } from '../../shared/api/methods.js';
import { selectionJson, selectionJsonBytes } from '../analysis/selections-json.js';
import type { Store } from '../store/store.js';
import { timedServingTask } from '../threads/serving-tasks.js';
import type { AnalysisService } from './analysis.js';
import { SerializedResult } from './serialized-result.js';

const encoder = new TextEncoder();

export async function saveSelection(
  store: Store,
  analysis: AnalysisService,
  params: ValidParamsOf<'selections.save'>,
  context: CallContext,
): Promise<ResultOf<'selections.save'> | SerializedResult<'selections.save'>> {
  const { sampleIds, sampleIndices, ...input } = params;
  // Ids (the command line, scripts, small groups): checked here against the dataset, as before.
  if (sampleIds !== undefined) return store.sessions.saveSelection({ ...input, sampleIds });
  const resolved =
    sampleIndices === undefined
      ? null
      : await analysis.datasetValue('sampleIdsAt', { datasetId: input.datasetId, sampleIndices }, { signal: context.signal });
  // Named for the benches: writing 100k ids' text and encoding the answer is this thread's work.
  return timedServingTask('selections.save: store', () => {
    const stored = store.sessions.saveCheckedSelection(input, resolved?.json ?? null);
    const answer = resolved ? selectionJsonBytes(stored.selection, resolved.utf8) : encoder.encode(selectionJson(stored));
    return new SerializedResult('selections.save', answer);
  });
}

/**
 * Every saved selection of a dataset with its ids, as JSON made in the dataset-read worker: a few
 * lassos are megabytes of ids (9 MB in four selections held this thread 123 ms of CPU here).
 */
export async function listSelections(
  analysis: AnalysisService,
  datasetId: string,
  context: CallContext,
): Promise<SerializedResult<'selections.list'>> {
  const { bytes } = await analysis.datasetValue('selectionsJson', { datasetId }, { signal: context.signal });
  return new SerializedResult('selections.list', bytes);
}
