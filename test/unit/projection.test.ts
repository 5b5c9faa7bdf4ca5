// The latent PCA (covariance on the tf backend + symmetric eigen-decomposition) against ml-pca's
// SVD on the same data, and on data whose principal axes are known.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PCA } from 'ml-pca';
import { principalComponents } from '../../src-main/node/analysis/inspection.js';
import { Rng } from '../../src-main/node/data/random.js';

describe('latent PCA', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('finds known axes: variance 9 along (1,1)/√2, 1 along (1,−1)/√2, none on the third coordinate', () => {
    const rng = new Rng(3);
    const n = 4000;
    const values = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const a = 3 * rng.normal();
      const b = rng.normal();
      values[i * 3] = (a + b) / Math.SQRT2 + 5;
      values[i * 3 + 1] = (a - b) / Math.SQRT2 - 2;
      values[i * 3 + 2] = 7;
    }
    const { projected, explainedVariance } = principalComponents(values, n, 3, 2);
    assert.ok(Math.abs((explainedVariance[0] as number) - 0.9) < 0.02, String(explainedVariance));
    assert.ok(Math.abs((explainedVariance[1] as number) - 0.1) < 0.02, String(explainedVariance));
    // Projections are centred, with the variances of the axes, and the first axis carries (x+y)/√2.
    let mean = 0;
    let variance = 0;
    for (let i = 0; i < n; i++) mean += (projected[2 * i] as number) / n;
    for (let i = 0; i < n; i++) variance += ((projected[2 * i] as number) - mean) ** 2 / (n - 1);
    assert.ok(Math.abs(mean) < 1e-4, String(mean));
    assert.ok(Math.abs(variance - 9) < 0.6, String(variance));
    const expected = ((values[0] as number) - 5 + (values[1] as number) + 2) / Math.SQRT2;
    assert.ok(Math.abs(Math.abs(projected[0] as number) - Math.abs(expected)) < 0.1, `${projected[0]} vs ${expected}`);
  });

  it('agrees with ml-pca (up to each axis sign) on correlated 8-D latents', () => {
    const rng = new Rng(11);
    const n = 600;
    const d = 8;
    const mixing = Array.from({ length: d * d }, () => rng.normal());
    const values = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: d }, (_, j) => rng.normal() * (d - j));
      for (let j = 0; j < d; j++) {
        let v = 0;
        for (let k = 0; k < d; k++) v += (mixing[j * d + k] as number) * (z[k] as number);
        values[i * d + j] = v;
      }
    }
    const ours = principalComponents(values, n, d, 2);
    const rows = Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * d, (i + 1) * d)));
    const reference = new PCA(rows, { center: true, scale: false });
    const theirs = reference.predict(rows, { nComponents: 2 }).to2DArray();
    const explained = reference.getExplainedVariance();
    for (let c = 0; c < 2; c++) {
      assert.ok(Math.abs((ours.explainedVariance[c] as number) - (explained[c] as number)) < 1e-4, `axis ${c}`);
      const sign = Math.sign(ours.projected[c] as number) === Math.sign(theirs[0]?.[c] as number) ? 1 : -1;
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < n; i++) {
        worst = Math.max(worst, Math.abs((ours.projected[i * 2 + c] as number) - sign * (theirs[i]?.[c] as number)));
        scale = Math.max(scale, Math.abs(theirs[i]?.[c] as number));
      }
      assert.ok(worst / scale < 1e-3, `axis ${c}: max deviation ${worst} of ${scale}`);
    }
  });

  it('refuses a buffer that does not match its shape', () => {
    assert.throws(() => principalComponents(new Float32Array(5), 2, 3, 2), /expected 2×3 values/);
  });
});
