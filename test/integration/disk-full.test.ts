// The disk holding the database fills up during an import and during training.
//
// Two ways to run out of space, both real SQLite failures (no mocks):
// - PRAGMA max_page_count caps the database file: SQLite then fails writes with SQLITE_FULL
//   exactly as on a full disk. It needs no privileges, so these tests always run; but it is per
//   connection, so it reaches only code that writes through a connection the test holds.
// - A small tmpfs really runs out of space (ENOSPC), for the whole app: the CLI import in its
//   own process and a training worker writing epochs. Mounting needs root (as in CI); without
//   it those tests are skipped, saying so.
// Expected: a message naming the database and what to do, the failed write rolled back whole
// (integrity_check ok, no partial dataset), a failed run keeping its history and checkpoint,
// and a retry or resume that works once there is space again.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../src-main/node/data/random.js';
import { prepareImport, runImport } from '../../src-main/node/lab/import/index.js';
import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import { databaseFailure, sqliteCode } from '../../src-main/node/store/errors.js';
import { Store } from '../../src-main/node/store/store.js';
import { ResolvedImport } from '../../src-main/shared/api/imports.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';
import { writeGctxH5wasm } from '../fixtures/formats/writers.js';
import { assertNoRawError, cellshift, fillDisk, mountTmpfs, remount, removeFile, unmount, waitUntil } from './fault-tools.js';

const FULL_MESSAGE = /The disk holding the database .+ is full \(.+ free\): nothing of this operation was stored\. Free some space/;

let root = '';
let gctx = '';
const GENES = 978;
const SAMPLES = 1500; // 5.9 MB of expression: more than the small disks below hold

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cellshift-diskfull-'));
  gctx = join(root, 'level5.gctx');
  await writeGctxH5wasm(gctx, {
    rowIds: Array.from({ length: GENES }, (_, g) => String(g)),
    colIds: Array.from({ length: SAMPLES }, (_, i) => `sig${i}`),
    values: new Float32Array(SAMPLES * GENES).map((_, i) => (i % 97) / 9),
    colMeta: { pert_id: { kind: 'text', values: Array.from({ length: SAMPLES }, (_, i) => `BRD-${i % 30}`) } },
  });
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

function integrity(store: Store): string {
  return store.db.pragma('integrity_check', { simple: true }) as string;
}

function count(store: Store, sql: string, ...params: unknown[]): number {
  return (store.db.prepare(sql).get(...params) as { n: number }).n;
}

/** Environments of random binary representations with N(0,1) expression: enough to train on. */
function addTrainingDataset(store: Store, genes: number, samples: number): string {
  const rng = new Rng(5);
  const environments = 20;
  const writer = store.datasets.begin({
    name: 'random',
    source: 'synthetic',
    description: 'N(0,1) expression',
    provenance: { test: 'disk-full' },
    genes: Array.from({ length: genes }, (_, g) => ({ id: `g${g}`, symbol: `G${g}`, landmark: true })),
    environments: Array.from({ length: environments }, (_, e) => ({
      key: `env${e}`,
      label: `environment ${e}`,
      isControl: e === 0,
      representation: Float32Array.from({ length: 32 }, () => (rng.next() < 0.5 ? 1 : 0)),
      representationKind: 'random-bits',
    })),
  });
  writer.addSamples(
    Array.from({ length: samples }, (_, i) => ({
      id: `s${i}`,
      environment: i % environments,
      metadata: { environment: `env${i % environments}` },
      expression: Float32Array.from({ length: genes }, () => rng.normal()),
    })),
  );
  return writer.commit().id;
}

// ---------------------------------------------------------------------------------------------

