// The addon's normalFill must draw exactly Rng.fillNormal's numbers (the Trainer's noise on
// native-blas comes from it): same float32 bits, same spare, same generator state after. Skipped,
// saying why, where the optional addon is not built; CI builds it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src-main/node/data/random.js';
import { loadAddon } from '../../src-main/node/ml/native/addon.js';

const addon = loadAddon();
const normalFill = addon.ok ? addon.binding.normalFill : undefined;
const skip = normalFill ? false : `addon not available: ${addon.ok ? 'built before normalFill' : addon.why}`;

test('normalFill draws Rng.fillNormal’s numbers bit for bit, spare and state included', { skip }, () => {
  const fill = normalFill as NonNullable<typeof normalFill>;
  // Odd and even lengths in a row, so a spare is carried into the next call both ways; one long
  // enough to run on both threads.
  const lengths = [1, 2, 3, 7, 64, 1001, 200_000, 5, 0, 9];
  for (const seed of [0, 1, 42, -7, 2 ** 40]) {
    const inJs = new Rng(seed).fork('noise');
    const inC = new Rng(seed).fork('noise');
    for (const length of lengths) {
      const expected = new Float32Array(length);
      const actual = new Float32Array(length).fill(Number.NaN);
      inJs.fillNormal(expected);
      inC.fillNormal(actual, (out, state) => fill(out, state));
      assert.deepEqual(new Uint32Array(actual.buffer), new Uint32Array(expected.buffer), `seed ${seed}, length ${length}`);
    }
    // The generators continue identically (state and spare both carried over).
    assert.equal(inC.normal(), inJs.normal());
    assert.equal(inC.normal(), inJs.normal());
    assert.equal(inC.nextUint32(), inJs.nextUint32());
  }
});

test('normalFill rejects a state that is not four Int32 words, changing nothing', { skip }, () => {
  const fill = normalFill as NonNullable<typeof normalFill>;
  const out = new Float32Array(4);
  assert.throws(() => fill(out, new Int32Array(3)), /four Int32 words/);
  assert.throws(() => fill(out, new Uint32Array(4) as unknown as Int32Array), /Int32Array/);
  assert.deepEqual([...out], [0, 0, 0, 0]);
});
