// The native chemistry engine (cellshift_rdkit addon, native/rdkit) against the wasm engine on
// tricky structures: salts and mixtures, charges, stereo, macrocycles, metals, invalid input. The
// fingerprints must be bit-identical; canonical SMILES and scaffolds equal except where the two
// RDKit releases write a structure differently (listed below, each explained). Skips, saying why,
// where the addon is not built; the engine selection and its fallback are checked either way.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Chemistry, chemistryEngine, type MoleculeResult } from '../../src-main/node/chem/chemistry.js';
import { loadNativeRDKit } from '../../src-main/node/chem/native.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../../src-main/node/chem/pool.js';
import { startWorker } from '../../src-main/node/threads/start-worker.js';

const TRICKY: [why: string, smiles: string][] = [
  ['salt: mesylate', 'CS(=O)(=O)O.Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1'],
  ['salt: sodium carboxylate', 'CCCC(CCC)C(=O)[O-].[Na+]'],
  ['salt: hydrochloride with water', 'Cl.O.CN1CCC[C@H]1c1cccnc1'],
  ['mixture of equal fragments', 'CCO.OCC'],
  ['tie broken by exact mass', 'CCN.CCO'],
  ['platinum complex', 'N.N.Cl[Pt]Cl'],
  ['quaternary ammonium', 'C[N+](C)(C)CCOC(C)=O'],
  ['zwitterion', '[NH3+][C@@H](Cc1ccccc1)C(=O)[O-]'],
  ['nitro group', 'O=[N+]([O-])c1ccc(O)cc1'],
  ['tetrahedral stereo', 'C[C@@H]1C[C@H]2[C@@H]3CCC4=CC(=O)C=C[C@]4(C)[C@@]3(F)[C@@H](O)C[C@]2(C)[C@@]1(O)C(=O)CO'],
  ['E/Z stereo', 'CCN(CC)CCNC(=O)c1c(C)[nH]c(/C=C2\\C(=O)Nc3ccc(F)cc32)c1C'],
  ['allene-free cis alkene', 'C/C=C\\C(=O)O'],
  ['isotopes', '[2H]C([2H])([2H])Oc1ccccc1'],
  ['aromatic heteroatom with H', 'c1cc[nH]c1'],
  ['explicit H count', '[CH2]=[CH]C'],
  [
    'macrocycle: erythromycin',
    'CC[C@@H]1[C@@]([C@@H]([C@H](C(=O)[C@@H](C[C@@]([C@@H]([C@H]([C@@H]([C@H](C(=O)O1)C)O[C@H]2C[C@@]([C@H]([C@@H](O2)C)O)(C)OC)C)O[C@H]3[C@@H]([C@H](C[C@H](O3)C)N(C)C)O)(C)O)C)C)O)(C)O',
  ],
  ['macrocycle: cyclododecane', 'C1CCCCCCCCCCC1'],
  ['spiro', 'C1CCC2(CC1)CCCC2'],
  ['fused rings with linker', 'c1ccc2c(c1)ccc1ccccc12'],
  ['scaffold with exocyclic double bond', 'O=C1CCC(=O)N1CCc1ccccc1'],
  ['acyclic: empty scaffold', 'CCCCCCO'],
  ['single atom', 'C'],
  ['caffeine', 'Cn1c(=O)c2c(ncn2C)n(C)c1=O'],
  ['imatinib', 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1'],
  ['boron', 'OB(O)c1ccccc1'],
  ['selenium', '[Se]1C=CC=C1'],
  ['radical', '[CH2]c1ccccc1'],
  ['charged aromatic', 'C[n+]1ccccc1'],
  ['phosphate ester', 'COP(=O)(OC)Oc1ccc([N+](=O)[O-])cc1'],
  ['dummy-free disulfide', 'CSSC'],
  ['kekulé input', 'C1=CC=CC=C1CC(=O)O'],
  ['ring closure on a branch', 'C1CC(CC1)(C#N)c1ccccc1'],
  ['macrocycle with E/Z double bonds (LINCS)', 'COC1/C=C/C=C(\\C)C(=O)NC2=CC(=O)C(NCCN(C)C)=C(CC(C)CC(OC)C(O)C(C)/C=C(\\C)C1OC(N)=O)C2=O'],
];

/**
 * Where the releases differ (native: Debian's 2022.09; wasm: @rdkit/rdkit's), each explained; the
 * same kinds as between Python RDKit and the wasm build on the 17,775 LINCS drugs (bench/chemistry.ts).
 * Entries with `before` apply only while the native release is older than that.
 */
const KNOWN_DIFFERENCES: { difference: string; before?: string; why: string }[] = [
  ...['platinum complex', 'platinum complex (chiral)'].map((label) => ({
    difference: `${label}: canonicalSmiles Cl[Pt]Cl vs [Cl][Pt][Cl]`,
    why: 'recent RDKit writes atoms bonded to metals in brackets: same molecule, other spelling',
  })),
  ...['tetrahedral stereo (chiral)', 'macrocycle: erythromycin (chiral)'].map((label) => ({
    difference: `${label}: fingerprint`,
    before: '2024.09.3',
    why: 'RDKit 2024.09.3 fixed chiral Morgan invariants (rdkit/rdkit#7986): older releases set other bits for some multi-centre molecules',
  })),
  ...['macrocycle with E/Z double bonds (LINCS)', 'macrocycle with E/Z double bonds (LINCS) (chiral)'].map((label) => ({
    difference: `${label}: scaffoldSmiles O=C1C=C2CCCCCCC=CCC/C=C/C=CC(=O)NC(=C1)C2=O vs O=C1C=C2CCCCCC/C=C/CC/C=C/C=C/C(=O)NC(=C1)C2=O`,
    why: "2022.09 drops E/Z marks from a macrocycle's ring double bonds once the side chains are cut",
  })),
];

function olderThan(version: string, release: string): boolean {
  const a = version.split('.').map(Number);
  const b = release.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
}

/** RDKit refuses these: the engines must agree that they are invalid and say why. */
const INVALID: [why: string, smiles: string, reason: RegExp][] = [
  ['unclosed ring', 'C1CC', /unclosed ring/],
  ['unbalanced parenthesis', 'CC(C', /parenthes/],
  ['five-valent nitrogen', 'N(C)(C)(C)(C)C', /valence/i],
  ['cannot kekulize', 'c1cccc1', /kekulize/i],
  ['unknown element', 'CC[Xx]', /SMILES Parse Error/],
  ['placeholder', '-666', /placeholder/],
  ['empty', '   ', /empty SMILES/],
];

const native = loadNativeRDKit();
const skip = native.ok ? false : `native RDKit is not built here: ${native.why}`;

describe('native chemistry engine against the wasm engine', { skip }, () => {
  let nativeChem: Chemistry;
  let wasmChem: Chemistry;
  before(async () => {
    nativeChem = await Chemistry.load({ engine: 'native' });
    wasmChem = await Chemistry.load({ engine: 'wasm' });
  });

  test('same parent, removed fragments, canonical SMILES, scaffold and Morgan bits', () => {
    const differences: string[] = [];
    for (const [why, smiles] of TRICKY) {
      for (const options of [{}, { radius: 3, nBits: 2048, chirality: true }]) {
        const a = nativeChem.describe(smiles, { ...options, depict: false, inchiKey: false });
        const b = wasmChem.describe(smiles, { ...options, depict: false, inchiKey: false });
        assert.ok(a.ok && b.ok, `${why}: ${a.ok ? '' : a.reason} ${b.ok ? '' : b.reason}`);
        assert.deepEqual(a.params, b.params);
        const label = `${why}${options.chirality ? ' (chiral)' : ''}`;
        if (a.fingerprint.join('') !== b.fingerprint.join('')) differences.push(`${label}: fingerprint`);
        for (const field of ['canonicalSmiles', 'scaffoldSmiles', 'removedFragments'] as const) {
          if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) differences.push(`${label}: ${field} ${a[field]} vs ${b[field]}`);
        }
      }
    }
    const version = native.ok ? native.version : '';
    const expected = KNOWN_DIFFERENCES.filter((k) => !k.before || olderThan(version, k.before)).map((k) => k.difference);
    assert.deepEqual(differences, expected, 'differences between the engines other than the known ones (or a known one gone)');
  });

  test('invalid input: both engines refuse it with a specific reason, and nothing is thrown', () => {
    for (const [why, smiles, reason] of INVALID) {
      const a = nativeChem.describe(smiles, { depict: false, inchiKey: false });
      const b = wasmChem.describe(smiles, { depict: false, inchiKey: false });
      assert.equal(a.ok, false, why);
      assert.equal(b.ok, false, why);
      assert.match((a as { reason: string }).reason, reason, why);
    }
  });

  test('with a depiction asked for, the facts stay native and the drawing comes from the wasm build', () => {
    const smiles = TRICKY[0]?.[1] as string;
    const drawn = nativeChem.describe(smiles);
    const facts = nativeChem.describe(smiles, { depict: false, inchiKey: false });
    assert.ok(drawn.ok && facts.ok);
    assert.match(drawn.svg ?? '', /^<\?xml|<svg/);
    assert.match(drawn.inchiKey ?? '', /^[A-Z]{14}-[A-Z]{10}-[A-Z]$/);
    assert.deepEqual({ ...drawn, svg: null, inchiKey: null }, facts);
    assert.match(nativeChem.engineTag, /^native 20\d\d\.\d\d/);
  });

  test('the pool describes an import natively, off this thread, as Chemistry.describe does', async () => {
    const pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), 2);
    try {
      assert.equal(pool.engine, 'native');
      const smiles = [...TRICKY.map(([, s]) => s), ...INVALID.map(([, s]) => s)];
      const counts: number[] = [];
      const options = { depict: false, inchiKey: false } as const;
      const results: MoleculeResult[] = await pool.describeAll(smiles, { ...options, onProgress: (done) => counts.push(done) });
      assert.deepEqual(
        results,
        smiles.map((s) => nativeChem.describe(s, options)),
      );
      assert.equal(counts.at(-1), smiles.length);
    } finally {
      await pool.close();
    }
  });
});

test('engine selection: native when the addon loads, the wasm build otherwise, saying why', () => {
  const chosen = chemistryEngine();
  assert.equal(chosen.name, native.ok ? 'native' : 'wasm');
  assert.equal(chemistryEngine('wasm').name, 'wasm');
  // A process where the addon cannot be found falls back and says so.
  const script = `import { chemistryEngine, Chemistry } from ${JSON.stringify(fileURLToPath(new URL('../../src-main/node/chem/chemistry.ts', import.meta.url)))};
const engine = chemistryEngine();
const chem = await Chemistry.load();
console.log(JSON.stringify({ engine, used: chem.engine, ok: chem.describe('CCO', { depict: false, inchiKey: false }).ok }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, CELLSHIFT_RDKIT_ADDON: '/nonexistent/cellshift_rdkit.node' },
  });
  assert.equal(run.status, 0, run.stderr);
  const fallback = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  assert.equal(fallback.engine.name, 'wasm');
  assert.match(fallback.engine.reason, /cellshift_rdkit addon is not built/);
  assert.equal(fallback.used, 'wasm');
  assert.equal(fallback.ok, true);
});
