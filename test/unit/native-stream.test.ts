// The addon's stream (native/blas/src/stream.h): the native-blas backend's kernel calls are
// queued and run in call order on the addon's own thread, whose loops and matmul parts the
// JavaScript thread shares while it waits. Queued or not, every result must be the same, and no
// queued call may outlive the arrays it uses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src-main/node/data/random.js';
import { createModule } from '../../src-main/node/ml/modules/index.js';
import { loadAddon, type NativeBinding } from '../../src-main/node/ml/native/addon.js';
import { registerNativeBackend } from '../../src-main/node/ml/native/index.js';
import { Trainer } from '../../src-main/node/ml/trainer.js';
import type { TrainingData } from '../../src-main/node/ml/training-data.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';

const ADDON = join(process.cwd(), 'native', 'blas', 'build', 'Release', 'cellshift_blas.node');
const addon = loadAddon();
const binding = addon.ok ? addon.binding : null;
const skip = !binding?.queued || !binding.sync ? `the addon has no stream: ${addon.ok ? 'built before it' : addon.why}` : false;

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** A garbage collection now (node --test passes no --expose-gc). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const [m, n, inner] = [300, 260, 190];

/** A matmul large enough to be split into parts on the stream, from temporaries only it holds. */
function product(k: Pick<NativeBinding, 'gemm'>, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(m * n);
  k.gemm(1, m, n, inner, 0, 1, random(rng, m * inner), 0, random(rng, n * inner), 0, out);
  return out;
}

/**
 * One chain of kernels, each reading the one before: broadcasts, a reduction, a strided copy,
 * addN, a ReLU backward and Adam over two variables. Temporaries are made inside and not
 * returned, so only the queue keeps them alive.
 */
function chain(
  k: Pick<NativeBinding, 'binary' | 'unary' | 'reduce' | 'copy' | 'addN' | 'reluGrad' | 'adamMany'>,
  product: Float32Array,
  seed: number,
) {
  const rng = new Rng(seed);
  const shifted = new Float32Array(m * n);
  k.binary(0, shifted, product, random(rng, n), Int32Array.of(m, n), Int32Array.of(n, 1), Int32Array.of(0, 1));
  const relu = new Float32Array(m * n);
  k.unary(0, relu, shifted, 0);
  const sums = new Float32Array(n);
  k.reduce(0, sums, relu, 1, m, n, m);
  const transposed = new Float32Array(m * n);
  k.copy(transposed, 0, Int32Array.of(1, m), relu, 0, Int32Array.of(n, 1), Int32Array.of(m, n));
  const total = new Float32Array(m * n);
  k.addN(total, [transposed, random(rng, m * n), transposed]);
  const dx = new Float32Array(m * n);
  const dbias = new Float32Array(n);
  k.reluGrad(dx, dbias, total, shifted, m, n);
  const outs = [0, 1, 2].map(() => [new Float32Array(m * n), new Float32Array(n)]);
  assert.ok(k.adamMany, 'the addon has adamMany');
  k.adamMany(
    outs[0] as Float32Array[],
    outs[1] as Float32Array[],
    outs[2] as Float32Array[],
    [random(rng, m * n), random(rng, n)],
    [dx, dbias],
    [new Float32Array(m * n), new Float32Array(n)],
    [new Float32Array(m * n), new Float32Array(n)],
    0.9,
    0.1,
    0.999,
    0.001,
    0.1,
    0.001,
    1e-7,
    -0.01,
    0.5,
  );
  return { sums, dbias, weights: outs[0] as Float32Array[] };
}

