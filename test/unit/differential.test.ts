// Differential expression math against reference values. The references were computed with
// SciPy 1.17.1 on this machine (scipy.stats.ttest_ind(a, b, equal_var=False),
// scipy.stats.false_discovery_control(p, method='bh'), 2 * scipy.stats.t.sf(t, df)); the BH
// cases were also worked by hand (comments below).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  benjaminiHochberg,
  chooseScale,
  DifferentialAccumulator,
  differentialTable,
  GroupMoments,
  welchTest,
} from '../../src-main/node/analysis/differential.js';

const A = [
  [5.1, 2.0, 0.3, 7.0],
  [4.8, 2.5, -0.1, 7.0],
  [5.6, 1.0, 0.2, 7.0],
  [5.3, 3.1, 0.0, 7.0],
  [4.9, 2.2, 0.4, 7.0],
];
const B = [
  [3.9, 2.1, 1.6, 7.0],
  [4.2, 2.9, 1.2, 7.0],
  [4.0, 1.7, 2.8, 7.0],
];
// SciPy: [mean A − mean B, t, two-sided p, Welch df] per gene.
const SCIPY = [
  [1.1066666666666656, 6.569429210868854, 0.0006355980902659929, 5.906678172899563],
  [-0.07333333333333325, -0.14875054888362285, 0.8873004463191183, 5.2461968456519505],
  [-1.7066666666666666, -3.4858173226089373, 0.06607028823471538, 2.15012691217867],
];

function moments(rows: number[][]): GroupMoments {
  const m = new GroupMoments(rows[0]?.length ?? 0);
  for (const r of rows) m.add(r);
  return m;
}

