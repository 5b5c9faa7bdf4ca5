// Paired comparison of two methods scored on the same held-out environments: is one better per
// environment, not only on average over a few trials? Wilcoxon's signed-rank test on the
// per-environment differences (stdlib's implementation, checked against scipy in the unit test).
import wilcoxon from '@stdlib/stats-wilcoxon';

export interface PairedTest {
  /** Environments with a score from both methods. */
  n: number;
  /** Mean and median of a − b over those environments. */
  meanDifference: number;
  medianDifference: number;
  /** Environments where a scored higher than b. */
  aBetter: number;
  /** Two-sided p-value of the signed-rank test (1 when every difference is zero or n < 2). */
  pValue: number;
}

/**
 * Wilcoxon signed-rank test of a − b, two-sided, zero differences dropped (scipy's default
 * "wilcox"), exact distribution up to 50 pairs and the normal approximation above, without
 * continuity correction (scipy's defaults, so the p-values match scipy.stats.wilcoxon).
 */
export function pairedWilcoxon(a: readonly number[], b: readonly number[]): PairedTest {
  if (a.length !== b.length) throw new RangeError(`paired test: ${a.length} vs ${b.length} scores`);
  const differences = a.map((v, i) => v - (b[i] as number)).filter((d) => Number.isFinite(d));
  const n = differences.length;
  const sorted = [...differences].sort((x, y) => x - y);
  const median =
    n === 0 ? Number.NaN : n % 2 ? (sorted[(n - 1) >> 1] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2;
  const meanDifference = n === 0 ? Number.NaN : differences.reduce((s, d) => s + d, 0) / n;
  const nonZero = differences.filter((d) => d !== 0);
  const pValue = nonZero.length < 2 ? 1 : wilcoxon(nonZero, { alternative: 'two-sided', zeroMethod: 'wilcox', correction: false }).pValue;
  return { n, meanDifference, medianDifference: median, aBetter: differences.filter((d) => d > 0).length, pValue };
}
