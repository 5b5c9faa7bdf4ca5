// The probabilistic pieces of the models (seed §4.5, §4.8, appendix A) checked against
// independent computations: a Monte-Carlo KL, the appendix's closed form in float64, hand-made
// softmax and Gaussian NLL; plus gradient clipping and the checkpoint byte format.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { Rng } from '../../src-main/node/data/random.js';
import { selectBackend } from '../../src-main/node/ml/backend.js';
import { type NamedArray, packArrays, unpackArrays } from '../../src-main/node/ml/checkpoint.js';
import { boundLog, gaussianNll, klDiagonal, klStandardNormal, reparameterize, sparsify } from '../../src-main/node/ml/math.js';
import { clipByGlobalNorm } from '../../src-main/node/ml/trainer.js';

before(async () => {
  await selectBackend({ prefer: 'cpu' });
});

/** Runs a tensor function and returns its values as plain numbers, disposing everything. */
function values(fn: () => tf.Tensor): number[] {
  const t = tf.tidy(fn);
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

function row(v: number[]): tf.Tensor2D {
  return tf.tensor2d([v]);
}

function closeTo(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} differs from ${expected} by ${Math.abs(actual - expected)} (> ${tolerance})`,
  );
}

interface GaussianPair {
  mean: number[];
  logVar: number[];
  priorMean: number[];
  priorLogVar: number[];
}

/** Appendix A in float64, written with σ rather than log-variances, so it is an independent path. */
function appendixKl({ mean, logVar, priorMean, priorLogVar }: GaussianPair): number {
  let total = 0;
  for (let i = 0; i < mean.length; i++) {
    const sigma = Math.sqrt(Math.exp(logVar[i] as number));
    const sigmaE = Math.sqrt(Math.exp(priorLogVar[i] as number));
    const diff = (mean[i] as number) - (priorMean[i] as number);
    total += 2 * Math.log(sigmaE) - 2 * Math.log(sigma) - 1 + (diff * diff) / sigmaE ** 2 + sigma ** 2 / sigmaE ** 2;
  }
  return total / 2;
}

/** E_q[log q(z) − log p(z)] by sampling z ~ q; returns the estimate and its standard error. */
function monteCarloKl({ mean, logVar, priorMean, priorLogVar }: GaussianPair, draws: number, rng: Rng): { estimate: number; se: number } {
  let sum = 0;
  let sumSquares = 0;
  for (let n = 0; n < draws; n++) {
    let logRatio = 0;
    for (let i = 0; i < mean.length; i++) {
      const sd = Math.exp((logVar[i] as number) / 2);
      const sdP = Math.exp((priorLogVar[i] as number) / 2);
      const eps = rng.normal();
      const z = (mean[i] as number) + sd * eps;
      const u = (z - (priorMean[i] as number)) / sdP;
      // log N(z; μ, σ²) − log N(z; μp, σp²); the 2π terms cancel.
      logRatio += -Math.log(sd) - 0.5 * eps * eps + Math.log(sdP) + 0.5 * u * u;
    }
    sum += logRatio;
    sumSquares += logRatio * logRatio;
  }
  const estimate = sum / draws;
  const variance = (sumSquares - draws * estimate * estimate) / (draws - 1);
  return { estimate, se: Math.sqrt(variance / draws) };
}

function randomPair(rng: Rng, d: number): GaussianPair {
  const draw = (scale: number) => Array.from({ length: d }, () => scale * rng.normal());
  return { mean: draw(1.5), logVar: draw(0.8), priorMean: draw(1.5), priorLogVar: draw(0.8) };
}

function klOf(pair: GaussianPair): number {
  const [kl] = values(() => klDiagonal(row(pair.mean), row(pair.logVar), row(pair.priorMean), row(pair.priorLogVar)));
  return kl as number;
}

describe('klDiagonal (appendix A)', () => {
  test('equals a Monte-Carlo estimate of E_q[log q − log p] within 5 standard errors', () => {
    const rng = new Rng(20240611);
    const draws = 200_000;
    for (let c = 0; c < 4; c++) {
      const pair = randomPair(rng.fork(`case:${c}`), 3);
      const kl = klOf(pair);
      const { estimate, se } = monteCarloKl(pair, draws, rng.fork(`draws:${c}`));
      // The estimator is unbiased with standard error `se`; 5 SE leaves a ~6e-7 chance per case of a
      // false alarm (and the draws are seeded, so the outcome is fixed). The float32 closed form adds
      // at most ~1e-6 relative error.
      const tolerance = 5 * se + 1e-5 * Math.abs(kl);
      closeTo(kl, estimate, tolerance, `case ${c} (MC ${estimate.toFixed(5)} ± ${se.toFixed(5)})`);
      // The standard error is small compared with the KL itself, so the check has teeth.
      assert.ok(se < 0.05 * Math.max(kl, 0.2), `case ${c}: standard error ${se} is too large to test KL ${kl}`);
    }
  });

  test('equals the appendix-A closed form (with σ, in float64) on a batch of random rows', () => {
    const rng = new Rng(7);
    const rows = Array.from({ length: 16 }, () => randomPair(rng, 5));
    const stack = (key: keyof GaussianPair) => tf.tensor2d(rows.map((r) => r[key]));
    const kls = values(() => klDiagonal(stack('mean'), stack('logVar'), stack('priorMean'), stack('priorLogVar')));
    assert.equal(kls.length, 16, 'one KL per sample (summed over latent dimensions)');
    kls.forEach((kl, i) => {
      const expected = appendixKl(rows[i] as GaussianPair);
      closeTo(kl, expected, 1e-5 * Math.max(1, Math.abs(expected)), `row ${i}`);
    });
  });

  test('is ≥ 0, and 0 exactly when q = p', () => {
    const rng = new Rng(11);
    for (let c = 0; c < 50; c++) {
      const pair = randomPair(rng, 4);
      assert.ok(klOf(pair) >= 0, `KL of case ${c} is negative: ${klOf(pair)}`);
      const same = klOf({ ...pair, priorMean: pair.mean, priorLogVar: pair.logVar });
      closeTo(same, 0, 1e-6, `KL(q || q) of case ${c}`);
    }
    // Moving either the mean or the variance away from the prior makes it positive.
    assert.ok(klOf({ mean: [0.1], logVar: [0], priorMean: [0], priorLogVar: [0] }) > 1e-3);
    assert.ok(klOf({ mean: [0], logVar: [0.2], priorMean: [0], priorLogVar: [0] }) > 1e-3);
  });
});

describe('klStandardNormal', () => {
  test('equals klDiagonal with a zero prior', () => {
    const rng = new Rng(3);
    const pairs = Array.from({ length: 8 }, () => randomPair(rng, 6));
    const mean = tf.tensor2d(pairs.map((p) => p.mean));
    const logVar = tf.tensor2d(pairs.map((p) => p.logVar));
    const zeros = tf.zerosLike(mean);
    const standard = values(() => klStandardNormal(mean, logVar));
    const general = values(() => klDiagonal(mean, logVar, zeros, zeros));
    tf.dispose([mean, logVar, zeros]);
    standard.forEach((kl, i) => {
      closeTo(kl, general[i] as number, 1e-5 * Math.max(1, kl), `row ${i}`);
      closeTo(
        kl,
        appendixKl({ ...(pairs[i] as GaussianPair), priorMean: Array(6).fill(0), priorLogVar: Array(6).fill(0) }),
        1e-4,
        `row ${i}`,
      );
    });
  });

  test('is 0 at μ = 0, logVar = 0 and positive elsewhere', () => {
    assert.deepEqual(
      values(() => klStandardNormal(tf.zeros([3, 4]), tf.zeros([3, 4]))),
      [0, 0, 0],
    );
    // ½(μ² + e^{lv} − lv − 1) for one coordinate: μ = 1 → 0.5; lv = 1 → ½(e − 2).
    const [a, b] = values(() => klStandardNormal(tf.tensor2d([[1], [0]]), tf.tensor2d([[0], [1]])));
    closeTo(a as number, 0.5, 1e-6, 'μ = 1');
    closeTo(b as number, (Math.E - 2) / 2, 1e-6, 'logVar = 1');
  });
});

describe('gaussianNll', () => {
  test('is ½ Σ_g (x − x̂)² per sample', () => {
    const x = [
      [1, 2, 3],
      [-1, 0.5, 4],
    ];
    const xHat = [
      [0, 2, 5],
      [1, 0.5, 3.5],
    ];
    const nll = values(() => gaussianNll(tf.tensor2d(x), tf.tensor2d(xHat)));
    assert.equal(nll.length, 2);
    closeTo(nll[0] as number, 0.5 * (1 + 0 + 4), 1e-6, 'sample 0');
    closeTo(nll[1] as number, 0.5 * (4 + 0 + 0.25), 1e-6, 'sample 1');
  });
});

describe('sparsify (seed §4.5)', () => {
  function manualSparsify(v: number[], temperature: number): number[] {
    const logits = v.map((x) => Math.abs(x) / temperature);
    const top = Math.max(...logits);
    const weights = logits.map((l) => Math.exp(l - top));
    const total = weights.reduce((a, b) => a + b, 0);
    return v.map((x, i) => (x * (weights[i] as number)) / total);
  }

  const v = [3, -2, 1, 0.5, -0.1];

  test('is v ⊙ softmax(|v| / T) along the latent axis, row by row', () => {
    const rng = new Rng(5);
    const rows = Array.from({ length: 4 }, () => Array.from({ length: 6 }, () => 2 * rng.normal()));
    for (const temperature of [0.3, 1, 4]) {
      const out = values(() => sparsify(tf.tensor2d(rows), temperature));
      rows.forEach((r, i) => {
        const expected = manualSparsify(r, temperature);
        expected.forEach((e, j) => {
          closeTo(out[i * 6 + j] as number, e, 1e-5 * Math.max(1, Math.abs(e)), `T=${temperature} [${i},${j}]`);
        });
      });
    }
  });

  test('never grows a coordinate and keeps its sign', () => {
    const rng = new Rng(9);
    const input = Array.from({ length: 40 }, () => 3 * rng.normal());
    for (const temperature of [0.05, 1, 50]) {
      const out = values(() => sparsify(tf.tensor2d(input, [5, 8]), temperature));
      out.forEach((o, i) => {
        const x = Math.fround(input[i] as number); // what the float32 tensor holds
        assert.ok(Math.abs(o) <= Math.abs(x) * (1 + 1e-6), `T=${temperature}: |${o}| > |${x}|`);
        assert.ok(o * x >= 0, `T=${temperature}: sign flipped at ${i}`);
      });
    }
  });

  test('lower temperatures concentrate the mass on the largest coordinate', () => {
    const temperatures = [100, 10, 3, 1, 0.3, 0.1, 0.03];
    const fractions = temperatures.map((temperature) => {
      const out = values(() => sparsify(row(v), temperature)).map(Math.abs);
      return (out[0] as number) / out.reduce((a, b) => a + b, 0);
    });
    for (let i = 1; i < fractions.length; i++) {
      assert.ok(
        (fractions[i] as number) > (fractions[i - 1] as number),
        `top-coordinate fraction did not grow from T=${temperatures[i - 1]} to T=${temperatures[i]}: ${fractions.join(', ')}`,
      );
    }
    assert.ok((fractions.at(-1) as number) > 0.999, `at T=0.03 the top coordinate carries ${fractions.at(-1)}`);
    // …and the largest coordinate itself survives almost unchanged.
    const [top] = values(() => sparsify(row(v), 0.03));
    closeTo(top as number, 3, 1e-3, 'top coordinate at T=0.03');
  });

  test('high temperatures approach v / d (uniform softmax)', () => {
    const out = values(() => sparsify(row(v), 1e4));
    out.forEach((o, i) => {
      closeTo(o, (v[i] as number) / v.length, 1e-3 * Math.abs((v[i] as number) / v.length) + 1e-6, `coord ${i}`);
    });
  });

  test('stays finite when |v| / T is huge (a numerically stable softmax)', () => {
    const out = values(() => sparsify(tf.tensor2d([[100, 50, -80]]), 0.01));
    assert.ok(out.every(Number.isFinite), `non-finite output ${out}`);
    closeTo(out[0] as number, 100, 1e-3, 'dominant coordinate');
    closeTo(out[1] as number, 0, 1e-6, 'second coordinate');
  });
});

describe('boundLog', () => {
  test('stays within ±bound for any input, and is odd and monotone', () => {
    const inputs = [-1e9, -1e3, -30, -8, -2, -1e-3, 0, 1e-3, 2, 8, 30, 1e3, 1e9];
    for (const bound of [1, 4, 8]) {
      const out = values(() => boundLog(row(inputs), bound));
      out.forEach((o, i) => {
        assert.ok(Math.abs(o) <= bound + 1e-6, `bound ${bound}: boundLog(${inputs[i]}) = ${o}`);
      });
      for (let i = 1; i < out.length; i++) assert.ok((out[i] as number) >= (out[i - 1] as number), `not monotone at ${inputs[i]}`);
      out.forEach((o, i) => {
        closeTo(o, -(out[out.length - 1 - i] as number), 1e-6, `odd at ${inputs[i]}`);
      });
      closeTo(out.at(-1) as number, bound, 1e-5, `saturates at +${bound}`);
    }
  });

  test('is ≈ the identity near 0', () => {
    const inputs = [-0.5, -0.1, -0.01, 0, 0.01, 0.1, 0.5];
    const bound = 8;
    const out = values(() => boundLog(row(inputs), bound));
    // tanh(x/b)·b = x − x³/(3b²) + …
    out.forEach((o, i) => {
      const x = inputs[i] as number;
      closeTo(o, x, Math.abs(x) ** 3 / (3 * bound * bound) + 1e-6, `boundLog(${x})`);
    });
    const [slope] = values(() => tf.grad((x: tf.Tensor) => boundLog(x as tf.Tensor2D, bound).sum())(tf.zeros([1, 1])));
    closeTo(slope as number, 1, 1e-6, 'slope at 0');
  });
});

describe('reparameterize', () => {
  test('is μ + exp(logVar / 2) ⊙ ε', () => {
    const out = values(() => reparameterize(tf.tensor2d([[1, -2]]), tf.tensor2d([[0, Math.log(4)]]), tf.tensor2d([[0.5, -1]])));
    closeTo(out[0] as number, 1.5, 1e-6, 'coordinate 0');
    closeTo(out[1] as number, -4, 1e-5, 'coordinate 1');
  });

  test('lets gradients flow to μ and logVar', () => {
    const mean = [0.3, -1, 2];
    const logVar = [0.5, -0.4, 1.2];
    const eps = [1.1, -0.7, 0.25];
    const weights = [2, -3, 0.5];
    const noise = tf.tensor2d([eps]);
    const w = tf.tensor2d([weights]);
    const f = (m: tf.Tensor, lv: tf.Tensor) => tf.sum(tf.mul(reparameterize(m as tf.Tensor2D, lv as tf.Tensor2D, noise), w));
    const [dMean, dLogVar] = tf.grads(f)([tf.tensor2d([mean]), tf.tensor2d([logVar])]) as [tf.Tensor, tf.Tensor];
    const gradMean = Array.from(dMean.dataSync());
    const gradLogVar = Array.from(dLogVar.dataSync());
    tf.dispose([noise, w, dMean, dLogVar]);
    gradMean.forEach((g, i) => {
      closeTo(g, weights[i] as number, 1e-6, `∂/∂μ[${i}]`);
    });
    gradLogVar.forEach((g, i) => {
      const expected = (weights[i] as number) * 0.5 * Math.exp((logVar[i] as number) / 2) * (eps[i] as number);
      closeTo(g, expected, 1e-5, `∂/∂logVar[${i}]`);
      assert.notEqual(g, 0, `no gradient reaches logVar[${i}]`);
    });
  });
});

describe('clipByGlobalNorm', () => {
  function globalNorm(grads: tf.NamedTensorMap): number {
    return Math.sqrt(Object.values(grads).reduce((s, g) => s + Array.from(g.dataSync()).reduce((a, x) => a + x * x, 0), 0));
  }

  test('rescales all gradients together to the max norm', () => {
    // Global norm sqrt(3² + 4² + 12²) = 13.
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) };
    const clipped = clipByGlobalNorm(grads, 6.5);
    closeTo(clipped.norm, 13, 1e-5, 'reported norm (before clipping)');
    closeTo(globalNorm(clipped.grads), 6.5, 1e-5, 'norm after clipping');
    assert.deepEqual(Object.keys(clipped.grads), ['a', 'b'], 'names and order kept (Adam state is positional)');
    assert.deepEqual(Array.from((clipped.grads.a as tf.Tensor).dataSync()), [1.5, 2]);
    assert.deepEqual(Array.from((clipped.grads.b as tf.Tensor).dataSync()), [6]);
    tf.dispose([...Object.values(grads), ...Object.values(clipped.grads)]);
  });

  test('leaves gradients within the max norm untouched', () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) };
    for (const maxNorm of [13, 20, 1e6]) {
      const clipped = clipByGlobalNorm(grads, maxNorm);
      closeTo(clipped.norm, 13, 1e-5, 'reported norm');
      assert.equal(clipped.grads.a, grads.a, `maxNorm ${maxNorm}: a was replaced`);
      assert.equal(clipped.grads.b, grads.b, `maxNorm ${maxNorm}: b was replaced`);
    }
    assert.deepEqual(Array.from(grads.a.dataSync()), [3, 4]);
    tf.dispose(Object.values(grads));
  });
});

describe('checkpoint byte format', () => {
  const special = new Float32Array(new Uint32Array([0x7fc00001, 0xffc12345, 0x80000000, 0x00000001, 0x7f800000, 0xff800000]).buffer);
  const arrays: NamedArray[] = [
    { name: 'params/abcd1234/encoder/hidden/W', shape: [2, 3], values: Float32Array.from([1, -2.5, 3e-8, 1e30, -0, Math.PI]) },
    { name: 'optimizer/0', shape: [], values: Float32Array.from([42]) },
    { name: 'empty', shape: [0, 4], values: new Float32Array(0) },
    { name: 'μ/σ "quoted" ✓', shape: [6], values: special },
    { name: 'big', shape: [1000], values: Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3) },
  ];

  function bits(a: Float32Array): number[] {
    return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  }

  function assertSame(actual: NamedArray[], expected: readonly NamedArray[]): void {
    assert.equal(actual.length, expected.length);
    actual.forEach((a, i) => {
      const e = expected[i] as NamedArray;
      assert.equal(a.name, e.name);
      assert.deepEqual(a.shape, e.shape);
      // Bit patterns, so NaN payloads, −0 and denormals count too.
      assert.deepEqual(bits(a.values), bits(e.values), `values of ${e.name}`);
    });
  }

  test('packArrays / unpackArrays round-trip exactly', () => {
    const packed = packArrays(arrays);
    assertSame(unpackArrays(packed), arrays);
    assert.deepEqual(unpackArrays(packArrays([])), []);
  });

  test('reads a blob that is not 4-byte aligned (as SQLite may hand it over)', () => {
    const packed = packArrays(arrays);
    const shifted = new Uint8Array(packed.length + 1);
    shifted.set(packed, 1);
    assertSame(unpackArrays(shifted.subarray(1)), arrays);
  });

  test('rejects truncated buffers with a clear error', () => {
    const packed = packArrays(arrays);
    const headerBytes = packed.readUInt32LE(0);
    const cuts = [0, 2, 3, 4 + Math.floor(headerBytes / 2), 4 + headerBytes + 4, packed.length - 4, packed.length - 1];
    for (const length of cuts) {
      assert.throws(
        () => unpackArrays(packed.subarray(0, length)),
        (error: unknown) => error instanceof Error && /^Checkpoint is truncated/.test(error.message),
        `a checkpoint cut to ${length} of ${packed.length} bytes was accepted`,
      );
    }
    // The last array is the one that comes up short when whole floats are missing.
    assert.throws(() => unpackArrays(packed.subarray(0, packed.length - 4)), /array big/);
  });
});
