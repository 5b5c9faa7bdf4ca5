// The scalable baselines (primal/dual ridge through BLAS products, packed-bit Tanimoto) against the
// straightforward implementations they replaced, kept in test/fixtures as the oracle: kernel ridge in
// dual form with ml-matrix's solve, and Tanimoto over float vectors with a full sort
// (test/fixtures/reference-baselines.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix, solve } from 'ml-matrix';
import { fitRidge, inBlocks, type Rows, rowsOf, SimilarityIndex } from '../../src-main/node/analysis/baselines.js';
import {
  cholesky,
  factorisationBackend,
  inverseCholesky,
  invertLower,
  lowerTimes,
  multiply,
  native,
} from '../../src-main/node/analysis/dense.js';
import { scoreEnvironment } from '../../src-main/node/analysis/unseen.js';
import { referenceRidge, referenceScoreEnvironment, referenceSimilarity } from '../fixtures/reference-baselines.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Fingerprint-like 0/1 features with a cell-line one-hot, and targets linear in them plus noise. */
function problem(n: number, bits: number, cells: number, genes: number, noise: number, seed: number) {
  const rand = random(seed);
  const p = bits + cells;
  const coefficients = Array.from({ length: p * genes }, () => rand() - 0.5);
  const features = Array.from({ length: n }, (_, i) => {
    const f = new Float32Array(p);
    for (let j = 0; j < bits; j++) f[j] = rand() < 0.2 ? 1 : 0;
    f[bits + (i % cells)] = 1;
    return f;
  });
  const targets = features.map((f) =>
    Float32Array.from({ length: genes }, (_, g) => {
      let s = 5;
      for (let j = 0; j < p; j++) s += (f[j] as number) * (coefficients[j * genes + g] as number);
      return s + noise * (rand() - 0.5);
    }),
  );
  return { features, targets, p, genes };
}

const rowsFrom = (vectors: Float32Array[]): Rows => ({
  count: vectors.length,
  width: vectors[0]?.length ?? 0,
  row: (i) => vectors[i] as Float32Array,
});

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    assert.ok(Math.abs(a - e) <= tolerance * (1 + Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  }
}

for (const [form, n, bits, blockRows] of [
  ['dual (fewer rows than features)', 40, 96, undefined],
  ['primal (more rows than features)', 300, 48, undefined],
  ['primal over several row blocks', 300, 24, 64],
] as const) {
  for (const noise of [0.05, 4]) {
    test(`ridge in ${form}, noise ${noise}: same λ and predictions as the dual ml-matrix ridge`, () => {
      const { features, targets, p } = problem(n, bits, 4, 7, noise, n + noise * 100);
      const reference = referenceRidge(features, targets);
      const fit = fitRidge(rowsFrom(features), rowsFrom(targets), blockRows ? { blockRows } : {});
      assert.equal(fit.lambda, reference.lambda);
      const rand = random(7);
      for (let q = 0; q < 5; q++) {
        const x = Float32Array.from({ length: p }, () => (rand() < 0.2 ? 1 : 0));
        assertClose(fit.predict(x), reference.predict(x), 2e-4, 'prediction');
      }
    });
  }
}

test('ridge picks different λ for clean and noisy targets (the LOO choice is live)', () => {
  const clean = problem(300, 48, 4, 7, 0.001, 1);
  const noisy = problem(300, 48, 4, 7, 40, 1);
  const a = fitRidge(rowsFrom(clean.features), rowsFrom(clean.targets));
  const b = fitRidge(rowsFrom(noisy.features), rowsFrom(noisy.targets));
  assert.ok(a.lambda < b.lambda, `clean λ ${a.lambda} should be below noisy λ ${b.lambda}`);
});

test('ridge predicts many rows in one product, and block by block, as it predicts each alone', () => {
  const { features, targets, p, genes } = problem(200, 40, 3, 5, 0.5, 9);
  const fit = fitRidge(rowsFrom(features), rowsFrom(targets));
  const rand = random(5);
  const queries = Array.from({ length: 23 }, () => Float32Array.from({ length: p }, () => (rand() < 0.2 ? 1 : 0)));
  const one = queries.map((q) => fit.predict(q));
  assertClose(
    fit.predictRows(rowsFrom(queries)),
    one.flatMap((v) => Array.from(v)),
    1e-6,
    'rows',
  );
  const order = [4, 9, 0, 22, 13, 7, 1, 2, 3, 5, 6, 8, 10, 11, 12];
  let blocks = 0;
  const predict = inBlocks(
    order,
    genes,
    (keys) => {
      blocks++;
      return fit.predictRows({ count: keys.length, width: p, row: (i) => queries[keys[i] as number] as Float32Array });
    },
    (key) => fit.predict(queries[key] as Float32Array),
    4,
  );
  for (const key of [...order, 20, 21, 4]) assertClose(predict(key), one[key] as Float32Array, 1e-6, `key ${key}`);
  // 15 keys in order = 4 blocks of 4; 20 and 21 alone; asking for key 4 again recomputes its block.
  assert.equal(blocks, 5);
});

