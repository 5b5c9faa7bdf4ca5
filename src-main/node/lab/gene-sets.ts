// Importing a gene set file into the lab: parse, then store in one transaction, so a bad file
// changes nothing and says what is wrong with it.
import { LabError } from '../../shared/api/errors.js';
import type { GeneSetCollection } from '../../shared/api/mechanism.js';
import { GeneSetFileError, geneSetFormatOf, parseGeneSets } from '../data/gene-sets.js';
import type { Store } from '../store/store.js';

export function importGeneSets(store: Store, input: { name: string; fileName: string; content: string | Uint8Array }): GeneSetCollection {
  const bytes = typeof input.content === 'string' ? new TextEncoder().encode(input.content) : input.content;
  const format = geneSetFormatOf(input.fileName);
  try {
    const sets = parseGeneSets(bytes, input.fileName, format);
    return store.geneSets.add({ name: input.name, source: input.fileName, format, sets });
  } catch (error) {
    if (error instanceof GeneSetFileError) throw new LabError('bad_input', error.message);
    throw error;
  }
}
