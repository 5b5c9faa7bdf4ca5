// Named selections, saved and listed without per-sample work on the serving thread: a save (a
// lasso's samples by index, or ids from the command line) is resolved, checked and written in the
// dataset-read worker on its own connection (analysis/selection-writes.ts), and every answer
// carries the samples as packed indices made there (a 100k lasso is 533 KB, not 1.5 MB of ids
// that this thread parsed, checked and stringified per answer).
import type { CallContext, ResultOf, ValidParamsOf } from '../../shared/api/methods.js';
import type { AnalysisService } from './analysis.js';
import type { SerializedResult } from './serialized-result.js';

export function saveSelection(
  analysis: AnalysisService,
  params: ValidParamsOf<'selections.save'>,
  context: CallContext,
): Promise<ResultOf<'selections.save'> | SerializedResult<'selections.save'>> {
  return analysis.saveSelection(params, { signal: context.signal });
}

/** Every saved selection of a dataset, made in the dataset-read worker. */
export function listSelections(
  analysis: AnalysisService,
  datasetId: string,
  context: CallContext,
): Promise<ResultOf<'selections.list'> | SerializedResult<'selections.list'>> {
  return analysis.readDataset('selections.list', 'selections', { datasetId }, { signal: context.signal });
}
