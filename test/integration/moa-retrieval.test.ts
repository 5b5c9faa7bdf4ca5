// Known mechanisms on a LINCS 2020-layout dataset: MoA and targets from a compoundinfo-like table
// reach the samples, and the retrieval metric (mAP of same-MoA neighbours) is reported for the
// prior shift, the measured Δ and the fingerprint, with drug neighbours side by side.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { averagePrecision, meanAveragePrecision } from '../../src-main/node/analysis/moa-retrieval.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { runStudy } from '../../src-main/node/lab/studies.js';
import type { ConnectivityResult, DrugNeighboursResult, MoaRetrievalResult } from '../../src-main/shared/api/index.js';
import { MOA_PANEL, writeLincs2020 } from '../fixtures/lincs2020.js';
import { labCaller } from '../lab-call.js';
import { importPaths } from '../shared-fixtures.js';
import { trainSettled, useTempLab } from '../temp-lab.js';

describe('average precision', () => {
  it('is 1 when the relevant items come first and 1/2·(1/2 + 2/4) for ranks 2 and 4', () => {
    assert.equal(averagePrecision([0.9, 0.8, 0.1], [true, true, false]), 1);
    assert.ok(Math.abs((averagePrecision([0.9, 0.8, 0.7, 0.6], [false, true, false, true]) ?? 0) - 0.5) < 1e-12);
    assert.equal(averagePrecision([0.5], [false]), null);
  });

  it('leaves out environments of the same perturbagen and drugs without MoA', () => {
    const items = [
      { key: 'a1', label: 'a', perturbagen: 'A', moa: ['x'], targets: [] },
      { key: 'a2', label: 'a', perturbagen: 'A', moa: ['x'], targets: [] },
      { key: 'b', label: 'b', perturbagen: 'B', moa: ['x'], targets: [] },
      { key: 'c', label: 'c', perturbagen: 'C', moa: ['y'], targets: [] },
      { key: 'd', label: 'd', perturbagen: 'D', moa: [], targets: [] },
    ];
    // Similarity puts the other 'x' drug last for everyone: AP of a1, a2 = 1/2, b = (1/2 + 2/3)/2.
    const sim = (i: number, j: number) => (items[j]?.moa[0] === 'x' ? 0 : 1) + (items[j]?.moa.length ? 0 : 2) - (i === j ? 9 : 0);
    const result = meanAveragePrecision(items, sim);
    assert.equal(result.queries, 3, 'c has no other y to find');
    assert.ok(Math.abs(result.map - (0.5 + 0.5 + (1 / 2 + 2 / 3) / 2) / 3) < 1e-12, String(result.map));
  });
});

