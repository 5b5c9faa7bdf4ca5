// A run that really diverges, through the whole lab (worker thread, SQLite, LabApi records):
// the seed reports losses exploding on L1000, and this product must stop such a run itself,
// keep its last good epoch's checkpoint and history, and say what happened. The trainer's guard
// is unit-tested with a sabotaged loss (test/unit/trainer.test.ts); here nothing is sabotaged:
// an unstable configuration (learning rate 1, clipping and variance bounds opened up, a very
// sharp prior) makes the loss blow up by itself. It does so at epoch 6 on every backend
// (native-blas, wasm, cpu), so the run has good epochs to keep.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../src-main/node/data/random.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { decodeFloat32Rows } from '../../src-main/shared/api/analysis.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';

let root = '';
let lab: LabService;
let datasetId = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cellshift-divergence-'));
  lab = await openLab({ databasePath: join(root, 'lab.db'), carrier: 'cli', seedDemo: false });
  const rng = new Rng(1);
  const genes = 50;
  const environments = 10;
  const writer = lab.store.datasets.begin({
    name: 'noise',
    source: 'synthetic',
    description: 'N(0,1) expression, random binary environment representations',
    provenance: { test: 'divergence' },
    genes: Array.from({ length: genes }, (_, g) => ({ id: `g${g}`, symbol: `G${g}`, landmark: true })),
    environments: Array.from({ length: environments }, (_, e) => ({
      key: `e${e}`,
      label: `e${e}`,
      isControl: e === 0,
      representation: Float32Array.from({ length: 16 }, () => (rng.next() < 0.5 ? 1 : 0)),
      representationKind: 'bits',
    })),
  });
  writer.addSamples(
    Array.from({ length: 1000 }, (_, i) => ({
      id: `s${i}`,
      environment: i % environments,
      metadata: {},
      expression: Float32Array.from({ length: genes }, () => rng.normal()),
    })),
  );
  datasetId = writer.commit().id;
});

after(async () => {
  await closeLab(lab);
  rmSync(root, { recursive: true, force: true });
});

describe('a diverging run, end to end', () => {
  test('stops itself as diverged, keeps the last good checkpoint and history, and that checkpoint still loads', async () => {
    const epochs = 40;
    const config = TrainingConfig.parse({
      model: { family: 'env-vae', hiddenUnits: 32, latentDim: 4, logVarBound: 30, temperature: 0.01 },
      epochs,
      batchSize: 100,
      learningRate: 1,
      gradientClipNorm: 1e30,
      validation: { kind: 'none' },
    });
    const run = lab.training.start(datasetId, config);
    await lab.training.settled(run.id);
    const done = lab.training.detail(run.id);

    assert.equal(done.status, 'diverged', `${done.status}: ${done.message}`);
    assert.equal(done.active, false);
    assert.ok(done.finishedAt !== null);
    const said =
      /The loss (?:exploded to \S+ \(best epoch loss \S+\)|became \S+) at epoch (\d+), step \d+\. Training stopped; the checkpoint of epoch (\d+) is kept\./.exec(
        done.message ?? '',
      );
    assert.ok(said, `the message says where it diverged and what is kept: ${done.message}`);
    const badEpoch = Number(said[1]);
    const keptEpoch = Number(said[2]);
    assert.equal(keptEpoch, badEpoch - 1);
    assert.ok(keptEpoch >= 1 && badEpoch < epochs, `diverged at epoch ${badEpoch} of ${epochs}`);

    // The record agrees with the message: history and checkpoints end at the last good epoch.
    assert.equal(done.epochsDone, keptEpoch);
    assert.equal(Math.max(...done.checkpoints), keptEpoch);
    const points = lab.store.runs.metrics(run.id);
    assert.ok(
      points.every((p) => p.epoch <= keptEpoch),
      'nothing of the diverged epoch was recorded',
    );
    assert.ok(
      points.every((p) => Number.isFinite(p.value)),
      'every recorded value is finite',
    );
    assert.deepEqual(
      points.filter((p) => p.split === 'train' && p.name === 'loss').map((p) => p.epoch),
      Array.from({ length: keptEpoch }, (_, i) => i + 1),
    );

    // The kept checkpoint is a usable model: its analysis is finite throughout.
    const shift = await lab.analysis.priorShift(run.id);
    assert.equal(shift.epoch, keptEpoch);
    const report = shift.report;
    const values = report
      ? [report.mean, report.logStd].flatMap((packed) => (packed === null ? [] : decodeFloat32Rows(packed, report.latentDim).flat()))
      : [];
    assert.ok(values.length > 0 && values.every(Number.isFinite), 'no NaN or infinity in the prior shift of the kept checkpoint');
    assert.equal(lab.store.db.pragma('integrity_check', { simple: true }), 'ok');
    console.log(`# diverged by itself at epoch ${badEpoch} on ${done.backend}; kept epoch ${keptEpoch}: ${done.message}`);
  });
});
