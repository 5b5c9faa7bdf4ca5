// The bundled drug structures are real: each SMILES parses and yields the molecular formula
// recorded next to it (written down independently, so a typo in either is caught), and together
// they form chemical series — shared Bemis–Murcko scaffolds — that a scaffold split can hold out.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Chemistry } from '../../src-main/node/chem/chemistry.js';
import { loadRDKit, type RDKitModule } from '../../src-main/node/chem/rdkit.js';
import { referenceDrugs } from '../../src-main/node/data/reference-drugs.js';

const SYMBOLS: Record<number, string> = { 1: 'H', 5: 'B', 6: 'C', 7: 'N', 8: 'O', 9: 'F', 15: 'P', 16: 'S', 17: 'Cl', 35: 'Br', 53: 'I' };

/** Hill formula (C, H, then alphabetical) with a net charge suffix, from RDKit's JSON of the molecule. */
function formulaOf(rdkit: RDKitModule, smiles: string): string {
  const mol = rdkit.get_mol(smiles);
  assert.ok(mol, `RDKit cannot parse ${smiles}`);
  try {
    const doc = JSON.parse(mol.get_json()) as {
      defaults: { atom: { z: number; impHs: number; chg: number } };
      molecules: { atoms: { z?: number; impHs?: number; chg?: number }[] }[];
    };
    const counts = new Map<string, number>();
    let charge = 0;
    const add = (symbol: string, n: number) => counts.set(symbol, (counts.get(symbol) ?? 0) + n);
    for (const atom of doc.molecules[0]?.atoms ?? []) {
      const z = atom.z ?? doc.defaults.atom.z;
      const symbol = SYMBOLS[z];
      assert.ok(symbol, `element ${z} in ${smiles}`);
      add(symbol, 1);
      add('H', atom.impHs ?? doc.defaults.atom.impHs);
      charge += atom.chg ?? doc.defaults.atom.chg;
    }
    const order = [...counts.keys()].filter((s) => (counts.get(s) ?? 0) > 0 && s !== 'C' && s !== 'H').sort();
    const symbols = counts.has('C') ? ['C', 'H', ...order] : [...order, 'H'].sort();
    const body = symbols
      .filter((s) => (counts.get(s) ?? 0) > 0)
      .map((s) => `${s}${counts.get(s) === 1 ? '' : counts.get(s)}`)
      .join('');
    return charge === 0 ? body : `${body}${charge > 0 ? '+' : '-'}${Math.abs(charge) === 1 ? '' : Math.abs(charge)}`;
  } finally {
    mol.delete();
  }
}

describe('bundled reference drugs', () => {
  let rdkit: RDKitModule;
  let chemistry: Chemistry;

  before(async () => {
    rdkit = (await loadRDKit()).module;
    chemistry = await Chemistry.load();
  });

  test('every SMILES parses to its recorded molecular formula', () => {
    const wrong = referenceDrugs.flatMap((d) => {
      const formula = formulaOf(rdkit, d.smiles);
      return formula === d.formula ? [] : [`${d.name}: SMILES gives ${formula}, recorded ${d.formula}`];
    });
    assert.deepEqual(wrong, []);
  });

  test('names and structures are distinct, and drugs share scaffolds as chemical series do', () => {
    assert.equal(new Set(referenceDrugs.map((d) => d.name)).size, referenceDrugs.length);
    const described = referenceDrugs.map((d) => chemistry.describe(d.smiles, { depict: false }));
    const canonical = described.map((r) => (r.ok ? r.canonicalSmiles : ''));
    assert.equal(new Set(canonical).size, referenceDrugs.length, 'no structure listed twice');
    const scaffolds = new Map<string, number>();
    for (const r of described)
      if (r.ok && r.scaffoldSmiles !== null) scaffolds.set(r.scaffoldSmiles, (scaffolds.get(r.scaffoldSmiles) ?? 0) + 1);
    assert.ok(scaffolds.size >= 100, `${scaffolds.size} distinct scaffolds`);
    const shared = [...scaffolds.values()].filter((n) => n >= 2).length;
    assert.ok(shared >= 5, `${shared} scaffolds shared by several drugs`);
  });
});
