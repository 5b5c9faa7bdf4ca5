// decodeMeans (the model's mean prediction per environment, with the decoder's linear output layer
// applied once to the mean hidden activation) against decode() on every sample then the mean, for
// every family and both decoders: the evaluation's predictions rest on their equality.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src-main/node/data/random.js';
import { createModule } from '../../src-main/node/ml/modules/index.js';
import { modelFamilies } from '../../src-main/shared/api/model-families.js';
import { ModelConfig } from '../../src-main/shared/api/training.js';

// e = [drug bit 0, drug bit 1, cell A, cell B, log10 dose]
const dims = { genes: 7, environment: 5, environmentClasses: 4, drugColumns: [0, 1], doseColumn: 4 };
const environments = [
  [0, 0, 1, 0, 0],
  [1, 0, 1, 0, 0.5],
  [0, 1, 0, 1, -1],
];
const samples = 6;

for (const { id: family } of modelFamilies)
  for (const decoder of ['mlp', 'linear'] as const)
    test(`${family}, ${decoder} decoder: decodeMeans equals the mean of decode() over each environment's samples`, () => {
      const module = createModule(ModelConfig.parse({ family, decoder, hiddenUnits: 16, latentDim: 3 }), dims, new Rng(9).fork('init'));
      try {
        const rng = new Rng(4);
        const latents = new Float32Array(environments.length * samples * 3);
        rng.fillNormal(latents);
        const [means, reference] = tf.tidy(() => {
          const z = tf.tensor2d(latents, [environments.length * samples, 3]);
          const e = tf.tensor2d(environments);
          const perSample = tf.tensor2d(environments.flatMap((row) => Array.from({ length: samples }, () => row)));
          const decoded = module.decode(z, perSample);
          return [
            module.decodeMeans(z, e).arraySync() as number[][],
            tf.mean(tf.reshape(decoded, [environments.length, samples, dims.genes]), 1).arraySync() as number[][],
          ];
        });
        assert.equal(means.length, environments.length);
        for (const [k, row] of reference.entries())
          for (const [g, v] of row.entries())
            assert.ok(
              Math.abs(v - (means[k]?.[g] as number)) <= 1e-5 * (1 + Math.abs(v)),
              `environment ${k}, gene ${g}: ${means[k]?.[g]} vs ${v}`,
            );
        // The environments' means differ (so a mix-up of groups would show).
        assert.notDeepEqual(reference[0], reference[1]);
      } finally {
        module.dispose();
      }
    });
