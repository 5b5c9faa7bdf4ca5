// Chemistry on its wasm engine (RDKit MinimalLib) checked against Python RDKit, whether or not the
// native addon is built (test/unit/chemistry-native.test.ts compares the two engines).
//
// Reference values come from scripts/make-rdkit-reference.py. When a Python with RDKit is present
// (Debian: apt-get install python3-rdkit; libinchi-bin for InChIKeys) the script runs now and its
// output is the reference; otherwise the values it recorded in test/fixtures/rdkit-reference.json
// are, so machines without Python still compare against real RDKit numbers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  Chemistry,
  fingerprintOnBits,
  fingerprintToFloat32,
  MAX_SMILES_LENGTH,
  type MoleculeInfo,
  type MoleculeResult,
  tanimoto,
} from '../../src-main/node/chem/chemistry.js';
import { loadRDKit } from '../../src-main/node/chem/rdkit.js';

interface ReferenceFingerprint {
  key: string;
  radius: number;
  nBits: number;
  chirality: boolean;
}

interface ReferenceMolecule {
  name: string;
  smiles: string;
  why: string;
  canonicalSmiles: string;
  removedFragments: string[];
  inchiKey: string | null;
  scaffoldSmiles: string;
  morganOnBits: Record<string, number[]>;
}

interface Reference {
  generator: string;
  rdkitVersion: string;
  inchiSource: string | null;
  fingerprints: ReferenceFingerprint[];
  molecules: ReferenceMolecule[];
}

