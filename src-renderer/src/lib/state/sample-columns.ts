// Per-sample columns of one dataset for the Latents view (environment of each sample, sample ids,
// the colouring column), asked once each and kept while the dataset stays the same. They come
// dictionary-encoded (datasets.sampleColumns, see packed.ts): at 200,000 samples a JSON array of
// strings per column cost seconds and hundreds of MB in the renderer.
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import { type DecodedColumn, decodeCodedColumn } from '../../../../src-main/shared/api/packed.js';

export class SampleColumns {
  readonly #client: LabClient;
  #datasetId: string | null = null;
  readonly #asked = new Map<string, Promise<DecodedColumn>>();

  constructor(client: LabClient) {
    this.#client = client;
  }

  /** One column of every sample of `datasetId`; asking about another dataset forgets the last one's. */
  get(datasetId: string, column: string): Promise<DecodedColumn> {
    if (datasetId !== this.#datasetId) {
      this.#asked.clear();
      this.#datasetId = datasetId;
    }
    let answer = this.#asked.get(column);
    if (!answer) {
      answer = this.#client.call('datasets.sampleColumns', { datasetId, columns: [column] }).then((result) => {
        const [packed] = result.columns;
        if (!packed) throw new Error(`The lab sent no column "${column}"`);
        return decodeCodedColumn(packed, result.nSamples);
      });
      // A failed read is asked again next time.
      const asked = answer;
      asked.catch(() => {
        if (this.#asked.get(column) === asked) this.#asked.delete(column);
      });
      this.#asked.set(column, asked);
    }
    return answer;
  }
}
