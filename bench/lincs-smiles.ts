// chemCPA's 17,775 LINCS SMILES for the chemistry benches, read at run time from the shared
// fixtures beside the repository (never copied into it).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SMILES_FILE = fileURLToPath(new URL('../../shared/fixtures/real-l1000/chemCPA_lincs_drugs_smiles.csv', import.meta.url));

/** The first `limit` SMILES, or ends the bench saying why it is skipped when the fixtures are absent. */
export function lincsSmilesOrSkip(limit: number): string[] {
  if (!existsSync(SMILES_FILE)) {
    console.log(`skipped: ${SMILES_FILE} is not there (the shared fixtures sit beside the repository)`);
    process.exit(0);
  }
  // "BRD id, SMILES" per line, no header.
  return readFileSync(SMILES_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.slice(line.indexOf(',') + 1).trim())
    .slice(0, limit);
}
