// Real-data import end to end: an L1000-shaped GCTX with LINCS tables, filtered, grouped into
// environments with drug fingerprints, stored in one transaction — and bad input that changes nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Chemistry } from '../../src-main/node/chem/chemistry.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import type { Store } from '../../src-main/node/store/store.js';
import { describeApplicability } from '../../src-main/shared/api/analysis.js';
import type { ImportRequest, ResolvedImportInput } from '../../src-main/shared/api/imports.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';
import { writeGctxH5wasm, writeH5adH5wasm } from '../fixtures/formats/writers.js';
import { type Fixture, SMILES, writeLincsFixture } from '../fixtures/lincs.js';
import { waitForJob } from './jobs.js';

let lab: LabService;

/** The fixture's files, granted as the command line grants what the user typed. */
function request(f: Fixture, extra: Partial<ResolvedImportInput> = {}): Promise<ImportRequest> {
  return lab.imports.requestFromPaths({
    matrixPath: f.gctx,
    sigInfoPath: f.sigInfo,
    pertInfoPath: f.pertInfo,
    geneInfoPath: f.geneInfo,
    ...extra,
  });
}

function tableCounts(store: Store): Record<string, number> {
  const tables = ['datasets', 'genes', 'samples', 'environments', 'perturbagens'];
  return Object.fromEntries(tables.map((t) => [t, (store.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
}

describe('importing L1000 data', () => {
  let dir: string;
  let fixture: Fixture;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-import-'));
    fixture = await writeLincsFixture(dir);
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('previews what survives the filter, before writing anything', async () => {
    const preview = await lab.imports.preview(await request(fixture));
    assert.equal(preview.format, 'gctx');
    assert.equal(preview.samplesInFile, 36);
    assert.equal(preview.samples, 32, 'the 4 trt_sh samples are filtered out');
    assert.equal(preview.genes, 8, 'landmark genes only');
    assert.equal(preview.environments, 5, 'control + 4 drugs');
    assert.equal(preview.controlSamples, 8);
    assert.equal(preview.drugs, 4);
    assert.deepEqual(preview.dropped, [{ reason: 'pert_type trt_sh not selected', samples: 4 }]);
    assert.equal(preview.drugsWithoutStructure.length, 1);
    assert.match(preview.drugsWithoutStructure[0]?.drug ?? '', /BRD-BROKEN/);
    assert.deepEqual(lab.store.datasets.list(), []);
  });

  it('imports a dataset with exact values, landmark genes, environments and fingerprints', async () => {
    const { jobId } = await lab.imports.start(await request(fixture, { environmentKey: 'drug+cell', name: 'LINCS test' }));
    const outcome = await waitForJob(lab, jobId);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const [dataset] = lab.store.datasets.list();
    assert.ok(dataset);
    assert.equal(dataset.name, 'LINCS test');
    assert.equal(dataset.nSamples, 32);
    assert.equal(dataset.nGenes, 8);
    assert.equal(dataset.nEnvironments, 10, '(control + 4 drugs) × 2 cell lines');
    const genes = lab.store.datasets.genes(dataset.id);
    assert.deepEqual(
      genes.map((g) => g.symbol),
      ['GENE0', 'GENE1', 'GENE2', 'GENE3', 'GENE4', 'GENE5', 'GENE6', 'GENE7'],
    );
    // Values of the first kept sample equal the file's at the landmark genes.
    const view = lab.store.datasets.trainingView(dataset.id);
    const firstKept = fixture.samples.findIndex((s) => s.type !== 'trt_sh');
    for (let g = 0; g < 8; g++) assert.equal(view.expression[g], fixture.values[firstKept * 12 + g]);
    const environments = lab.store.datasets.environments(dataset.id);
    assert.equal(environments.filter((e) => e.isControl).length, 2);
    assert.ok(
      environments.slice(0, 2).every((e) => e.isControl),
      'controls come first',
    );
    // 1024 Morgan bits + 1 fallback column (the drug without structure) + 2 cell lines
    assert.ok(environments.every((e) => e.representationLength === 1024 + 1 + 2));
    const chemistry = await Chemistry.load();
    const aspirin = chemistry.describe(SMILES['BRD-ASPIRIN'] as string);
    assert.ok(aspirin.ok);
    const aspirinEnv = view.environments.find((e) => e.key === 'BRD-ASPIRIN | A375');
    assert.ok(aspirinEnv?.representation);
    assert.deepEqual(Array.from(aspirinEnv.representation.subarray(0, 1024)), Array.from(aspirin.fingerprint));
    const broken = view.environments.find((e) => e.key === 'BRD-BROKEN | MCF7');
    assert.equal(broken?.representation?.[1024], 1, 'the drug without structure gets its one-hot fallback');
    assert.equal(
      Array.from(broken?.representation?.subarray(0, 1024) ?? []).reduce((a, b) => a + b, 0),
      0,
    );
    const metadata = lab.store.datasets.sampleColumn(dataset.id, 'pert_idose');
    assert.equal(metadata.filter((v) => v === '10 uM').length, 24);
    assert.equal(lab.store.imports.list()[0]?.status, 'completed');
  });

  it('a model trained on the imported drugs predicts the response to a new structure', async () => {
    const dataset = lab.store.datasets.list().find((d) => d.name === 'LINCS test');
    assert.ok(dataset);
    const config = TrainingConfig.parse({
      model: { family: 'env-vae', hiddenUnits: 16, latentDim: 4 },
      epochs: 3,
      batchSize: 16,
      validation: { kind: 'none' },
    });
    const run = lab.training.start(dataset.id, config);
    await lab.training.settled(run.id);
    assert.equal(lab.store.runs.get(run.id).status, 'completed');
    const chemistry = await lab.chemistry.load();
    const ibuprofen = await lab.analysis.predictDrug(run.id, 'CC(C)Cc1ccc(cc1)C(C)C(=O)O', { cellLine: 'A375' }, chemistry);
    assert.equal(ibuprofen.genes.length, 8);
    assert.equal(ibuprofen.seenInTraining, false);
    assert.ok(ibuprofen.genes.every((g) => Number.isFinite(g.predicted) && Math.abs(g.delta - (g.predicted - g.control)) < 1e-4));
    assert.match(ibuprofen.svg ?? '', /<svg/);
    const aspirin = await lab.analysis.predictDrug(run.id, SMILES['BRD-ASPIRIN'] as string, { cellLine: 'A375' }, chemistry);
    assert.equal(aspirin.seenInTraining, true);
    // Applicability domain: aspirin's nearest training drug is itself; this run held nothing out,
    // so how the model does at a similarity is unknown and said so.
    assert.equal(aspirin.applicability?.nearestDrug, 'BRD-ASPIRIN');
    assert.equal(aspirin.applicability?.similarity, 1);
    const near = ibuprofen.applicability;
    assert.ok(near && near.similarity >= 0 && near.similarity < 1 && near.pearsonDelta === null, JSON.stringify(near));
    assert.match(describeApplicability(near), /^Nearest training drug: BRD-\S+, Tanimoto similarity 0\.\d\d; no held-out drug of this run/);
    await assert.rejects(lab.analysis.predictDrug(run.id, 'C1CC(', { cellLine: 'A375' }, chemistry), /Cannot read the SMILES/);
    await assert.rejects(lab.analysis.predictDrug(run.id, 'CCO', { cellLine: null }, chemistry), /Choose a cell line: A375, MCF7/);
    await assert.rejects(lab.analysis.predictDrug(run.id, 'CCO', { cellLine: 'HeLa' }, chemistry), /"HeLa" is not in this dataset/);
  });

  it('imports single-cell perturbation data from AnnData (.h5ad, CSR X, categorical obs) with a SMILES column', async () => {
    const h5adDir = mkdtempSync(join(dir, 'h5ad-'));
    const path = join(h5adDir, 'perturb.h5ad');
    const drugs = ['aspirin', 'caffeine', 'control'];
    const cells = 30;
    const codes = Array.from({ length: cells }, (_, i) => i % 3);
    const X = new Float32Array(cells * 5).map((_, i) => (i % 4 === 0 ? 0 : (i % 7) + 0.5));
    await writeH5adH5wasm(path, {
      obsNames: Array.from({ length: cells }, (_, i) => `cell${i}`),
      varNames: ['TP53', 'MYC', 'EGFR', 'GAPDH', 'ACTB'],
      X,
      xFormat: 'csr',
      obs: {
        pert_id: { kind: 'categorical', categories: drugs, codes },
        pert_type: { kind: 'categorical', categories: ['trt_cp', 'ctl_vehicle'], codes: codes.map((c) => (c === 2 ? 1 : 0)) },
        smiles: { kind: 'string', values: codes.map((c) => [SMILES['BRD-ASPIRIN'], SMILES['BRD-CAFFEINE'], ''][c] as string) },
      },
    });
    const preview = await lab.imports.preview(
      await lab.imports.requestFromPaths({ matrixPath: path, filter: { landmarkOnly: false }, name: 'perturb-seq' }),
    );
    assert.equal(preview.format, 'h5ad');
    assert.deepEqual([preview.samples, preview.genes, preview.environments, preview.controlSamples], [30, 5, 3, 10]);
    assert.deepEqual(preview.drugsWithoutStructure, []);
    const { jobId } = await lab.imports.start(
      await lab.imports.requestFromPaths({ matrixPath: path, filter: { landmarkOnly: false }, name: 'perturb-seq' }),
    );
    const outcome = await waitForJob(lab, jobId);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const dataset = lab.store.datasets.list().find((d) => d.name === 'perturb-seq');
    assert.ok(dataset);
    const view = lab.store.datasets.trainingView(dataset.id);
    assert.deepEqual(Array.from(view.expression.subarray(0, 5)), Array.from(X.subarray(0, 5)), 'sparse X read back exactly');
    assert.deepEqual(
      lab.store.datasets.genes(dataset.id).map((g) => g.symbol),
      ['TP53', 'MYC', 'EGFR', 'GAPDH', 'ACTB'],
    );
    assert.equal(view.environments[0]?.isControl, true);
  });

  it('bad input gives a specific error and leaves the database exactly as it was', async () => {
    const before = tableCounts(lab.store);
    const cases: [string, Promise<ImportRequest>, RegExp][] = [];
    const truncatedDir = mkdtempSync(join(dir, 'truncated-'));
    const truncated = await writeLincsFixture(truncatedDir);
    truncateSync(truncated.gctx, 3000);
    cases.push(['truncated HDF5', request(truncated), /level5\.gctx/]);
    const nanDir = mkdtempSync(join(dir, 'nan-'));
    const nan = await writeLincsFixture(nanDir, { nan: true });
    cases.push(['a NaN value', request(nan), /sample ".*", gene "1002" is NaN/]);
    const dupDir = mkdtempSync(join(dir, 'dup-'));
    const dup = await writeLincsFixture(dupDir, { duplicateSig: true });
    cases.push(['duplicate sig_id', request(dup), /sig_info\.txt.*(duplicate|repeated)/i]);
    await assert.rejects(
      request({ ...fixture, gctx: join(dir, 'nope.gctx') }),
      /No such file: .*nope\.gctx/,
      'a missing file is not granted',
    );
    cases.push(['filter keeps nothing', request(fixture, { filter: { cellLines: ['HeLa'] } }), /No samples survive the filter/]);
    for (const [label, req, pattern] of cases) {
      const { jobId } = await lab.imports.start(await req);
      const outcome = await waitForJob(lab, jobId);
      assert.equal(outcome.ok, false, `${label} must fail`);
      assert.match(outcome.ok ? '' : outcome.message, pattern, label);
      assert.deepEqual(tableCounts(lab.store), before, `${label} changed nothing`);
    }
    // With nonFinite "zero" the NaN file imports, the NaN stored as 0.
    const { jobId } = await lab.imports.start(await request(nan, { nonFinite: 'zero', name: 'with zeros' }));
    const outcome = await waitForJob(lab, jobId);
    assert.ok(outcome.ok);
    const imported = lab.store.datasets.list().find((d) => d.name === 'with zeros');
    assert.ok(imported);
    assert.equal(Array.from(lab.store.datasets.trainingView(imported.id).expression).filter((v) => !Number.isFinite(v)).length, 0);
  });

  it('a kill in the middle of an import leaves no partial dataset and is reported as interrupted', async () => {
    const bigDir = mkdtempSync(join(dir, 'big-'));
    const genes = Array.from({ length: 978 }, (_, g) => String(g));
    const n = 40_000;
    const values = new Float32Array(n * genes.length).map((_, i) => (i % 97) / 10);
    const gctx = join(bigDir, 'big.gctx');
    await writeGctxH5wasm(gctx, {
      rowIds: genes,
      colIds: Array.from({ length: n }, (_, i) => `s${i}`),
      values,
      colMeta: { pert_id: { kind: 'text', values: Array.from({ length: n }, (_, i) => `BRD-${i % 50}`) } },
      chunks: [1000, 978],
    });
    const db = join(bigDir, 'lab.db');
    const script = `
      import { openLab } from ${JSON.stringify(new URL('../../src-main/node/lab/open.ts', import.meta.url).pathname)};
      const lab = await openLab({ databasePath: ${JSON.stringify(db)}, carrier: 'cli', seedDemo: false });
      lab.onEvent((e) => { if (e.type === 'job.progress' && e.fraction > 0) process.stdout.write('progress\\n'); });
      await lab.imports.start(await lab.imports.requestFromPaths({ matrixPath: ${JSON.stringify(gctx)}, filter: { landmarkOnly: false } }));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('progress')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`import child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const reopened = await openLab({ databasePath: db, carrier: 'cli', seedDemo: false });
    try {
      assert.equal(reopened.store.db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(reopened.store.datasets.list(), []);
      assert.equal((reopened.store.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n, 0);
      const [entry] = reopened.store.imports.list();
      assert.equal(entry?.status, 'interrupted');
      assert.match(entry?.message ?? '', /nothing of it was stored/);
    } finally {
      await closeLab(reopened);
    }
  });
});
