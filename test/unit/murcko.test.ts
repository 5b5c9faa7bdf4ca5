// The SMILES path of the Bemis–Murcko scaffold: what it cuts, how it rewrites the atoms that lose a
// neighbour, and what it leaves to the graph path. Agreement with Python RDKit is checked through
// Chemistry.describe in chemistry.test.ts (and on all 17,775 LINCS drugs by bench/chemistry.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { murckoScaffoldFromSmiles } from '../../src-main/node/chem/murcko.js';

const cut = (smiles: string) => {
  const result = murckoScaffoldFromSmiles(smiles);
  return result === null || result === '' ? result : result.unchanged ? 'unchanged' : result.smiles;
};

describe('murckoScaffoldFromSmiles', () => {
  test('no ring: empty scaffold', () => {
    assert.equal(cut('CCO'), '');
  });

  test('nothing to cut: the input, already canonical', () => {
    assert.equal(cut('c1ccc2ccccc2c1'), 'unchanged');
    assert.equal(cut('O=C1CCCC1'), 'unchanged', 'C=O on a ring atom stays');
  });

  test('side chains go, linkers and exocyclic double bonds stay', () => {
    assert.equal(cut('CCOc1ccccc1'), 'c1ccccc1', 'a leading chain');
    assert.equal(cut('c1ccc(CC)cc1'), 'c1ccccc1', 'a branch');
    assert.equal(cut('CC(c1ccccc1)O'), 'c1ccccc1', 'the ring inside a branch of a removed atom');
    assert.equal(cut('c1ccccc1C(C)C(=O)Cc1ccccc1'), 'c1ccccc1CC(=O)Cc1ccccc1');
  });

  test('an aromatic heteroatom that loses its substituent gets one H; chirality of a changed atom is cleared', () => {
    assert.equal(cut('Cn1ccnc1'), '[nH]1ccnc1');
    assert.equal(cut('C[n+]1ccccc1'), '[nH+]1ccccc1');
    assert.equal(cut('C[C@H]1CCCN1'), '[CH2]1CCCN1');
    assert.equal(cut('C[C@@]1(O)CCCC[C@@H]1C1CC1'), '[CH2]1CCCC[C@@H]1C1CC1', 'the untouched stereocentre keeps its mark');
  });

  test('what the SMILES cannot say exactly is left to the graph path', () => {
    assert.equal(cut('C/C=C/c1ccccc1'), null, 'double-bond stereo');
    assert.equal(cut('c1ccccc1.Cl'), null, 'several components');
    assert.equal(cut('C[C]1CCCC1'), null, 'a radical that loses a neighbour');
    assert.equal(cut('C[CH2:1]C1CC1'), null, 'atom classes');
  });
});
