// A trained model is rebuilt without the expression matrix (issue 13): its rows are streamed from
// the store when an operation needs them. What it computes must be what the whole-matrix path
// (the training worker's setUpRun, which still reads the matrix) gives, to the bit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { principalComponents, projectLatents, subsample } from '../../src-main/node/analysis/inspection.js';
import { TrainedModel } from '../../src-main/node/analysis/trained-model.js';
import { baselinePredictors, environmentMeansOf, evaluateUnseen, splitMeans, UnseenProblem } from '../../src-main/node/analysis/unseen.js';
import { wholeMatrixModel } from '../fixtures/whole-matrix-model.js';
import { trainSettled, useTempLab } from '../temp-lab.js';

describe('a trained model streams its rows from the store', () => {
  const temp = useTempLab('streamed-model', { seedDemo: true });
  let runId: string | undefined;

  async function trainedRun(): Promise<string> {
    const { lab } = temp;
    runId ??= await trainSettled(lab, lab.store.datasets.list()[0]?.id as string, {
      model: { family: 'env-vae', hiddenUnits: 32, latentDim: 8 },
      epochs: 2,
      batchSize: 128,
      validation: { kind: 'random-environments', fraction: 0.25, seed: 1 },
    });
    assert.equal(lab.store.runs.get(runId).status, 'completed');
    return runId;
  }

  it('loads, evaluates and projects without reading the expression matrix', async () => {
    const { lab } = temp;
    const id = await trainedRun();
    const datasets = lab.store.datasets;
    const whole = datasets.readExpression;
    datasets.readExpression = () => {
      throw new Error('readExpression called: a model load must not read the whole matrix');
    };
    try {
      const model = await TrainedModel.load(lab.store, id);
      try {
        assert.ok(evaluateUnseen(model).scores.length > 0);
        const projection = await projectLatents(model, 'pca', 500);
        assert.equal(projection.x.length, Math.min(500, model.nSamples));
      } finally {
        model.dispose();
      }
    } finally {
      datasets.readExpression = whole;
    }
  });

  it('gives the whole-matrix path’s environment means, evaluation, posterior means and PCA, to the bit', async () => {
    const { lab } = temp;
    const id = await trainedRun();
    const reference = wholeMatrixModel(lab.store, id);
    const model = await TrainedModel.load(lab.store, id);
    try {
      const { data } = reference;
      assert.ok(data.validationIndices.length > 0 && data.trainIndices.length > 0, 'a split');
      assert.deepEqual(model.data.environmentInputs, data.environmentInputs);
      assert.deepEqual(model.standardization, data.standardization);
      const means = splitMeans(model);
      assert.deepEqual(means.train, environmentMeansOf(data, data.trainIndices));
      assert.deepEqual(means.held, environmentMeansOf(data, data.validationIndices));

      // The baselines scored on the streamed problem and on the in-memory one.
      const streamed = evaluateUnseen(model);
      const problem = new UnseenProblem(data);
      const baselines = baselinePredictors(problem).map(([method, predict]) => ({ method, ...problem.score(predict).mean }));
      assert.deepEqual(
        streamed.scores.filter((s) => s.method !== 'model'),
        baselines,
      );

      // Posterior means: all samples, a subsample, and the subsample again, served from the kept set.
      const all = Array.from({ length: model.nSamples }, (_, i) => i);
      assert.deepEqual(model.encodeMeans(), reference.encode(all));
      const points = subsample(model.nSamples, 700, 3);
      assert.deepEqual(model.encodeMeans(points), reference.encode(points));
      assert.deepEqual(model.encodeMeans(points), reference.encode(points));
      const scattered = [points[5] as number, points[0] as number, points[5] as number, model.nSamples - 1];
      model.derived.clear();
      assert.deepEqual(model.encodeMeans(scattered), reference.encode(scattered), 'any order, repeats, read one by one');

      model.derived.clear();
      const pca = await projectLatents(model, 'pca', 600);
      const expected = principalComponents(reference.encode(pca.sample), pca.sample.length, model.latentDim, 2);
      assert.deepEqual(
        pca.x,
        Array.from({ length: pca.sample.length }, (_, i) => expected.projected[2 * i]),
      );
      assert.deepEqual(pca.explainedVariance, expected.explainedVariance);
    } finally {
      model.dispose();
      reference.dispose();
    }
  });

  it('keeps what it derives within its byte budget', async () => {
    const { lab } = temp;
    const id = await trainedRun();
    const model = await TrainedModel.load(lab.store, id, { cacheBytes: 64 * 1024 });
    try {
      const first = model.encodeMeans(subsample(model.nSamples, 200, 1));
      assert.ok(model.derived.bytes <= 64 * 1024, `${model.derived.bytes} bytes kept`);
      splitMeans(model);
      assert.ok(model.derived.bytes <= 64 * 1024, `${model.derived.bytes} bytes kept`);
      // Dropped or not, the answer is the same.
      assert.deepEqual(model.encodeMeans(subsample(model.nSamples, 200, 1)), first);
    } finally {
      model.dispose();
    }
  });
});
