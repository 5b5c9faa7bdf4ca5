// Training through the LabApi (dispatcher + typed client over a LabService on a temporary
// database), with real worker threads: stability of the Environment VAE, config validation,
// metrics in SQLite, cancel, pause/resume, and resuming a run whose process was SIGKILLed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Rng } from '../../src-main/node/data/random.js';
import { createDispatcher } from '../../src-main/node/lab/dispatch.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { BACKEND_ORDER } from '../../src-main/node/ml/backend.js';
import type { MetricPoint } from '../../src-main/node/store/runs.js';
import { Store } from '../../src-main/node/store/store.js';
import { LabClient } from '../../src-main/shared/api/client.js';
import type { MetricSeries, RunStatus, RunSummary } from '../../src-main/shared/api/domain.js';
import { LabError } from '../../src-main/shared/api/errors.js';
import type { LabEvent } from '../../src-main/shared/api/protocol.js';
import type { TrainingConfigInput } from '../../src-main/shared/api/training.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let root = '';

before(() => {
  root = mkdtempSync(join(tmpdir(), 'cellshift-training-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

interface TestLab {
  service: LabService;
  client: LabClient;
  events: LabEvent[];
  invalidEvents: unknown[];
  close(): Promise<void>;
}

/** A lab with the in-process carrier: every call goes through the dispatcher's validation. */
async function openTestLab(databasePath: string, seedDemo = false): Promise<TestLab> {
  const service = await openLab({ databasePath, carrier: 'cli', seedDemo });
  const dispatch = createDispatcher(service.handlers(), () => undefined);
  const client = new LabClient({ send: (request) => dispatch(request), subscribe: (listener) => service.onEvent(listener) });
  const events: LabEvent[] = [];
  const invalidEvents: unknown[] = [];
  client.onEvent(
    (event) => events.push(event),
    (error) => invalidEvents.push(error),
  );
  let closed = false;
  return {
    service,
    client,
    events,
    invalidEvents,
    async close() {
      if (closed) return;
      closed = true;
      await closeLab(service);
    },
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 60_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until the run's worker has exited and returns its final record. */
async function finished(lab: TestLab, id: string): Promise<RunSummary> {
  await lab.service.training.settled(id);
  const run = await lab.client.call('runs.get', { id });
  assert.ok(!run.active, 'the run is still active after its worker exited');
  return run;
}

function series(metrics: MetricSeries[], split: string, name: string): MetricSeries['points'] {
  return metrics.find((s) => s.split === split && s.name === name)?.points ?? [];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * N(0, 1) expression of `genes` genes in `environments` environments, each represented by a random
 * 64-bit 0/1 vector (like a short fingerprint); no structure at all for the model to find.
 */
function addRandomDataset(store: Store, options: { genes: number; environments: number; samples: number; seed: number }): string {
  const rng = new Rng(options.seed);
  const writer = store.datasets.begin({
    name: `Random N(0,1), ${options.environments} environments (seed ${options.seed})`,
    source: 'synthetic',
    description: 'Pure noise with random binary environment representations.',
    provenance: { test: 'training.test.ts', seed: options.seed },
    genes: range(1, options.genes).map((g) => ({ id: `g${g}`, symbol: `G${g}`, landmark: true })),
    environments: range(0, options.environments - 1).map((e) => ({
      key: `env${e}`,
      label: `environment ${e}`,
      isControl: e === 0,
      representation: Float32Array.from({ length: 64 }, () => (rng.next() < 0.5 ? 1 : 0)),
      representationKind: 'random-bits',
    })),
  });
  const samples = range(0, options.samples - 1).map((i) => ({
    id: `s${i}`,
    environment: i % options.environments,
    metadata: { environment: `env${i % options.environments}` },
    expression: Float32Array.from({ length: options.genes }, () => rng.normal()),
  }));
  writer.addSamples(samples);
  return writer.commit().id;
}

function stepLossSummary(metrics: MetricSeries[]): { count: number; min: number; max: number; last: number } {
  const losses = series(metrics, 'step', 'loss').map((p) => p.value);
  return { count: losses.length, min: Math.min(...losses), max: Math.max(...losses), last: losses.at(-1) as number };
}

function log(message: string): void {
  // Shown with the test output: numbers worth knowing when reading a run of the suite.
  console.log(`# ${message}`);
}

// ---------------------------------------------------------------------------------------------
// One lab (with the demo dataset and a random one) for most tests

let lab: TestLab;
let demoId = '';
let randomId = '';

describe('training through the LabApi', () => {
  before(async () => {
    lab = await openTestLab(join(root, 'lab.db'), true);
    const demo = (await lab.client.call('datasets.list', {})).find((d) => d.name.startsWith('Demo'));
    assert.ok(demo, 'the demo dataset was seeded');
    demoId = demo.id;
    randomId = addRandomDataset(lab.service.store, { genes: 100, environments: 40, samples: 2000, seed: 1 });
  });

  after(async () => {
    await lab?.close();
  });

  test('runs.start with an invalid config is rejected as invalid_params naming the field, and starts nothing', async () => {
    const attempts: [unknown, string][] = [
      [{ model: { family: 'env-vae', latentDim: 0 } }, 'params.config.model.latentDim'],
      [{ model: { family: 'no-such-model' } }, 'params.config.model.family'],
      [{ model: { family: 'vae' }, batchSize: 0 }, 'params.config.batchSize'],
      [{ model: { family: 'vae' }, learningRate: -1 }, 'params.config.learningRate'],
      [{ model: { family: 'vae' }, learningrate: 0.01 }, 'learningrate'],
      [{ model: { family: 'vae' }, validation: { kind: 'metadata', column: 'split', validationValues: [] } }, 'params.config.validation'],
    ];
    for (const [config, field] of attempts) {
      const error = await lab.client
        .call('runs.start', { datasetId: randomId, config: config as TrainingConfigInput })
        .then(() => assert.fail(`accepted ${JSON.stringify(config)}`))
        .catch((e: unknown) => e);
      assert.ok(error instanceof LabError, `expected a LabError, got ${String(error)}`);
      assert.equal(error.code, 'invalid_params', error.message);
      assert.ok(error.message.includes(field), `"${error.message}" does not name ${field}`);
    }
    assert.deepEqual(await lab.client.call('runs.list', { datasetId: randomId }), []);
  });

  test('Environment VAE stays finite for ≥ 500 steps at batch 256 on random data and on the demo data; metrics land in SQLite', async () => {
    const model = { family: 'env-vae', hiddenUnits: 64, latentDim: 20 } as const; // default temperature and bounds
    // Random data: 8 of 39 non-control environments held out → 1600 training samples, 7 steps per epoch.
    // Demo (the drug panel, 1,080 samples): its held-out drugs leave 4 steps per epoch.
    const plans = [
      { label: 'random N(0,1)', datasetId: randomId, epochs: 72 },
      { label: 'demo', datasetId: demoId, epochs: 130 },
    ];
    // Both at once, in two workers writing to the one database (each epoch is an IMMEDIATE transaction).
    const started = performance.now();
    const runs = await Promise.all(
      plans.map((p) =>
        lab.client.call('runs.start', {
          datasetId: p.datasetId,
          name: `stability ${p.label}`,
          config: { model, epochs: p.epochs, batchSize: 256 },
        }),
      ),
    );
    const results = await Promise.all(runs.map((r) => finished(lab, r.id)));
    const seconds = (performance.now() - started) / 1000;

    for (const [i, plan] of plans.entries()) {
      const run = results[i] as RunSummary;
      assert.equal(run.status, 'completed', `${plan.label}: ${run.status} — ${run.message}`);
      assert.equal(run.message, null);
      assert.equal(run.epochsDone, plan.epochs);
      assert.ok((BACKEND_ORDER as readonly string[]).includes(run.backend ?? ''), `backend ${run.backend}`);
      assert.ok(run.backend === 'tensorflow' ? run.threads === null : Number.isInteger(run.threads) && (run.threads as number) >= 1);
      assert.ok(run.finishedAt !== null);

      const metrics = await lab.client.call('runs.metrics', { id: run.id });
      const steps = series(metrics, 'step', 'loss');
      assert.ok(steps.length >= 500, `${plan.label}: only ${steps.length} optimiser steps`);
      assert.deepEqual(
        steps.map((p) => p.step),
        range(1, steps.length),
        `${plan.label}: every step recorded once, in order`,
      );
      assert.ok(
        steps.every((p) => Number.isFinite(p.value)),
        `${plan.label}: a non-finite step loss`,
      );
      for (const [split, name] of [
        ['train', 'loss'],
        ['train', 'kl'],
        ['train', 'reconstruction'],
        ['validation', 'loss'],
        ['validation', 'mse'],
      ] as const) {
        const points = series(metrics, split, name);
        assert.deepEqual(
          points.map((p) => p.epoch),
          range(1, plan.epochs),
          `${plan.label}: ${split}/${name} has one point per epoch`,
        );
        assert.ok(
          points.every((p) => Number.isFinite(p.value)),
          `${plan.label}: ${split}/${name} not finite`,
        );
      }
      // The epoch's step field is the global step at its end.
      const perEpoch = steps.length / plan.epochs;
      assert.ok(Number.isInteger(perEpoch));
      assert.deepEqual(
        series(metrics, 'train', 'loss').map((p) => p.step),
        range(1, plan.epochs).map((e) => e * perEpoch),
      );
      const validation = series(metrics, 'validation', 'loss').map((p) => p.value);
      assert.equal(run.bestValidationLoss, Math.min(...validation));

      const detail = await lab.client.call('runs.get', { id: run.id });
      assert.equal(detail.details?.genes, plan.label === 'demo' ? 200 : 100);
      assert.ok((detail.checkpoints.at(-1) as number) === plan.epochs, `checkpoints ${detail.checkpoints}`);

      const epochEvents = lab.events.filter((e) => e.type === 'run.epoch' && e.runId === run.id);
      assert.equal(epochEvents.length, plan.epochs);
      assert.ok(
        lab.events.some((e) => e.type === 'run.progress' && e.runId === run.id),
        'no run.progress event',
      );
      const speed = series(metrics, 'train', 'samples_per_second').map((p) => p.value);
      const s = stepLossSummary(metrics);
      const train = series(metrics, 'train', 'loss').map((p) => p.value);
      log(
        `${plan.label}: ${s.count} steps on ${run.backend} (${run.threads} thread); step loss ${s.min.toFixed(2)}..${s.max.toFixed(2)}, ` +
          `train loss epoch 1 ${train[0]?.toFixed(2)} → ${train.at(-1)?.toFixed(2)}, validation ${validation[0]?.toFixed(2)} → ${validation.at(-1)?.toFixed(2)}, ` +
          `median ${median(speed).toFixed(0)} samples/s (${(median(speed) / 256).toFixed(1)} steps/s)`,
      );
    }
    log(`both stability runs, concurrently: ${seconds.toFixed(1)} s wall`);
    assert.deepEqual(lab.invalidEvents, [], 'every event matched the LabEvent schema');
  });

  test('cancel after the first run.epoch: status cancelled, epochsDone = newest checkpoint, database intact', async () => {
    let cancelRequested: Promise<RunSummary> | null = null;
    let runId = '';
    const unsubscribe = lab.service.onEvent((event) => {
      if (event.type === 'run.epoch' && event.runId === runId && !cancelRequested) {
        cancelRequested = lab.client.call('runs.control', { id: runId, action: 'cancel' });
      }
    });
    const run = await lab.client.call('runs.start', {
      datasetId: randomId,
      config: { model: { family: 'env-vae', hiddenUnits: 32, latentDim: 8 }, epochs: 500, batchSize: 128 },
    });
    runId = run.id;
    const done = await finished(lab, run.id);
    unsubscribe();
    assert.ok(cancelRequested, 'no run.epoch event arrived');
    await cancelRequested;
    assert.equal(done.status, 'cancelled', done.message ?? '');
    const detail = await lab.client.call('runs.get', { id: run.id });
    assert.ok(detail.checkpoints.length > 0, 'no checkpoint kept');
    assert.ok(done.epochsDone >= 1 && done.epochsDone < 500, `epochsDone ${done.epochsDone}`);
    assert.equal(done.epochsDone, Math.max(...detail.checkpoints), `checkpoints ${detail.checkpoints}`);
    const metrics = await lab.client.call('runs.metrics', { id: run.id });
    assert.deepEqual(
      series(metrics, 'train', 'loss').map((p) => p.epoch),
      range(1, done.epochsDone),
    );
    assert.equal(lab.service.store.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(lab.service.store.db.pragma('foreign_key_check'), []);
  });

  test('pause: status paused and no epoch for ~1 s; resume: it completes with every epoch once', async () => {
    const epochs = 12;
    let pausedAt: Promise<RunSummary> | null = null;
    let runId = '';
    const unsubscribe = lab.service.onEvent((event) => {
      if (event.type === 'run.epoch' && event.runId === runId && !pausedAt) {
        pausedAt = lab.client.call('runs.control', { id: runId, action: 'pause' });
      }
    });
    const run = await lab.client.call('runs.start', {
      datasetId: randomId,
      config: { model: { family: 'env-vae', hiddenUnits: 32, latentDim: 8 }, epochs, batchSize: 128 },
    });
    runId = run.id;
    const paused = await waitFor('the pause request', () => pausedAt);
    unsubscribe();
    assert.equal((await paused).status, 'paused');
    // An epoch already past its last control poll may still land; after that, silence.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const countEvents = (type: LabEvent['type']) => lab.events.filter((e) => e.type === type && 'runId' in e && e.runId === runId).length;
    const epochsBefore = countEvents('run.epoch');
    const progressBefore = countEvents('run.progress');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(countEvents('run.epoch'), epochsBefore, 'an epoch finished while paused');
    assert.equal(countEvents('run.progress'), progressBefore, 'steps ran while paused');
    const stillPaused = await lab.client.call('runs.get', { id: runId });
    assert.equal(stillPaused.status, 'paused');
    assert.ok(stillPaused.active);
    assert.ok(stillPaused.epochsDone < epochs, 'the run finished before it could be paused');

    const resumed = await lab.client.call('runs.control', { id: runId, action: 'resume' });
    assert.equal(resumed.status, 'running');
    const done = await finished(lab, runId);
    assert.equal(done.status, 'completed', done.message ?? '');
    const metrics = await lab.client.call('runs.metrics', { id: runId });
    assert.deepEqual(
      series(metrics, 'train', 'loss').map((p) => p.epoch),
      range(1, epochs),
    );
  });

  test('a pause requested before the worker has started is not overwritten by "running"', async () => {
    const run = await lab.client.call('runs.start', {
      datasetId: randomId,
      config: { model: { family: 'vae', hiddenUnits: 16, latentDim: 2 }, epochs: 3, batchSize: 256 },
    });
    const paused = await lab.client.call('runs.control', { id: run.id, action: 'pause' });
    assert.equal(paused.status, 'paused');
    // The worker reports 'started' once it has loaded the data and set up the model.
    await waitFor('the worker to start', () => lab.service.store.runs.get(run.id).backend !== null);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const status = (await lab.client.call('runs.get', { id: run.id })).status;
    const epochs = lab.events.filter((e) => e.type === 'run.epoch' && e.runId === run.id).length;
    await lab.client.call('runs.control', { id: run.id, action: 'cancel' });
    await finished(lab, run.id);
    assert.equal(epochs, 0, 'the worker trained although it was paused');
    assert.equal(status, 'paused', 'the run is held by the pause, but its record says otherwise');
  });

  test("recording an epoch waits for another connection's write (busy_timeout) instead of failing at once", async () => {
    const run = lab.service.store.runs.create({ datasetId: randomId, name: 'lock probe', model: 'vae', config: {}, seed: 0 });
    // Another connection (in another thread) holds the write lock for 300 ms, well under busy_timeout (5 s).
    const holder = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
         const Database = require(workerData.module);
         const db = new Database(workerData.path);
         db.exec('BEGIN IMMEDIATE');
         parentPort.postMessage('locked');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
         db.exec('COMMIT');
         db.close();`,
      { eval: true, workerData: { path: lab.service.store.path, module: createRequire(import.meta.url).resolve('better-sqlite3') } },
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    await new Promise((resolve) => holder.once('message', resolve));
    const started = performance.now();
    let error: unknown = null;
    try {
      lab.service.store.runs.recordEpoch(run.id, {
        epoch: 1,
        points: [{ epoch: 1, step: 1, split: 'train', name: 'loss', value: 1 }],
        validationLoss: null,
      });
    } catch (e) {
      error = e;
    }
    const waited = performance.now() - started;
    await exited;
    lab.service.store.runs.delete(run.id);
    assert.equal(error, null, `recordEpoch failed after ${waited.toFixed(0)} ms: ${String(error)}`);
    assert.ok(waited >= 200, `recordEpoch did not wait for the other writer (${waited.toFixed(0)} ms): the probe proves nothing`);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// ---------------------------------------------------------------------------------------------
// Another process trains, is SIGKILLed, and the run resumes here

const CHILD_SCRIPT = `
import { openLab } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/node/lab/open.ts')).href)};
const [databasePath, datasetId, config] = process.argv.slice(2);
const lab = await openLab({ databasePath, carrier: 'cli', seedDemo: false });
const run = lab.training.start(datasetId, JSON.parse(config));
process.stdout.write(JSON.stringify({ runId: run.id }) + '\\n');
setInterval(() => {}, 1000); // train until killed
`;

function startChild(databasePath: string, datasetId: string, config: TrainingConfigInput): { child: ChildProcess; runId: Promise<string> } {
  const script = join(root, 'child-trainer.mts');
  writeFileSync(script, CHILD_SCRIPT);
  const child = spawn(process.execPath, ['--import', 'tsx', script, databasePath, datasetId, JSON.stringify(config)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const runId = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { runId: string }).runId);
    });
    child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before starting a run: ${stderr}`)));
  });
  return { child, runId };
}

describe('resume after the training process is killed', () => {
  test('a SIGKILLed process leaves its run interrupted (only once it is dead); resuming completes it as if uninterrupted', async () => {
    const databasePath = join(root, 'killed.db');
    const setupStore = Store.open(databasePath);
    const datasetId = addRandomDataset(setupStore, { genes: 100, environments: 40, samples: 2000, seed: 2 });
    setupStore.close();
    const epochs = 30;
    const config: TrainingConfigInput = {
      model: { family: 'env-vae', hiddenUnits: 48, latentDim: 10 },
      epochs,
      batchSize: 64,
      seed: 7,
    };

    const { child, runId: runIdPromise } = startChild(databasePath, datasetId, config);
    const childExited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let killed = false;
    try {
      const runId = await runIdPromise;
      const observer = Store.open(databasePath);
      let preKillPoints: MetricPoint[] = [];
      let epochsAtKill = 0;
      let backendBeforeKill: string | null = null;
      try {
        await waitFor('two recorded epochs in the database', () => observer.runs.get(runId).epochsDone >= 2, 90_000, 10);
        const run = observer.runs.get(runId);
        epochsAtKill = run.epochsDone;
        assert.equal(run.status, 'running');
        backendBeforeKill = run.backend;
        assert.ok(backendBeforeKill, 'the child recorded no backend');

        // A second live process opens the lab: the child's run is alive and must stay running.
        const second = await openTestLab(databasePath);
        const seen = await second.client.call('runs.get', { id: runId });
        await second.close();
        assert.equal(seen.status, 'running', "a live process's run was marked interrupted");
        assert.equal(seen.active, false, 'this process does not train it');

        preKillPoints = observer.runs.metrics(runId).filter((p) => p.epoch <= epochsAtKill);
        child.kill('SIGKILL');
        killed = true;
        await childExited;
        assert.ok(observer.runs.get(runId).epochsDone < epochs, 'the run completed before it could be killed');
      } finally {
        observer.close();
      }
      assert.ok(preKillPoints.length > 0);

      // Reopened after the owner died: interrupted, resumable.
      const reopened = await openTestLab(databasePath);
      try {
        const interrupted = await reopened.client.call('runs.get', { id: runId });
        assert.equal(interrupted.status, 'interrupted');
        assert.match(interrupted.message ?? '', /resume/);
        const checkpointEpoch = Math.max(...interrupted.checkpoints);
        assert.ok(checkpointEpoch >= epochsAtKill, `newest checkpoint ${checkpointEpoch}, ${epochsAtKill} epochs seen before the kill`);

        const resumed = await reopened.client.call('runs.control', { id: runId, action: 'resume' });
        assert.ok(resumed.status === 'queued' || resumed.status === 'running', `resume gave ${resumed.status}`);
        const done = await finished(reopened, runId);
        assert.equal(done.status, 'completed', done.message ?? '');
        assert.equal(done.epochsDone, epochs);
        assert.equal(done.backend, backendBeforeKill, 'resumed on another backend: losses would not be comparable');
        // An uninterrupted twin on the same dataset and config.
        const twin = await reopened.client.call('runs.start', { datasetId, name: 'uninterrupted twin', config });
        const twinDone = await finished(reopened, twin.id);
        assert.equal(twinDone.status, 'completed', twinDone.message ?? '');

        const metrics = await reopened.client.call('runs.metrics', { id: runId });
        const trainLoss = series(metrics, 'train', 'loss');
        assert.deepEqual(
          trainLoss.map((p) => p.epoch),
          range(1, epochs),
          'epochs 1..E, each once',
        );
        const stepLoss = series(metrics, 'step', 'loss');
        assert.deepEqual(
          stepLoss.map((p) => p.step),
          range(1, stepLoss.length),
          'steps 1..N, each once',
        );

        // What was recorded before the kill is untouched.
        const after = reopened.service.store.runs.metrics(runId);
        const key = (p: { epoch: number; step: number; split: string; name: string }) => `${p.split}/${p.name}@${p.epoch}:${p.step}`;
        const now = new Map(after.map((p) => [key(p), p.value]));
        for (const p of preKillPoints) assert.equal(now.get(key(p)), p.value, `${key(p)} changed after the resume`);

        // Same config, same data, same seed: the resumed history should match the twin's.
        const twinLoss = series(await reopened.client.call('runs.metrics', { id: twin.id }), 'train', 'loss');
        let worst = 0;
        trainLoss.forEach((p, i) => {
          const other = twinLoss[i]?.value as number;
          worst = Math.max(worst, Math.abs(p.value - other) / Math.max(1e-9, Math.abs(other)));
        });
        log(
          `kill/resume: killed after ${epochsAtKill} recorded epochs, resumed from checkpoint ${checkpointEpoch}; ` +
            `train loss ${trainLoss[0]?.value.toFixed(3)} → ${trainLoss.at(-1)?.value.toFixed(3)}; ` +
            `max relative difference to the uninterrupted twin over ${epochs} epochs: ${worst.toExponential(2)}`,
        );
        assert.ok(worst < 1e-4, `resumed run differs from the uninterrupted one by up to ${worst} (relative)`);
        assert.equal(reopened.service.store.db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        await reopened.close();
      }
    } finally {
      if (!killed && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await childExited;
      }
    }
  });

  test('markInterrupted leaves runs of live owners alone and marks dead or unknown owners', () => {
    const store = Store.open(join(root, 'owners.db'));
    try {
      const datasetId = addRandomDataset(store, { genes: 5, environments: 2, samples: 10, seed: 3 });
      const make = (name: string, status: RunStatus, owner: number | null) => {
        const run = store.runs.create({ datasetId, name, model: 'vae', config: {}, seed: 0 });
        store.runs.setStatus(run.id, status);
        store.runs.setOwner(run.id, owner);
        return run.id;
      };
      const alive = make('alive owner', 'running', 111);
      const alivePaused = make('alive owner, paused', 'paused', 111);
      const dead = make('dead owner', 'running', 222);
      const orphan = make('no owner', 'queued', null);
      const done = make('completed', 'completed', 222);
      const marked = store.runs.markInterrupted((pid) => pid === 111);
      assert.deepEqual(new Set(marked), new Set([dead, orphan]));
      assert.equal(store.runs.get(alive).status, 'running');
      assert.equal(store.runs.get(alivePaused).status, 'paused');
      assert.equal(store.runs.get(dead).status, 'interrupted');
      assert.equal(store.runs.get(orphan).status, 'interrupted');
      assert.equal(store.runs.get(done).status, 'completed');
      // The default liveness check counts this process as alive.
      store.runs.setOwner(alive, process.pid);
      store.runs.setOwner(alivePaused, process.pid);
      assert.deepEqual(store.runs.markInterrupted(), []);
      assert.equal(store.runs.get(alive).status, 'running');
    } finally {
      store.close();
    }
  });
});
