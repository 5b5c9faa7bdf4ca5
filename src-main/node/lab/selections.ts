// Named selections, saved and listed without per-sample work on the serving thread: a lasso's
// samples come as indices, resolved to ids and checked in the dataset-read worker, and every answer
// carries the samples as packed indices made in that worker (a 100k lasso is 533 KB, not 1.5 MB of
// ids that this thread parsed, checked and stringified per answer).
import type { CallContext, ResultOf, ValidParamsOf } from '../../shared/api/methods.js';
import type { Selection } from '../../shared/api/sessions.js';
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
  const options = { signal: context.signal };
  if (sampleIndices === undefined) {
    // Ids (the command line, scripts, small groups) are checked here against the dataset, as before;
    // neither is a rename that keeps the samples. The answer's indices come from the worker.
    const saved =
      sampleIds !== undefined ? store.sessions.saveSelection({ ...input, sampleIds }) : store.sessions.saveCheckedSelection(input, null);
    return analysis.readDataset('selections.save', 'selection', { id: saved.id }, options);
  }
  const resolved = await analysis.datasetValue('sampleIdsAt', { datasetId: input.datasetId, sampleIndices }, options);
  // Named for the benches: writing 100k ids' text and their positions is this thread's work.
  return timedServingTask('selections.save: store', () => {
    const indices = Buffer.from(resolved.sampleIndices, 'base64');
    const selection = store.sessions.saveCheckedSelection(input, { idsJson: resolved.json, indices });
    const answer: Selection = { ...selection, size: resolved.count, sampleIndices: resolved.sampleIndices };
    return new SerializedResult('selections.save', encoder.encode(JSON.stringify(answer)));
  });
}

/** Every saved selection of a dataset, made in the dataset-read worker. */
export function listSelections(
  analysis: AnalysisService,
  datasetId: string,
  context: CallContext,
): Promise<ResultOf<'selections.list'> | SerializedResult<'selections.list'>> {
  return analysis.readDataset('selections.list', 'selections', { datasetId }, { signal: context.signal });
}
