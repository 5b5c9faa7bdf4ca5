// Per-sample columns of a dataset for the Latents view (each sample's environment, the colouring
// column), asked once each and kept while the window lives: coming back to the view, or to a
// dataset shown just before, asks nothing again. They come dictionary-encoded
// (datasets.sampleColumns, see packed.ts): at 200,000 samples a JSON array of strings per column
// cost seconds and hundreds of MB in the renderer.
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import { type DecodedColumn, decodeCodedColumn } from '../../../../src-main/shared/api/packed.js';
import { KeptAnswers } from './kept-answers.js';

/** Columns kept: the environments and a colouring of two datasets and a spare (~2 MB each at 473k samples). */
const KEPT_COLUMNS = 6;

export class SampleColumns {
  readonly #client: LabClient;
  readonly #kept = new KeptAnswers<DecodedColumn>(KEPT_COLUMNS);

  constructor(client: LabClient) {
    this.#client = client;
  }

  /** One column of every sample of `datasetId`. */
  get(datasetId: string, column: string): Promise<DecodedColumn> {
    return this.#kept.get(JSON.stringify([datasetId, column]), async () => {
      const result = await this.#client.call('datasets.sampleColumns', { datasetId, columns: [column] });
      const [packed] = result.columns;
      if (!packed) throw new Error(`The lab sent no column "${column}"`);
      return decodeCodedColumn(packed, result.nSamples);
    });
  }

  /** The column if it has arrived (drawn at once when the view comes back). */
  now(datasetId: string, column: string): DecodedColumn | null {
    return this.#kept.now(JSON.stringify([datasetId, column]));
  }
}