describe('disk full, reproduced with PRAGMA max_page_count (always runs)', () => {
  test('an import that runs out of pages rolls back whole, says the disk is full, and lands on retry', async () => {
    const path = join(root, 'page-limit-import.db');
    const store = Store.open(path);
    try {
      const kept = importSyntheticPreset(store, { preset: 'linear-independent-2', seed: 1 });
      const entry = store.imports.begin(gctx);
      const pages = store.db.pragma('page_count', { simple: true }) as number;
      // Room for ~256 KiB more: the header and a few hundred samples, not the 5.9 MB dataset.
      store.db.pragma(`max_page_count = ${pages + 64}`);
      const request = ResolvedImport.parse({ matrixPath: gctx, filter: { landmarkOnly: false } });

      let failure: unknown = null;
      try {
        await runImport(store, await prepareImport(request, null), undefined, (id) => store.imports.finish(entry, 'completed', id, null));
      } catch (error) {
        failure = error;
      }
      assert.equal(sqliteCode(failure), 'SQLITE_FULL', `expected SQLITE_FULL, got ${String(failure)}`);
      const described = databaseFailure(failure, path);
      assert.ok(described);
      assert.equal(described.code, 'conflict');
      assert.match(described.message, FULL_MESSAGE);
      assert.ok(described.message.includes(path), 'names the database');

      assert.equal(integrity(store), 'ok');
      assert.deepEqual(
        store.datasets.list().map((d) => d.id),
        [kept.id],
        'no partial dataset',
      );
      assert.equal(count(store, 'SELECT count(*) AS n FROM samples WHERE dataset_id != ?', kept.id), 0, 'no orphan samples');
      assert.equal(count(store, 'SELECT count(*) AS n FROM genes WHERE dataset_id != ?', kept.id), 0, 'no orphan genes');
      assert.equal(store.datasets.list()[0]?.nSamples, kept.nSamples, 'the earlier dataset is whole');
      assert.equal(store.imports.get(entry).status, 'running', 'the journal entry did not commit with the failed dataset');

      // Space again (the limit lifted): the same import lands.
      store.db.pragma('max_page_count = 1073741823');
      const summary = await runImport(store, await prepareImport(request, null), undefined, (id) =>
        store.imports.finish(entry, 'completed', id, null),
      );
      assert.equal(summary.nSamples, SAMPLES);
      assert.equal(store.imports.get(entry).status, 'completed');
      assert.equal(integrity(store), 'ok');
    } finally {
      store.close();
    }
  });

  test("an epoch's metrics and checkpoint that do not fit are not stored at all; the earlier history is kept", () => {
    const path = join(root, 'page-limit-epochs.db');
    const store = Store.open(path);
    try {
      const datasetId = addTrainingDataset(store, 20, 100);
      const run = store.runs.create({ datasetId, name: 'filling', model: 'vae', config: { epochs: 10 }, seed: 0 });
      const weights = (epoch: number, kib = 48) => Buffer.alloc(kib * 1024, epoch);
      const epoch = (e: number, kib = 48) => ({
        epoch: e,
        points: [
          { epoch: e, step: e * 10, split: 'train', name: 'loss', value: 10 / e },
          { epoch: e, step: e * 10, split: 'validation', name: 'loss', value: 11 / e },
        ],
        validationLoss: 11 / e,
        checkpoint: { step: e * 10, weights: weights(e, kib), optimizerState: weights(e + 100, kib), rngState: null, keep: 2 },
      });
      for (const e of [1, 2, 3]) store.runs.recordEpoch(run.id, epoch(e));
      const history = store.runs.metrics(run.id);
      const checkpoints = store.runs.checkpointEpochs(run.id);

      // Pruned checkpoints left free pages (~100 KiB) to reuse; a 1 MiB checkpoint does not fit
      // in those plus 8 pages (32 KiB) more.
      store.db.pragma(`max_page_count = ${(store.db.pragma('page_count', { simple: true }) as number) + 8}`);
      let failure: unknown = null;
      try {
        store.runs.recordEpoch(run.id, epoch(4, 512));
      } catch (error) {
        failure = error;
      }
      assert.equal(sqliteCode(failure), 'SQLITE_FULL', `expected SQLITE_FULL, got ${String(failure)}`);
      assert.match(databaseFailure(failure, path)?.message ?? '', FULL_MESSAGE);
      assert.deepEqual(store.runs.metrics(run.id), history, 'metrics unchanged: nothing of epoch 4');
      assert.deepEqual(store.runs.checkpointEpochs(run.id), checkpoints, 'the last good checkpoints are kept');
      assert.equal(store.runs.latestCheckpoint(run.id)?.weights.equals(weights(3)), true);
      assert.equal(store.runs.get(run.id).epochsDone, 3);
      assert.equal(integrity(store), 'ok');
    } finally {
      store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('disk full on a real small file system (tmpfs; needs root)', () => {
  test('cellshift import on a full disk: a clear message, exit 1, nothing stored; after freeing space the retry lands', async (t) => {
    const mount = join(root, 'small-import');
    mkdirSync(mount);
    const skip = mountTmpfs(mount, 3 * 1024 * 1024);
    if (skip) return t.skip(skip);
    try {
      const db = join(mount, 'lab.db');
      const seeded = await cellshift(['import', '--synthetic', 'linear-independent-2', '--seed', '1', '--db', db, '--json']);
      assert.equal(seeded.code, 0, seeded.stderr);

      const full = await cellshift(['import', gctx, '--all-genes', '--db', db, '--json']);
      assert.equal(full.code, 1, `exit code; stderr: ${full.stderr}`);
      assert.match(full.stderr, FULL_MESSAGE);
      assert.ok(full.stderr.includes(db), `names the database: ${full.stderr}`);
      assertNoRawError(full.stderr);

      const store = Store.open(db);
      try {
        assert.equal(integrity(store), 'ok');
        const datasets = store.datasets.list();
        assert.equal(datasets.length, 1, 'only the earlier dataset');
        assert.equal(count(store, 'SELECT count(*) AS n FROM samples WHERE dataset_id != ?', datasets[0]?.id), 0, 'no partial dataset');
        const [failed] = store.imports.list(1);
        assert.equal(failed?.status, 'failed');
        assert.match(failed?.message ?? '', FULL_MESSAGE, 'the journal says why');
      } finally {
        store.close();
      }

      remount(mount, 'size=32m'); // the user frees space
      const retry = await cellshift(['import', gctx, '--all-genes', '--db', db, '--json']);
      assert.equal(retry.code, 0, retry.stderr);
      const after = Store.open(db);
      try {
        assert.equal(integrity(after), 'ok');
        assert.deepEqual(
          after.datasets
            .list()
            .map((d) => d.nSamples)
            .sort((a, b) => a - b),
          [after.datasets.list().find((d) => d.source === 'synthetic')?.nSamples, SAMPLES].sort((a, b) => (a ?? 0) - (b ?? 0)),
        );
      } finally {
        after.close();
      }
    } finally {
      unmount(mount);
    }
  });

  test('training when the disk fills: the run fails saying so, keeps its history and last checkpoint, and resumes once there is space', async (t) => {
    const mount = join(root, 'small-training');
    mkdirSync(mount);
    const skip = mountTmpfs(mount, 16 * 1024 * 1024);
    if (skip) return t.skip(skip);
    let filler = '';
    try {
      const db = join(mount, 'lab.db');
      const setup = Store.open(db);
      const datasetId = addTrainingDataset(setup, 100, 1000);
      setup.close();

      const lab = await openLab({ databasePath: db, carrier: 'cli', seedDemo: false });
      try {
        const epochs = 400;
        const run = lab.training.start(
          datasetId,
          TrainingConfig.parse({ model: { family: 'env-vae', hiddenUnits: 64, latentDim: 8 }, epochs, batchSize: 200, keepCheckpoints: 2 }),
        );
        await waitUntil('two recorded epochs', () => lab.store.runs.get(run.id).epochsDone >= 2, 60_000);
        filler = fillDisk(mount).path;
        await lab.training.settled(run.id);

        // The disk is still full, so not even the status could be written: the lab reports it anyway.
        const failed = lab.training.detail(run.id);
        assert.equal(failed.status, 'failed', `status ${failed.status}: ${failed.message}`);
        assert.equal(failed.active, false);
        assert.ok(failed.epochsDone >= 2 && failed.epochsDone < epochs, `epochsDone ${failed.epochsDone}`);
        assert.match(failed.message ?? '', FULL_MESSAGE);
        assert.match(failed.message ?? '', new RegExp(`up to epoch ${failed.epochsDone} are kept; resume`));
        assertNoRawError(failed.message ?? '');

        // The history is whole up to the last stored epoch, and its checkpoint is there.
        const trainLoss = lab.store.runs.metrics(run.id, 'loss').filter((p) => p.split === 'train');
        assert.deepEqual(
          trainLoss.map((p) => p.epoch),
          Array.from({ length: failed.epochsDone }, (_, i) => i + 1),
        );
        assert.equal(Math.max(...lab.store.runs.checkpointEpochs(run.id)), failed.epochsDone);
        assert.equal(integrity(lab.store), 'ok');
        const failedAt = failed.epochsDone;

        // Space again: the failure is written down, and resume continues from that checkpoint, every epoch once.
        removeFile(filler);
        filler = '';
        assert.equal(lab.training.detail(run.id).status, 'failed');
        assert.equal(lab.store.runs.get(run.id).status, 'failed', 'stored once there is space');
        assert.equal(lab.store.runs.get(run.id).message, failed.message);
        lab.training.control(run.id, 'resume');
        await waitUntil('two more epochs after the resume', () => lab.store.runs.get(run.id).epochsDone >= failedAt + 2, 60_000);
        lab.training.control(run.id, 'cancel');
        await lab.training.settled(run.id);
        const resumed = lab.store.runs.get(run.id);
        assert.equal(resumed.status, 'cancelled', resumed.message ?? '');
        assert.deepEqual(
          lab.store.runs
            .metrics(run.id, 'loss')
            .filter((p) => p.split === 'train')
            .map((p) => p.epoch),
          Array.from({ length: resumed.epochsDone }, (_, i) => i + 1),
          'epochs 1..N each once across the failure',
        );
        assert.equal(integrity(lab.store), 'ok');
        console.log(
          `# training on a 16 MiB tmpfs: failed at epoch ${failedAt + 1} when the disk filled; resumed to epoch ${resumed.epochsDone}`,
        );
      } finally {
        await closeLab(lab);
      }
    } finally {
      if (filler) removeFile(filler);
      unmount(mount);
    }
  });
});
