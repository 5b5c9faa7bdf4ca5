// Does the 'native-blas' backend compute what the plain cpu backend computes?
//   node --import tsx bench/native-equivalence.ts
//
// 1. Kernels: every overridden kernel on random inputs (broadcasting, transposes, odd shapes,
//    NaN/±Inf), native against cpu, as max |Δ| and max relative Δ. Elementwise kernels are meant
//    to be bit-identical; matmuls and exp/tanh/log/sigmoid differ in the last bits.
// 2. Training: the product's Trainer on every model family (small networks) and on the seed
//    L1000 VAE and Environment VAE, a few steps from the same seed on both backends; per-step
//    losses and the final parameters compared.
// Exits 1 when a difference exceeds its tolerance.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src-main/node/data/random.js';
import { createModule } from '../src-main/node/ml/modules/index.js';
import { registerNativeBackend } from '../src-main/node/ml/native/index.js';
import { Trainer } from '../src-main/node/ml/trainer.js';
import { modelFamilyIds } from '../src-main/shared/api/model-families.js';
import { ModelConfig, type ModelFamily, TrainingConfig } from '../src-main/shared/api/training.js';
import { dims, HIDDEN, LATENT, randomTrainingData } from './lib.js';

const status = registerNativeBackend();
if (!status.ok) {
  console.log(`native-blas unavailable: ${status.why}`);
  process.exit(1);
}
let failed = false;

interface Diff {
  abs: number;
  rel: number;
  /** max |Δ| / max |value|: the error relative to the output's scale. */
  scaled: number;
  /** Elements that differ at all (bitwise). */
  differing: number;
  size: number;
}

function compare(a: ArrayLike<number>, b: ArrayLike<number>): Diff {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let abs = 0;
  let rel = 0;
  let differing = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
    if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue;
    differing++;
    const d = Math.abs(x - y);
    abs = Math.max(abs, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
    rel = Math.max(rel, d / Math.max(Math.abs(x), Math.abs(y), 1e-30));
  }
  return { abs, rel, scaled: scale > 0 ? abs / scale : abs, differing, size: a.length };
}

function fmt(d: Diff): string {
  return `max |Δ| ${d.abs.toExponential(2)} (${d.scaled.toExponential(2)} of max |value|), max rel ${d.rel.toExponential(2)}, ${d.differing}/${d.size} differ`;
}

// ---------------------------------------------------------------------------------------------
// 1. Kernels

