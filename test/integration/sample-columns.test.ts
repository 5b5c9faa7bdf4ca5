// The Latents view's compact per-sample columns (datasets.sampleColumns, shared/api/packed.ts):
// a round trip of the dictionary encoding, the schema refusing damaged answers and bad params,
// and the method on the demo dataset agreeing with the JSON one, answered by the dataset-read
// worker without starting (or queueing behind) the analysis worker. Also the drawn points' sample
// ids, packed (datasets.sampleIdsAt), in the order asked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeCodedColumn } from '../../src-main/node/analysis/dataset-reads.js';
import {
  type CodedColumn,
  decodeCodedColumn,
  decodePackedStrings,
  encodePackedStrings,
  encodeSampleIndices,
  SampleColumnsParams,
  SampleColumnsResult,
  SampleIdsAtResult,
  valuesOf,
} from '../../src-main/shared/api/packed.js';
import { labCaller } from '../lab-call.js';
import { useTempLab } from '../temp-lab.js';

const base64 = (values: Int32Array | Uint32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');

describe('coded columns', () => {
  const values = ['A375', null, 'MCF7', 'A375', '', 'β-catenin 𝛼', null, 'MCF7'];

  test('round-trip values, missing ones, empty strings and characters outside the BMP', () => {
    const packed = encodeCodedColumn('cell_id', values);
    const decoded = decodeCodedColumn(packed, values.length);
    assert.deepEqual(decoded.levels, ['A375', 'MCF7', '', 'β-catenin 𝛼']);
    assert.deepEqual(Array.from(decoded.codes), [0, -1, 1, 0, 2, 3, -1, 1]);
    assert.deepEqual(valuesOf(decoded), values);
    assert.deepEqual(valuesOf(decodeCodedColumn(encodeCodedColumn('none', []), 0)), []);
    const result = { datasetId: 'ds_1', nSamples: values.length, columns: [packed] };
    assert.deepEqual(SampleColumnsResult.parse(result), result);
  });

  test('the result schema refuses codes and levels that do not fit', () => {
    const packed = encodeCodedColumn('cell_id', values);
    const refused = (column: CodedColumn, nSamples = values.length) => {
      const parsed = SampleColumnsResult.safeParse({ datasetId: 'ds_1', nSamples, columns: [column] });
      assert.equal(parsed.success, false);
      return parsed.error?.issues.map((i) => i.message).join('; ') ?? '';
    };
    assert.match(refused(packed, values.length + 1), /8 codes for 9 samples/);
    assert.match(refused({ ...packed, codes: base64(Int32Array.of(0, 4, 1, 0, 2, 3, -1, 1)) }), /sample 1 has code 4, not −1\.\.3/);
    assert.match(refused({ ...packed, codes: base64(Int32Array.of(0, -2, 1, 0, 2, 3, -1, 1)) }), /sample 1 has code -2/);
    assert.match(refused({ ...packed, levels: `${packed.levels}x` }), /1 characters after the last level/);
    assert.match(refused({ ...packed, levelEnds: base64(Uint32Array.of(4, 3, 8, 19)) }), /end 3 of level 1 is outside 4\.\./);
    assert.match(refused({ ...packed, levelEnds: base64(Uint32Array.of(4, 8, 8, 99)) }), /end 99 of level 3/);
    assert.match(refused({ ...packed, codes: 'not base64!' }), /must be base64/);
    assert.match(refused({ ...packed, codes: Buffer.from([1, 2, 3]).toString('base64') }), /3 bytes are not whole 32-bit values/);
  });

  test('the params schema refuses no columns, repeated ones and too many', () => {
    assert.equal(SampleColumnsParams.safeParse({ datasetId: 'ds_1', columns: [] }).success, false);
    assert.equal(SampleColumnsParams.safeParse({ datasetId: 'ds_1', columns: ['a', 'a'] }).success, false);
    assert.equal(
      SampleColumnsParams.safeParse({ datasetId: 'ds_1', columns: Array.from({ length: 9 }, (_, i) => `c${i}`) }).success,
      false,
    );
    assert.equal(SampleColumnsParams.safeParse({ datasetId: 'ds_1', columns: ['sample id'], extra: 1 }).success, false);
  });
});

describe('packed strings', () => {
  test('round-trip in order, with repeats, empty strings and characters outside the BMP', () => {
    const strings = ['CPC004_A375_6H:BRD-A0635:10', '', 'β-catenin 𝛼', 'x', 'x'];
    const packed = encodePackedStrings(strings);
    assert.equal(packed.values, strings.join(''));
    assert.deepEqual(decodePackedStrings(packed, 'ids'), strings);
    assert.deepEqual(decodePackedStrings(encodePackedStrings([]), 'ids'), []);
    const result = { datasetId: 'ds_1', ids: packed };
    assert.deepEqual(SampleIdsAtResult.parse(result), result);
  });

  test('damaged ones give an error naming what and where', () => {
    const packed = encodePackedStrings(['ab', 'cde']);
    assert.throws(
      () => decodePackedStrings({ ...packed, values: 'abcdef' }, 'sample ids'),
      /^RangeError: sample ids: 1 characters after the last string$/,
    );
    assert.throws(
      () => decodePackedStrings({ ...packed, ends: base64(Uint32Array.of(3, 2)) }, 'sample ids'),
      /sample ids: end 2 of string 1 is outside 3\.\.5/,
    );
    assert.throws(
      () => decodePackedStrings({ ...packed, ends: Buffer.from([1, 2]).toString('base64') }, 'sample ids'),
      /2 bytes are not whole/,
    );
    const refused = SampleIdsAtResult.safeParse({ datasetId: 'ds_1', ids: { ...packed, ends: base64(Uint32Array.of(2, 9)) } });
    assert.equal(refused.success, false);
    assert.match(refused.error?.issues[0]?.message ?? '', /end 9 of string 1 is outside 2\.\.5/);
  });
});

describe('datasets.sampleColumns on the demo dataset', () => {
  const temp = useTempLab('sample-columns', { seedDemo: true });

  test('agrees with datasets.sampleColumn, from the dataset-read worker, and refuses bad requests', async () => {
    const call = labCaller(temp.lab);
    const datasetId = temp.lab.store.datasets.list()[0]?.id ?? '';
    const columns = ['environment key', 'sample id', 'target_latent'];
    const packed = await call<SampleColumnsResult>('datasets.sampleColumns', { datasetId, columns });
    assert.equal(packed.nSamples, temp.lab.store.datasets.get(datasetId).nSamples);
    for (const [i, column] of columns.entries()) {
      const plain = await call<{ values: (string | number | null)[] }>('datasets.sampleColumn', { datasetId, column });
      const decoded = decodeCodedColumn(packed.columns[i] as CodedColumn, packed.nSamples);
      assert.equal(decoded.column, column);
      assert.deepEqual(valuesOf(decoded), plain.values);
    }
    // The environment key column is the environment index per sample plus the table of keys.
    const environments = decodeCodedColumn(packed.columns[0] as CodedColumn, packed.nSamples);
    assert.equal(environments.levels.length, temp.lab.store.datasets.get(datasetId).nEnvironments);
    // No model was needed: the analysis worker (model loads, projections) never started.
    assert.equal(await temp.lab.analysis.workerStats(), null);

    await assert.rejects(call('datasets.sampleColumns', { datasetId: 'ds_nope', columns: ['sample id'] }), /^Error: not_found: .*ds_nope/);
    await assert.rejects(
      call('datasets.sampleColumns', { datasetId, columns: ['sample id', 'sample id'] }),
      /^Error: invalid_params: .*at most once/,
    );
  });

  test('datasets.sampleIdsAt: the ids at given positions, in the order asked, and a clear error for a bad position', async () => {
    const call = labCaller(temp.lab);
    const datasetId = temp.lab.store.datasets.list()[0]?.id ?? '';
    const all = temp.lab.store.datasets.sampleIds(datasetId);
    const positions = [all.length - 1, 0, 5, 5, 2];
    const answer = await call<SampleIdsAtResult>('datasets.sampleIdsAt', { datasetId, sampleIndices: encodeSampleIndices(positions) });
    assert.deepEqual(
      decodePackedStrings(answer.ids, 'ids'),
      positions.map((p) => all[p]),
    );
    await assert.rejects(
      call('datasets.sampleIdsAt', { datasetId, sampleIndices: encodeSampleIndices([0, all.length]) }),
      new RegExp(`^Error: bad_input: Sample index ${all.length} is outside this dataset's 0\\.\\.${all.length - 1}`),
    );
    await assert.rejects(
      call('datasets.sampleIdsAt', { datasetId, sampleIndices: Buffer.from([1, 2, 3]).toString('base64') }),
      /^Error: bad_input: sampleIndices: 3 bytes are not whole 32-bit values/,
    );
    await assert.rejects(call('datasets.sampleIdsAt', { datasetId: 'ds_nope', sampleIndices: '' }), /^Error: not_found: .*ds_nope/);
  });
});