test('ridge refuses fewer than two rows, with the reason', () => {
  const one = [new Float32Array([1, 0])];
  assert.throws(() => fitRidge(rowsFrom(one), rowsFrom(one)), /at least two rows/);
});

test('packed Tanimoto nearest neighbours equal the float-vector ones, ties in candidate order', () => {
  const rand = random(3);
  const width = 70; // not a multiple of 32: the last word is partial
  const vectors = Array.from({ length: 60 }, (_, i) => {
    if (i === 5) return new Float32Array(width); // all zero: Tanimoto with another all-zero row is 1
    if (i === 6) return new Float32Array(width);
    if (i % 17 === 0) return Float32Array.from({ length: width }, () => rand() * 2); // not binary: Euclidean
    const v = Float32Array.from({ length: width }, () => (rand() < 0.3 ? 1 : 0));
    return v;
  });
  vectors[40] = Float32Array.from(vectors[41] as Float32Array); // duplicates tie
  const index = new SimilarityIndex(rowsFrom(vectors));
  const candidates = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 !== 0);
  for (let q = 0; q < 60; q++) {
    for (const c of candidates)
      assert.equal(
        index.similarity(q, c),
        referenceSimilarity(vectors[q] as Float32Array, vectors[c] as Float32Array),
        `similarity ${q}, ${c}`,
      );
    const expected = candidates
      .map((t) => ({ t, s: referenceSimilarity(vectors[q] as Float32Array, vectors[t] as Float32Array) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 5);
    assert.deepEqual(
      index.nearest(q, candidates, 5).map((r) => [r.index, r.similarity]),
      expected.map((r) => [r.t, r.s]),
      `neighbours of ${q}`,
    );
  }
});

test('dense helpers: products with transposes, Cholesky and triangular inverse agree with ml-matrix', () => {
  const rand = random(11);
  const a = Float32Array.from({ length: 6 * 4 }, () => rand() - 0.5);
  const b = Float32Array.from({ length: 4 * 5 }, () => rand() - 0.5);
  const A = new Matrix(6, 4);
  for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) A.set(i, j, a[i * 4 + j] as number);
  const B = new Matrix(4, 5);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) B.set(i, j, b[i * 5 + j] as number);
  assertClose(multiply(a, b, 6, 5, 4), A.mmul(B).to1DArray(), 1e-6, 'A B');
  assertClose(multiply(a, a, 4, 4, 6, true), A.transpose().mmul(A).to1DArray(), 1e-6, 'Aᵀ A');
  assertClose(multiply(a, a, 6, 6, 4, false, true), A.mmul(A.transpose()).to1DArray(), 1e-6, 'A Aᵀ');
  const spd = Float64Array.from(A.transpose().mmul(A).add(Matrix.eye(4)).to1DArray());
  const l = cholesky(spd, 4);
  const z = invertLower(l, 4);
  const identity = lowerTimes(z, l, 4, 4);
  assertClose(identity, Matrix.eye(4).to1DArray(), 1e-12, 'L⁻¹ L');
  const inverse = lowerTimes(z, lowerTimes(z, Float64Array.from(Matrix.eye(4).to1DArray()), 4, 4), 4, 4, true);
  assertClose(
    inverse,
    solve(new Matrix(Array.from({ length: 4 }, (_, i) => Array.from(spd.subarray(i * 4, i * 4 + 4)))), Matrix.eye(4)).to1DArray(),
    1e-10,
    '(L Lᵀ)⁻¹',
  );
  assert.throws(() => cholesky(new Float64Array([1, 2, 2, 1]), 2), /not positive definite/);
  assert.equal(rowsOf(new Float32Array(6), 3).count, 2);
});

