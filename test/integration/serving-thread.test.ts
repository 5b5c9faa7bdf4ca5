// The serving thread keeps answering while the LabApi calls that read every sample run (issue 13):
// the split preview and the environment list each took seconds at LINCS size and stalled app.info
// for all of it when they ran on that thread; a per-sample column of 150k ids stalled it while its
// result was received, validated and stringified there (now the worker sends JSON text, which the
// carriers forward); an import's preview and storing ran there too (now in the import worker),
// and so did generated datasets and every study body (now in the import worker and a study worker:
// those tests count datasets written and models loaded on this thread, which must stay 0).
// Calls go through the carriers' dispatcher (JSON text out). Not a speed test: each call's longest
// event-loop stall is compared with the call's own duration, so a call that runs on the serving
// thread (stall ≈ duration) fails at any machine load, and one in a worker passes.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TrainedModel } from '../../src-main/node/analysis/trained-model.js';
import { createJsonDispatcher, joinParts } from '../../src-main/node/lab/dispatch.js';
import { PARAMS_CHECKED_IN_WORKER } from '../../src-main/node/lab/handlers.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { SEND_SLICE_BYTES, startServer } from '../../src-main/node/server/server.js';
import { SERVING_TASK_CHANNEL, type ServingTask } from '../../src-main/node/threads/serving-tasks.js';
import { encodeSampleIndices } from '../../src-main/shared/api/packed.js';
import type { LabEvent } from '../../src-main/shared/api/protocol.js';
import { StudyOptions } from '../../src-main/shared/api/studies.js';
import { writeGctxH5wasm } from '../fixtures/formats/writers.js';
import { labCaller } from '../lab-call.js';
import { useTempLab } from '../temp-lab.js';

const SAMPLES = 150_000;
const DRUGS = 500;
const CELL_LINES = 3;
const GENES = 4;
/** Stalls below this are never blamed on a call (timer resolution, GC, a busy machine). */
const STALL_FLOOR_MS = 100;
/** A call in a worker stalls the serving thread for a small part of its duration (validating and sending its result). */
const STALL_SHARE = 0.5;

