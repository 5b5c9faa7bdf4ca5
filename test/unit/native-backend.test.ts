// The native-blas backend must train to the same numbers as the plain cpu backend (it is the same
// arithmetic with matmuls in BLAS and hot kernels in C). Skipped, saying why, where the optional
// addon is not built; CI builds it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src-main/node/data/random.js';
import { gaussianNll } from '../../src-main/node/ml/math.js';
import { sampleLatent } from '../../src-main/node/ml/modules/blocks.js';
import { createModule } from '../../src-main/node/ml/modules/index.js';
import { applyScaledGradients } from '../../src-main/node/ml/native/adam.js';
import { type AdamHyperparameters, loadAddon } from '../../src-main/node/ml/native/addon.js';
import { NativeBackend } from '../../src-main/node/ml/native/backend.js';
import { DENSE_LINEAR, DENSE_RELU, dense, RELU_GRAD } from '../../src-main/node/ml/native/dense.js';
import { registerNativeBackend } from '../../src-main/node/ml/native/index.js';
import { GAUSSIAN_LATENT, GAUSSIAN_LATENT_GRAD } from '../../src-main/node/ml/native/latent.js';
import { GAUSSIAN_NLL, GAUSSIAN_NLL_GRAD } from '../../src-main/node/ml/native/nll.js';
import { clipByGlobalNorm, clippingScale, Trainer } from '../../src-main/node/ml/trainer.js';
import type { TrainingData } from '../../src-main/node/ml/training-data.js';
import { ModelConfig, type ModelFamily, TrainingConfig } from '../../src-main/shared/api/training.js';

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

/** Every output within 1e-5 relative (BLAS sums in another order than the cpu backend). */
function assertCloseToCpu(got: number[][], expected: number[][]): void {
  for (const [i, values] of got.entries()) {
    const want = expected[i] as number[];
    assert.equal(values.length, want.length, `output ${i}: length`);
    for (const [j, v] of values.entries()) {
      const tolerance = 1e-5 * Math.max(1, Math.abs(want[j] as number));
      assert.ok(Math.abs(v - (want[j] as number)) <= tolerance, `output ${i}[${j}]: ${v} vs cpu ${want[j]}`);
    }
  }
}

/** compute() ran the fused kernels and none of the composite's (`absent`). */
async function assertFusedKernels(compute: () => unknown, fused: string[], absent: string[]): Promise<void> {
  const kernels = new Set((await tf.profile(() => void compute())).kernelNames);
  for (const name of fused) assert.ok(kernels.has(name), `${name} did not run: ${[...kernels].join(', ')}`);
  for (const name of absent) assert.ok(!kernels.has(name), `the composite ran (${name}): ${[...kernels].join(', ')}`);
}

/** tfjs's own gradients, before the native backend registers its broadcasting ones. */
const tfjsGradients = ['Sum', 'Mean'].map((name) => tf.getGradient(name));

