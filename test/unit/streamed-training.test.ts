// Training without the expression matrix in memory (issue 13): above a size the training worker
// reads each batch's rows from the store. The same batches to the bit, so the same losses; and the
// matrix is never read whole, so training holds no copy of it at all.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { selectBackend } from '../../src-main/node/ml/backend.js';
import { setUpRun, setUpTraining, type TrainingSetup } from '../../src-main/node/ml/run-setup.js';
import { Trainer } from '../../src-main/node/ml/trainer.js';
import { Store } from '../../src-main/node/store/store.js';
import { TrainingConfig, type TrainingConfigInput } from '../../src-main/shared/api/training.js';

let store: Store;
let datasetId = '';

before(async () => {
  await selectBackend({ prefer: 'wasm' });
  store = Store.open(':memory:');
  datasetId = importSyntheticPreset(store, { preset: 'nonlinear-5', seed: 0 }).id;
});

after(() => store?.close());

function runWith(input: TrainingConfigInput): string {
  const config = TrainingConfig.parse(input);
  return store.runs.create({ datasetId, name: 'streamed', model: config.model.family, config, seed: config.seed }).id;
}

/** Every step's loss and the epochs' metrics of training `setup` to its end. */
async function lossesOf(setup: TrainingSetup): Promise<unknown[]> {
  const trainer = new Trainer(setup.module, setup.data, setup.config);
  const seen: unknown[] = [];
  const outcome = await trainer.run({
    onEpoch: (report) => {
      seen.push(report.stepLosses, report.train, report.validation);
    },
  });
  assert.equal(outcome.status, 'completed');
  trainer.dispose();
  setup.module.dispose();
  return seen;
}

/** `setUpTraining` with the store's whole-matrix reads made to fail: the streamed path must not use them. */
function streamedSetup(runId: string): TrainingSetup {
  const datasets = store.datasets;
  const whole = { readExpression: datasets.readExpression, trainingView: datasets.trainingView };
  const refuse = () => {
    throw new Error('the whole expression matrix was read: streamed training must hold no copy of it');
  };
  datasets.readExpression = refuse;
  datasets.trainingView = refuse;
  try {
    return setUpTraining(store, runId, store, { inMemoryBytes: 0 });
  } finally {
    Object.assign(datasets, whole);
  }
}

describe('training with rows read from the store', () => {
  const families: TrainingConfigInput[] = [
    // Standardised, with held-out environments (validation batches are read too).
    {
      model: { family: 'env-vae', hiddenUnits: 32, latentDim: 5 },
      epochs: 2,
      batchSize: 128,
      validation: { kind: 'random-environments', fraction: 0.3, seed: 1 },
    },
    // Raw values, min–max family (the adversary's batches are the same rows).
    { model: { family: 'adversarial-prior-ae', hiddenUnits: 16, latentDim: 4 }, epochs: 1, batchSize: 200, standardize: false },
  ];
  for (const input of families) {
    test(`${input.model?.family}: the same losses, to the bit, as from the matrix in memory`, async () => {
      const runId = runWith(input);
      const streamed = streamedSetup(runId);
      assert.ok(!('x' in streamed.data), 'the streamed setup holds no matrix');
      const inMemory = setUpRun(store, runId);
      assert.deepEqual(streamed.data.standardization, inMemory.data.standardization);
      assert.deepEqual(await lossesOf(streamed), await lossesOf(inMemory));
    });
  }

  test('small datasets keep the matrix in memory; over the limit it is streamed', () => {
    const runId = runWith({ model: { family: 'vae', hiddenUnits: 8, latentDim: 2 } });
    const small = setUpTraining(store, runId);
    assert.ok('x' in small.data);
    small.module.dispose();
    const { nSamples, nGenes } = store.datasets.get(datasetId);
    const over = streamedSetup(runId);
    assert.ok(!('x' in over.data));
    over.module.dispose();
    const limit = setUpTraining(store, runId, store, { inMemoryBytes: nSamples * nGenes * 4 });
    assert.ok('x' in limit.data, 'a matrix of exactly the limit is held');
    limit.module.dispose();
  });
});
