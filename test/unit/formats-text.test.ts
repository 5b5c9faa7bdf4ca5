// Text readers: GCT 1.2/1.3 and CSV/TSV matrices and tables written here, including the malformed
// cases that must name the line and column.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { openCsvMatrix, readDelimitedTable } from '../../src-main/node/data/formats/csv.js';
import { FormatError, type FormatErrorCode } from '../../src-main/node/data/formats/errors.js';
import { openGct } from '../../src-main/node/data/formats/gct.js';
import { openExpressionSource } from '../../src-main/node/data/formats/index.js';
import { parseValueCell } from '../../src-main/node/data/formats/textmatrix.js';

let tmp: string;
let counter = 0;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cellshift-text-'));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function file(content: string | Buffer, ext = '.gct'): string {
  const path = join(tmp, `f${counter++}${ext}`);
  writeFileSync(path, content);
  return path;
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: FormatErrorCode,
  where?: { line?: number; column?: number },
): Promise<FormatError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof FormatError, `expected FormatError(${code}), got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (where?.line !== undefined) assert.equal(caught.line, where.line, caught.message);
  if (where?.column !== undefined) assert.equal(caught.column, where.column, caught.message);
  return caught;
}

const nan = Number.NaN;

test('value cells: decimal numbers only; missing and infinite tokens', () => {
  const numbers: [string, number][] = [
    ['1', 1],
    ['-1.5', -1.5],
    ['+2', 2],
    ['.5', 0.5],
    ['5.', 5],
    ['1E-5', 0.00001],
    ['00012', 12],
  ];
  for (const [text, value] of numbers) assert.equal(parseValueCell(text), value, text);
  for (const text of ['', 'NA', 'NaN', 'nan', '#N/A', 'NULL', '-666', '-666.0']) assert.ok(Number.isNaN(parseValueCell(text)), text);
  assert.equal(parseValueCell('Inf'), Number.POSITIVE_INFINITY);
  assert.equal(parseValueCell('-Infinity'), Number.NEGATIVE_INFINITY);
  for (const text of ['0x1f', '0b11', '0o7', '1,5', '1e', 'e5', '--1', '1.2.3', '1_000', 'abc'])
    assert.equal(parseValueCell(text), undefined, text);
});

describe('GCT', () => {
  const gct13 = [
    '#1.3\t\t',
    '3\t4\t2\t2',
    'id\tpr_gene_symbol\tpr_is_lm\tS1\tS2\tS3\tS4',
    'pert_iname\t-666\t-666\tDMSO\tvorinostat\t-666\tDMSO',
    'pert_dose\t-666\t-666\t0\t10\t1.11\t',
    'g1\tPSME1\t1\t1.5\t-2\t3e2\t-666',
    'g2\tCISD1\t0\t\tNA\tInf\t-Inf',
    'g3\t-666\t1\t0.25\t.5\t-0.125\t7',
    '',
  ].join('\r\n');

  test('1.3 with metadata, missing values, Inf, CRLF, BOM and padded header lines', async () => {
    const path = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(gct13)]));
    const reader = await openGct(path);
    assert.equal(reader.version, '1.3');
    assert.deepEqual(reader.geneIds(), ['g1', 'g2', 'g3']);
    assert.deepEqual(reader.sampleIds(), ['S1', 'S2', 'S3', 'S4']);
    assert.deepEqual(Object.fromEntries(reader.geneMetadata()), { pr_gene_symbol: ['PSME1', 'CISD1', null], pr_is_lm: [1, 0, 1] });
    assert.deepEqual(Object.fromEntries(reader.sampleMetadata()), {
      pert_iname: ['DMSO', 'vorinostat', null, 'DMSO'],
      pert_dose: [0, 10, 1.11, null],
    });
    const values = await reader.readSamples([0, 1, 2, 3], null);
    assert.deepEqual(Array.from(values), [
      1.5,
      nan,
      0.25,
      -2,
      nan,
      0.5,
      300,
      Number.POSITIVE_INFINITY,
      -0.125,
      nan,
      Number.NEGATIVE_INFINITY,
      7,
    ]);
    assert.deepEqual(reader.valueStats, {
      missing: 3,
      infinite: 2,
      firstMissing: { line: 6, column: 7 },
      firstInfinite: { line: 7, column: 6 },
    });
  });

  test('reads are the same with the value cache disabled (streaming passes)', async () => {
    const path = file(gct13);
    const cached = await openGct(path);
    const streamed = await openGct(path, { cacheBytes: 0 });
    assert.equal(cached.cached, true);
    assert.equal(streamed.cached, false);
    for (const [samples, genes] of [
      [[3, 0, 0], null],
      [[1], [2, 0]],
      [
        [2, 1],
        [1, 1],
      ],
    ] as [number[], number[] | null][]) {
      assert.deepEqual(Array.from(await streamed.readSamples(samples, genes)), Array.from(await cached.readSamples(samples, genes)));
    }
    for (const reader of [cached, streamed]) {
      const got: number[] = [];
      for await (const batch of reader.iterateSamples([3, 2, 1, 0], [2, 0], { maxBatchBytes: 8, reuseBuffer: true }))
        got.push(...batch.values);
      assert.deepEqual(got, Array.from(await cached.readSamples([3, 2, 1, 0], [2, 0])));
    }
  });

  test('wrong counts: fewer rows than announced, more rows, header columns', async () => {
    const fewer = file('#1.2\n3\t2\nName\tDescription\tA\tB\ng1\td\t1\t2\ng2\td\t3\t4\n');
    const e1 = await rejectsWith(openGct(fewer), 'truncated');
    assert.match(e1.detail, /announces 3 rows but the file has 2/);
    const more = file('#1.2\n1\t2\nName\tDescription\tA\tB\ng1\td\t1\t2\ng2\td\t3\t4\n');
    await rejectsWith(openGct(more), 'shape-mismatch', { line: 5 });
    const cols = file('#1.2\n1\t3\nName\tDescription\tA\tB\ng1\td\t1\t2\n');
    await rejectsWith(openGct(cols), 'shape-mismatch', { line: 3 });
  });

  test('ragged rows, blank lines inside the data', async () => {
    const short = file('#1.2\n2\t3\nName\tDescription\tA\tB\tC\ng1\td\t1\t2\t3\ng2\td\t1\t2\n');
    await rejectsWith(openGct(short), 'ragged-row', { line: 5, column: 5 });
    const long = file('#1.2\n2\t2\nName\tDescription\tA\tB\ng1\td\t1\t2\t9\ng2\td\t1\t2\n');
    await rejectsWith(openGct(long), 'ragged-row', { line: 4, column: 5 });
    const blank = file('#1.2\n2\t2\nName\tDescription\tA\tB\ng1\td\t1\t2\n\ng2\td\t1\t2\n');
    await rejectsWith(openGct(blank), 'ragged-row', { line: 5 });
    const meta13 = file('#1.3\n1\t2\t1\t1\nid\tsym\tA\tB\ndose\t-666\t1\ng1\tX\t1\t2\n');
    await rejectsWith(openGct(meta13), 'ragged-row', { line: 4 });
  });

  test('non-numeric cells name line and column', async () => {
    const path = file('#1.2\n2\t3\nName\tDescription\tA\tB\tC\ng1\td\t1\t2\t3\ng2\td\t1\t2,5\t3\n');
    const error = await rejectsWith(openGct(path), 'non-numeric', { line: 5, column: 4 });
    assert.match(error.message, /line 5, column 4: value "2,5" is not a number/);
    await rejectsWith(openGct(file('#1.2\n1\t1\nName\tDescription\tA\ng1\td\t0x10\n')), 'non-numeric', { line: 4, column: 3 });
  });

  test('duplicate ids', async () => {
    const rows = file('#1.2\n3\t1\nName\tDescription\tA\ng1\td\t1\ng2\td\t1\ng1\td\t1\n');
    const e = await rejectsWith(openGct(rows), 'duplicate-id', { line: 6, column: 1 });
    assert.match(e.detail, /"g1" \(first on line 4\)/);
    const cols = file('#1.2\n1\t3\nName\tDescription\tA\tB\tA\ng1\td\t1\t2\t3\n');
    await rejectsWith(openGct(cols), 'duplicate-id', { line: 3, column: 5 });
  });

  test('empty file, header only, bad version, bad dimensions', async () => {
    await rejectsWith(openGct(file('')), 'empty-file');
    await rejectsWith(openExpressionSource(file('')), 'empty-file');
    await rejectsWith(openGct(file('#1.2\n')), 'truncated');
    await rejectsWith(openGct(file('#1.4\n1\t1\n')), 'bad-header', { line: 1 });
    await rejectsWith(openGct(file('#1.2\n1\tx\nName\tDescription\tA\n')), 'bad-header', { line: 2, column: 2 });
    await rejectsWith(openGct(file('#1.3\n1\t1\nid\tA\n')), 'bad-header', { line: 2, column: 3 });
  });
});

describe('CSV / TSV matrices', () => {
  test('samples in rows (default), quoted ids, inline metadata, auto delimiter', async () => {
    const path = file(
      ['sample,"pert, name",ACTB,GAPDH,TP53', '"s,1","DMSO",1,2,3', 's"2",vorinostat,4,NA,6', '"s ""3""","multi', 'line",7,8,9', ''].join(
        '\n',
      ),
      '.csv',
    );
    const reader = await openCsvMatrix(path, { metaColumns: 1 });
    assert.equal(reader.delimiter, ',');
    assert.deepEqual(reader.sampleIds(), ['s,1', 's"2"', 's "3"']);
    assert.deepEqual(reader.geneIds(), ['ACTB', 'GAPDH', 'TP53']);
    assert.deepEqual(Object.fromEntries(reader.sampleMetadata()), { 'pert, name': ['DMSO', 'vorinostat', 'multi\nline'] });
    assert.deepEqual(Array.from(await reader.readSamples([2, 0], [2, 1])), [9, 8, 3, 2]);
    assert.equal(reader.valueStats.missing, 1);
  });

  test('genes in rows, TSV, joined metadata table', async () => {
    const matrix = file('gene\tS1\tS2\tS3\nG1\t1\t2\t3\nG2\t4\t5\t6\n', '.tsv');
    const meta = file('sig_id\tpert_iname\tpert_idose\nS3\tbortezomib\t-666\nS9\tunused\t1\nS1\tDMSO\t10\n', '.txt');
    const reader = await openCsvMatrix(matrix, { orientation: 'genes-in-rows', metadata: { path: meta, idColumn: 'sig_id' } });
    assert.deepEqual(reader.sampleIds(), ['S1', 'S2', 'S3']);
    assert.deepEqual(reader.geneIds(), ['G1', 'G2']);
    assert.deepEqual(Object.fromEntries(reader.sampleMetadata()), {
      pert_iname: ['DMSO', null, 'bortezomib'],
      pert_idose: [10, null, null],
    });
    assert.deepEqual(reader.join, { matched: 2, samplesWithoutMetadata: 1, exampleMissing: ['S2'], unusedRows: 1 });
    assert.deepEqual(Array.from(await reader.readSamples([2, 0], null)), [3, 6, 1, 4]);
    const streamed = await openCsvMatrix(matrix, { orientation: 'genes-in-rows', cacheBytes: 0 });
    assert.deepEqual(Array.from(await streamed.readSamples([2, 0], [1])), [6, 4]);
  });

  test('openExpressionSource picks CSV or TSV from the content', async () => {
    const tsvNamedCsv = file('id\tG1\tG2\nS1\t1\t2\n', '.csv');
    const source = await openExpressionSource(tsvNamedCsv);
    assert.equal(source.format, 'tsv');
    assert.deepEqual(Array.from(await source.readSamples([0], null)), [1, 2]);
  });

  test('malformed CSV: ragged, non-numeric, duplicates, unclosed quote, no data', async () => {
    await rejectsWith(openCsvMatrix(file('id,A,B\ns1,1\n', '.csv')), 'ragged-row', { line: 2, column: 3 });
    await rejectsWith(openCsvMatrix(file('id,A,B\ns1,1,x1\n', '.csv')), 'non-numeric', { line: 2, column: 3 });
    await rejectsWith(openCsvMatrix(file('id,A,B\ns1,1,2\ns1,3,4\n', '.csv')), 'duplicate-id', { line: 3, column: 1 });
    await rejectsWith(openCsvMatrix(file('id,A,A\ns1,1,2\n', '.csv')), 'duplicate-id', { line: 1, column: 3 });
    await rejectsWith(openCsvMatrix(file('id,A\n"s1,1\n', '.csv')), 'truncated', { line: 2 });
    await rejectsWith(openCsvMatrix(file('id,A\n', '.csv')), 'empty-file');
    await rejectsWith(openCsvMatrix(file('', '.csv'), { delimiter: ',' }), 'empty-file');
  });
});

describe('delimited tables (LINCS sig_info, pert_info, gene_info)', () => {
  const table = 'pr_gene_id\tpr_gene_symbol\tpr_is_lm\n5720\tPSME1\t1\n55847\tCISD1\t0\n7416\tVDAC1\t-666\n';

  test('typed columns, key column, row filter', async () => {
    const path = file(table, '.txt');
    const all = await readDelimitedTable(path);
    assert.equal(all.keyColumn, 'pr_gene_id');
    assert.deepEqual(all.ids, ['5720', '55847', '7416']);
    assert.deepEqual(Object.fromEntries(all.values), { pr_gene_symbol: ['PSME1', 'CISD1', 'VDAC1'], pr_is_lm: [1, 0, null] });
    const some = await readDelimitedTable(path, { keyColumn: 'pr_gene_symbol', keep: (id) => id !== 'CISD1' });
    assert.deepEqual(some.ids, ['PSME1', 'VDAC1']);
    assert.deepEqual(some.lines, [2, 4]);
    assert.deepEqual(Object.fromEntries(some.values), { pr_gene_id: [5720, 7416], pr_is_lm: [1, null] });
  });

  test('errors: unknown key column, duplicate key, ragged row', async () => {
    await rejectsWith(readDelimitedTable(file(table, '.txt'), { keyColumn: 'sig_id' }), 'bad-header', { line: 1 });
    await rejectsWith(readDelimitedTable(file(`${table}5720\tX\t1\n`, '.txt')), 'duplicate-id', { line: 5, column: 1 });
    await rejectsWith(readDelimitedTable(file(`${table}1\t2\n`, '.txt')), 'ragged-row', { line: 5, column: 3 });
  });
});