describe('long LabApi calls stay off the serving thread', () => {
  const temp = useTempLab('serving-thread');

  function writeLargeDataset(): string {
    const environments = Array.from({ length: DRUGS * CELL_LINES }, (_, e) => {
      const drug = `BRD-${Math.floor(e / CELL_LINES)}`;
      const cell = `CL${e % CELL_LINES}`;
      return {
        key: `${drug}|${cell}`,
        label: `${drug} in ${cell}`,
        isControl: false,
        perturbagen: { id: drug, smiles: `${'C'.repeat(1 + (e % 7))}O` },
        cellLine: cell,
        representationKind: 'none',
      };
    });
    const writer = temp.lab.store.datasets.begin({
      name: 'many samples, few genes',
      source: 'synthetic',
      description: 'serving-thread test',
      provenance: {},
      genes: Array.from({ length: GENES }, (_, g) => ({ id: `g${g}`, symbol: `G${g}`, landmark: true })),
      environments,
    });
    writer.addSamples(
      (function* () {
        for (let s = 0; s < SAMPLES; s++) {
          const environment = (s * 7919) % environments.length;
          yield {
            id: `sig${s}`,
            environment,
            metadata: { cell_id: `CL${environment % CELL_LINES}` },
            expression: Float32Array.of(s % 5, 1, 2, 3),
          };
        }
      })(),
    );
    return writer.commit().id;
  }

  let written: string | null = null;
  /** Written once for the tests that read it (seconds at 150k samples). */
  const largeDataset = () => {
    written ??= writeLargeDataset();
    return written;
  };

  it('answers while a split preview, the environment list and a 150k-id column are computed', async (t) => {
    const datasetId = largeDataset();
    const call = carrierCall(temp.lab);
    // The worker's start (and its module loading) is not what is measured.
    await call('datasets.sampleColumn', { datasetId, column: 'cell_id' });
    const calls: [string, unknown][] = [
      ['splits.preview', { datasetId, split: { kind: 'held-out-drugs', fraction: 0.2, seed: 0 } }],
      ['environments.list', { datasetId }],
      ['datasets.sampleColumn', { datasetId, column: 'sample id' }],
      // A lasso's 75k ids against the rest: its params are checked in the worker, not on this thread.
      ['analysis.differential', { datasetId, groupA: group('lasso', 0, SAMPLES / 2), groupB: group('rest', SAMPLES / 2, SAMPLES) }],
      // Saved as a selection, by index (the Latents view) and by id (the command line): checked,
      // resolved and written by the dataset-read worker.
      ['selections.save', { datasetId, name: 'lasso by index', sampleIndices: encodeSampleIndices(range(0, SAMPLES / 2)) }],
      ['selections.save', { datasetId, name: 'lasso by id', sampleIds: group('', 0, SAMPLES / 2).sampleIds }],
    ];
    for (const [method, params] of calls) {
      await assertOffServingThread(t, method, () => call(method, params));
    }
    // Checked there all the same: a bad id is refused with the schema's message, as on this thread.
    const refused = JSON.parse(
      new TextDecoder().decode(
        joinParts(
          await carrierDispatch(temp.lab)({
            id: 2,
            method: 'analysis.differential',
            params: { datasetId, groupA: { name: 'a', sampleIds: ['sig1', ''] }, groupB: group('b', 0, 10) },
          }),
        ),
      ),
    ) as { ok: boolean; error?: { code: string; message: string } };
    assert.equal(refused.error?.code, 'invalid_params', JSON.stringify(refused));
    assert.match(refused.error?.message ?? '', /params\.groupA/);
    const refusedSave = JSON.parse(
      new TextDecoder().decode(
        joinParts(
          await carrierDispatch(temp.lab)({ id: 3, method: 'selections.save', params: { datasetId, name: ' ', sampleIds: ['sig1'] } }),
        ),
      ),
    ) as { ok: boolean; error?: { code: string; message: string } };
    assert.equal(refusedSave.error?.code, 'invalid_params', JSON.stringify(refusedSave));
    assert.match(refusedSave.error?.message ?? '', /params\.name/);
  });

  it("forwards a lasso's packed sample indices and its serialized result without checking or building them here", async (t) => {
    const datasetId = largeDataset();
    const call = carrierCall(temp.lab);
    const tasks = servingTasks();
    try {
      const lasso = { name: 'lasso', sampleIndices: encodeSampleIndices(range(0, SAMPLES / 2)) };
      const rest = { name: 'rest', sampleIndices: encodeSampleIndices(range(SAMPLES / 2, SAMPLES)) };
      const answer = JSON.parse(
        new TextDecoder().decode(joinParts(await call('analysis.differential', { datasetId, groupA: lasso, groupB: rest }))),
      );
      assert.deepEqual([answer.result.groupA.n, answer.result.groupB.n], [SAMPLES / 2, SAMPLES / 2]);
      const here = tasks.seen().filter((task) => task.label.startsWith('analysis.differential'));
      t.diagnostic(here.map((task) => `${task.label} ${task.ms.toFixed(1)} ms`).join('; '));
      // Only the handler's synchronous part (posting one 400 KB string to the worker) ran here: no
      // check of the params, no result validated or encoded on this thread.
      assert.deepEqual(
        here.map((task) => task.label),
        ['analysis.differential: handler'],
      );
    } finally {
      tasks.stop();
    }
    // The same groups as ids give the same answer; an index outside the dataset is refused by name.
    const byIds = await labCaller(temp.lab)('analysis.differential', {
      datasetId,
      groupA: group('lasso', 0, 20),
      groupB: group('rest', 20, 40),
    });
    const byIndices = await labCaller(temp.lab)('analysis.differential', {
      datasetId,
      groupA: { name: 'lasso', sampleIndices: encodeSampleIndices(range(0, 20)) },
      groupB: { name: 'rest', sampleIndices: encodeSampleIndices(range(20, 40)) },
    });
    assert.deepEqual(byIndices, byIds);
    await assert.rejects(
      labCaller(temp.lab)('analysis.differential', {
        datasetId,
        groupA: { name: 'lasso', sampleIndices: encodeSampleIndices([0, 1, SAMPLES]) },
        groupB: { name: 'rest', sampleIndices: encodeSampleIndices([2, 3]) },
      }),
      new RegExp(`Group A: sample index ${SAMPLES} is outside this dataset's 0..${SAMPLES - 1}`),
    );
  });

  it('writes a large answer over HTTP a slice per turn of the event loop, not in one write', async () => {
    const datasetId = largeDataset();
    const server = await startServer({ service: temp.lab, staticDir: join(temp.dir, 'no-renderer') });
    const tasks = servingTasks();
    // Counts turns of the event loop: a send in a turn of its own sees a new count.
    let turn = 0;
    let turning = true;
    const tick = () => {
      turn++;
      if (turning) setImmediate(tick);
    };
    tick();
    const turnOfSend: number[] = [];
    const record = (task: unknown) => {
      if ((task as ServingTask).label === 'POST /api/call: send') turnOfSend.push(turn);
    };
    subscribe(SERVING_TASK_CHANNEL, record);
    try {
      const response = await fetch(`${server.origin}/api/call`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
        body: JSON.stringify({ id: 1, method: 'datasets.sampleColumn', params: { datasetId, column: 'sample id' } }),
      });
      const body = new Uint8Array(await response.arrayBuffer());
      const answer = JSON.parse(new TextDecoder().decode(body)) as { ok: boolean };
      assert.equal(answer.ok, true);
      assert.ok(body.byteLength > 2 * SEND_SLICE_BYTES, `the answer (${body.byteLength} bytes) is not large enough to test`);
      const sends = tasks.seen().filter((task) => task.label === 'POST /api/call: send');
      assert.equal(
        sends.reduce((sum, task) => sum + (task.bytes ?? Number.POSITIVE_INFINITY), 0),
        body.byteLength,
        'every byte of the answer is written by a named send that says how much it wrote',
      );
      assert.ok(
        sends.every((task) => (task.bytes ?? Number.POSITIVE_INFINITY) <= SEND_SLICE_BYTES),
        `a send wrote more than ${SEND_SLICE_BYTES} bytes: ${sends.map((task) => task.bytes).join(', ')}`,
      );
      assert.equal(new Set(turnOfSend).size, turnOfSend.length, `two slices were written in one turn: turns ${turnOfSend.join(', ')}`);
    } finally {
      turning = false;
      unsubscribe(SERVING_TASK_CHANNEL, record);
      tasks.stop();
      await server.close();
    }
  });

  it('answers while an import is previewed and stored', async (t) => {
    const request = await writeImportFiles(temp.lab, temp.dir);
    const call = carrierCall(temp.lab);
    // The first preview starts the import worker and loads RDKit (tens of seconds under tsx at high
    // load): not what is measured. Each preview prepares the files again.
    await call('imports.preview', { request });
    await assertOffServingThread(t, 'imports.preview', () => call('imports.preview', { request }));
    await assertOffServingThread(t, 'imports.start until stored', async () => {
      const finished = jobSettled(temp.lab);
      await call('imports.start', { request });
      const event = await finished;
      assert.equal(event.type, 'job.finished', JSON.stringify(event));
    });
    assert.equal(temp.lab.store.datasets.list().find((d) => d.name === 'import off the serving thread')?.nSamples, IMPORT_SAMPLES);
  });

  it('generates a dataset in the import worker, not on the serving thread', async (t) => {
    const serving = servingThreadWork(temp.lab);
    try {
      const call = carrierCall(temp.lab);
      await assertOffServingThread(t, 'datasets.createSynthetic until stored', async () => {
        const finished = jobSettled(temp.lab);
        await call('datasets.createSynthetic', { preset: 'nonlinear-5', seed: 3, name: 'generated off the serving thread' });
        const event = await finished;
        assert.equal(event.type, 'job.finished', JSON.stringify(event));
      });
      assert.ok((temp.lab.store.datasets.list().find((d) => d.name === 'generated off the serving thread')?.nSamples ?? 0) > 0);
      assert.deepEqual(serving.counts(), { datasetsWritten: 0, modelsLoaded: 0 }, 'the dataset was written on the serving thread');
    } finally {
      serving.restore();
    }
  });

  it('runs a study in a study worker; what a failed or cancelled study made is kept, and no report is stored', async () => {
    const lab = temp.lab;
    const serving = servingThreadWork(lab);
    try {
      const studiesBefore = lab.store.artifacts.list('study').length;
      const generated = lab.store.datasets.list().find((d) => d.name === 'generated off the serving thread');
      assert.ok(generated, 'the dataset of the test before');

      // Fails after its run trained (asked of this side) and its analysis ran (asked of the analysis worker): no drug has a MoA.
      const failed = jobSettled(lab);
      await lab.startStudy('moa-retrieval', StudyOptions.parse({ quick: true, trials: 1, epochs: 1, datasetId: generated.id }));
      const failure = await failed;
      assert.equal(failure.type, 'job.failed', JSON.stringify(failure));
      const trained = lab.store.runs.list(generated.id);
      assert.deepEqual(
        trained.map((r) => [r.name, r.status]),
        [['study · MoA retrieval · env-vae · trial 1', 'completed']],
        'the run it trained is kept',
      );

      // Cancelled while its first run trains: that run is cancelled (checkpoints kept), the study stops.
      const firstRun = new Promise<string>((resolve) => {
        const unsubscribe = lab.onEvent((event) => {
          if (event.type !== 'run.status' || !event.run.name.startsWith('study ·') || event.run.status !== 'running') return;
          unsubscribe();
          resolve(event.run.id);
        });
      });
      const runsBefore = lab.store.runs.list().length;
      const cancelled = jobSettled(lab);
      const { jobId } = await lab.startStudy('nonlinear-5', StudyOptions.parse({ quick: true, epochs: 50 }));
      const runId = await firstRun;
      assert.ok(lab.jobs.cancel(jobId));
      const end = await cancelled;
      assert.equal(end.type === 'job.failed' ? end.error.code : end.type, 'cancelled');
      await lab.training.settled(runId);
      assert.equal(lab.store.runs.get(runId).status, 'cancelled');
      assert.equal(lab.store.runs.list().length, runsBefore + 1, 'the study started no run after it was cancelled');
      assert.ok(
        lab.store.datasets.list().some((d) => d.name.startsWith('Study data: nonlinear 5 latents')),
        'its dataset is kept',
      );
      assert.equal(lab.store.artifacts.list('study').length, studiesBefore, 'no report for a study that did not finish');
      // Its data was generated and written in the study worker, its models loaded there.
      assert.deepEqual(serving.counts(), { datasetsWritten: 0, modelsLoaded: 0 }, 'a study body ran on the serving thread');
    } finally {
      serving.restore();
    }
  });
});

