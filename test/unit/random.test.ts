// Rng.fillNormal is normal() in bulk: the same numbers in the same order, and the generator ends
// in the same state (trained runs stay reproducible from their seed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Rng } from '../../src-main/node/data/random.js';

test('fillNormal draws exactly what repeated normal() draws, spares included', () => {
  for (const [length, drawnBefore] of [
    [0, 0],
    [1, 0],
    [7, 1],
    [8, 1],
    [1000, 0],
    [1001, 3],
  ] as const) {
    const one = new Rng(11).fork('noise');
    const bulk = new Rng(11).fork('noise');
    for (let i = 0; i < drawnBefore; i++) assert.equal(bulk.normal(), one.normal());
    const expected = Float32Array.from({ length }, () => one.normal());
    const got = new Float32Array(length);
    bulk.fillNormal(got);
    assert.deepEqual(got, expected, `length ${length} after ${drawnBefore} draws`);
    // Same state afterwards: the next draws (spare first, then fresh pairs) agree.
    for (let i = 0; i < 5; i++) assert.equal(bulk.normal(), one.normal(), `draw ${i} after length ${length}`);
    assert.equal(bulk.next(), one.next());
  }
});
