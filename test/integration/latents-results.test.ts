// What the Latents view opens with, precomputed and stored per run and checkpoint: a fresh
// analysis worker answers the view's first calls from the store without loading the model, the
// answers equal the computed ones, a new checkpoint drops them, a write from a superseded
// checkpoint and a failed or cancelled precompute leave nothing behind.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AnalysisContext } from '../../src-main/node/analysis/context.js';
import { precomputeLatents } from '../../src-main/node/analysis/latents-results.js';
import { TrainedModel } from '../../src-main/node/analysis/trained-model.js';
import { AnalysisService } from '../../src-main/node/lab/analysis.js';
import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { decodeFloat32Rows } from '../../src-main/shared/api/analysis.js';
import { LabError } from '../../src-main/shared/api/errors.js';
import { trainSettled, useTempLab } from '../temp-lab.js';

const rowsParams = (runId: string) => ({ runId, query: '', first: 0, count: 10, block: 1 });

describe('stored Latents results', () => {
  const temp = useTempLab('latents-results');
  let runId = '';
  /** A second analysis service, whose workers never loaded the model. */
  let fresh: AnalysisService | undefined;
  after(async () => fresh?.dispose());

  const storedKinds = () =>
    temp.lab.store.db.prepare('SELECT method, points FROM latents_results WHERE run_id = ? ORDER BY method').all(runId) as {
      method: string;
      points: number;
    }[];

  it('precomputes the prior shifts and the default projection in the background once the lab serves', async () => {
    const { lab } = temp;
    const dataset = importSyntheticPreset(lab.store, { preset: 'demo', seed: 0, name: 'latents results' });
    runId = await trainSettled(lab, dataset.id, { model: { family: 'env-vae', hiddenUnits: 16, latentDim: 4 }, epochs: 1, batchSize: 256 });
    assert.deepEqual(storedKinds(), [], 'nothing is precomputed for a lab that does not serve');
    lab.startBackgroundWork();
    await lab.latents.idle();
    assert.deepEqual(storedKinds(), [
      { method: 'pca', points: 20_000 },
      { method: 'prior-shifts', points: 0 },
      { method: 'top-genes', points: 25 },
    ]);
  });

  it('answers the view from the store without the analysis worker, as the model computes them', async () => {
    const { lab } = temp;
    fresh = new AnalysisService({ store: lab.store });
    {
      const projection = (
        await fresh.serveLatents('analysis.projection', 'storedProjection', 'projection', { runId, method: 'pca', maxPoints: 20_000 })
      ).value();
      const rows = (
        await fresh.serveLatents('analysis.priorShiftRows', 'storedPriorShiftRows', 'priorShiftRows', rowsParams(runId))
      ).value();
      const genes = (await fresh.serveLatents('analysis.topGenes', 'storedTopGenes', 'topGenes', { runId, latent: 3, count: 5 })).value();
      assert.equal(await fresh.workerStats(), null, 'the analysis worker (models) was not even started');
      // The analysis worker's own path reads the same stored results without loading the model.
      assert.deepEqual(await fresh.projection(runId, 'pca', 20_000), projection);
      assert.deepEqual((await fresh.workerStats())?.cachedModels, [], 'no model was loaded');
      // The same from the model (the lab's worker keeps it from the precompute): equal up to float32.
      await lab.analysis.run('topGenes', { runId, latent: 0, count: 1 });
      lab.store.db.prepare('DELETE FROM latents_results WHERE run_id = ?').run(runId);
      const computed = await lab.analysis.projection(runId, 'pca', 20_000);
      assert.deepEqual(projection, computed);
      const computedRows = await lab.analysis.run('priorShiftRows', rowsParams(runId));
      assert.ok(rows.report && computedRows.report);
      assert.deepEqual(rows.report.rows, computedRows.report.rows);
      assert.deepEqual(decodeFloat32Rows(rows.report.mean, 4), decodeFloat32Rows(computedRows.report.mean, 4));
      assert.deepEqual(genes, await lab.analysis.topGenes(runId, 3, 5));
      assert.equal(rows.epoch, computedRows.epoch);
    }
    // The projection computed on demand was stored again, and the index of this checkpoint too.
    assert.ok(storedKinds().some((k) => k.method === 'pca'));
  });

  it('drops a run’s results when it records a new checkpoint, and refuses results of a superseded one', async () => {
    const { lab } = temp;
    await lab.analysis.run('precomputeLatents', { runId });
    assert.equal(storedKinds().length, 3);
    const stamp = lab.store.latentsResults.newestCheckpoint(runId);
    assert.ok(stamp);
    // Training on records the checkpoint of the epoch it reached (here the same epoch, written again).
    lab.store.db
      .prepare("UPDATE checkpoints SET created_at = '2100-01-01T00:00:00.000Z' WHERE run_id = ? AND epoch = ?")
      .run(runId, stamp.epoch);
    lab.store.db
      .prepare(
        `INSERT OR REPLACE INTO checkpoints (run_id, epoch, step, created_at, weights, optimizer_state, rng_state)
         SELECT run_id, epoch, step, created_at, weights, optimizer_state, rng_state FROM checkpoints WHERE run_id = ? AND epoch = ?`,
      )
      .run(runId, stamp.epoch);
    assert.deepEqual(storedKinds(), [], 'a new checkpoint drops the stored results');
    const written = lab.store.latentsResults.put(runId, stamp, [
      { method: 'prior-shifts', points: 0, facts: { present: false }, arrays: Buffer.alloc(4) },
    ]);
    assert.equal(written, false, 'results of the superseded checkpoint are not stored');
    assert.deepEqual(storedKinds(), []);
  });

  it('stores all of a precompute or none of it', async () => {
    const { lab } = temp;
    const stamp = lab.store.latentsResults.newestCheckpoint(runId);
    assert.ok(stamp);
    assert.throws(() =>
      lab.store.latentsResults.put(runId, stamp, [
        { method: 'prior-shifts', points: 0, facts: { present: false }, arrays: Buffer.alloc(4) },
        { method: 'pca', points: 20_000, facts: {}, arrays: null as unknown as Buffer },
      ]),
    );
    assert.deepEqual(storedKinds(), [], 'the first record was rolled back with the failed second');
  });

  it('stores nothing when the precompute is cancelled', async () => {
    const { lab } = temp;
    const loaded: TrainedModel[] = [];
    const context = (signal: AbortSignal): AnalysisContext => ({
      store: lab.store,
      signal,
      results: lab.store.latentsResults,
      model: async (id) => {
        const model = await TrainedModel.load(lab.store, id);
        loaded.push(model);
        return model;
      },
    });
    try {
      const cancelled = new AbortController();
      cancelled.abort(new LabError('cancelled', 'The analysis was cancelled'));
      await assert.rejects(precomputeLatents(context(cancelled.signal), runId), { code: 'cancelled' });
      assert.deepEqual(storedKinds(), []);
      assert.deepEqual(await precomputeLatents(context(new AbortController().signal), runId), { stored: true });
      assert.equal(storedKinds().length, 3);
    } finally {
      for (const model of loaded) model.dispose();
    }
  });
});
