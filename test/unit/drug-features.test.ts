// Drug representations rebuilt from SMILES: RDKit computes them (Morgan radii, the wasm build's
// 2-D descriptors), the store caches them per SMILES and representation, and training swaps them
// in for the imported fingerprint — standardising descriptors with the training drugs only, and
// leaving cell line, dose and time alone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Chemistry } from '../../src-main/node/chem/chemistry.js';
import { type DrugFeatureTable, drugFeatureTable, ensureDrugFeatures } from '../../src-main/node/data/drug-features.js';
import { prepareTrainingData } from '../../src-main/node/ml/training-data.js';
import type { TrainingView } from '../../src-main/node/store/datasets.js';
import { Store } from '../../src-main/node/store/store.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';
import { twoSampleView } from '../fixtures/two-sample-view.js';

const ASPIRIN = 'CC(=O)Oc1ccccc1C(=O)O';
const CAFFEINE = 'Cn1c(=O)c2c(ncn2C)n(C)c1=O';

/** Four drugs in one cell line plus its control; representation = 2 fingerprint bits, cell, log dose. */
function view(): TrainingView {
  const columns = ['morgan bit 0', 'morgan bit 1', 'cell A', 'log10 dose (µM)'];
  const drugs = ['d0', 'd1', 'd2', 'd3'];
  const environments = [
    {
      id: 'ctl',
      key: 'control | A',
      label: '',
      isControl: true,
      representation: Float32Array.from([0, 0, 1, 0]),
      perturbagen: null,
      cellLine: 'A',
      scaffold: null,
      canonicalSmiles: null,
    },
    ...drugs.map((d, i) => ({
      id: d,
      key: `${d} | A`,
      label: '',
      isControl: false,
      representation: Float32Array.from([i % 2, 1, 1, i - 1]),
      perturbagen: d,
      cellLine: 'A',
      scaffold: `s${i}`,
      canonicalSmiles: `C${'C'.repeat(i)}O`,
    })),
  ];
  return twoSampleView(environments, columns);
}

describe('drug features from RDKit', () => {
  it('Morgan radius 2 at 1024 bits is the fingerprint imports store; descriptors are the wasm build set, by name', async () => {
    const chemistry = await Chemistry.load();
    const described = chemistry.describe(ASPIRIN);
    assert.ok(described.ok);
    const bits = chemistry.features(described.canonicalSmiles, { kind: 'morgan', radius: 2, nBits: 1024 });
    assert.ok(bits.ok);
    assert.deepEqual(Array.from(bits.values), Array.from(described.fingerprint));
    const radius1 = chemistry.features(described.canonicalSmiles, { kind: 'morgan', radius: 1, nBits: 1024 });
    assert.ok(radius1.ok);
    const count = (v: Float32Array) => v.reduce((a, b) => a + b, 0);
    assert.ok(count(radius1.values) < count(bits.values), 'a smaller radius sets fewer bits');
    const descriptors = chemistry.features(described.canonicalSmiles, { kind: 'descriptors' });
    assert.ok(descriptors.ok);
    // Aspirin's topological polar surface area is 63.6 Å² (Ertl et al. 2000; PubChem lists 63.6).
    const tpsa = descriptors.values[descriptors.names.indexOf('descriptor tpsa')] as number;
    assert.ok(Math.abs(tpsa - 63.6) < 0.05, `TPSA ${tpsa}`);
    assert.ok(descriptors.names.length > 30);
    const bad = chemistry.features('C1CC', { kind: 'descriptors' });
    assert.equal(bad.ok, false);
  });

  describe('the cache', () => {
    let dir: string;
    let store: Store;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'cellshift-drug-features-'));
      store = Store.open(join(dir, 'lab.db'));
    });
    after(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('computes each (SMILES, representation) once, and says so when features were never computed', async () => {
      const chemistry = await Chemistry.load();
      const smiles = [ASPIRIN, CAFFEINE].map((s) => {
        const d = chemistry.describe(s);
        assert.ok(d.ok);
        return d.canonicalSmiles;
      });
      const v = view();
      v.environments = v.environments.slice(0, 3).map((e, i) => ({ ...e, canonicalSmiles: i === 0 ? null : (smiles[i - 1] as string) }));
      assert.throws(
        () => drugFeatureTable(store, v, 'morgan-r2+descriptors'),
        /were never computed; they are computed when a run or study starts/,
      );
      await ensureDrugFeatures(store, v, 'morgan-r2+descriptors');
      const table = drugFeatureTable(store, v, 'morgan-r2+descriptors');
      assert.equal(table.columns.filter((c) => c.startsWith('morgan r2 bit ')).length, 2048);
      assert.ok(table.columns.includes('descriptor tpsa'));
      const aspirin = table.features(smiles[0] as string);
      assert.equal(aspirin?.length, table.columns.length);
      // A second call finds everything cached: the rows it would write are already there.
      const rows = () => store.db.prepare('SELECT count(*) FROM drug_features').pluck().get() as number;
      assert.equal(rows(), 4);
      await ensureDrugFeatures(store, v, 'descriptors');
      assert.equal(rows(), 4);
      await ensureDrugFeatures(store, v, 'morgan-r1');
      assert.equal(rows(), 6);
    });
  });
});