test('inverse Cholesky through LAPACK (the addon) equals the JavaScript one, and refuses what is not positive definite', (t) => {
  if (!native()?.choleskyInverse) {
    t.skip('the native addon is not loaded or its BLAS has no LAPACK (dpotrf/dtrtri): only the JavaScript path exists here');
    return;
  }
  // 200 > LAPACK's block size, so its blocked code paths run; 0/1 columns like fingerprints.
  const rand = random(5);
  const n = 260;
  const p = 200;
  const x = Float32Array.from({ length: n * p }, () => (rand() < 0.1 ? 1 : 0));
  const gram = Float64Array.from(multiply(x, x, p, p, n, true));
  for (let i = 0; i < p; i++) gram[i * p + i] = (gram[i * p + i] as number) + 0.5;
  const lapack = inverseCholesky(gram, p, 'native');
  const javascript = inverseCholesky(gram, p, 'javascript');
  assertClose(lapack, javascript, 1e-10, 'L⁻¹');
  for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) assert.equal(lapack[i * p + j], 0, `Z[${i},${j}] above the diagonal`);
  for (const using of ['native', 'javascript'] as const)
    assert.throws(() => inverseCholesky(new Float64Array([1, 2, 2, 1]), 2, using), /not positive definite \(pivot 1\b/);
  // Ridge through either factorisation: same λ and the same predictions.
  const { features, targets } = problem(300, 48, 4, 7, 0.5, 9);
  const throughLapack = fitRidge(rowsFrom(features), rowsFrom(targets), { factorisation: 'native' });
  const reference = fitRidge(rowsFrom(features), rowsFrom(targets), { factorisation: 'javascript' });
  assert.equal(throughLapack.lambda, reference.lambda);
  assertClose(throughLapack.predictRows(rowsFrom(features)), reference.predictRows(rowsFrom(features)), 1e-5, 'ridge prediction');
});

test('scoring an environment with reused buffers gives exactly the scores of the allocating version, ties and short profiles included', () => {
  const rand = random(21);
  for (const genes of [978, 60, 50, 7]) {
    for (let trial = 0; trial < 20; trial++) {
      const control = Float32Array.from({ length: genes }, () => rand() * 4);
      // Rounded changes make many |Δ| ties, so the top-50 cut and order depend on the tie rule.
      const observed = control.map((c) => c + Math.round((rand() - 0.5) * 8) / 4);
      const predicted = observed.map((o) => o + (rand() - 0.5) * (trial % 3));
      if (trial === 0) predicted.set(control); // "the drug does nothing": Δ predicted is 0
      assert.deepEqual(
        scoreEnvironment(observed, predicted, control),
        referenceScoreEnvironment(observed, predicted, control),
        `${genes} genes, trial ${trial}`,
      );
    }
  }
});

test('ridge through one eigendecomposition for every λ: same λ, leave-one-out error and predictions as a Cholesky per λ', (t) => {
  if (factorisationBackend() !== 'eigen') {
    t.skip('the native addon is not loaded or its BLAS has no LAPACK dsyevd/dgemm: the Cholesky path is the only one here');
    return;
  }
  // Rank-deficient on purpose (constant and duplicated columns, a one-hot that sums to 1), as
  // fingerprints with unused bits are; several row blocks; clean and noisy targets pick different λ.
  for (const noise of [0.05, 4, 40]) {
    const { features, targets } = problem(500, 60, 5, 9, noise, 17 + noise);
    for (const f of features) {
      f[3] = 0;
      f[7] = f[8] as number;
    }
    const eigen = fitRidge(rowsFrom(features), rowsFrom(targets), { factorisation: 'eigen', blockRows: 128 });
    const cholesky = fitRidge(rowsFrom(features), rowsFrom(targets), { factorisation: 'javascript', blockRows: 128 });
    assert.equal(eigen.lambda, cholesky.lambda, `noise ${noise}`);
    assert.ok(Math.abs(eigen.looError - cholesky.looError) <= 1e-4 * cholesky.looError, `LOO ${eigen.looError} vs ${cholesky.looError}`);
    const rand = random(3);
    const queries = Array.from({ length: 20 }, () => Float32Array.from({ length: 65 }, () => (rand() < 0.2 ? 1 : 0)));
    assertClose(eigen.predictRows(rowsFrom(queries)), cholesky.predictRows(rowsFrom(queries)), 2e-4, `prediction, noise ${noise}`);
  }
});
