// Connectivity scores: the fast weighted-KS enrichment score against the full running sum it
// shortcuts, WTCS sign rules, NCS normalisation, and random-query p-values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  enrichmentScore,
  makeRandomQueries,
  normalizeConnectivity,
  rankSignature,
  scoreConnectivity,
  spearman,
  weightedConnectivity,
} from '../../src-main/node/analysis/connectivity.js';
import { Rng } from '../../src-main/node/data/random.js';

/** Subramanian et al. 2005, written out over every position (the definition, not the shortcut). */
function runningSumEs(scores: number[], set: number[]): number {
  const order = scores.map((_, g) => g).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  const hits = new Set(set);
  const total = set.reduce((s, g) => s + Math.abs(scores[g] as number), 0);
  let sum = 0;
  let max = 0;
  let min = 0;
  for (const g of order) {
    sum += hits.has(g) ? Math.abs(scores[g] as number) / total : -1 / (scores.length - set.length);
    max = Math.max(max, sum);
    min = Math.min(min, sum);
  }
  return max > -min ? max : min;
}

describe('weighted KS enrichment score', () => {
  it('equals the running-sum definition on random signatures and sets', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 5 + rng.int(60);
      const scores = Array.from({ length: n }, () => rng.normal() * 2);
      const k = 1 + rng.int(n - 1);
      const [query] = makeRandomQueries(n, k, 0, 1, trial);
      const set = query?.up ?? [];
      const fast = enrichmentScore(rankSignature(scores), set);
      const reference = runningSumEs(scores, set);
      // When max and −min tie exactly, rounding in the last bit decides the sign: only |ES| is defined.
      const tie = Math.abs(Math.abs(reference) - Math.abs(fast)) < 1e-12 && Math.abs(fast + reference) < 1e-12;
      assert.ok(tie || Math.abs(fast - reference) < 1e-12, `trial ${trial}: ${fast} vs ${reference}`);
    }
  });

  it('is 1 for a set at the very top and close to −1 at the very bottom (hand-worked)', () => {
    const scores = [5, 4, 3, 2, 1, -1, -2, -3];
    assert.equal(enrichmentScore(rankSignature(scores), [0, 1]), 1);
    // Bottom two: the running sum falls 6 × 1/6 to −1 before the hits lift it back to 0.
    assert.ok(Math.abs(enrichmentScore(rankSignature(scores), [6, 7]) + 1) < 1e-12);
  });

  it('weights hits by |score|: a heavy hit early counts more than a light one', () => {
    const scores = [10, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, -1];
    // Hits at ranks 0 (weight 10) and 9 (weight |−1|): after the first hit the sum is 10/11.
    assert.ok(Math.abs(enrichmentScore(rankSignature(scores), [0, 9]) - 10 / 11) < 1e-12);
  });
});

describe('WTCS and NCS', () => {
  it('is (ES_up − ES_down)/2 with opposite signs and 0 with equal signs', () => {
    const scores = [5, 4, 3, 2, 1, -1, -2, -3];
    const ranked = rankSignature(scores);
    assert.ok(Math.abs(weightedConnectivity(ranked, [0, 1], [6, 7]) - 1) < 1e-12, 'a perfect mimic');
    assert.ok(Math.abs(weightedConnectivity(ranked, [6, 7], [0, 1]) + 1) < 1e-12, 'a perfect reversal');
    assert.equal(weightedConnectivity(ranked, [0, 1], [2, 3]), 0, 'both sets at the top: no connectivity');
  });

  it('divides by the mean positive or |mean negative| score of the group', () => {
    const ncs = normalizeConnectivity([0.2, 0.4, -0.1, -0.3, 0.5, 0], ['a', 'a', 'a', 'a', 'b', 'b']);
    const expected = [0.2 / 0.3, 0.4 / 0.3, -0.1 / 0.2, -0.3 / 0.2, 1, 0];
    for (const [i, e] of expected.entries()) assert.ok(Math.abs((ncs[i] as number) - e) < 1e-12, `signature ${i}: ${ncs[i]} vs ${e}`);
  });

  it('ranks the signature a query was built from first, with a small p-value', () => {
    const rng = new Rng(3);
    const nGenes = 200;
    const nSignatures = 30;
    const values = Float64Array.from({ length: nGenes * nSignatures }, () => rng.normal());
    const own = Array.from(values.subarray(5 * nGenes, 6 * nGenes));
    const order = own.map((_, g) => g).sort((a, b) => (own[b] as number) - (own[a] as number));
    const query = { up: order.slice(0, 20), down: order.slice(-20) };
    const scores = scoreConnectivity({ nSignatures, nGenes, values }, Array(nSignatures).fill('x'), query, { randomQueries: 200 });
    const best = Array.from(scores.ncs).indexOf(Math.max(...scores.ncs));
    assert.equal(best, 5);
    assert.ok((scores.p?.[5] ?? 1) <= 1 / 201 + 1e-12);
    assert.ok((scores.tau?.[5] ?? 0) > 95);
    assert.ok((scores.correlation[5] as number) > 0.8);
    assert.ok(scores.fdr?.every((f) => f !== null && f >= 0 && f <= 1));
  });

  it('has no Tau below the minimum reference, and no p-values without random queries', () => {
    const values = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i));
    const few = scoreConnectivity(
      { nSignatures: 4, nGenes: 10, values },
      ['a', 'a', 'a', 'a'],
      { up: [0], down: [1] },
      { randomQueries: 20 },
    );
    assert.equal(few.tau, null);
    assert.ok(few.p);
    const none = scoreConnectivity(
      { nSignatures: 4, nGenes: 10, values },
      ['a', 'a', 'a', 'a'],
      { up: [0], down: [1] },
      { randomQueries: 0 },
    );
    assert.equal(none.p, null);
  });

  it('Spearman correlation handles ties by average ranks', () => {
    assert.ok(Math.abs(spearman([1, 2, 3, 4], [10, 20, 30, 40]) - 1) < 1e-12);
    assert.ok(Math.abs(spearman([1, 2, 3, 4], [1, 1, -1, -1]) + Math.sqrt(0.8)) < 1e-12);
  });
});