describe('training on another representation', () => {
  // d0..d3 get descriptors [i, 10·i] under the names below; the imported bits must disappear.
  const table: DrugFeatureTable = {
    columns: ['descriptor a', 'descriptor b', 'morgan r1 bit 0'],
    features: (smiles) => {
      const i = smiles.length - 2;
      return i === 3 ? null : Float32Array.from([i, 10 * i, 1]);
    },
  };
  const prepare = (drugInput = 'structure', features: DrugFeatureTable | null = table) =>
    prepareTrainingData(
      view(),
      TrainingConfig.parse({
        model: { family: 'cvae' },
        drugInput,
        drugFeatures: 'descriptors',
        validation: { kind: 'held-out-drugs', fraction: 0.25, seed: 3 },
      }),
      () => [],
      features ?? undefined,
    );

  it('replaces the fingerprint, standardises descriptors with training drugs, keeps cell and dose, zeroes controls', () => {
    const data = prepare();
    assert.deepEqual(data.environmentColumns, ['descriptor a', 'descriptor b', 'morgan r1 bit 0', 'cell A', 'log10 dose (µM)']);
    const width = data.environmentWidth;
    const row = (e: number) => Array.from(data.environmentInputs.subarray(e * width, (e + 1) * width));
    assert.deepEqual(row(0), [0, 0, 0, 1, 0], 'the control has no drug');
    const held = new Set(data.validationEnvironments);
    const trainingDrugs = [1, 2, 3, 4].filter((e) => !held.has(`d${e - 1} | A`) && e !== 4);
    const mean = trainingDrugs.reduce((s, e) => s + (row(e)[0] as number), 0) / trainingDrugs.length;
    assert.ok(Math.abs(mean) < 1e-6, `training descriptors are centred (${mean})`);
    assert.deepEqual(row(1).slice(3), [1, -1], 'cell and dose as stored');
    assert.deepEqual(
      row(2).slice(0, 2),
      row(2)
        .slice(0, 2)
        .map((v) => Math.fround(v)),
    );
    assert.equal(row(1)[2], 1, 'bits are not standardised');
    assert.deepEqual(row(4).slice(0, 3), [0, 0, 0], 'a drug RDKit could not describe gets zeros');
  });

  it('the no-drug control zeroes the new coordinates, not the context', () => {
    const data = prepare('none');
    const width = data.environmentWidth;
    for (let e = 0; e < 5; e++) assert.deepEqual(Array.from(data.environmentInputs.subarray(e * width, e * width + 3)), [0, 0, 0]);
    assert.deepEqual(Array.from(data.environmentInputs.subarray(2 * width + 3, 3 * width)), [1, 0]);
  });

  it('a representation without its table is a programming error, not a silent fallback to the fingerprint', () => {
    assert.throws(() => prepare('structure', null), /without its feature table/);
  });
});
