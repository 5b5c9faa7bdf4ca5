// analysis.projection's packed points (shared/api/analysis.ts): the stored form round-trips through
// the answer to the typed arrays the scatter draws, and the schema and decoder name what is damaged.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { projectionOf, projectionRecord } from '../../src-main/node/analysis/stored-latents.js';
import { decodeProjection, ProjectionResult } from '../../src-main/shared/api/analysis.js';

const points = {
  method: 'pca' as const,
  x: [0.5, -1.25, 3e5, 0],
  y: [1, 2, -0.125, 7],
  sample: [0, 7, 16_777_215, 3],
  explainedVariance: [0.6, 0.3],
};
const answer = { runId: 'run_1', epoch: 2, ...projectionOf(projectionRecord(points, 20_000), 'pca') };

const refused = (damaged: Record<string, unknown>) => {
  const parsed = ProjectionResult.safeParse({ ...answer, ...damaged });
  assert.equal(parsed.success, false);
  return parsed.error?.issues.map((i) => i.message).join('; ') ?? '';
};

describe('packed projections', () => {
  test('round-trip from the stored form to typed arrays, the indices exactly', () => {
    assert.deepEqual(ProjectionResult.parse(answer), answer);
    const decoded = decodeProjection(answer);
    assert.equal(decoded.points, 4);
    assert.deepEqual(Array.from(decoded.x), points.x);
    assert.deepEqual(Array.from(decoded.y), points.y);
    assert.ok(decoded.sample instanceof Int32Array);
    assert.deepEqual(Array.from(decoded.sample), points.sample);
    assert.equal(decoded.packedSample, answer.sample);
    assert.deepEqual(decoded.explainedVariance, [0.6, 0.3]);
    const none = { ...answer, ...projectionOf(projectionRecord({ ...points, x: [], y: [], sample: [] }, 10), 'pca') };
    assert.equal(decodeProjection(ProjectionResult.parse(none)).x.length, 0);
  });

  test('the schema refuses cut, padded-out and non-base64 columns, naming which', () => {
    assert.match(refused({ points: 5 }), /projection x: 16 bytes for 5 32-bit values \(20 bytes\).*projection sample: 16 bytes/);
    assert.match(refused({ x: answer.x.slice(0, -4) }), /projection x: 15 bytes for 4 32-bit values/);
    assert.match(refused({ y: answer.y.slice(0, -1) }), /projection y: 23 base64 characters are not whole groups of 4/);
    assert.match(refused({ sample: `${answer.sample.slice(0, -4)}!!!!` }), /must be base64/);
  });

  test('the decoder refuses negative sample indices and columns of other lengths', () => {
    const negative = { ...answer, sample: Buffer.from(Int32Array.of(0, -1, 2, 3).buffer).toString('base64') };
    assert.throws(() => decodeProjection(negative), /^RangeError: projection sample: point 1 has sample index -1$/);
    const short = { ...answer, x: Buffer.from(Float32Array.of(1, 2, 3).buffer).toString('base64') };
    assert.throws(() => decodeProjection(short), /^RangeError: projection x: 3 values for 4 points$/);
  });
});
