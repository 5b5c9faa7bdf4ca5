// Analysis in its worker thread, through the real loopback carrier: the serving thread keeps
// answering while a UMAP runs, a quick analysis is not stuck behind a long one, a cancelled
// projection stops, failures are clear, and a dead worker is replaced by the next request.
// Timing checks are relative (to the projection's own duration), so a loaded machine passes.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AnalysisService } from '../../src-main/node/lab/analysis.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { type RunningServer, startServer } from '../../src-main/node/server/server.js';
import { decodeProjection, ProjectionResult } from '../../src-main/shared/api/analysis.js';
import type { LabError } from '../../src-main/shared/api/errors.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';

const UMAP_POINTS = 1000;

describe('analysis worker', () => {
  let dir: string;
  let databasePath: string;
  let lab: LabService;
  let server: RunningServer;
  let runId: string;
  /** Duration of one full UMAP, measured by the first test, the yardstick of the others. */
  let umapMs = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-analysis-worker-'));
    databasePath = join(dir, 'lab.db');
    lab = await openLab({ databasePath, carrier: 'browser', seedDemo: true });
    server = await startServer({ service: lab, staticDir: join(dir, 'no-ui') });
    const datasetId = lab.store.datasets.list()[0]?.id as string;
    const config = TrainingConfig.parse({ model: { family: 'env-vae', hiddenUnits: 32, latentDim: 8 }, epochs: 2, batchSize: 128 });
    const run = lab.training.start(datasetId, config);
    await lab.training.settled(run.id);
    assert.equal(lab.store.runs.get(run.id).status, 'completed');
    runId = run.id;
  });

  after(async () => {
    await server?.close();
    if (lab) await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(
    method: string,
    params: unknown,
  ): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
    const response = await fetch(`${server.origin}/api/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ id: 1, method, params }),
    });
    return (await response.json()) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };
  }

  it('keeps answering app.info while a UMAP runs, and answers a prior shift before the UMAP ends', async () => {
    await call('analysis.priorShift', { runId }); // worker started and model cached: time the UMAP alone
    const started = performance.now();
    let projectionDone = 0;
    const projection = call('analysis.projection', { runId, method: 'umap', maxPoints: UMAP_POINTS }).then((r) => {
      projectionDone = performance.now();
      return r;
    });
    let priorShiftDone = 0;
    const priorShift = call('analysis.priorShift', { runId }).then((r) => {
      priorShiftDone = performance.now();
      return r;
    });
    const latencies: number[] = [];
    while (projectionDone === 0) {
      const t0 = performance.now();
      const info = await call('app.info', {});
      assert.ok(info.ok);
      if (projectionDone === 0) latencies.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const result = await projection;
    assert.ok(result.ok, JSON.stringify(result.error));
    const parsed = decodeProjection(ProjectionResult.parse(result.result));
    assert.equal(parsed.method, 'umap');
    assert.equal(parsed.x.length, UMAP_POINTS);
    assert.ok(parsed.x.every(Number.isFinite) && parsed.y.every(Number.isFinite));
    assert.ok((await priorShift).ok);
    umapMs = projectionDone - started;
    const worst = Math.max(...latencies);
    // On the serving thread the UMAP would hold every app.info for about its whole duration.
    assert.ok(latencies.length >= 5, `only ${latencies.length} app.info answers during a ${umapMs.toFixed(0)} ms UMAP`);
    assert.ok(worst < umapMs / 4, `app.info took up to ${worst.toFixed(0)} ms during a ${umapMs.toFixed(0)} ms UMAP`);
    assert.ok(priorShiftDone < projectionDone - umapMs / 4, 'the prior shift waited for the UMAP');
  });

  it('cancelling a UMAP rejects at once and stops the work in the worker', async () => {
    const controller = new AbortController();
    const started = performance.now();
    // A projection once computed is stored and answered at once: ask for one not computed before.
    const projection = lab.analysis.projection(runId, 'umap', UMAP_POINTS - 1, { signal: controller.signal });
    while (((await lab.analysis.workerStats())?.running ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await assert.rejects(projection, (error: LabError) => error.code === 'cancelled' && /cancelled/.test(error.message));
    while (((await lab.analysis.workerStats())?.running ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const stopped = performance.now() - started;
    assert.ok(stopped < 0.75 * umapMs, `the cancelled UMAP ran ${stopped.toFixed(0)} ms of a full ${umapMs.toFixed(0)} ms`);
    // The worker and its cached model are still there for the next request.
    const stats = await lab.analysis.workerStats();
    assert.ok(stats?.cachedModels.some((key) => key.startsWith(runId)));
    const demoSamples = lab.store.datasets.list()[0]?.nSamples;
    assert.equal((await lab.analysis.projection(runId, 'pca', 20_000)).points, demoSamples);
  });

  it('a client that disconnects stops its UMAP', async () => {
    const client = new AbortController();
    const started = performance.now();
    const request = fetch(`${server.origin}/api/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ id: 1, method: 'analysis.projection', params: { runId, method: 'umap', maxPoints: UMAP_POINTS - 2 } }),
      signal: client.signal,
    });
    while (((await lab.analysis.workerStats())?.running ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    client.abort();
    await assert.rejects(request, { name: 'AbortError' });
    while (((await lab.analysis.workerStats())?.running ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const stopped = performance.now() - started;
    assert.ok(stopped < 0.75 * umapMs, `the abandoned UMAP ran ${stopped.toFixed(0)} ms of a full ${umapMs.toFixed(0)} ms`);
  });

  it('failures come back as specific errors', async () => {
    const unknown = await call('analysis.projection', { runId: 'run_doesnotexist' });
    assert.equal(unknown.ok, false);
    assert.equal(unknown.error?.code, 'not_found');
    const latent = await call('analysis.topGenes', { runId, latent: 99 });
    assert.equal(latent.error?.code, 'invalid_params');
    assert.match(latent.error?.message ?? '', /latents 0\.\.7; there is no latent 99/);
    const datasetId = lab.store.datasets.list()[0]?.id as string;
    const fresh = lab.store.runs.create({ datasetId, name: 'never trained', model: 'vae', config: {}, seed: 0 });
    const untrained = await call('analysis.priorShift', { runId: fresh.id });
    assert.equal(untrained.error?.code, 'conflict');
    assert.match(untrained.error?.message ?? '', /has no checkpoint yet/);
  });

  it('a worker that runs out of memory fails its request with a clear error', async () => {
    const starved = new AnalysisService({ store: lab.store, resourceLimits: { maxOldGenerationSizeMb: 4, maxYoungGenerationSizeMb: 1 } });
    try {
      await assert.rejects(starved.priorShift(runId), (error: LabError) => {
        assert.equal(error.code, 'internal');
        assert.match(error.message, /analysis worker stopped before answering \(it ran out of memory \(limit 4 MB\)\)/);
        return true;
      });
    } finally {
      await starved.dispose();
    }
  });

  it('a worker that dies is replaced by the next request', async () => {
    const analysis = new AnalysisService({ store: lab.store });
    try {
      // The worker opens the database by path: with the file moved away it cannot start.
      renameSync(databasePath, `${databasePath}.away`);
      try {
        await assert.rejects(analysis.priorShift(runId), /analysis worker stopped before answering \(it failed: .*lab\.db/);
      } finally {
        renameSync(`${databasePath}.away`, databasePath);
      }
      const shift = await analysis.priorShift(runId);
      assert.equal(shift.report?.latentDim, 8);
    } finally {
      await analysis.dispose();
    }
  });
});