const IMPORT_SAMPLES = 60_000;

/** A GCTX of 60k samples × 4 genes with its sig_info (500 drugs × 3 cell lines, no structures): the import's tables and keys are the work. */
async function writeImportFiles(lab: LabService, dir: string): Promise<unknown> {
  const ids = Array.from({ length: IMPORT_SAMPLES }, (_, s) => `sig${s}`);
  const gctx = join(dir, 'many.gctx');
  await writeGctxH5wasm(gctx, {
    rowIds: Array.from({ length: GENES }, (_, g) => String(100 + g)),
    colIds: ids,
    values: new Float32Array(IMPORT_SAMPLES * GENES).map((_, i) => i % 11),
    chunks: [4096, GENES],
  });
  const sigInfo = join(dir, 'many_sig_info.txt');
  writeFileSync(
    sigInfo,
    ['sig_id\tpert_id\tpert_type\tcell_id', ...ids.map((id, s) => `${id}\tBRD-${s % DRUGS}\ttrt_cp\tCL${s % CELL_LINES}`)].join('\n'),
  );
  const grant = async (path: string) => (await lab.files.trust(path, 'dialog')).grantId;
  return {
    files: { matrix: await grant(gctx), sigInfo: await grant(sigInfo) },
    environmentKey: 'drug+cell',
    filter: { landmarkOnly: false },
    name: 'import off the serving thread',
  };
}