describe('the addon stream', { skip }, () => {
  const native = binding as NativeBinding & Required<Pick<NativeBinding, 'queued' | 'sync'>>;

  it('queued calls give the direct calls’ results after sync, though their temporaries were dropped', () => {
    const source = product(native, 4);
    const direct = chain(native, source, 5);
    // A long matmul first, so the calls below are still queued when the collection runs.
    const big = new Float32Array(1200 * 1200).fill(0.5);
    const bigOut = new Float32Array(big.length);
    native.queued.gemm(1, 1200, 1200, 1200, 0, 0, big, 0, big, 0, bigOut);
    const queuedProducts = [product(native.queued, 4), product(native.queued, 4)];
    const queued = chain(native.queued, source, 5);
    // Nothing but the queue holds the temporaries now: a collection must not free them early.
    collectGarbage();
    native.sync();
    // Elementwise, reductions, copies and Adam: bit for bit.
    assert.equal(bigOut[0], 300);
    assert.deepEqual(queued, direct);
    assert.ok(direct.sums.some((v) => v !== 0) && direct.weights[0]?.some((v) => v !== 0));
    // The matmul, computed in parts by single-threaded BLAS calls: the same parts every time
    // (deterministic), within float32 rounding of the one two-threaded call (sums of 190 products).
    assert.deepEqual(queuedProducts[0], queuedProducts[1]);
    const worst = Math.max(...source.map((v, i) => Math.abs(v - (queuedProducts[0]?.[i] as number)) / Math.max(1, Math.abs(v))));
    assert.ok(worst < 1e-4, `queued matmul within 1e-4 of the direct one (worst ${worst})`);
  });

  it('checks a queued call’s arguments when it is made, and keeps going after the error', () => {
    const a = new Float32Array(6);
    assert.throws(() => native.queued.gemm(1, 2, 3, 4, 0, 0, a, 0, a, 0, a), /gemm: array too short/);
    assert.throws(() => native.queued.unary(0, new Float32Array(4), new Float32Array(2), 0), /unary: input shorter than output/);
    const out = new Float32Array(3);
    native.queued.unary(0, out, Float32Array.of(-1, 2, -3), 0);
    native.sync();
    assert.deepEqual(out, Float32Array.of(0, 2, 0));
  });

  it('a direct call runs after everything queued before it', () => {
    const x = Float32Array.from({ length: 1 << 18 }, (_, i) => (i % 5) - 2);
    const relu = new Float32Array(x.length);
    native.queued.unary(0, relu, x, 0);
    const doubled = new Float32Array(x.length);
    native.binary(0, doubled, relu, relu, Int32Array.of(x.length), Int32Array.of(1), Int32Array.of(1));
    assert.equal(doubled[3], 2);
    assert.equal(doubled[0], 0);
  });

  it('trains deterministically to the losses of one call at a time, with the step’s kernels on the stream', async () => {
    const status = registerNativeBackend();
    assert.ok(status.ok);
    await tf.setBackend(status.name);
    assert.match(status.detail, /queued on the addon's own thread/);
    const losses = async (queued: boolean) => {
      native.setStream?.(queued);
      const rng = new Rng(3);
      const [samples, genes, environments] = [400, 300, 5];
      const data: TrainingData = {
        nGenes: genes,
        geneIds: Array.from({ length: genes }, (_, g) => `g${g}`),
        x: random(rng, samples * genes),
        environmentOfSample: Int32Array.from({ length: samples }, (_, i) => i % environments),
        environmentKeys: Array.from({ length: environments }, (_, e) => `e${e}`),
        environmentInputs: new Float32Array(environments * 8).map(() => (rng.next() < 0.3 ? 1 : 0)),
        environmentWidth: 8,
        environmentClass: Int32Array.from({ length: environments }, (_, e) => e),
        environmentClasses: environments,
        trainIndices: Int32Array.from({ length: samples }, (_, i) => i),
        validationIndices: new Int32Array(0),
        validationEnvironments: [],
        standardization: null,
      };
      const config = TrainingConfig.parse({ model: { family: 'vae', hiddenUnits: 256, latentDim: 16 }, epochs: 2, batchSize: 200 });
      const module = createModule(config.model, { genes, environment: 8, environmentClasses: environments }, new Rng(1).fork('init'));
      const trainer = new Trainer(module, data, config);
      const seen: number[] = [];
      const before = native.streamStats?.().tasks ?? 0;
      await trainer.run({ onEpoch: (report) => void seen.push(report.train.loss as number) });
      const ran = (native.streamStats?.().tasks ?? 0) - before;
      trainer.dispose();
      module.dispose();
      return { seen, ran };
    };
    try {
      const one = await losses(false);
      const queued = await losses(true);
      const again = await losses(true);
      assert.deepEqual(again.seen, queued.seen, 'queued training is deterministic');
      for (const [i, loss] of queued.seen.entries()) {
        const relative = Math.abs(loss - (one.seen[i] as number)) / Math.abs(one.seen[i] as number);
        assert.ok(relative < 1e-5, `epoch ${i}: ${loss} queued, ${one.seen[i]} one call at a time`);
      }
      assert.equal(one.ran, 0, 'nothing queued with the stream off');
      assert.ok(queued.ran > 100, `the steps' kernels ran on the stream (${queued.ran} calls)`);
    } finally {
      native.setStream?.(true);
    }
  });

  it('CELLSHIFT_STREAM=0 runs queued calls at once; a worker that exits with calls still queued ends cleanly', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const addon = require(${JSON.stringify(ADDON)});
      const out = new Float32Array(3);
      addon.queued.unary(0, out, Float32Array.of(-1, 2, -3), 0);
      const work = \`
        const addon = require(${JSON.stringify(ADDON)});
        addon.setStream(true);
        const n = 400, a = new Float32Array(n * n).fill(1), c = new Float32Array(n * n);
        for (let i = 0; i < 200; i++) addon.queued.gemm(1, n, n, n, 0, 0, a, 0, a, 0, c);
      \`;
      const worker = new Worker(work, { eval: true });
      worker.once('exit', (code) => console.log(JSON.stringify({ stream: addon.info().stream, out: [...out], code })));
    `;
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, CELLSHIFT_STREAM: '0' },
    });
    assert.equal(child.signal, null, 'the child hung or crashed');
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout.trim()), { stream: false, out: [0, 2, 0], code: 0 });
  });
});