describe('native-blas backend', () => {
  const status = registerNativeBackend();
  const nativeGradients = ['Sum', 'Mean'].map((name) => tf.getGradient(name));

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

  it('fused dense (bias + ReLU), broadcasts, fills and the Sum/Mean gradients match the cpu backend', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    const rng = new Rng(3);
    const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const [x, w, b, scalarBias] = [random(7 * 5), random(5 * 4), random(4), random(1)];
    const compute = () =>
      tf.tidy(() => {
        const xs = tf.tensor2d(x, [7, 5]);
        const ws = tf.tensor2d(w, [5, 4]);
        const bs = tf.tensor1d(b);
        const loss = (p: tf.Tensor2D, q: tf.Tensor1D) =>
          tf.add(
            tf.sum(tf.fused.matMul({ a: xs, b: p, bias: q, activation: 'relu' }), 1).mean(),
            tf.mean(tf.square(tf.fused.matMul({ a: xs, b: p, bias: tf.tensor1d(scalarBias) })), 0).sum(),
          ) as tf.Scalar;
        const [dw, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => loss(p as tf.Tensor2D, q as tf.Tensor1D))([ws, bs]) as tf.Tensor[];
        return [
          loss(ws, bs),
          dw,
          db,
          tf.fused.matMul({ a: xs, b: ws, bias: bs, activation: 'relu' }),
          tf.fused.matMul({ a: xs, b: ws, transposeB: false, bias: bs }),
          tf.broadcastTo(tf.tensor2d(b, [1, 4]), [3, 4]),
          tf.broadcastTo(tf.tensor2d(x.subarray(0, 7), [7, 1]), [7, 6]),
          tf.zerosLike(xs),
          tf.onesLike(xs),
        ].map((t) => Array.from((t as tf.Tensor).dataSync()));
      });
    // The reference: the cpu backend with tfjs's own Sum and Mean gradients.
    for (const config of tfjsGradients) if (config) tf.registerGradient(config);
    await tf.setBackend('cpu');
    const expected = compute();
    for (const config of nativeGradients) if (config) tf.registerGradient(config);
    await tf.setBackend('native-blas');
    const got = compute();
    assertCloseToCpu(got, expected);
  });

  it('reductions (sum, mean, max, min) along each axis, with NaN and infinities, equal the cpu backend’s bit for bit', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    const rng = new Rng(11);
    // Big enough that every reduction splits between threads: whole blocks (outer > 1) or the
    // columns of one block (a bias gradient's column sums).
    const values = Float32Array.from({ length: 3 * 700 * 250 }, () => rng.normal());
    for (const [i, v] of [
      [5, Number.NaN],
      [260, Number.POSITIVE_INFINITY],
      [700 * 250 + 9, Number.NEGATIVE_INFINITY],
      [2 * 700 * 250 + 511, Number.NaN],
    ] as const)
      values[i] = v;
    const compute = () =>
      tf.tidy(() => {
        const x3 = tf.tensor3d(values, [3, 700, 250]);
        const x2 = tf.tensor2d(values, [2100, 250]);
        const results: tf.Tensor[] = [];
        for (const reduce of [tf.sum, tf.mean, tf.max, tf.min] as const) {
          results.push(reduce(x3, 1), reduce(x3, 2), reduce(x2, 0), reduce(x2, 1));
        }
        return results.map((t) => Array.from(t.dataSync()));
      });
    await tf.setBackend('cpu');
    const expected = compute();
    await tf.setBackend('native-blas');
    assert.deepEqual(compute(), expected);
  });

  it('a dense layer, ReLU or linear, differentiates as one kernel to the cpu backend’s gradients', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    const rng = new Rng(5);
    const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    // 300 columns: more than one 256-column block of the kernel, split between the threads.
    const [rows, inner, cols] = [9, 6, 300];
    const [x, w, b, r] = [random(rows * inner), random(inner * cols), random(cols), random(rows * cols)];
    for (const [activation, fused, unfusedKernels] of [
      ['relu', [DENSE_RELU, RELU_GRAD], ['Relu', 'Step', '_FusedMatMul']],
      ['linear', [DENSE_LINEAR], ['_FusedMatMul']],
    ] as const) {
      const compute = () =>
        tf.tidy(() => {
          const f = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
            tf.sum(tf.mul(dense(xs as tf.Tensor2D, ws as tf.Tensor2D, bs as tf.Tensor1D, activation), tf.tensor2d(r, [rows, cols])));
          const inputs = [tf.tensor2d(x, [rows, inner]), tf.tensor2d(w, [inner, cols]), tf.tensor1d(b)];
          const grads = tf.grads(f)(inputs);
          return [f(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor])), ...grads].map((t) => Array.from(t.dataSync()));
        });
      await tf.setBackend('cpu');
      const expected = compute();
      await tf.setBackend('native-blas');
      const got = compute();
      assertCloseToCpu(got, expected);
      // The fused path ran, and none of the unfused layer's kernels.
      await assertFusedKernels(compute, [...fused], [...unfusedKernels]);
    }
  });

  it('the Gaussian reconstruction loss runs as one fused kernel each way, to the unfused ops’ values bit for bit', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    const rng = new Rng(13);
    const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    // 70 rows of 1,003 columns: split between the threads, and a row length that is no multiple of 8.
    const [rows, cols] = [70, 1003];
    const [x, y, weights] = [random(rows * cols), random(rows * cols), random(rows)];
    const compute = () =>
      tf.tidy(() => {
        const f = (xs: tf.Tensor, ys: tf.Tensor) => tf.sum(tf.mul(gaussianNll(xs as tf.Tensor2D, ys as tf.Tensor2D), tf.tensor1d(weights)));
        const inputs = [tf.tensor2d(x, [rows, cols]), tf.tensor2d(y, [rows, cols])] as const;
        const perRow = gaussianNll(...inputs);
        return [perRow, f(...inputs), ...tf.grads(f)([...inputs])].map((t) => Array.from(t.dataSync()));
      });
    await tf.setBackend('cpu');
    const cpu = compute();
    await tf.setBackend('native-blas');
    const fused = compute();
    await assertFusedKernels(compute, [GAUSSIAN_NLL, GAUSSIAN_NLL_GRAD], ['SquaredDifference']);
    // The same ops unfused on native-blas: equal bit for bit.
    const config = tf.getKernel(GAUSSIAN_NLL, 'native-blas') as tf.KernelConfig;
    tf.unregisterKernel(GAUSSIAN_NLL, 'native-blas');
    try {
      assert.deepEqual(fused, compute());
    } finally {
      tf.registerKernel(config);
    }
    assertCloseToCpu(fused, cpu);
  });

  it('the latent block (posterior sample and KL to N(0, I) or a learnt prior) runs as one fused kernel each way, to the composite’s values', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    const rng = new Rng(19);
    const random = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());
    // 70 rows (split between the threads), raw values up to ~±9 so the tanh bounds bend them.
    const [rows, latent] = [70, 13];
    const config = ModelConfig.parse({ family: 'env-vae', latentDim: latent, logVarBound: 4, temperature: 0.7 });
    const [posterior, prior] = [random(rows * 2 * latent, 3), random(rows * 2 * latent, 3)];
    // And values at the kernel's clamps of e^x to [−708, 708]: tanh's e^{2x} beyond them (posterior
    // a, row 0; prior s, row 1), and a prior mean that puts the rest of its row's softmax below e^−708 (row 2).
    posterior.set([5000, -5000], latent);
    prior.set([5000, -5000], 3 * latent);
    prior[4 * latent] = 800;
    const [noise, zWeights, klWeights] = [random(rows * latent), random(rows * latent), random(rows)];
    const compute = () =>
      tf.tidy(() =>
        [true, false].flatMap((withPrior) => {
          const eps = tf.tensor2d(noise, [rows, latent]);
          const block = (p: tf.Tensor, q: tf.Tensor | null) => sampleLatent(p as tf.Tensor2D, eps, q as tf.Tensor2D | null, config);
          const inputs = [tf.tensor2d(posterior, [rows, 2 * latent]), tf.tensor2d(prior, [rows, 2 * latent])];
          // Through both outputs, and through each alone (the other output then gets no gradient).
          const both = (p: tf.Tensor, q: tf.Tensor) => {
            const { z, kl } = block(p, withPrior ? q : null);
            return tf.add(tf.sum(tf.mul(z, tf.tensor2d(zWeights, [rows, latent]))), tf.sum(tf.mul(kl, tf.tensor1d(klWeights))));
          };
          const zOnly = (p: tf.Tensor, q: tf.Tensor) =>
            tf.sum(tf.mul(block(p, withPrior ? q : null).z, tf.tensor2d(zWeights, [rows, latent])));
          const klOnly = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(block(p, withPrior ? q : null).kl, tf.tensor1d(klWeights)));
          const { z, kl } = block(inputs[0] as tf.Tensor, withPrior ? (inputs[1] as tf.Tensor) : null);
          // z does not depend on the prior: its gradient only for the posterior.
          const withBoth = (withPrior ? inputs : inputs.slice(0, 1)) as tf.Tensor[];
          const gradients = [
            ...[both, klOnly].flatMap((f) => tf.grads((p: tf.Tensor, q?: tf.Tensor) => f(p, q ?? p))(withBoth)),
            ...tf.grads((p: tf.Tensor) => zOnly(p, inputs[1] as tf.Tensor))([inputs[0] as tf.Tensor]),
          ];
          return [z, kl, ...gradients].map((t) => Array.from(t.dataSync()));
        }),
      );
    await tf.setBackend('cpu');
    const cpu = compute();
    await tf.setBackend('native-blas');
    const fused = compute();
    await assertFusedKernels(compute, [GAUSSIAN_LATENT, GAUSSIAN_LATENT_GRAD], ['Softmax', 'Tanh', 'Exp']);
    assertCloseToCpu(fused, cpu);
    // And the composite on native-blas, which the fused kernel replaces.
    const nativeKernel = tf.getKernel(GAUSSIAN_LATENT, 'native-blas') as tf.KernelConfig;
    tf.unregisterKernel(GAUSSIAN_LATENT, 'native-blas');
    try {
      assertCloseToCpu(fused, compute());
    } finally {
      tf.registerKernel(nativeKernel);
    }
    // σ = e^{B·t/2} and 1/σ̄² = e^{−2 log σ̄} skip exp's clamp: bounds that would need it are refused.
    const addon = loadAddon();
    const gaussianLatent = addon.ok ? addon.binding.gaussianLatent : undefined;
    assert.ok(gaussianLatent);
    const [z, kl, row] = [new Float32Array(latent), new Float32Array(1), posterior.subarray(0, 2 * latent)];
    for (const [bound, priorBound] of [
      [1417, 2],
      [4, 355],
    ] as const) {
      assert.throws(() => gaussianLatent(z, kl, row, noise, row, 1, latent, bound, priorBound, 0.7), /at most 1416/);
    }
    gaussianLatent(z, kl, row, noise, row, 1, latent, 1416, 354, 0.7);
  });

  it('global-norm clipping and the Adam update of all variables in one call give the cpu backend’s numbers', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    const rng = new Rng(11);
    const random = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());
    // 20,000 elements: more than two of sumSquares' fixed 8,192-element blocks.
    const sizes = [20_000, 300, 7];
    const initial = sizes.map((n) => random(n));
    const gradients = [0, 1].map(() => sizes.map((n) => random(n, 0.2)));
    /** scaled: the rescale inside the update (the Trainer's way), else a scaled copy first. */
    const compute = (scaled = false) => {
      const variables = initial.map((values, i) => tf.variable(tf.tensor1d(values), true, `clip-adam-${tf.getBackend()}-${scaled}-${i}`));
      const optimizer: tf.Optimizer = tf.train.adam(0.01);
      const norms: number[] = [];
      for (const step of gradients) {
        tf.tidy(() => {
          const grads = Object.fromEntries(variables.map((v, i) => [v.name, tf.tensor1d(step[i] as Float32Array)]));
          if (scaled) {
            const { norm, scale } = clippingScale(grads, 5);
            norms.push(norm);
            applyScaledGradients(optimizer, grads, scale);
            return;
          }
          const clipped = clipByGlobalNorm(grads, 5); // the gradients' norm is ~29: clipped
          norms.push(clipped.norm);
          optimizer.applyGradients(clipped.grads);
        });
      }
      const values = variables.map((v) => Array.from(v.dataSync()));
      optimizer.dispose();
      for (const v of variables) v.dispose();
      return [norms, ...values];
    };
    await tf.setBackend('cpu');
    const expected = compute();
    await tf.setBackend('native-blas');
    const got = compute();
    assertCloseToCpu(got, expected);
    assert.ok((expected[0]?.[0] as number) > 5, 'the test gradients are large enough to be clipped');
    // The rescale folded into adamMany: the scaled copy's numbers bit for bit, with no Multiply.
    let scaled: number[][] = [];
    const { kernels } = await tf.profile(() => {
      scaled = compute(true);
    });
    assert.deepEqual(scaled, got);
    const gradientMultiplies = kernels.filter((k) => k.name === 'Multiply' && k.outputShapes.some((shape) => (shape?.[0] ?? 1) > 1));
    assert.equal(gradientMultiplies.length, 0, 'no scaled copy of a gradient');
    // The norm took no Square kernel (no squared copy of every gradient).
    const profile = await tf.profile(() => {
      tf.tidy(() => clipByGlobalNorm({ g: tf.tensor1d(gradients[0]?.[0] as Float32Array) }, 5));
    });
    assert.ok(!profile.kernelNames.includes('Square'), `kernels: ${profile.kernelNames.join(', ')}`);
  });

  it('matmuls whose left operand ends in sparse columns (a fingerprint) match the cpu backend', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, async () => {
    const rng = new Rng(17);
    // [genes ‖ fingerprint] as the Environment VAE's encoder sees it: 30 dense columns, then 100
    // (more than the 64 the sparse path needs) with ~5% ones; and the fingerprint alone (prior).
    const [rows, genes, bits, units] = [40, 30, 100, 20];
    const input = Float32Array.from({ length: rows * (genes + bits) }, (_, i) =>
      i % (genes + bits) < genes ? rng.normal() : rng.next() < 0.05 ? 1 : 0,
    );
    const fingerprint = Float32Array.from(
      { length: rows * bits },
      (_, i) => input[Math.floor(i / bits) * (genes + bits) + genes + (i % bits)] as number,
    );
    const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const [w, wPrior, b, r] = [random((genes + bits) * units), random(bits * units), random(units), random(rows * units)];
    const compute = () =>
      tf.tidy(() => {
        const f = (x: tf.Tensor2D, ws: tf.Tensor, bs: tf.Tensor) =>
          tf.sum(tf.mul(dense(x, ws as tf.Tensor2D, bs as tf.Tensor1D, 'relu'), tf.tensor2d(r, [rows, units])));
        const encoder = tf.tensor2d(input, [rows, genes + bits]);
        const prior = tf.tensor2d(fingerprint, [rows, bits]);
        const [dw, db] = tf.grads((ws: tf.Tensor, bs: tf.Tensor) => f(encoder, ws, bs))([
          tf.tensor2d(w, [genes + bits, units]),
          tf.tensor1d(b),
        ]);
        const [dwPrior] = tf.grads((ws: tf.Tensor) => f(prior, ws, tf.tensor1d(b)))([tf.tensor2d(wPrior, [bits, units])]);
        return [
          tf.matMul(encoder, tf.tensor2d(w, [genes + bits, units])),
          tf.matMul(prior, tf.tensor2d(wPrior, [bits, units])),
          tf.matMul(encoder, tf.tensor2d(r, [rows, units]), true, false),
          dw,
          db,
          dwPrior,
        ].map((t) => Array.from((t as tf.Tensor).dataSync()));
      });
    await tf.setBackend('cpu');
    const expected = compute();
    await tf.setBackend('native-blas');
    assertCloseToCpu(compute(), expected);
  });

  it('the addon pool spins before sleeping only when asked (CELLSHIFT_SPIN_US, setSpin), with the same results', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, () => {
    const addon = loadAddon();
    assert.ok(addon.ok);
    const native = addon.binding;
    assert.ok(native.setSpin, 'the addon has setSpin');
    const setSpin = native.setSpin.bind(native);
    if (!process.env.CELLSHIFT_SPIN_US) assert.equal(native.info().spinMicroseconds, 0, 'off by default');
    const rng = new Rng(31);
    // Large enough to split between the threads: [rows, cols] with cols over one 256-column block.
    const [rows, cols] = [300, 700];
    const dy = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const y = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const run = () => {
      const out: Float32Array[] = [];
      // Many jobs back to back: the spinning worker and caller meet each other's next job.
      for (let i = 0; i < 50; i++) {
        const dx = new Float32Array(rows * cols);
        const dbias = new Float32Array(cols);
        native.reluGrad(dx, dbias, dy, y, rows, cols);
        const relu = new Float32Array(rows * cols);
        native.unary(0, relu, dy, 0);
        if (i === 0 || i === 49) out.push(dx, dbias, relu);
      }
      return out;
    };
    const sleeping = run();
    try {
      setSpin(200);
      assert.equal(native.info().spinMicroseconds, 200);
      assert.deepEqual(run(), sleeping);
    } finally {
      setSpin(0);
    }
    assert.equal(native.info().spinMicroseconds, 0);
  });

  it('adamMany equals adam() per variable bit for bit, and refuses overlapping or mismatched arrays', {
    skip: status.ok ? false : `addon not available: ${status.ok ? '' : status.why}`,
  }, () => {
    const addon = loadAddon();
    assert.ok(addon.ok && addon.binding.adamMany);
    const native = addon.binding;
    const rng = new Rng(13);
    // Sizes that split unevenly between threads (the pool splits the concatenation, not each array).
    const sizes = [70_001, 3, 40_000, 0, 1];
    const inputs = sizes.map((n) =>
      [0, 1, 2, 3].map((k) => Float32Array.from({ length: n }, () => (k === 3 ? Math.abs(rng.normal()) : rng.normal()))),
    );
    const scalars: AdamHyperparameters = [0.9, 0.1, 0.999, 0.001, 0.19, 0.002, 1e-7, -0.001];
    const one = sizes.map((n, i) => {
      const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
      const [w, g, m, v] = inputs[i] as Float32Array[];
      native.adam(...out, w as Float32Array, g as Float32Array, m as Float32Array, v as Float32Array, ...scalars);
      return out;
    });
    const all = sizes.map((n) => [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const);
    const column = <T>(list: readonly (readonly T[])[], k: number) => list.map((row) => row[k] as T);
    const adamMany = native.adamMany?.bind(native) as NonNullable<typeof native.adamMany>;
    adamMany(
      column(all, 0),
      column(all, 1),
      column(all, 2),
      column(inputs, 0),
      column(inputs, 1),
      column(inputs, 2),
      column(inputs, 3),
      ...scalars,
    );
    assert.deepEqual(all, one);
    const [w, g, m, v] = inputs[0] as Float32Array[];
    const a = w as Float32Array;
    assert.throws(
      () =>
        adamMany(
          [a],
          [new Float32Array(a.length)],
          [new Float32Array(a.length)],
          [a],
          [g as Float32Array],
          [m as Float32Array],
          [v as Float32Array],
          ...scalars,
        ),
      /overlap/,
    );
    assert.throws(
      () =>
        adamMany(
          [new Float32Array(2)],
          [new Float32Array(2)],
          [new Float32Array(2)],
          [a],
          [g as Float32Array],
          [m as Float32Array],
          [v as Float32Array],
          ...scalars,
        ),
      /differ in length/,
    );
  });

  it('the array pool makes room for a new size by dropping the sizes used least recently', () => {
    const backend = new NativeBackend(4 * 4 * 100); // room for four arrays of 100 floats
    const release = (n: number) => {
      const array = backend.alloc(n);
      backend.disposeData(backend.write(array, [n], 'float32'));
      return array;
    };
    const held = [100, 100, 100, 100].map((n) => backend.alloc(n));
    for (const array of held) backend.disposeData(backend.write(array, [array.length], 'float32'));
    assert.deepEqual(backend.poolStats(), { arrays: 4, bytes: 1600 });
    // Full of 100s: a 200 still gets pooled, two 100s make way for it.
    const big = release(200);
    assert.deepEqual(backend.poolStats(), { arrays: 3, bytes: 1600 });
    assert.equal(backend.alloc(200), big, 'the 200 comes back from the pool');
    // An array read out (dataSync hands the caller the array itself) is never pooled.
    const read = backend.alloc(50);
    const id = backend.write(read, [50], 'float32');
    backend.readSync(id);
    backend.disposeData(id);
    assert.deepEqual(backend.poolStats(), { arrays: 2, bytes: 800 });
    backend.dispose();
  });
});
