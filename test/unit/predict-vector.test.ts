// A new drug's environment vector is built as the importer builds the training drugs': fingerprint
// bits, its cell line, and dose (log10 µM) and time (days) when the environments carry them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drugEnvironmentVector, takesDoseAndTime } from '../../src-main/node/analysis/predict.js';

const FINGERPRINT = { radius: 2, nBits: 3, chirality: false };
const BITS = new Uint8Array([1, 0, 1]);

describe('drugEnvironmentVector', () => {
  const columns = ['morgan bit 0', 'morgan bit 1', 'morgan bit 2', 'cell A375', 'cell MCF7', 'log10 dose (µM)', 'time (days)'];

  it('sets the bits, the cell line, log10 of the dose in µM and the time in days', () => {
    const vector = drugEnvironmentVector(columns, FINGERPRINT, BITS, { cellLine: 'MCF7', doseMicromolar: 10, timeHours: 6 });
    assert.deepEqual([...vector], [1, 0, 1, 0, 1, 1, 0.25]);
    assert.equal(takesDoseAndTime(columns), true);
  });

  it('asks for dose and time when the environments carry them, and for nothing more when they do not', () => {
    assert.throws(
      () => drugEnvironmentVector(columns, FINGERPRINT, BITS, { cellLine: 'A375' }),
      /give the dose \(µM\) and the time \(hours\)/,
    );
    assert.throws(() => drugEnvironmentVector(columns, FINGERPRINT, BITS, { cellLine: 'A375', doseMicromolar: 1 }), /dose .* and the time/);
    const plain = columns.slice(0, 3);
    assert.deepEqual([...drugEnvironmentVector(plain, FINGERPRINT, BITS, { cellLine: null, doseMicromolar: 1, timeHours: 24 })], [1, 0, 1]);
    assert.equal(takesDoseAndTime(plain), false);
  });
});