const SCRIPT = fileURLToPath(new URL('../../scripts/make-rdkit-reference.py', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/rdkit-reference.json', import.meta.url));

/**
 * Differences between the reference RDKit and the MinimalLib release, each explained. An entry
 * with `fixedIn` applies only while the reference RDKit is older than that release, so a newer
 * reference makes the check exact again.
 */
const KNOWN_DIFFERENCES: { molecule: string; field: string; fixedIn?: string; why: string }[] = [
  {
    molecule: 'dexamethasone',
    field: 'r2_1024_chiral',
    fixedIn: '2024.09.3',
    why: 'RDKit 2024.09.3 fixed chiral Morgan invariants (rdkit/rdkit#7986, "chirality distinguishes atoms too early"); older releases set different bits for some multi-centre molecules',
  },
  {
    molecule: 'cisplatin',
    field: 'canonicalSmiles',
    why: 'recent RDKit writes atoms bonded to metals in brackets ([Cl][Pt][Cl] vs Cl[Pt]Cl): same molecule, other spelling',
  },
];

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function knownDifference(reference: Reference, molecule: string, field: string): string | null {
  const entry = KNOWN_DIFFERENCES.find((d) => d.molecule === molecule && d.field === field);
  if (!entry) return null;
  if (entry.fixedIn && versionAtLeast(reference.rdkitVersion, entry.fixedIn)) return null;
  return entry.why;
}

/** A Python that can `import rdkit`, or null. CELLSHIFT_PYTHON=path overrides the search; =none forces the fixture. */
function findPythonWithRDKit(): string | null {
  if (process.env.CELLSHIFT_PYTHON === 'none') return null;
  const candidates = [process.env.CELLSHIFT_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import rdkit'], { stdio: 'ignore', timeout: 30_000 });
    if (probe.status === 0) return candidate;
  }
  return null;
}

function loadReference(): { reference: Reference; fixture: Reference; live: boolean } {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Reference;
  const python = findPythonWithRDKit();
  if (!python) return { reference: fixture, fixture, live: false };
  const run = spawnSync(python, [SCRIPT, '--stdout'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `${SCRIPT} failed: ${run.stderr}`);
  return { reference: JSON.parse(run.stdout) as Reference, fixture, live: true };
}

function mustDescribe(chem: Chemistry, smiles: string, options?: Parameters<Chemistry['describe']>[1]): MoleculeInfo {
  const result = chem.describe(smiles, options);
  if (!result.ok) assert.fail(`${smiles} was refused: ${result.reason}`);
  return result;
}

function mustFail(result: MoleculeResult): string {
  if (result.ok) assert.fail(`expected an invalid molecule, got ${result.canonicalSmiles}`);
  assert.equal(typeof result.reason, 'string');
  assert.ok(result.reason.length > 0, 'reason is empty');
  return result.reason;
}

const { reference, fixture, live } = loadReference();
let chem: Chemistry;

before(async () => {
  chem = await Chemistry.load({ engine: 'wasm' });
});

describe(`RDKit reference: ${live ? 'live' : 'recorded'} Python RDKit ${reference.rdkitVersion}, InChIKey via ${reference.inchiSource ?? 'none'}`, () => {
  test('the recorded fixture covers the same molecules and settings as the script', (t) => {
    if (!live) {
      t.diagnostic('python3-rdkit not available: comparing against test/fixtures/rdkit-reference.json');
      return;
    }
    assert.deepEqual(
      fixture.molecules.map((m) => [m.name, m.smiles]),
      reference.molecules.map((m) => [m.name, m.smiles]),
      'fixture is stale: run /usr/bin/python3 scripts/make-rdkit-reference.py',
    );
    assert.deepEqual(fixture.fingerprints, reference.fingerprints);
    if (fixture.rdkitVersion === reference.rdkitVersion && fixture.inchiSource === reference.inchiSource) {
      assert.deepEqual(fixture.molecules, reference.molecules, 'fixture values are stale: run scripts/make-rdkit-reference.py');
    }
  });

  for (const molecule of reference.molecules) {
    test(`${molecule.name} (${molecule.why})`, (t) => {
      const info = mustDescribe(chem, molecule.smiles);

      const smilesAllowance = knownDifference(reference, molecule.name, 'canonicalSmiles');
      if (info.canonicalSmiles !== molecule.canonicalSmiles && smilesAllowance) {
        // Same molecule spelled differently: reading Python's SMILES here gives ours back.
        t.diagnostic(`canonical SMILES ${info.canonicalSmiles} vs Python ${molecule.canonicalSmiles}: ${smilesAllowance}`);
        assert.equal(mustDescribe(chem, molecule.canonicalSmiles).canonicalSmiles, info.canonicalSmiles);
      } else {
        assert.equal(info.canonicalSmiles, molecule.canonicalSmiles, 'canonical SMILES (Chem.MolToSmiles)');
      }

      assert.deepEqual(info.removedFragments.length, molecule.removedFragments.length, 'removed fragments');
      for (const [i, fragment] of molecule.removedFragments.entries()) {
        assert.equal(mustDescribe(chem, info.removedFragments[i] ?? '').canonicalSmiles, mustDescribe(chem, fragment).canonicalSmiles);
      }

      assert.equal(info.scaffoldSmiles, molecule.scaffoldSmiles, 'Bemis–Murcko scaffold (MurckoScaffold.GetScaffoldForMol)');

      if (molecule.inchiKey === null) {
        t.diagnostic('no reference InChIKey (install libinchi-bin to cross-check)');
      } else {
        assert.equal(info.inchiKey, molecule.inchiKey, 'InChIKey');
      }

      for (const fp of reference.fingerprints) {
        const expected = molecule.morganOnBits[fp.key];
        assert.ok(expected, `reference lacks ${fp.key}`);
        const got = mustDescribe(chem, molecule.smiles, { radius: fp.radius, nBits: fp.nBits, chirality: fp.chirality, depict: false });
        assert.equal(got.fingerprint.length, fp.nBits);
        assert.equal(got.onBits, fingerprintOnBits(got.fingerprint).length);
        assert.deepEqual(got.params, { radius: fp.radius, nBits: fp.nBits, chirality: fp.chirality });
        const bits = fingerprintOnBits(got.fingerprint);
        const allowance = knownDifference(reference, molecule.name, fp.key);
        if (allowance && bits.join() !== expected.join()) {
          const pythonFp = new Uint8Array(fp.nBits);
          for (const bit of expected) pythonFp[bit] = 1;
          const similarity = tanimoto(got.fingerprint, pythonFp);
          t.diagnostic(`${fp.key}: Tanimoto ${similarity.toFixed(3)} to Python's bits: ${allowance}`);
          assert.ok(similarity > 0.8, `${fp.key} too far from Python's (${similarity})`);
        } else {
          assert.deepEqual(bits, expected, `Morgan on-bits ${fp.key} (GetMorganFingerprintAsBitVect)`);
        }
      }

      assert.ok(info.svg?.includes('<svg') && info.svg.includes('</svg>'), 'SVG depiction');
    });
  }
});

describe('Chemistry', () => {
  test('loads RDKit once per process and reports version and timings', async (t) => {
    const started = performance.now();
    const again = await Chemistry.load({ engine: 'wasm' });
    assert.ok(performance.now() - started < 50, 'second load should reuse the instance');
    assert.equal(await loadRDKit(), await loadRDKit());
    assert.match(again.rdkitVersion, /^\d{4}\.\d{2}\.\d+/);
    t.diagnostic(`RDKit ${chem.rdkitVersion}, wasm load ${chem.loadMs.toFixed(0)} ms`);

    const drugs = reference.molecules.map((m) => m.smiles);
    let begin = performance.now();
    for (let round = 0; round < 5; round++) for (const smiles of drugs) chem.describe(smiles);
    const full = (performance.now() - begin) / (5 * drugs.length);
    begin = performance.now();
    for (let round = 0; round < 5; round++) for (const smiles of drugs) chem.describe(smiles, { depict: false });
    const noSvg = (performance.now() - begin) / (5 * drugs.length);
    t.diagnostic(`describe: ${full.toFixed(2)} ms/molecule with SVG, ${noSvg.toFixed(2)} ms without`);
  });

  test('invalid, empty, placeholder and oversized SMILES are refused with a reason, never thrown', () => {
    assert.match(mustFail(chem.describe('C1CC')), /unclosed ring/);
    assert.match(mustFail(chem.describe('xyz')), /syntax error/);
    assert.match(mustFail(chem.describe('')), /empty/);
    assert.match(mustFail(chem.describe('   ')), /empty/);
    assert.match(mustFail(chem.describe('C(((')), /syntax error|position/);
    assert.match(mustFail(chem.describe('C(C)(C)(C)(C)C')), /valence/i);
    assert.match(mustFail(chem.describe('c1cccc1')), /kekulize/i);
    assert.match(mustFail(chem.describe('-666')), /placeholder/);
    assert.match(mustFail(chem.describe('restricted')), /placeholder/);
    assert.match(mustFail(chem.describe('C'.repeat(MAX_SMILES_LENGTH + 1))), new RegExp(`${MAX_SMILES_LENGTH}`));
    assert.match(mustFail(chem.describe('c1ccccc1'.repeat(5000))), /characters long/);
    assert.match(mustFail(chem.describe(null as unknown as string)), /not a string/);
    // Still usable afterwards, and the parse errors did not leak into the next result.
    assert.equal(mustDescribe(chem, 'CCO').canonicalSmiles, 'CCO');
  });

  test('surrounding whitespace is ignored', () => {
    assert.equal(mustDescribe(chem, '  CC(=O)Oc1ccccc1C(=O)O\t\n').canonicalSmiles, 'CC(=O)Oc1ccccc1C(=O)O');
  });

  test('a salt is described exactly as its parent compound', () => {
    const salt = mustDescribe(chem, 'CS(=O)(=O)O.Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(n1)-c1cccnc1');
    const parent = mustDescribe(chem, 'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(n1)-c1cccnc1');
    assert.deepEqual(salt.removedFragments, ['CS(=O)(=O)O']);
    assert.deepEqual(parent.removedFragments, []);
    // Everything but the drawing, whose layout follows the atom order of the SMILES it was read from.
    assert.deepEqual({ ...salt, removedFragments: [], svg: null }, { ...parent, svg: null });
  });

  test('chirality option: stereoisomers differ only when asked', () => {
    const s = 'C[C@H](C(=O)O)c1ccc(CC(C)C)cc1';
    const r = 'C[C@@H](C(=O)O)c1ccc(CC(C)C)cc1';
    const plain = [mustDescribe(chem, s), mustDescribe(chem, r)];
    const chiral = [mustDescribe(chem, s, { chirality: true }), mustDescribe(chem, r, { chirality: true })];
    assert.equal(tanimoto(plain[0]?.fingerprint ?? new Uint8Array(), plain[1]?.fingerprint ?? new Uint8Array()), 1);
    assert.ok(tanimoto(chiral[0]?.fingerprint ?? new Uint8Array(), chiral[1]?.fingerprint ?? new Uint8Array()) < 1);
    assert.notEqual(plain[0]?.canonicalSmiles, plain[1]?.canonicalSmiles);
    assert.notEqual(plain[0]?.inchiKey, plain[1]?.inchiKey);
    // No stereocentre: chirality changes nothing.
    assert.deepEqual(
      mustDescribe(chem, 'CC(=O)Oc1ccccc1C(=O)O', { chirality: true }).fingerprint,
      mustDescribe(chem, 'CC(=O)Oc1ccccc1C(=O)O').fingerprint,
    );
  });

  test('defaults are radius 2, 1024 bits, no chirality; bad settings are programming errors', () => {
    const info = mustDescribe(chem, 'Cn1cnc2c1c(=O)n(C)c(=O)n2C');
    assert.deepEqual(info.params, { radius: 2, nBits: 1024, chirality: false });
    assert.equal(info.fingerprint.length, 1024);
    assert.throws(() => chem.describe('CCO', { nBits: 0 }), RangeError);
    assert.throws(() => chem.describe('CCO', { radius: -1 }), RangeError);
    assert.throws(() => chem.describe('CCO', { radius: 2.5 }), RangeError);
    assert.equal(mustDescribe(chem, 'CCO', { depict: false }).svg, null);
  });

  test('tanimoto and fingerprintToFloat32', () => {
    const aspirin = mustDescribe(chem, 'CC(=O)Oc1ccccc1C(=O)O').fingerprint;
    const ibuprofen = mustDescribe(chem, 'CC(C)Cc1ccc(cc1)C(C)C(O)=O').fingerprint;
    assert.equal(tanimoto(aspirin, aspirin), 1);
    assert.equal(tanimoto(aspirin, mustDescribe(chem, 'OC(=O)c1ccccc1OC(C)=O').fingerprint), 1);
    const s = tanimoto(aspirin, ibuprofen);
    assert.ok(s > 0 && s < 0.5, `aspirin vs ibuprofen ${s}`);
    assert.equal(s, tanimoto(ibuprofen, aspirin));
    assert.equal(tanimoto(new Uint8Array(8), new Uint8Array(8)), 1);
    assert.equal(tanimoto(Uint8Array.of(1, 0, 1, 1), Uint8Array.of(1, 1, 0, 1)), 0.5);
    assert.throws(() => tanimoto(new Uint8Array(8), new Uint8Array(16)), RangeError);

    const values = fingerprintToFloat32(aspirin);
    assert.ok(values instanceof Float32Array);
    assert.equal(values.length, 1024);
    assert.equal(
      values.reduce((a, v) => a + v, 0),
      fingerprintOnBits(aspirin).length,
    );
    assert.ok(values.every((v) => v === 0 || v === 1));
  });

  test('every RDKit object created while describing is deleted', async () => {
    // Wrap the calls that hand out wasm objects (molecules, fragment lists) and check that each one
    // is deleted by the time describe() returns, on every path: salt, stereo scaffold, parse failure,
    // acyclic salt, metal, depiction.
    const { module } = await loadRDKit();
    interface Handle {
      isDeleted(): boolean;
    }
    const created: Handle[] = [];
    const track = (value: unknown): void => {
      if (value && typeof value === 'object') {
        if (typeof (value as Handle).isDeleted === 'function') created.push(value as Handle);
        const list = (value as { molList?: unknown }).molList;
        if (list) track(list);
      }
    };
    const restores: (() => void)[] = [];
    const wrap = (owner: Record<string, unknown>, name: string): void => {
      const original = owner[name] as ((...args: unknown[]) => unknown) & { overloadTable?: unknown };
      const wrapper = function (this: unknown, ...args: unknown[]) {
        const result = original.apply(this, args);
        track(result);
        return result;
      };
      // Embind's overload dispatcher looks its table up on the installed function.
      Object.assign(wrapper, { overloadTable: original.overloadTable });
      owner[name] = wrapper;
      restores.push(() => {
        owner[name] = original;
      });
    };
    const classes = module as unknown as { Mol: { prototype: Record<string, unknown> }; MolList: { prototype: Record<string, unknown> } };
    wrap(module as unknown as Record<string, unknown>, 'get_mol');
    wrap(classes.Mol.prototype, 'get_frags');
    wrap(classes.Mol.prototype, 'copy');
    wrap(classes.MolList.prototype, 'at');
    wrap(classes.MolList.prototype, 'next');
    wrap(classes.MolList.prototype, 'pop');
    try {
      for (const smiles of [
        'CS(=O)(=O)O.Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(n1)-c1cccnc1',
        'C[C@@H]1C[C@H]2[C@@H]3CCC4=CC(=O)C=C[C@]4(C)[C@@]3(F)[C@@H](O)C[C@]2(C)[C@@]1(O)C(=O)CO',
        'CCN(CC)CCNC(=O)c1c(C)[nH]c(\\C=C2/C(=O)Nc3ccc(F)cc23)c1C',
        'C1CC',
        'c1cccc1',
        'CCCC(CCC)C(=O)[O-].[Na+]',
        'N.N.Cl[Pt]Cl',
      ]) {
        chem.describe(smiles);
        chem.describe(smiles, { chirality: true, nBits: 2048, depict: false });
      }
    } finally {
      for (const restore of restores) restore();
    }
    assert.ok(created.length > 20, `only ${created.length} RDKit objects seen: tracking is not working`);
    const alive = created.filter((h) => !h.isDeleted());
    assert.equal(alive.length, 0, `${alive.length} of ${created.length} RDKit objects were not deleted`);
  });
});
