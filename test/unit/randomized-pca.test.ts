// Randomized PCA (sketch, power iterations, CholeskyQR2) against ml-pca's exact SVD on data with a
// decaying spectrum, and the orthonormalisation it relies on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PCA } from 'ml-pca';
import { multiply } from '../../src-main/node/analysis/dense.js';
import { orthonormalise, randomizedPca } from '../../src-main/node/analysis/randomized-pca.js';
import { Rng } from '../../src-main/node/data/random.js';

/** n × d rows: 12 latent factors with variances decaying as 1/j², mixed randomly, plus small noise and an offset. */
function decayingSpectrum(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const factors = 12;
  const mixing = Array.from({ length: factors * d }, () => rng.normal());
  const values = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: factors }, (_, f) => (rng.normal() * 4) / (f + 1));
    for (let j = 0; j < d; j++) {
      let v = 3 + 0.05 * rng.normal();
      for (let f = 0; f < factors; f++) v += (z[f] as number) * (mixing[f * d + j] as number);
      values[i * d + j] = v;
    }
  }
  return values;
}

describe('randomized PCA', () => {
  it('matches the exact SVD (ml-pca): variances, axes up to sign, and scores', () => {
    const n = 500;
    const d = 60;
    const k = 6;
    const values = decayingSpectrum(n, d, 5);
    const ours = randomizedPca(values, n, d, k, { seed: 1 });
    const rows = Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * d, (i + 1) * d)));
    const exact = new PCA(rows, { center: true, scale: false });
    const exactRatio = exact.getExplainedVariance();
    const exactAxes = exact.getEigenvectors().transpose().to2DArray();
    const exactScores = exact.predict(rows, { nComponents: k }).to2DArray();
    for (let c = 0; c < k; c++) {
      const ratio = ours.explainedVarianceRatio[c] as number;
      assert.ok(
        Math.abs(ratio - (exactRatio[c] as number)) < 1e-4 * Math.max(1, exactRatio[c] as number),
        `ratio ${c}: ${ratio} vs ${exactRatio[c]}`,
      );
      let cosine = 0;
      for (let j = 0; j < d; j++) cosine += (ours.axes[c * d + j] as number) * (exactAxes[c]?.[j] as number);
      assert.ok(Math.abs(Math.abs(cosine) - 1) < 1e-4, `axis ${c}: |cos| = ${Math.abs(cosine)}`);
      const sign = Math.sign(cosine);
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < n; i++) {
        const theirs = sign * (exactScores[i]?.[c] as number);
        worst = Math.max(worst, Math.abs((ours.scores[i * k + c] as number) - theirs));
        scale = Math.max(scale, Math.abs(theirs));
      }
      assert.ok(worst < 1e-3 * scale, `scores ${c}: largest difference ${worst} of ${scale}`);
    }
  });

  it('orthonormalises a nearly rank-deficient sketch (CholeskyQR2)', () => {
    const rng = new Rng(2);
    const rows = 2000;
    const l = 8;
    const y = new Float32Array(rows * l);
    for (let i = 0; i < rows; i++) {
      const shared = rng.normal();
      for (let t = 0; t < l; t++) y[i * l + t] = shared + (t === 0 ? 0 : 1e-3 * rng.normal());
    }
    const q = orthonormalise(y, rows, l);
    const gram = multiply(q, q, l, l, rows, true);
    for (let a = 0; a < l; a++)
      for (let b = 0; b < l; b++)
        assert.ok(Math.abs((gram[a * l + b] as number) - (a === b ? 1 : 0)) < 1e-4, `QᵀQ[${a},${b}] = ${gram[a * l + b]}`);
  });

  it('refuses a k beyond the data and a wrong length', () => {
    assert.throws(() => randomizedPca(new Float32Array(20), 4, 5, 6), /k must be 1\.\.4/);
    assert.throws(() => randomizedPca(new Float32Array(19), 4, 5, 2), /expected 4×5 values/);
  });
});
