// The drug-shift VAE: the drug reaches the expression only through its additive shift, which is
// absent for controls (and for 'none' drug input), and whose size the dose sets through the doser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src-main/node/data/random.js';
import { createModule } from '../../src-main/node/ml/modules/index.js';
import { ModelConfig } from '../../src-main/shared/api/training.js';

// e = [drug bit 0, drug bit 1, cell A, log10 dose]
const dims = { genes: 5, environment: 4, environmentClasses: 3, drugColumns: [0, 1], doseColumn: 3 };
const config = ModelConfig.parse({ family: 'drug-shift-vae', hiddenUnits: 8, latentDim: 3 });

function decodeRows(module: ReturnType<typeof createModule>, rows: number[][]): number[][] {
  return tf.tidy(() => {
    const z = tf.tensor2d(
      rows.map(() => [0.3, -0.2, 0.5]),
      [rows.length, 3],
    );
    return module.decode(z, tf.tensor2d(rows, [rows.length, 4])).arraySync() as number[][];
  });
}

describe('drug-shift VAE', () => {
  it('controls get no drug shift; treated environments move with the drug and, through the doser, with the dose', () => {
    const module = createModule(config, dims, new Rng(5).fork('init'));
    const control = [0, 0, 1, 0];
    const treated = [1, 0, 1, 0];
    const treatedHigh = [1, 0, 1, 2];
    const before = decodeRows(module, [control, treated, treatedHigh]);
    // Scale the drug-shift network's output layer: only rows with a drug may change.
    const out = module.params.named();
    for (const [name, variable] of out) if (name.startsWith('drug-shift/out')) variable.assign(tf.mul(variable, 3));
    const doser = [...out].find(([name]) => name === 'doser/W')?.[1];
    assert.ok(doser, 'the doser is a named parameter (checkpointed with the model)');
    const after = decodeRows(module, [control, treated, treatedHigh]);
    assert.deepEqual(after[0], before[0], 'the control row ignores the drug shift');
    assert.notDeepEqual(after[1], before[1], 'a treated row moves with its shift');
    // The base decoder also reads the dose, so compare the dose response with the doser off (a = 0) and on (a = 4):
    // only the doser can make the same drug's shift grow with dose.
    const doseResponse = (a: number) => {
      doser.assign(tf.tensor2d([a, 0, 0, 0], [2, 2]));
      const [low, high] = decodeRows(module, [treated, treatedHigh]) as [number[], number[]];
      return high.map((v, g) => v - (low[g] as number));
    };
    const flat = doseResponse(0);
    const dosed = doseResponse(4);
    assert.ok(
      dosed.some((v, g) => Math.abs(v - (flat[g] as number)) > 1e-4),
      'the doser changes how the effect grows with dose',
    );
    module.dispose();
  });

  it('without named drug coordinates (one-hot environments) every coordinate is the drug', () => {
    const module = createModule(config, { genes: 5, environment: 3, environmentClasses: 3 }, new Rng(5).fork('init'));
    const rows = tf.tidy(
      () =>
        module
          .decode(
            tf.zeros([2, 3]) as tf.Tensor2D,
            tf.tensor2d([
              [1, 0, 0],
              [0, 1, 0],
            ]),
          )
          .arraySync() as number[][],
    );
    assert.notDeepEqual(rows[0], rows[1], 'two environments, two shifts');
    module.dispose();
  });
});

describe('drug-shift VAE with an ensemble of drug networks (shiftHeads)', () => {
  const ensemble = ModelConfig.parse({ family: 'drug-shift-vae', hiddenUnits: 8, latentDim: 3, shiftHeads: 3 });
  const treated = [1, 0, 1, 0];
  const control = [0, 0, 1, 0];

  it('predicts the mean of its heads: silencing two of three heads leaves a third of the first head’s shift', () => {
    const module = createModule(ensemble, dims, new Rng(5).fork('init'));
    // Parameters are seeded by name, so the single model's network is the ensemble's first head.
    const single = createModule(ModelConfig.parse({ ...ensemble, shiftHeads: 1 }), dims, new Rng(5).fork('init'));
    const names = [...module.params.named().keys()];
    for (const head of ['drug-shift/out/W', 'drug-shift-2/out/W', 'drug-shift-3/out/W', 'doser-3/W']) assert.ok(names.includes(head), head);
    // Treated and control rows share the context the decoder reads: their difference is the drug shift alone.
    const shift = (m: ReturnType<typeof createModule>) => {
      const [c, t] = decodeRows(m, [control, treated]) as [number[], number[]];
      return t.map((v, g) => v - (c[g] as number));
    };
    const firstHead = shift(single);
    const all = shift(module);
    for (const [name, variable] of module.params.named()) if (/^drug-shift-[23]\/out\//.test(name)) variable.assign(tf.zerosLike(variable));
    const one = shift(module);
    assert.ok(
      firstHead.some((v) => Math.abs(v) > 1e-3),
      'the first head shifts a treated row',
    );
    for (const [g, v] of one.entries())
      assert.ok(Math.abs(v - (firstHead[g] as number) / 3) < 1e-5, `gene ${g}: ${v} vs ${firstHead[g]} / 3`);
    assert.ok(
      all.some((v, g) => Math.abs(v - (one[g] as number)) > 1e-4),
      'the other heads contributed',
    );
    module.dispose();
    single.dispose();
  });

  it('each head is trained on its own loss: the loss is not the loss of the heads’ mean', () => {
    const module = createModule(ensemble, dims, new Rng(5).fork('init'));
    const single = createModule(ModelConfig.parse({ ...ensemble, shiftHeads: 1 }), dims, new Rng(5).fork('init'));
    const batch = {
      x: tf.tensor2d([[1, 0, -1, 0.5, 2]]),
      e: tf.tensor2d([treated]),
      environmentClass: tf.tensor1d([0], 'int32'),
    };
    const noise = (rows: number, cols: number) => tf.zeros([rows, cols]) as tf.Tensor2D;
    const heads = module.loss(batch, { klWeight: 0, noise });
    // Reconstruction through the heads' mean (what a jointly trained wider network would minimise).
    const ofMean = tf.tidy(() => {
      const { mean } = module.encode(batch.x, batch.e);
      return tf.mean(tf.mul(tf.sum(tf.squaredDifference(batch.x, module.decode(mean, batch.e)), -1), 0.5)).arraySync() as number;
    });
    const own = heads.terms.reconstruction?.arraySync() as number;
    // Jensen: the mean of the heads' squared errors is at least the squared error of their mean, and differs when heads disagree.
    assert.ok(own > ofMean + 1e-6, `mean of head losses ${own} vs loss of the mean ${ofMean}`);
    assert.ok(single.params.size < module.params.size, 'the ensemble has its own parameters per head');
    module.dispose();
    single.dispose();
  });
});
