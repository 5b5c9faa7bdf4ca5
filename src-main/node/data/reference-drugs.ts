import table from './reference-drugs.json' with { type: 'json' };

/**
 * Real drug structures bundled with the app (the table is reference-drugs.json, grouped by drug
 * class), so that synthetic L1000-shaped studies have real chemistry: real Morgan fingerprints, real Bemis–Murcko scaffolds (several drugs share one, as
 * chemical series do), and real structural diversity (kinase inhibitors, steroids, tricyclics,
 * β-lactam-free antibiotics, NSAIDs, statins…). Structures are facts about the molecules; each
 * entry also records its molecular formula, written down independently of the SMILES, and
 * test/unit/reference-drugs.test.ts checks that RDKit derives that formula from the SMILES — a
 * typo in either shows up as a mismatch. Stereochemistry is given where it is well known; the
 * fingerprints the studies use ignore chirality.
 */
export interface ReferenceDrug {
  name: string;
  smiles: string;
  formula: string;
}

export const referenceDrugs: readonly ReferenceDrug[] = table.groups.flatMap((group) => group.drugs);
