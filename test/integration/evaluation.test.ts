// Unseen-environment evaluation: the model scored against baselines on the environments it never saw.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TrainedModel } from '../../src-main/node/analysis/trained-model.js';
import { createDispatcher } from '../../src-main/node/lab/dispatch.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { UnseenEvaluationResult } from '../../src-main/shared/api/analysis.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';

describe('unseen-environment evaluation', () => {
  let dir: string;
  let lab: LabService;
  let datasetId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-eval-'));
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: true });
    datasetId = lab.store.datasets.list()[0]?.id as string;
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  async function trained(family: 'env-vae' | 'vae', validation: unknown): Promise<string> {
    const config = TrainingConfig.parse({ model: { family, hiddenUnits: 32, latentDim: 8 }, epochs: 6, batchSize: 128, validation });
    const run = lab.training.start(datasetId, config);
    await lab.training.settled(run.id);
    assert.equal(lab.store.runs.get(run.id).status, 'completed');
    return run.id;
  }

  it('scores the model and four baselines on the held-out environments through the LabApi', async () => {
    const runId = await trained('env-vae', { kind: 'random-environments', fraction: 0.25, seed: 1 });
    const call = createDispatcher(lab.handlers());
    const response = (await call({ id: 1, method: 'evaluation.unseen', params: { runId } })) as { ok: boolean; result: unknown };
    assert.ok(response.ok, JSON.stringify(response));
    const result = UnseenEvaluationResult.parse(response.result);
    const held = lab.store.runs.details(runId) as { validationEnvironments: string[] };
    assert.deepEqual([...result.environments].sort(), [...held.validationEnvironments].sort());
    assert.deepEqual(
      result.scores.map((s) => s.method),
      ['model', 'control-mean', 'training-mean', 'nearest-neighbours', 'ridge'],
    );
    for (const s of result.scores) {
      for (const v of [s.r2, s.r2Top50, s.pearsonDelta, s.directionTop50]) assert.ok(Number.isFinite(v), `${s.method}: ${v}`);
      assert.ok(s.directionTop50 >= 0 && s.directionTop50 <= 1);
    }
    // Predicting "no change from control" has no correlation with the change and no direction right.
    const control = result.scores.find((s) => s.method === 'control-mean');
    assert.equal(control?.pearsonDelta, 0);
    assert.equal(control?.directionTop50, 0);
    assert.ok(Object.values(result.winners).every((w) => result.scores.some((s) => s.method === w)));
  });

  it('predicts environments in batched forward passes exactly as one environment at a time', async () => {
    const runId = await trained('env-vae', { kind: 'random-environments', fraction: 0.25, seed: 2 });
    const model = await TrainedModel.load(lab.store, runId);
    try {
      const width = model.data.environmentWidth;
      const environments = model.data.environmentKeys.map((_, e) => model.data.environmentInputs.slice(e * width, (e + 1) * width));
      assert.ok(environments.length >= 5, `the demo has ${environments.length} environments`);
      const alone = environments.map((environment) => model.predictEnvironmentMeanUnbatched(environment, 64));
      // A pass size that does not divide the count, so the last pass is partial.
      const batched = model.predictEnvironmentMeans(environments, 64, 0, { environmentsPerPass: 3 });
      const byDefault = model.predictEnvironmentMeans(environments, 64);
      assert.equal(batched.length, environments.length);
      let largest = 0;
      for (const [k, reference] of alone.entries()) {
        for (const candidate of [batched[k], byDefault[k]]) {
          assert.equal(candidate?.length, model.data.nGenes);
          reference.forEach((v, g) => {
            largest = Math.max(largest, Math.abs(v - (candidate?.[g] as number)) / Math.max(1, Math.abs(v)));
          });
        }
      }
      // Float32 rounding of products summed in another order at most, never another sample.
      assert.ok(largest < 1e-5, `largest relative difference ${largest}`);
      // Different environments really get different predictions (the comparison is not vacuous).
      assert.ok(alone[0]?.some((v, g) => v !== (alone[1]?.[g] as number)));
    } finally {
      model.dispose();
    }
  });

  it('a model that ignores the environment is not scored as a predictor, and says why', async () => {
    const runId = await trained('vae', { kind: 'random-environments', fraction: 0.25, seed: 1 });
    const result = await lab.analysis.unseen(runId);
    assert.ok(!result.scores.some((s) => s.method === 'model'));
    assert.match(result.note ?? '', /cannot predict an environment it has not seen/);
  });
});
