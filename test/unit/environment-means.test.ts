// environmentMeansOf visits samples environment by environment (one accumulator, not one per
// environment): its means must equal the plain per-environment average, unstandardised, with null
// for environments that have no sample among the indices.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { environmentMeansOf } from '../../src-main/node/analysis/unseen.js';
import type { TrainingData } from '../../src-main/node/ml/training-data.js';
import { referenceEnvironmentMeans } from '../fixtures/reference-baselines.js';

function data(standardized: boolean): TrainingData {
  const nGenes = 3;
  // Samples of environments 2, 0, 2, 1, 0, 2 (interleaved, as imports order them); environment 3 has none.
  const environmentOfSample = Int32Array.from([2, 0, 2, 1, 0, 2]);
  const x = Float32Array.from({ length: environmentOfSample.length * nGenes }, (_, k) => (k * 7) % 11);
  return {
    nGenes,
    geneIds: ['a', 'b', 'c'],
    x,
    environmentOfSample,
    environmentKeys: ['e0', 'e1', 'e2', 'e3'],
    environmentInputs: new Float32Array(4),
    environmentWidth: 1,
    environmentClass: Int32Array.from([0, 1, 2, 3]),
    environmentClasses: 4,
    trainIndices: Int32Array.from([0, 1, 2, 3, 4, 5]),
    validationIndices: new Int32Array(0),
    validationEnvironments: [],
    standardization: standardized ? { mean: Float32Array.from([1, -2, 0.5]), std: Float32Array.from([2, 0.5, 3]) } : null,
  };
}

function plainMeans(d: TrainingData, indices: number[]): (number[] | null)[] {
  return d.environmentKeys.map((_, e) => {
    const members = indices.filter((i) => d.environmentOfSample[i] === e);
    if (members.length === 0) return null;
    return Array.from({ length: d.nGenes }, (_, g) => {
      const mean = members.reduce((s, i) => s + (d.x[i * d.nGenes + g] as number), 0) / members.length;
      const std = d.standardization;
      return std ? mean * (std.std[g] as number) + (std.mean[g] as number) : mean;
    });
  });
}

for (const standardized of [false, true]) {
  test(`environment means equal the plain average (${standardized ? 'standardised' : 'raw'} data), null where empty`, () => {
    const d = data(standardized);
    for (const indices of [[0, 1, 2, 3, 4, 5], [5, 3, 0], [1]]) {
      const got = environmentMeansOf(d, Int32Array.from(indices));
      const want = plainMeans(d, indices);
      assert.equal(got.length, want.length);
      assert.deepEqual(got, referenceEnvironmentMeans(d, Int32Array.from(indices)), 'same as the previous implementation');
      for (const [e, mean] of got.entries()) {
        const expected = want[e];
        if (expected === null || expected === undefined) {
          assert.equal(mean, null, `environment ${e} has no sample`);
          continue;
        }
        assert.ok(mean, `environment ${e} has samples`);
        for (const [g, v] of expected.entries()) assert.ok(Math.abs((mean[g] as number) - v) < 1e-5, `e${e} g${g}: ${mean[g]} vs ${v}`);
      }
    }
  });
}