/**
 * Counts work a study body or a generator does when it runs on this thread: datasets written
 * through the serving connection, models loaded here. Workers have their own module instances
 * and connections, so work there is not counted.
 */
function servingThreadWork(lab: LabService): { counts(): { datasetsWritten: number; modelsLoaded: number }; restore(): void } {
  const datasets = lab.store.datasets;
  const begin = datasets.begin;
  const load = TrainedModel.load;
  let datasetsWritten = 0;
  let modelsLoaded = 0;
  datasets.begin = (...args) => {
    datasetsWritten++;
    return begin.apply(datasets, args);
  };
  TrainedModel.load = (...args) => {
    modelsLoaded++;
    return load.apply(TrainedModel, args);
  };
  return {
    counts: () => ({ datasetsWritten, modelsLoaded }),
    restore: () => {
      datasets.begin = begin;
      TrainedModel.load = load;
    },
  };
}

function jobSettled(lab: LabService): Promise<LabEvent> {
  return new Promise((resolve) => {
    const unsubscribe = lab.onEvent((event) => {
      if (event.type !== 'job.finished' && event.type !== 'job.failed') return;
      unsubscribe();
      resolve(event);
    });
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/** The serving thread's named tasks (src-main/node/threads/serving-tasks.ts) while subscribed. */
function servingTasks(): { seen(): ServingTask[]; stop(): void } {
  const seen: ServingTask[] = [];
  const record = (task: unknown) => void seen.push(task as ServingTask);
  subscribe(SERVING_TASK_CHANNEL, record);
  return { seen: () => seen, stop: () => void unsubscribe(SERVING_TASK_CHANNEL, record) };
}

const group = (name: string, from: number, to: number) => ({
  name,
  sampleIds: Array.from({ length: to - from }, (_, k) => `sig${from + k}`),
});

/** The carriers' dispatcher (params of PARAMS_CHECKED_IN_WORKER left to the worker). */
const carrierDispatch = (lab: LabService) => createJsonDispatcher(lab.handlers(), () => undefined, PARAMS_CHECKED_IN_WORKER);

/** Calls as a carrier does: the envelope comes back as UTF-8 JSON, which is what is sent on. */
function carrierCall(lab: LabService): (method: string, params: unknown) => Promise<Uint8Array[]> {
  const dispatch = carrierDispatch(lab);
  return async (method, params) => {
    const parts = await dispatch({ id: 1, method, params });
    const head = new TextDecoder().decode((parts[0] as Uint8Array).subarray(0, 300));
    assert.ok(head.startsWith('{"id":1,"ok":true'), `${method}: ${head}`);
    return parts;
  };
}

async function assertOffServingThread(
  t: { diagnostic(message: string): void },
  label: string,
  work: () => Promise<unknown>,
): Promise<void> {
  const stalls = stallRecorder();
  try {
    const started = performance.now();
    await work();
    const durationMs = performance.now() - started;
    const stallMs = stalls.longestMs();
    t.diagnostic(`${label}: ${durationMs.toFixed(0)} ms, longest stall ${stallMs.toFixed(0)} ms`);
    const bound = Math.max(STALL_FLOOR_MS, STALL_SHARE * durationMs);
    assert.ok(
      stallMs < bound,
      `${label} blocked the serving thread for ${stallMs.toFixed(0)} ms of its ${durationMs.toFixed(0)} ms (bound ${bound.toFixed(0)} ms)`,
    );
  } finally {
    stalls.stop();
  }
}

/**
 * The longest gap between ticks of a 5 ms interval timer, including the gap still open now (a call
 * that blocked until it returned ends before the next tick).
 */
function stallRecorder(): { longestMs(): number; stop(): void } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const at = performance.now();
    longest = Math.max(longest, at - last);
    last = at;
  }, 5);
  return {
    longestMs: () => Math.max(longest, performance.now() - last),
    stop: () => clearInterval(timer),
  };
}
