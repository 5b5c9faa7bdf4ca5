// The server-side order of the prior-shift heatmaps (groups by dominant latent, each along its
// leading principal component) and the windows the Latents view asks for: rows, search, block means.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  indexPriorShifts,
  orderEnvironments,
  type PriorShiftMatrix,
  priorShiftWindow,
} from '../../src-main/node/analysis/prior-shift-rows.js';
import { Rng } from '../../src-main/node/data/random.js';

/** Environments each moving one latent (`dominant[e]`) by `strength[e]`, plus `extra` on other latents and noise. */
function shifts(
  d: number,
  environments: { dominant: number; strength: number; extra?: [number, number][] }[],
  noise: number,
  seed: number,
  withLogStd = true,
): PriorShiftMatrix {
  const rng = new Rng(seed);
  const n = environments.length;
  const mean = new Float32Array(n * d);
  const logStd = withLogStd ? new Float32Array(n * d) : null;
  environments.forEach(({ dominant, strength, extra = [] }, e) => {
    for (let j = 0; j < d; j++) {
      mean[e * d + j] = noise * rng.normal();
      if (logStd) logStd[e * d + j] = noise * rng.normal();
    }
    mean[e * d + dominant] = strength;
    for (const [j, value] of extra) mean[e * d + j] = (mean[e * d + j] as number) + value;
  });
  return {
    keys: environments.map((_, e) => `drug${e}|cell${e % 7}`),
    heldOut: environments.map((_, e) => e % 5 === 0),
    latentDim: d,
    mean,
    logStd,
  };
}

describe('prior-shift heatmap order', () => {
  it('groups environments by the latent they move most, groups in latent order', () => {
    const rng = new Rng(3);
    const d = 12;
    const environments = Array.from({ length: 600 }, () => ({ dominant: rng.int(d), strength: 1 + rng.next() }));
    const matrix = shifts(d, environments, 0.05, 4);
    const order = orderEnvironments(matrix);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      environments.map((_, e) => e),
      'a permutation of the environments',
    );
    const dominantInOrder = Array.from(order, (e) => environments[e]?.dominant as number);
    for (let p = 1; p < dominantInOrder.length; p++) {
      assert.ok((dominantInOrder[p] as number) >= (dominantInOrder[p - 1] as number), `position ${p}: groups out of latent order`);
    }
  });

  it('within a group, puts environments with the same secondary effect next to each other', () => {
    // 200 environments moving latent 2, half of them also moving latent 5 up, half down, shuffled
    // together: ordered by strength alone (the previous order) the two kinds interleave.
    const rng = new Rng(7);
    const environments = Array.from({ length: 200 }, () => {
      const up = rng.next() < 0.5;
      return { dominant: 2, strength: 2 + 0.3 * rng.next(), extra: [[5, up ? 0.8 : -0.8]] as [number, number][], up };
    });
    const order = orderEnvironments(shifts(8, environments, 0.05, 8));
    const kinds = Array.from(order, (e) => environments[e]?.up);
    const changes = kinds.slice(1).filter((kind, p) => kind !== kinds[p]).length;
    assert.equal(changes, 1, `the two kinds should form two runs, got ${changes + 1}`);
    const byStrength = environments
      .map((_, e) => e)
      .sort((a, b) => (environments[b]?.strength as number) - (environments[a]?.strength as number));
    const strengthChanges = byStrength.slice(1).filter((e, p) => environments[e]?.up !== environments[byStrength[p] as number]?.up).length;
    assert.ok(strengthChanges > 20, 'the check can tell: by strength alone the kinds interleave');
  });

  it('reads a group from its strongest positive shift down when the group spreads along its own latent', () => {
    const strengths = [0.5, 3, -2, 1.5, 2.5, -1, 0.2];
    const environments = strengths.map((strength) => ({ dominant: 1, strength }));
    const order = orderEnvironments(shifts(4, environments, 0, 1, false));
    assert.deepEqual(
      Array.from(order, (e) => strengths[e]),
      [...strengths].sort((a, b) => b - a),
    );
  });
});

describe('prior-shift heatmap windows', () => {
  const d = 6;
  const rng = new Rng(11);
  const environments = Array.from({ length: 103 }, () => ({ dominant: rng.int(d), strength: 1 + rng.next() }));
  const matrix = shifts(d, environments, 0.1, 12);
  const index = indexPriorShifts(matrix);
  const row = (e: number, values: Float32Array) => Array.from(values.subarray(e * d, (e + 1) * d));

  it('returns the rows asked for in heatmap order, with their keys and held-out flags', () => {
    const window = priorShiftWindow(index, { query: '', first: 40, count: 10, block: 1 });
    assert.equal(window.matching, 103);
    assert.equal(window.rows.length, 10);
    window.rows.forEach((r, i) => {
      const e = index.order[40 + i] as number;
      assert.deepEqual(r, { position: 40 + i, key: matrix.keys[e], heldOut: matrix.heldOut[e], size: 1 });
      assert.deepEqual(row(i, window.mean), row(e, matrix.mean));
      assert.deepEqual(row(i, window.logStd as Float32Array), row(e, matrix.logStd as Float32Array));
    });
    // Past the end: clipped, not an error.
    assert.equal(priorShiftWindow(index, { query: '', first: 100, count: 50, block: 1 }).rows.length, 3);
    assert.equal(priorShiftWindow(index, { query: '', first: 500, count: 50, block: 1 }).rows.length, 0);
  });

  it('searches the keys case-insensitively and pages through the matches in heatmap order', () => {
    const expected = Array.from(index.order, (e) => matrix.keys[e] as string).filter((key) => key.includes('|cell3'));
    const all = priorShiftWindow(index, { query: ' |CELL3 ', first: 0, count: 2000, block: 1 });
    assert.equal(all.matching, expected.length);
    assert.deepEqual(
      all.rows.map((r) => r.key),
      expected,
    );
    const page = priorShiftWindow(index, { query: '|cell3', first: 5, count: 3, block: 1 });
    assert.deepEqual(
      page.rows.map((r) => [r.position, r.key]),
      expected.slice(5, 8).map((key, i) => [5 + i, key]),
    );
    assert.equal(priorShiftWindow(index, { query: 'no such drug', first: 0, count: 10, block: 1 }).matching, 0);
  });

  it('averages consecutive rows into blocks for the overview, the last block shorter', () => {
    const window = priorShiftWindow(index, { query: '', first: 0, count: 100, block: 10 });
    assert.equal(window.rows.length, 11);
    assert.deepEqual(
      window.rows.map((r) => r.size),
      [...Array.from({ length: 10 }, () => 10), 3],
    );
    for (const [b, block] of window.rows.entries()) {
      for (let j = 0; j < d; j++) {
        let sum = 0;
        for (let p = block.position; p < block.position + block.size; p++) sum += matrix.mean[(index.order[p] as number) * d + j] as number;
        assert.ok(Math.abs((window.mean[b * d + j] as number) - sum / block.size) < 1e-6, `block ${b}, latent ${j}`);
      }
    }
  });

  it('keeps one colour scale for every window: the largest |value| of each matrix', () => {
    const largest = (values: Float32Array) => Math.max(...Array.from(values, Math.abs));
    assert.equal(index.extent.mean, largest(matrix.mean));
    assert.equal(index.extent.logStd, largest(matrix.logStd as Float32Array));
  });
});