function close(actual: number | null, expected: number, relative = 1e-10, what = ''): void {
  assert.ok(actual !== null, `${what}: got null, expected ${expected}`);
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

describe('differential expression', () => {
  it("Welch's t, df and p match SciPy's ttest_ind(equal_var=False)", () => {
    const table = differentialTable(moments(A), moments(B));
    assert.equal(table.nA, 5);
    assert.equal(table.nB, 3);
    SCIPY.forEach(([difference, t, p, df], g) => {
      const row = table.rows[g];
      assert.ok(row);
      close(row.difference, difference as number, 1e-12, `difference of gene ${g}`);
      close(row.t, t as number, 1e-10, `t of gene ${g}`);
      close(row.df, df as number, 1e-10, `df of gene ${g}`);
      close(row.p, p as number, 1e-9, `p of gene ${g}`);
    });
  });

  it('a gene that varies in neither group has no statistic and is left out of the adjustment', () => {
    const table = differentialTable(moments(A), moments(B));
    const constant = table.rows[3];
    assert.deepEqual(constant && { t: constant.t, p: constant.p, adjustedP: constant.adjustedP }, { t: null, p: null, adjustedP: null });
    // m = 3 tested genes, not 4: the smallest p is multiplied by 3.
    close(table.rows[0]?.adjustedP ?? null, 0.0006355980902659929 * 3, 1e-9, 'adjusted p of gene 0');
  });

  it('keeps tiny p-values exact in the tail', () => {
    // Closed forms: df = 1 is the Cauchy distribution, p = 1 − (2/π)·atan|t|; df = 2 gives
    // p = 1 − |t|/√(t² + 2). Group B constant makes the Welch df exactly nA − 1.
    const cauchy = welchTest(40, 1, 2, 0, 0, 2); // t = 40/√(1/2)
    close(cauchy.df, 1, 1e-15, 'df');
    close(cauchy.p, 1 - (2 / Math.PI) * Math.atan(40 * Math.SQRT2), 1e-9, 'p with df = 1');
    const two = welchTest(3, 3, 3, 0, 0, 3); // t = 3, df = 2
    close(two.p, 1 - 3 / Math.sqrt(11), 1e-12, 'p with df = 2');
    // SciPy: 2 * t.sf(40, 12.5) = 1.429153296371695e-14; 2 * t.sf(1.5, 3.2) = 0.22504453184173226
    close(welchTestAt(40, 12.5), 1.429153296371695e-14, 1e-9, 'p at t = 40, df = 12.5');
    close(welchTestAt(1.5, 3.2), 0.22504453184173226, 1e-9, 'p at t = 1.5, df = 3.2');
  });

  it('Benjamini–Hochberg matches SciPy and the hand-worked step-up minimum', () => {
    // Sorted 0.005, 0.01, 0.03, 0.04, 0.2, 0.9 times 6/rank: 0.03, 0.03, 0.06, 0.06, 0.24, 0.9
    // (already monotone), put back in input order.
    const adjusted = benjaminiHochberg([0.01, 0.04, 0.03, 0.2, 0.005, 0.9]);
    for (const [i, e] of [0.03, 0.06, 0.06, 0.24, 0.03, 0.9].entries()) close(adjusted[i] ?? null, e, 1e-12, `BH ${i}`);
    // p·m/rank alone would give 0.16, 0.082, 0.056, 0.043: the running minimum from the largest
    // p down makes them all 0.043 (SciPy agrees).
    for (const v of benjaminiHochberg([0.04, 0.041, 0.042, 0.043])) close(v, 0.043, 1e-12, 'step-up minimum');
    // Capped at 1, nulls kept and not counted.
    assert.deepEqual(benjaminiHochberg([0.9, null, 0.8]), [0.9, null, 0.9]);
    assert.deepEqual(benjaminiHochberg([null, 0.7]), [null, 0.7]);
    for (const [i, v] of benjaminiHochberg([0.6, 0.6, 0.6, 1]).entries()) close(v, i < 3 ? 0.8 : 1, 1e-12, 'ties');
    assert.throws(() => benjaminiHochberg([0.5, 1.2]), /out of \[0, 1\]/);
  });

  it('Welford moments equal the two-pass mean and variance, also far from zero', () => {
    const rows = [[1e9 + 1], [1e9 + 2], [1e9 + 3], [1e9 + 4]];
    const m = moments(rows);
    assert.equal(m.mean[0], 1e9 + 2.5);
    close(m.variance(0), 5 / 3, 1e-9, 'variance');
    assert.throws(() => m.add([1, 2]), /expected 1 genes/);
    assert.throws(() => welchTest(0, 1, 1, 0, 1, 5), /at least 2 samples/);
  });

  it('chooses the scale from the values and compares counts as log2(x + 1)', () => {
    assert.equal(chooseScale(-3.2, 4).scale, 'log');
    assert.equal(chooseScale(0, 15.8).scale, 'log');
    assert.equal(chooseScale(0, 3000).scale, 'linear');

    const counts = new DifferentialAccumulator(2);
    for (const r of [
      [0, 100],
      [1, 300],
      [3, 100],
    ])
      counts.add('a', r);
    for (const r of [
      [7, 1000],
      [15, 1000],
      [3, 1200],
    ])
      counts.add('b', r);
    const linear = counts.finish('auto');
    assert.equal(linear.scale, 'linear');
    assert.match(linear.scaleReason ?? '', /log2\(x \+ 1\)/);
    // Gene 0: mean log2(x+1) is (0 + 1 + 2)/3 = 1 in A and (3 + 4 + 2)/3 = 3 in B.
    close(linear.rows[0]?.difference ?? null, -2, 1e-12, 'log2 fold change');
    const raw = counts.finish('log');
    close(raw.rows[0]?.difference ?? null, 4 / 3 - 25 / 3, 1e-12, 'raw difference');

    const z = new DifferentialAccumulator(1);
    z.add('a', [-1]);
    z.add('a', [1]);
    z.add('b', [2]);
    z.add('b', [3]);
    assert.equal(z.finish('auto').scale, 'log');
    assert.throws(() => z.finish('linear'), /non-negative/);
  });
});

/**
 * Two-sided p at a given t and (fractional) df through welchTest. With nA = nB = n, varA = 1 and
 * varB = v, df = (n − 1)(1 + v)² / (1 + v²), which rises from n − 1 (v = 0) to 2(n − 1) (v = 1):
 * pick n so that df is in range and find v by bisection.
 */
function welchTestAt(t: number, df: number): number | null {
  const n = Math.ceil(df / 2) + 1;
  const dfOf = (v: number) => ((n - 1) * (1 + v) ** 2) / (1 + v * v);
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (dfOf(mid) < df) lo = mid;
    else hi = mid;
  }
  const v = (lo + hi) / 2;
  const result = welchTest(t * Math.sqrt((1 + v) / n), 1, n, 0, v, n);
  close(result.df, df, 1e-9, 'constructed df');
  return result.p;
}