let rng = new Rng(7);
function random(shape: number[], special = false): tf.Tensor {
  const n = shape.reduce((p, q) => p * q, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * 2;
  if (special && n > 8) {
    v[1] = Number.NaN;
    v[3] = Number.POSITIVE_INFINITY;
    v[5] = Number.NEGATIVE_INFINITY;
    v[7] = -0;
  }
  return tf.tensor(v, shape);
}
function positive(shape: number[]): tf.Tensor {
  return tf.tidy(() => tf.add(tf.abs(random(shape)), 0.01));
}

type Case = { name: string; exact: boolean; run: () => tf.Tensor | tf.Tensor[] };
const cases: Case[] = [
  { name: 'matMul [256,978]x[978,500]', exact: false, run: () => tf.matMul(random([256, 978]), random([978, 500])) },
  {
    name: 'matMul transposeA [256,500]ᵀx[256,400]',
    exact: false,
    run: () => tf.matMul(random([256, 500]), random([256, 400]), true, false),
  },
  {
    name: 'matMul transposeB [256,400]x[500,400]ᵀ',
    exact: false,
    run: () => tf.matMul(random([256, 400]), random([500, 400]), false, true),
  },
  { name: 'matMul both transposed [7,5]ᵀx[3,7]ᵀ', exact: false, run: () => tf.matMul(random([7, 5]), random([3, 7]), true, true) },
  { name: 'matMul batched [4,6,5]x[4,5,3]', exact: false, run: () => tf.matMul(random([4, 6, 5]), random([4, 5, 3])) },
  { name: 'matMul broadcast batch [4,6,5]x[5,3]', exact: false, run: () => tf.matMul(random([4, 6, 5]), random([5, 3])) },
  {
    name: 'fused matMul + bias + relu',
    exact: false,
    run: () => tf.fused.matMul({ a: random([33, 17]), b: random([17, 9]), bias: random([9]), activation: 'relu' }),
  },
  { name: 'add [256,500]+[500]', exact: true, run: () => tf.add(random([256, 500]), random([500])) },
  { name: 'add with NaN/Inf', exact: true, run: () => tf.add(random([64, 33], true), random([64, 33], true)) },
  { name: 'sub [256,1]-[256,978]', exact: true, run: () => tf.sub(random([256, 1]), random([256, 978])) },
  { name: 'mul [2,3,4,5]*[3,1,5]', exact: true, run: () => tf.mul(random([2, 3, 4, 5]), random([3, 1, 5])) },
  { name: 'mul scalar', exact: true, run: () => tf.mul(random([500, 978]), 0.37) },
  { name: 'div [64,200]/[64,1]', exact: true, run: () => tf.div(random([64, 200]), positive([64, 1])) },
  { name: 'squaredDifference', exact: true, run: () => tf.squaredDifference(random([256, 978]), random([256, 978])) },
  { name: 'maximum/minimum', exact: true, run: () => [tf.maximum(random([40, 7], true), random([7])), tf.minimum(random([40, 7]), 0.1)] },
  { name: 'relu with NaN/Inf/-0', exact: true, run: () => tf.relu(random([128, 500], true)) },
  { name: 'step (relu gradient)', exact: true, run: () => tf.step(random([128, 500], true), 0.25) },
  { name: 'exp', exact: false, run: () => tf.exp(random([256, 200], true)) },
  { name: 'tanh', exact: false, run: () => tf.tanh(random([256, 200], true)) },
  { name: 'log / sigmoid', exact: false, run: () => [tf.log(positive([100, 30])), tf.sigmoid(random([100, 30]))] },
  {
    name: 'sqrt / square / neg / abs / reciprocal / rsqrt',
    exact: true,
    run: () => {
      const p = positive([300, 7]);
      const x = random([300, 7], true);
      return [tf.sqrt(p), tf.square(x), tf.neg(x), tf.abs(x), tf.reciprocal(p), tf.rsqrt(p)];
    },
  },
  { name: 'sum axis -1', exact: false, run: () => tf.sum(random([256, 978]), -1) },
  { name: 'sum axis 0 (bias gradient)', exact: true, run: () => tf.sum(random([256, 500]), 0) },
  { name: 'sum all', exact: false, run: () => tf.sum(random([978, 500])) },
  { name: 'sum middle axis keepDims', exact: true, run: () => tf.sum(random([3, 4, 5]), 1, true) },
  { name: 'mean', exact: false, run: () => [tf.mean(random([256])), tf.mean(random([64, 30]), 0)] },
  { name: 'max / min', exact: true, run: () => [tf.max(random([64, 30], true), -1), tf.min(random([64, 30]), 0)] },
  { name: 'softmax', exact: false, run: () => tf.softmax(random([256, 200])) },
  { name: 'split (SplitV)', exact: true, run: () => tf.split(random([256, 400]), 2, 1) },
  { name: 'split uneven axis 0', exact: true, run: () => tf.split(random([10, 6]), [3, 7], 0) },
  { name: 'concat axis 1', exact: true, run: () => tf.concat([random([256, 978]), random([256, 1024])], 1) },
  { name: 'concat axis 0 of 3', exact: true, run: () => tf.concat([random([2, 5]), random([3, 5]), random([1, 5])], 0) },
  { name: 'slice (strided)', exact: true, run: () => tf.slice(random([20, 30]), [2, 5], [10, 7]) },
  { name: 'transpose', exact: true, run: () => [tf.transpose(random([37, 53])), tf.transpose(random([2, 3, 4]), [2, 0, 1])] },
  { name: 'addN', exact: true, run: () => tf.addN([random([50, 9]), random([50, 9]), random([50, 9])]) },
  {
    name: 'int32 add (falls back to cpu)',
    exact: true,
    run: () => tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32')),
  },
];

async function onBackend(name: string, run: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(name);
  return tf.tidy(() => {
    const out = run();
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
  });
}

console.log('Kernels (native-blas vs cpu):');
for (const c of cases) {
  rng = new Rng(c.name.length); // the same random inputs on both backends
  const cpu = await onBackend('cpu', c.run);
  rng = new Rng(c.name.length);
  const native = await onBackend('native-blas', c.run);
  const diffs = cpu.map((values, i) => compare(values, native[i] as Float32Array));
  const worst = diffs.reduce((w, d) => (d.scaled > w.scaled || d.differing > w.differing ? d : w));
  const ok = c.exact ? worst.differing === 0 : worst.scaled < 1e-5;
  if (!ok) failed = true;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.exact ? '(bit-identical expected) ' : ''}${fmt(worst)}`);
}

// ---------------------------------------------------------------------------------------------
// 2. Training

async function train(
  backend: string,
  family: ModelFamily,
  hidden: number,
  latent: number,
  batch: number,
  steps: number,
): Promise<{ losses: number[]; params: Float32Array }> {
  await tf.setBackend(backend);
  const data = randomTrainingData(batch * steps, 16, 3);
  const config = TrainingConfig.parse({
    model: ModelConfig.parse({ family, hiddenUnits: hidden, latentDim: latent, klWarmupEpochs: 0 }),
    batchSize: batch,
    epochs: 1,
    validation: { kind: 'none' },
  });
  const module = createModule(config.model, dims(data), new Rng(config.seed).fork('init'));
  const trainer = new Trainer(module, data, config);
  const losses: number[] = [];
  try {
    await trainer.run({ onStep: (r) => losses.push(r.metrics.loss as number), onEpoch() {} });
    const parts = [...module.params.named().values(), ...(module.adversary ? module.adversary.named().values() : [])].map((v) =>
      v.dataSync(),
    );
    const params = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      params.set(p, offset);
      offset += p.length;
    }
    return { losses, params };
  } finally {
    trainer.dispose();
    module.dispose();
  }
}

console.log('\nTraining (same seed; per-step loss and final parameters, native-blas vs cpu):');
const runs: { family: ModelFamily; hidden: number; latent: number; batch: number; steps: number }[] = [
  ...modelFamilyIds().map((family) => ({
    family,
    hidden: 64,
    latent: 16,
    batch: 32,
    steps: 6,
  })),
  { family: 'vae', hidden: HIDDEN, latent: LATENT, batch: 64, steps: 4 },
  { family: 'env-vae', hidden: HIDDEN, latent: LATENT, batch: 64, steps: 3 },
];
for (const r of runs) {
  const cpu = await train('cpu', r.family, r.hidden, r.latent, r.batch, r.steps);
  const native = await train('native-blas', r.family, r.hidden, r.latent, r.batch, r.steps);
  const loss = compare(cpu.losses, native.losses);
  const params = compare(cpu.params, native.params);
  // Float32 matmuls summed in another order drift apart step by step; Adam amplifies tiny
  // gradient differences for parameters whose gradient is ~0. Tolerances are loose on purpose.
  const ok = loss.rel < 1e-4 && params.abs < 1e-3;
  if (!ok) failed = true;
  console.log(
    `  ${ok ? 'ok  ' : 'FAIL'} ${r.family} (hidden ${r.hidden}, latent ${r.latent}, batch ${r.batch}, ${r.steps} steps): ` +
      `losses ${fmt(loss)}; params ${fmt(params)}`,
  );
  console.log(`       losses cpu ${cpu.losses.map((l) => l.toFixed(4)).join(' ')}`);
  console.log(`       native     ${native.losses.map((l) => l.toFixed(4)).join(' ')}`);
}

process.exit(failed ? 1 : 0);
