// The native-blas backend must train to the same numbers as the plain cpu backend (it is the same
// arithmetic with matmuls in BLAS and hot kernels in C). Skipped, saying why, where the optional
// addon is not built; CI builds it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { type ModelFamily, TrainingConfig } from '../../src-main/api/training.js';
import { Rng } from '../../src-main/data/random.js';
import { createModule } from '../../src-main/ml/modules/index.js';
import { registerNativeBackend } from '../../src-main/ml/native/index.js';
import { Trainer } from '../../src-main/ml/trainer.js';
import type { TrainingData } from '../../src-main/ml/training-data.js';

function syntheticData(samples: number, genes: number, environments: number): TrainingData {
  const rng = new Rng(7);
  const x = new Float32Array(samples * genes).map(() => rng.normal());
  const environmentOfSample = Int32Array.from({ length: samples }, (_, i) => i % environments);
  const width = 16;
  const environmentInputs = new Float32Array(environments * width).map(() => (rng.next() < 0.3 ? 1 : 0));
  const train = Int32Array.from({ length: samples }, (_, i) => i).filter((i) => i % environments !== 0);
  const validation = Int32Array.from({ length: samples }, (_, i) => i).filter((i) => i % environments === 0);
  return {
    nGenes: genes,
    geneIds: Array.from({ length: genes }, (_, g) => `g${g}`),
    x,
    environmentOfSample,
    environmentKeys: Array.from({ length: environments }, (_, e) => `e${e}`),
    environmentInputs,
    environmentWidth: width,
    environmentClass: Int32Array.from({ length: environments }, (_, e) => (e === 0 ? -1 : e - 1)),
    environmentClasses: environments - 1,
    trainIndices: train,
    validationIndices: validation,
    validationEnvironments: ['e0'],
    standardization: null,
  };
}

async function epochLosses(backend: string, family: ModelFamily): Promise<number[]> {
  await tf.setBackend(backend);
  const config = TrainingConfig.parse({ model: { family, hiddenUnits: 48, latentDim: 6 }, epochs: 3, batchSize: 64 });
  const data = syntheticData(600, 40, 6);
  const module = createModule(config.model, { genes: 40, environment: 16, environmentClasses: 5 }, new Rng(1).fork('init'));
  const trainer = new Trainer(module, data, config);
  const losses: number[] = [];
  await trainer.run({ onEpoch: (report) => void losses.push(report.train.loss as number, report.validation?.loss as number) });
  trainer.dispose();
  module.dispose();
  return losses;
}

describe('native-blas backend', () => {
  const status = registerNativeBackend();

  it('trains every family to the cpu backend’s losses (relative difference < 1e-4)', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    for (const family of ['vae', 'cvae', 'env-vae', 'translation-vae', 'adversarial-prior-ae'] as const) {
      const reference = await epochLosses('cpu', family);
      const native = await epochLosses('native-blas', family);
      assert.equal(native.length, reference.length);
      native.forEach((value, i) => {
        const expected = reference[i] as number;
        assert.ok(Math.abs(value - expected) <= 1e-4 * Math.max(1, Math.abs(expected)), `${family} loss #${i}: ${value} vs ${expected}`);
      });
    }
  });
});