describe('MoA retrieval on a LINCS 2020-layout dataset', () => {
  const temp = useTempLab('moa');
  let lab: LabService;
  let call: <T>(method: string, params: unknown) => Promise<T>;
  let runId: string;
  let datasetId: string;

  before(async () => {
    lab = temp.lab;
    const fixture = await writeLincs2020(temp.dir, MOA_PANEL);
    call = labCaller(lab);
    datasetId = await importPaths(lab, {
      matrixPath: fixture.gctx,
      sigInfoPath: fixture.siginfo,
      pertInfoPath: fixture.compoundinfo,
      environmentKey: 'drug+cell',
      filter: { landmarkOnly: false },
    });
    runId = await trainSettled(lab, datasetId, { model: { family: 'env-vae', hiddenUnits: 16, latentDim: 6 }, epochs: 3, batchSize: 32 });
  });

  it('reports mAP for prior shift, measured Δ and fingerprint, each against chance', async (t) => {
    const result = await call<MoaRetrievalResult>('mechanism.moaRetrieval', { runId });
    t.diagnostic(result.scores.map((s) => `${s.method}: mAP ${s.map?.toFixed(3)} (random ${s.chance?.toFixed(3)})`).join('; '));
    assert.equal(result.drugs, 24, '12 drugs × 2 cell lines');
    assert.equal(result.annotated, 24);
    assert.deepEqual(
      result.scores.map((s) => s.method),
      ['prior shift', 'measured Δ', 'fingerprint'],
    );
    for (const s of result.scores) {
      assert.ok(s.map !== null && s.chance !== null && s.map > 0 && s.map <= 1, JSON.stringify(s));
      assert.equal(s.queries, 24);
      assert.ok(Math.abs(s.chance - 6 / 22) < 1e-12, '6 other-drug environments of the same MoA among 22');
    }
    const delta = result.scores.find((s) => s.method === 'measured Δ');
    assert.ok((delta?.map ?? 0) > 0.9, `the measured change groups drugs by MoA, as the fixture was built: ${delta?.map}`);
    assert.match(result.verdict, /groups drugs by known MoA best/);
  });

  it('lists neighbours by each description with shared MoA and targets marked', async () => {
    const environments = lab.store.datasets.environments(lab.store.runs.get(runId).datasetId);
    const vorinostat = environments.find((e) => e.key === 'BRD-K81418486 | A375');
    assert.ok(vorinostat, environments.map((e) => e.key).join(', '));
    const result = await call<DrugNeighboursResult>('mechanism.neighbours', { runId, environmentKey: vorinostat.key, count: 5 });
    assert.deepEqual(result.moa, ['HDAC inhibitor']);
    assert.deepEqual(result.targets, ['HDAC1', 'HDAC2', 'HDAC3']);
    const delta = result.methods.find((m) => m.method === 'measured Δ');
    assert.equal(delta?.neighbours.length, 5);
    assert.deepEqual(delta?.neighbours[0]?.sharedMoa, ['HDAC inhibitor']);
    assert.ok(delta?.neighbours[0]?.sharedTargets.includes('HDAC1'));
  });

  it('screens structures never profiled through the run, each with its nearest training drug', async () => {
    // Every environment's fingerprint (~50k at LINCS size) is read in the analysis worker, not on the serving thread.
    const datasets = lab.store.datasets;
    const readHere: string[] = [];
    const { representations, environments } = datasets;
    datasets.representations = (id) => {
      readHere.push('representations');
      return representations.call(datasets, id);
    };
    datasets.environments = (id) => {
      readHere.push('environments');
      return environments.call(datasets, id);
    };
    let result: ConnectivityResult;
    try {
      result = await call<ConnectivityResult>('mechanism.screen', {
        runId,
        smiles: ['ONC(=O)CCCCCCC(=O)Nc1ccccc1', 'CCCCCCCCCCCCCCCC(=O)O'],
        cellLine: 'A375',
        up: ['5000', '5001', '5002', '5003', '5004'],
        down: ['5010', '5011', '5012', '5013', '5014'],
        randomQueries: 100,
      });
    } finally {
      datasets.representations = representations;
      datasets.environments = environments;
    }
    assert.deepEqual(readHere, [], 'read on the serving thread');
    assert.equal(result.rows.length, 2);
    assert.equal(result.runId, runId);
    const vorinostat = result.rows.find((r) => r.signature.startsWith('ONC'));
    assert.equal(vorinostat?.applicability?.similarity, 1);
    assert.match(vorinostat?.applicability?.note ?? '', /close analogue of vorinostat \(Tanimoto 1.00\)/);
    const fatty = result.rows.find((r) => r.signature.startsWith('CCCC'));
    assert.ok((fatty?.applicability?.similarity ?? 1) < 0.4);
    assert.match(fatty?.applicability?.note ?? '', /far from every training drug/);
    await assert.rejects(
      call('mechanism.screen', { runId, smiles: ['C1CC('], cellLine: 'A375', up: ['5000'], down: [] }),
      /bad_input: Cannot read SMILES 1/,
    );
  });

  it('runs as a study: mAP per description over trials, stored as a report', async () => {
    const result = await runStudy(lab, 'moa-retrieval', { quick: true, trials: 1, epochs: 2, seed: 0, datasetId });
    assert.equal(result.runs.length, 1);
    assert.deepEqual(
      result.table.slice(0, 3).map((row) => row.quantity),
      ['prior shift', 'measured Δ', 'fingerprint'].map((m) => `mAP of same-MoA neighbours by ${m}`),
    );
    assert.match(result.table[1]?.measured ?? '', /^1\.00 ± 0\.0 over 1 trial\(s\); random ranking 0\.273$/);
    assert.equal(result.figures[0]?.series[0]?.points.length, 3);
    await assert.rejects(runStudy(lab, 'moa-retrieval', { quick: true, seed: 0 }), /needs --dataset ID/);
  });
});
