// CELLSHIFT_KERNEL_TIMES's wrapper around the addon's functions: every call still reaches the
// addon with its arguments and returns its result, and is counted under its function (matmuls by
// shape, elementwise kernels by op); flags and info pass through untimed. A stand-in binding, so
// this runs without the optional addon.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takeAddonTimes, timedBinding } from '../../src-main/node/ml/native/addon-times.js';
import { UNARY_OPS } from '../../src-main/node/ml/native/ops.js';

test('every call is passed through and counted under its function, op or matmul shape', () => {
  const seen: unknown[][] = [];
  const binding = {
    gemm: (...args: unknown[]) => void seen.push(['gemm', ...args]),
    unary: (...args: unknown[]) => void seen.push(['unary', ...args]),
    normalFill: (...args: unknown[]) => {
      seen.push(['normalFill', ...args]);
      return 0.5;
    },
    info: () => ({ blas: 'x' }),
    adamManyScales: true,
  };
  const timed = timedBinding(binding);
  takeAddonTimes();
  const a = new Float32Array(6);
  timed.gemm(1, 2, 3, 4, 0, 1, a, 0, a, 0, a, 1);
  timed.gemm(1, 2, 3, 4, 0, 1, a, 0, a, 0, a, 1);
  timed.unary(UNARY_OPS.Exp, a, a, 0);
  assert.equal(timed.normalFill(a, new Int32Array(4)), 0.5);
  assert.equal(timed.info, binding.info);
  assert.equal(timed.adamManyScales, true);
  assert.equal(seen.length, 4);
  assert.deepEqual(seen[0]?.slice(1, 7), [1, 2, 3, 4, 0, 1]);

  const times = takeAddonTimes();
  const byLabel = new Map(times.map((t) => [t.label, t]));
  assert.deepEqual([...byLabel.keys()].sort(), ['gemm 2×3×4 Bᵀ +=', 'normalFill', 'unary Exp [6]']);
  assert.equal(byLabel.get('gemm 2×3×4 Bᵀ +=')?.calls, 2);
  for (const t of times) assert.ok(t.wallMs >= 0 && t.cpuMs >= 0);
  assert.deepEqual(takeAddonTimes(), [], 'taking the times clears them');
});
