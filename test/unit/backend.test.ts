import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { BACKEND_ORDER, type BackendChoice, describeBackend, selectBackend } from '../../src-main/node/ml/backend.js';

// The tests share one process-wide tf engine, so they run in order: automatic selection first,
// then an explicit switch to cpu.

function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

const hasTfjsNode = tfjsNodeInstalled();

async function matMulOnActiveBackend(): Promise<Float32Array> {
  const rows = 16;
  const inner = 64;
  const cols = 8;
  const a = tf.tensor2d(
    Array.from({ length: rows * inner }, (_, i) => Math.sin(i * 0.37)),
    [rows, inner],
  );
  const b = tf.tensor2d(
    Array.from({ length: inner * cols }, (_, i) => Math.cos(i * 0.11) * 0.5),
    [inner, cols],
  );
  const product = tf.matMul(a, b);
  const values = (await product.data()) as Float32Array;
  tf.dispose([a, b, product]);
  return values;
}

describe('selectBackend', () => {
  let auto: BackendChoice;

  test('returns a working backend that is tf’s active one', async () => {
    auto = await selectBackend();
    assert.ok(BACKEND_ORDER.includes(auto.name));
    assert.equal(auto.name, tf.getBackend());
    assert.ok(auto.threads === null || (Number.isInteger(auto.threads) && auto.threads >= 1));
    assert.ok(auto.reason.length > 0);
    const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
    assert.deepEqual(Array.from(await sum.data()), [4, 6]);
    sum.dispose();
  });

  test('the reason says tfjs-node is absent when it is', { skip: hasTfjsNode && 'tfjs-node is installed here' }, () => {
    assert.notEqual(auto.name, 'tensorflow');
    assert.match(auto.reason, /tfjs-node not installed/);
  });

  test('calling again returns the identical choice', async () => {
    const again = await selectBackend();
    assert.strictEqual(again, auto);
    const [x, y] = await Promise.all([selectBackend(), selectBackend()]);
    assert.strictEqual(x, auto);
    assert.strictEqual(y, auto);
  });

  test('a matmul on the chosen backend matches the cpu backend within 1e-5', async () => {
    const chosen = await matMulOnActiveBackend();
    assert.ok(await tf.setBackend('cpu'));
    const reference = await matMulOnActiveBackend();
    assert.ok(await tf.setBackend(auto.name));
    assert.equal(chosen.length, reference.length);
    for (let i = 0; i < reference.length; i++) {
      const diff = Math.abs((chosen[i] ?? Number.NaN) - (reference[i] ?? Number.NaN));
      assert.ok(diff <= 1e-5, `element ${i}: ${chosen[i]} on ${auto.name} vs ${reference[i]} on cpu`);
    }
  });

  test('describeBackend is one line naming the backend', () => {
    const line = describeBackend(auto);
    assert.ok(!line.includes('\n'));
    assert.ok(line.startsWith(`${auto.name} backend`));
    assert.ok(line.includes(auto.reason));
  });

  test("prefer: 'tensorflow' throws a clear error without tfjs-node", { skip: hasTfjsNode && 'tfjs-node is installed here' }, async () => {
    await assert.rejects(selectBackend({ prefer: 'tensorflow' }), /requested 'tensorflow' backend cannot be used: tfjs-node not installed/);
    assert.equal(tf.getBackend(), auto.name, 'the previous backend stays active');
    assert.strictEqual(await selectBackend(), auto);
  });

  test("prefer: 'cpu' gives cpu, and later calls keep it", async () => {
    const cpu = await selectBackend({ prefer: 'cpu' });
    assert.equal(cpu.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(cpu.reason, /prefer: 'cpu'/);
    assert.strictEqual(await selectBackend({ prefer: 'cpu' }), cpu);
    assert.strictEqual(await selectBackend(), cpu);
  });
});
