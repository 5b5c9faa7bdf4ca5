// Scores against hand-computed cases (issue: the science).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  coordinatesForMass,
  cosineDistance,
  decoderAlignment,
  directionAgreement,
  meanCorrelationCoefficient,
  pearson,
  rSquared,
} from '../../src-main/node/analysis/metrics.js';
import { Rng } from '../../src-main/node/data/random.js';

describe('analysis metrics', () => {
  it('R² is 1 for identical vectors, 0 for predicting the mean, negative for worse', () => {
    const observed = [1, 2, 3, 4, 5];
    assert.equal(rSquared(observed, observed), 1);
    assert.equal(rSquared(observed, [3, 3, 3, 3, 3]), 0);
    assert.ok(rSquared(observed, [5, 4, 3, 2, 1]) < 0);
    assert.throws(() => rSquared([1, 2], [1]), /lengths differ/);
  });

  it('Pearson r, cosine distance and direction agreement on known vectors', () => {
    assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6]) - 1) < 1e-12);
    assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12);
    assert.ok(Math.abs(cosineDistance([1, 0], [0, 1]) - 1) < 1e-12);
    assert.ok(Math.abs(cosineDistance([1, 1], [2, 2])) < 1e-12);
    assert.ok(Math.abs(cosineDistance([1, 1], [-1, -1]) - 2) < 1e-12);
    assert.equal(directionAgreement([1, -2, 3, -4], [2, -1, -3, -4]), 0.75);
  });

  it('coordinatesForMass counts the coordinates that carry 90 % of an effect', () => {
    assert.equal(coordinatesForMass([0, 0, 5, 0]), 1);
    assert.equal(coordinatesForMass([1, 1, 1, 1]), 4);
    assert.equal(coordinatesForMass([10, -1, 0.1, 0]), 1);
    assert.equal(coordinatesForMass([5, -4, 0.5, 0.5]), 2);
    assert.equal(coordinatesForMass([0, 0]), 0);
  });

  it('decoder alignment finds the rotation that maps M onto M̃ (cosine distance 0 at the right θ)', () => {
    const rng = new Rng(3);
    const genes = 10;
    const M = Array.from({ length: genes * 2 }, () => (rng.next() < 0.5 ? -1 : 1));
    const theta = 0.4 * Math.PI;
    const learned: number[] = [];
    for (let g = 0; g < genes; g++) {
      const m0 = M[2 * g] as number;
      const m1 = M[2 * g + 1] as number;
      // M̃ = 3 · M · R_θ: a uniform scale keeps every row's direction.
      learned.push(3 * (m0 * Math.cos(theta) + m1 * Math.sin(theta)), 3 * (-m0 * Math.sin(theta) + m1 * Math.cos(theta)));
    }
    const { bestTheta, bestMeanDistance, distances } = decoderAlignment(M, learned, genes, { steps: 360 });
    assert.ok(Math.abs(bestTheta - theta) < (2 * Math.PI) / 360 + 1e-9, `best θ ${bestTheta} vs ${theta}`);
    assert.ok(bestMeanDistance < 1e-3);
    assert.equal(distances.length, 361);
    // The opposite rotation is as far as it gets.
    const opposite = decoderAlignment(
      M,
      learned.map((v) => -v),
      genes,
      { steps: 360 },
    );
    assert.ok(Math.abs(opposite.bestTheta - (theta + Math.PI)) < 0.02);
  });

  it('MCC is 1 for a permuted, rescaled, sign-flipped copy of the latents and low for noise', () => {
    const rng = new Rng(1);
    const n = 500;
    const truth = new Float64Array(n * 3).map(() => rng.normal());
    const learned = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      learned[i * 3 + 0] = -2 * (truth[i * 3 + 2] as number);
      learned[i * 3 + 1] = 0.5 * (truth[i * 3 + 0] as number);
      learned[i * 3 + 2] = truth[i * 3 + 1] as number;
    }
    const matched = meanCorrelationCoefficient(truth, learned, n, 3, 3);
    assert.ok(Math.abs(matched.score - 1) < 1e-9);
    assert.deepEqual(
      [...matched.matching].sort((a, b) => a[0] - b[0]),
      [
        [0, 1],
        [1, 2],
        [2, 0],
      ],
    );
    const noise = new Float64Array(n * 3).map(() => rng.normal());
    assert.ok(meanCorrelationCoefficient(truth, noise, n, 3, 3).score < 0.2);
  });
});
