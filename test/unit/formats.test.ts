// Format readers on real cmapPy fixtures (GCTX and GCT) and on GCTX files written here, plus the
// specific errors of malformed HDF5 input. Expected values come from h5py when /usr/bin/python3 has
// it (scripts/gen-format-fixtures.py, run live) and otherwise from the committed JSON it produced.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { findDuplicate } from '../../src-main/node/data/formats/common.js';
import { detectFormat, detectFormatDetailed } from '../../src-main/node/data/formats/detect.js';
import { FormatError, type FormatErrorCode } from '../../src-main/node/data/formats/errors.js';
import { openGct } from '../../src-main/node/data/formats/gct.js';
import { type GctxReader, openGctx, openGctxH5wasm, openGctxJs } from '../../src-main/node/data/formats/gctx.js';
import { decodeAsciiRecords } from '../../src-main/node/data/formats/h5js.js';
import { openExpressionSource } from '../../src-main/node/data/formats/index.js';
import type { MetadataTable, MetaValue } from '../../src-main/node/data/formats/types.js';
import { expectedMeta, PYTHON, pythonHas, runPython, writeGctxH5wasm } from '../fixtures/formats/writers.js';
import { CMAPPY_DIR, sharedSkip } from '../fixtures/shared.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'fixtures', 'cmapPy');
const fixture = (name: string) => join(CMAPPY_DIR, name);
const NO_CMAPPY = sharedSkip(CMAPPY_DIR);
const HAS_H5PY = pythonHas(['h5py', 'numpy']);

interface ExpectedFile {
  format: 'gct' | 'gctx';
  version: string;
  rowIds: string[];
  colIds: string[];
  rowMeta: Record<string, MetaValue[]>;
  colMeta: Record<string, MetaValue[]>;
  /** GCT orientation values[row][col], float32-rounded, null = NaN. */
  values: (number | null)[][];
  matrixShape?: [number, number];
  matrixDtype?: string;
}

const committed = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, ExpectedFile>;

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cellshift-formats-'));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function tableObject(table: MetadataTable): Record<string, MetaValue[]> {
  return Object.fromEntries(table);
}

/** Reader values (sample-major) → GCT orientation with null for NaN. */
function gctOrientation(values: Float32Array, nSamples: number, nGenes: number): (number | null)[][] {
  return Array.from({ length: nGenes }, (_, g) =>
    Array.from({ length: nSamples }, (_, s) => {
      const v = values[s * nGenes + g] as number;
      return Number.isNaN(v) ? null : v;
    }),
  );
}

function all(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

async function rejectsWith(promise: Promise<unknown>, code: FormatErrorCode, check?: (e: FormatError) => void): Promise<FormatError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FormatError, `expected FormatError(${code}), got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    check?.(error);
    return error;
  }
  assert.fail(`expected FormatError(${code}), but it resolved`);
}

/** The file read by h5wasm gives what the reader (h5js) gave: ids, metadata, version, every value. */
async function assertSameAsH5wasm(reader: GctxReader): Promise<void> {
  const reference = await openGctxH5wasm(reader.path);
  try {
    assert.equal(reference.engine, 'h5wasm');
    assert.deepEqual(
      [reader.layout, reader.matrixDtype, reader.chunks, reader.version],
      [reference.layout, reference.matrixDtype, reference.chunks, reference.version],
    );
    assert.deepEqual(reader.geneIds(), reference.geneIds());
    assert.deepEqual(reader.sampleIds(), reference.sampleIds());
    assert.deepEqual(tableObject(reader.geneMetadata()), tableObject(reference.geneMetadata()));
    assert.deepEqual(tableObject(reader.sampleMetadata()), tableObject(reference.sampleMetadata()));
    const samples = all(reader.nSamples);
    assert.deepEqual(reader.readColumns(samples, null), reference.readColumns(samples, null));
  } finally {
    reference.close();
  }
}

describe('expected values', () => {
  test('the committed JSON matches what h5py computes now', { skip: NO_CMAPPY || (HAS_H5PY ? false : `${PYTHON} has no h5py`) }, () => {
    const script = join(ROOT, 'scripts', 'gen-format-fixtures.py');
    const live = JSON.parse(execFileSync(PYTHON, [script, '--stdout'], { encoding: 'utf8' })) as Record<string, ExpectedFile>;
    assert.deepEqual(live, committed);
  });
});

describe('detectFormat', { skip: NO_CMAPPY }, () => {
  test('recognises every fixture from its content', async () => {
    assert.equal(await detectFormat(fixture('mini_gctoo_for_testing.gctx')), 'gctx');
    assert.equal(await detectFormat(fixture('mini_gctx_with_metadata_n2x3.gctx')), 'gctx');
    assert.equal(await detectFormat(fixture('mini_gctoo_for_testing.gct')), 'gct');
    assert.equal(await detectFormat(fixture('older_version_v1_2.gct')), 'gct');
    // header lines padded with tabs ("#1.2\t\t\t\t\t\t")
    assert.equal(await detectFormat(fixture('test_v1point2_n5x10.gct')), 'gct');
  });

  test('a .gctx file holding GCT text is GCT, and opens as such', async () => {
    const path = join(tmp, 'actually-text.gctx');
    copyFileSync(fixture('test_v1point2_n5x10.gct'), path);
    assert.equal(await detectFormat(path), 'gct');
    const source = await openExpressionSource(path);
    assert.equal(source.format, 'gct');
    assert.equal(source.nGenes, 10);
    assert.equal(source.nSamples, 5);
  });

  test('csv, tsv, empty, binary junk', async () => {
    const csv = join(tmp, 'm.csv');
    writeFileSync(csv, 'id,g1,g2\ns1,1,2\n');
    const tsv = join(tmp, 'm.txt');
    writeFileSync(tsv, 'id\tg1\tg2\ns1\t1\t2\n');
    const empty = join(tmp, 'empty.gct');
    writeFileSync(empty, '');
    const junk = join(tmp, 'junk.bin');
    writeFileSync(junk, Buffer.from([0, 1, 2, 3, 0, 0, 9]));
    assert.equal(await detectFormat(csv), 'csv');
    assert.equal(await detectFormat(tsv), 'tsv');
    assert.equal(await detectFormat(empty), 'unknown');
    assert.equal(await detectFormat(junk), 'unknown');
  });

  test('an HDF5 file behind a 512-byte user block is found', { skip: HAS_H5PY ? false : 'needs h5py' }, async () => {
    const path = join(tmp, 'userblock.gctx');
    runPython(
      `import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'w', userblock_size=512)
f.create_dataset('/0/DATA/0/matrix', data=np.arange(6, dtype='<f4').reshape(2, 3))
f.create_dataset('/0/META/ROW/id', data=np.array([b'g1', b'g2', b'g3']))
f.create_dataset('/0/META/COL/id', data=np.array([b's1', b's2']))
f.close()`,
      [path],
    );
    const detail = await detectFormatDetailed(path);
    assert.deepEqual([detail.format, detail.hdf5Offset], ['gctx', 512]);
    const reader = await openGctx(path);
    assert.equal(reader.engine, 'h5js');
    assert.deepEqual(Array.from(reader.readColumns([1], null)), [3, 4, 5]);
    reader.close();
  });
});

describe('GCTX on the cmapPy fixtures', { skip: NO_CMAPPY }, () => {
  for (const name of ['mini_gctoo_for_testing.gctx', 'mini_gctx_with_metadata_n2x3.gctx']) {
    test(`${name}: ids, metadata, values and orientation`, async () => {
      const expected = committed[name] as ExpectedFile;
      const reader = await openGctx(fixture(name));
      try {
        assert.equal(reader.engine, 'h5js');
        assert.equal(reader.layout, 'samples-first');
        assert.equal(reader.version, expected.version);
        assert.equal(reader.matrixDtype, '<d');
        assert.deepEqual(reader.geneIds(), expected.rowIds);
        assert.deepEqual(reader.sampleIds(), expected.colIds);
        assert.deepEqual(tableObject(reader.geneMetadata()), expected.rowMeta);
        assert.deepEqual(tableObject(reader.sampleMetadata()), expected.colMeta);
        // HDF5 shape is [n_cols, n_rows] of the GCT
        assert.deepEqual(expected.matrixShape, [reader.nSamples, reader.nGenes]);
        const values = reader.readColumns(all(reader.nSamples), null);
        assert.deepEqual(gctOrientation(values, reader.nSamples, reader.nGenes), expected.values);
      } finally {
        reader.close();
      }
    });
  }

  test('metadata types follow the HDF5 types: A<n> text, <q ints, <d floats, -666 → null', async () => {
    const reader = await openGctx(fixture('mini_gctx_with_metadata_n2x3.gctx'));
    const meta = reader.geneMetadata();
    assert.deepEqual(meta.get('pr_analyte_id'), ['Analyte 11', 'Analyte 12', 'Analyte 12']);
    assert.deepEqual(meta.get('pr_gene_id'), [5720, 55847, 7416]);
    assert.deepEqual(meta.get('pr_model_id'), [null, null, null]);
    reader.close();
    const mini = await openGctx(fixture('mini_gctoo_for_testing.gctx'));
    assert.deepEqual(mini.sampleMetadata().get('distil_nsample'), [3, 3, 66, 2, 9, 111111]);
    assert.deepEqual(mini.sampleMetadata().get('mfc_plate_id'), [null, null, null, null, null, null]);
    mini.close();
  });

  test('the GCTX and the GCT of the same cmapPy data agree', async () => {
    const gctx = await openGctx(fixture('mini_gctoo_for_testing.gctx'));
    const gct = await openGct(fixture('mini_gctoo_for_testing.gct'));
    assert.deepEqual(gct.geneIds(), gctx.geneIds());
    assert.deepEqual(gct.sampleIds(), gctx.sampleIds());
    assert.deepEqual(tableObject(gct.geneMetadata()), tableObject(gctx.geneMetadata()));
    assert.deepEqual(tableObject(gct.sampleMetadata()), tableObject(gctx.sampleMetadata()));
    const samples = all(gctx.nSamples);
    assert.deepEqual(Array.from(await gct.readSamples(samples, null)), Array.from(gctx.readColumns(samples, null)));
    gctx.close();
  });
});

describe('GCT on the cmapPy fixtures', { skip: NO_CMAPPY }, () => {
  for (const name of ['mini_gctoo_for_testing.gct', 'older_version_v1_2.gct', 'test_v1point2_n5x10.gct']) {
    test(`${name}: header, ids, metadata, values`, async () => {
      const expected = committed[name] as ExpectedFile;
      const reader = await openGct(fixture(name));
      assert.equal(reader.version, expected.version);
      assert.deepEqual(reader.geneIds(), expected.rowIds);
      assert.deepEqual(reader.sampleIds(), expected.colIds);
      assert.deepEqual(tableObject(reader.geneMetadata()), expected.rowMeta);
      assert.deepEqual(tableObject(reader.sampleMetadata()), expected.colMeta);
      const values = await reader.readColumns(all(reader.nSamples), null);
      assert.deepEqual(gctOrientation(values, reader.nSamples, reader.nGenes), expected.values);
      assert.equal(reader.valueStats.missing, 0);
      // the streaming row iterator gives the same numbers
      let rows = 0;
      for await (const row of reader.rows()) {
        assert.equal(row.id, expected.rowIds[row.index]);
        assert.deepEqual(
          Array.from(row.values),
          (expected.values[row.index] as (number | null)[]).map((v) => v ?? Number.NaN),
        );
        rows++;
      }
      assert.equal(rows, expected.rowIds.length);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// GCTX written here

function syntheticMatrix(nSamples: number, nGenes: number): Float32Array {
  const values = new Float32Array(nSamples * nGenes);
  for (let s = 0; s < nSamples; s++)
    for (let g = 0; g < nGenes; g++) values[s * nGenes + g] = Math.fround(s * 1000 + g + Math.sin(s + g) / 7);
  return values;
}

function brute(values: Float32Array, nGenes: number, samples: number[], genes: number[] | null): number[] {
  const gs = genes ?? all(nGenes);
  return samples.flatMap((s) => gs.map((g) => values[s * nGenes + g] as number));
}

describe('findDuplicate', () => {
  test('short and long id lists (a hash table from 65,536 ids on): the first repeat, by position', () => {
    for (const n of [1000, 70_000]) {
      const ids = all(n).map((i) => `CPC006_A375_6H:BRD-K${i}:10`);
      assert.equal(findDuplicate(ids), null, `${n} distinct`);
      ids[n - 3] = ids[17] as string;
      ids[n - 1] = ids[5] as string;
      assert.deepEqual(findDuplicate(ids), [17, n - 3], `${n} with repeats`);
    }
  });
});

describe('GCTX round trip (h5wasm writer)', () => {
  const nS = 37;
  const nG = 23;
  const values = syntheticMatrix(nS, nG);
  const rowIds = all(nG).map((g) => `gene_${g}`);
  const colIds = all(nS).map((s) => `CPC${String(s).padStart(3, '0')}_A375_6H:BRD-K${s}:10`);
  const rowMeta = {
    pr_gene_symbol: { kind: 'text' as const, values: rowIds.map((id, g) => (g % 5 === 0 ? null : id.toUpperCase())) },
    pr_is_lm: { kind: 'int' as const, values: rowIds.map((_, g) => (g % 7 === 0 ? null : g % 2)) },
  };
  const colMeta = {
    pert_iname: { kind: 'text' as const, values: colIds.map((_, s) => (s % 9 === 0 ? null : `drug-${s % 4}`)) },
    pert_idose: { kind: 'float' as const, values: colIds.map((_, s) => (s % 6 === 0 ? null : s / 4)) },
    distil_nsample: { kind: 'int' as const, values: colIds.map((_, s) => s) },
  };
  const variants = [
    { label: 'contiguous', file: 'contig.gctx', spec: {} },
    { label: 'chunked [5, 23] + gzip', file: 'chunked.gctx', spec: { chunks: [5, nG] as [number, number], gzip: true } },
    { label: 'chunked [4, 8]', file: 'tiles.gctx', spec: { chunks: [4, 8] as [number, number] } },
    { label: 'genes-first layout', file: 'transposed.gctx', spec: { layout: 'genes-first' as const } },
    { label: 'variable-length string ids and metadata', file: 'vlen.gctx', spec: { strings: 'vlen' as const } },
    { label: 'space-padded fixed-length strings', file: 'spacepad.gctx', spec: { strings: 'spacepad' as const } },
  ];
  for (const variant of variants) {
    test(`${variant.label}: ids, typed metadata and every selection read back exactly`, async () => {
      const path = join(tmp, variant.file);
      await writeGctxH5wasm(path, { rowIds, colIds, values, rowMeta, colMeta, ...variant.spec });
      // a tiny slice budget forces many spans
      const reader = await openGctx(path, { maxSliceBytes: 3 * nG * 4, maxGapBytes: nG * 4 });
      try {
        // h5wasm writes superblock v2, v2 object headers and link-message groups: all h5js's
        assert.equal(reader.engine, 'h5js');
        await assertSameAsH5wasm(reader);
        assert.equal(reader.layout, variant.spec.layout ?? 'samples-first');
        assert.deepEqual(reader.geneIds(), rowIds);
        assert.deepEqual(reader.sampleIds(), colIds);
        assert.deepEqual(tableObject(reader.geneMetadata()), expectedMeta(rowMeta));
        assert.deepEqual(tableObject(reader.sampleMetadata()), expectedMeta(colMeta));
        const selections: [number[], number[] | null][] = [
          [all(nS), null],
          [[36, 0, 5, 5, 17, 2, 3, 4, 30], null],
          [
            [1, 2, 3],
            [0, 1, 2, 3],
          ],
          [
            [20, 8, 9, 10],
            [22, 0, 11, 11, 3],
          ],
          [[12], [7]],
          [[], null],
          [[4, 5], []],
        ];
        for (const [samples, genes] of selections) {
          assert.deepEqual(
            Array.from(reader.readColumns(samples, genes)),
            brute(values, nG, samples, genes),
            `samples ${samples} genes ${genes}`,
          );
          assert.deepEqual(Array.from(await reader.readSamples(samples, genes)), brute(values, nG, samples, genes));
        }
        const seen: number[] = [];
        for await (const batch of reader.iterateSamples(all(nS).reverse(), [1, 2], { maxBatchBytes: 7 * 2 * 4 })) {
          assert.ok(batch.end - batch.start <= 7);
          seen.push(...batch.values);
        }
        assert.deepEqual(seen, brute(values, nG, all(nS).reverse(), [1, 2]));
        // one reused buffer: every batch is a view of the same memory
        const buffers = new Set<ArrayBufferLike>();
        const reused: number[] = [];
        for await (const batch of reader.iterateSamples(all(nS), null, { maxBatchBytes: 5 * nG * 4, reuseBuffer: true })) {
          buffers.add(batch.values.buffer);
          reused.push(...batch.values);
        }
        assert.equal(buffers.size, 1);
        assert.deepEqual(reused, brute(values, nG, all(nS), null));
        const into = new Float32Array(100).fill(-1);
        const view = await reader.readSamples([2, 1], [0, 3], { into });
        assert.equal(view.buffer, into.buffer);
        assert.deepEqual(Array.from(into.subarray(0, 5)), [...brute(values, nG, [2, 1], [0, 3]), -1]);
        await assert.rejects(reader.readSamples([1, 2, 3], null, { into: new Float32Array(3) }), RangeError);
      } finally {
        reader.close();
      }
    });
  }

  test('spans: sorted runs become one slice each; scattered reads stay bounded', async () => {
    const path = join(tmp, 'spans.gctx');
    await writeGctxH5wasm(path, { rowIds, colIds, values });
    const reader = await openGctx(path, { maxGapBytes: 0 });
    reader.readColumns([3, 4, 5, 6, 10, 11, 12, 30], null);
    assert.equal(reader.stats.slices, 3);
    reader.close();
    const chunked = join(tmp, 'spans-chunked.gctx');
    await writeGctxH5wasm(chunked, { rowIds, colIds, values, chunks: [10, nG] });
    const r2 = await openGctx(chunked, { maxGapBytes: 0 });
    // 0 and 9 share a chunk (one slice), 15 is in the next chunk after a gap, 35 in another
    r2.readColumns([0, 9, 15, 35], null);
    assert.equal(r2.stats.slices, 3);
    // 9 and 10 are adjacent, so a span may cross a chunk boundary: 0..19 is one slice
    r2.readColumns([0, 9, 10, 19, 35], null);
    assert.equal(r2.stats.slices, 5);
    r2.close();
  });

  test('a damaged chunk B-tree leaf is refused by h5js (read through a DataView, bounds checked per node)', async () => {
    const path = join(tmp, 'btree.gctx');
    await writeGctxH5wasm(path, { rowIds, colIds, values, chunks: [10, nG] });
    const bytes = readFileSync(path);
    // The matrix's chunk B-tree leaf: "TREE", node type 1 (raw data chunks), level 0.
    let leaf = -1;
    for (let at = bytes.indexOf('TREE'); at >= 0 && leaf < 0; at = bytes.indexOf('TREE', at + 1)) {
      if (bytes[at + 4] === 1 && bytes[at + 5] === 0) leaf = at;
    }
    assert.ok(leaf >= 0, 'the chunk B-tree leaf');
    const intact = await openGctxJs(path);
    assert.equal(intact?.engine, 'h5js');
    intact?.close();
    // The first chunk's sample offset off its chunk grid (24-byte node header, then size and filter mask).
    const unaligned = Buffer.from(bytes);
    unaligned.writeUInt32LE(1, leaf + 24 + 8);
    writeFileSync(path, unaligned);
    assert.equal(await openGctxJs(path), null);
    // More entries than the node holds before the end of the file.
    const overrun = Buffer.from(bytes);
    overrun.writeUInt16LE(0xffff, leaf + 6);
    writeFileSync(path, overrun);
    assert.equal(await openGctxJs(path), null);
  });

  test('bad indices are rejected, and an aborted read stops', async () => {
    const path = join(tmp, 'contig.gctx');
    const reader = await openGctx(path);
    assert.throws(
      () => reader.readColumns([nS], null),
      (e: unknown) => e instanceof FormatError && e.code === 'bad-index',
    );
    assert.throws(
      () => reader.readColumns([0], [-1]),
      (e: unknown) => e instanceof FormatError && e.code === 'bad-index',
    );
    assert.throws(
      () => reader.readColumns([0.5], null),
      (e: unknown) => e instanceof FormatError && e.code === 'bad-index',
    );
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(reader.readSamples([0, 1], null, { signal: controller.signal }), /stop/);
    reader.close();
  });
});

describe('GCTX written by h5py (cmapPy conventions)', { skip: HAS_H5PY ? false : `${PYTHON} has no h5py` }, () => {
  test('float32 matrix, |S ids, int64/float64 metadata, version attribute', async () => {
    const path = join(tmp, 'h5py.gctx');
    const json = runPython(
      `import h5py, numpy as np, json, sys
rng = np.random.default_rng(7)
n_genes, n_samples = 31, 45
m = rng.normal(size=(n_samples, n_genes)).astype('<f4')
m[3, 4] = np.nan
rid = np.array([('%d_at' % (200000 + g)).encode() for g in range(n_genes)])
cid = np.array([('LJP%03d_MCF7_24H:X%d' % (s, s)).encode() for s in range(n_samples)])
f = h5py.File(sys.argv[1], 'w')
f.attrs['version'] = np.string_('GCTX1.0')
f.create_dataset('/0/DATA/0/matrix', data=m, chunks=(9, n_genes), compression='gzip')
f.create_dataset('/0/META/ROW/id', data=rid)
f.create_dataset('/0/META/COL/id', data=cid)
f.create_dataset('/0/META/ROW/pr_gene_id', data=np.arange(n_genes, dtype='<i8') * 10 - 666 * (np.arange(n_genes) % 4 == 0))
f.create_dataset('/0/META/COL/pert_dose', data=np.where(np.arange(n_samples) % 5 == 0, -666.0, np.arange(n_samples) / 3.0))
f.create_dataset('/0/META/COL/cell_id', data=np.array([b'MCF7' if s % 2 else b'-666' for s in range(n_samples)]))
f.close()
g = h5py.File(sys.argv[1], 'r')
d = g['/0/DATA/0/matrix']
print(json.dumps({'shape': list(d.shape), 'dtype': d.dtype.str,
  'values': [None if np.isnan(v) else float(v) for v in d[()].ravel()],
  'rid': [x.decode() for x in g['/0/META/ROW/id'][()]], 'cid': [x.decode() for x in g['/0/META/COL/id'][()]],
  'gene_id': [None if v == -666 else int(v) for v in g['/0/META/ROW/pr_gene_id'][()]],
  'dose': [None if v == -666 else float(v) for v in g['/0/META/COL/pert_dose'][()]],
  'cell': [None if v == b'-666' else v.decode() for v in g['/0/META/COL/cell_id'][()]]}))`,
      [path],
    );
    const exp = JSON.parse(json) as {
      shape: [number, number];
      dtype: string;
      values: (number | null)[];
      rid: string[];
      cid: string[];
      gene_id: (number | null)[];
      dose: (number | null)[];
      cell: (string | null)[];
    };
    const reader: GctxReader = await openGctx(path);
    try {
      assert.equal(reader.engine, 'h5js');
      await assertSameAsH5wasm(reader);
      assert.deepEqual([reader.nSamples, reader.nGenes], exp.shape);
      assert.equal(reader.matrixDtype, exp.dtype.replace('f4', 'f')); // h5wasm spells float32 "<f"
      assert.deepEqual(reader.chunks, [9, 31]);
      assert.equal(reader.version, 'GCTX1.0');
      assert.deepEqual(reader.geneIds(), exp.rid);
      assert.deepEqual(reader.sampleIds(), exp.cid);
      assert.deepEqual(reader.geneMetadata().get('pr_gene_id'), exp.gene_id);
      assert.deepEqual(reader.sampleMetadata().get('pert_dose'), exp.dose);
      assert.deepEqual(reader.sampleMetadata().get('cell_id'), exp.cell);
      const got = Array.from(reader.readColumns(all(reader.nSamples), null), (v) => (Number.isNaN(v) ? null : v));
      assert.deepEqual(got, exp.values);
    } finally {
      reader.close();
    }
  });
});

describe('GCTX: which library reads what', { skip: HAS_H5PY ? false : `${PYTHON} has no h5py` }, () => {
  const files = { shuffle: '', latest: '', denseLinks: '' };
  before(() => {
    files.shuffle = join(tmp, 'shuffle.gctx');
    files.latest = join(tmp, 'latest.gctx');
    files.denseLinks = join(tmp, 'dense-links.gctx');
    // shuffle + gzip (h5js); libver='latest' (v4 chunk index) and, with 12 columns, dense link storage (h5wasm)
    runPython(
      `import h5py, numpy as np, sys
m = (np.arange(40 * 7, dtype='<f4').reshape(40, 7) / 8).astype('<f4')
for path, libver, columns, filters in [(sys.argv[1], 'earliest', 1, dict(shuffle=True, compression='gzip')),
                                       (sys.argv[2], 'latest', 1, dict(maxshape=(None, 7))),
                                       (sys.argv[3], 'latest', 12, {})]:
    f = h5py.File(path, 'w', libver=libver)
    f.create_dataset('/0/DATA/0/matrix', data=m, chunks=(6, 7), **filters)
    f.create_dataset('/0/META/ROW/id', data=np.array([('g%d' % g).encode() for g in range(7)]))
    f.create_dataset('/0/META/COL/id', data=np.array([('s%d' % s).encode() for s in range(40)]))
    for k in range(columns):
        f.create_dataset('/0/META/COL/col%d' % k, data=np.arange(40, dtype='<i8') * k)
    f.close()`,
      [files.shuffle, files.latest, files.denseLinks],
    );
  });
  const expected = Array.from({ length: 40 * 7 }, (_, i) => Math.fround(i / 8));

  test('shuffle + gzip chunks are read by h5js', async () => {
    const reader = await openGctx(files.shuffle);
    assert.equal(reader.engine, 'h5js');
    assert.deepEqual(Array.from(reader.readColumns(all(40), null)), expected);
    await assertSameAsH5wasm(reader);
    reader.close();
  });

  test("libver='latest' (v4 chunk index) and dense link storage fall back to h5wasm with the same result", async () => {
    for (const path of [files.latest, files.denseLinks]) {
      const reader = await openGctx(path);
      assert.equal(reader.engine, 'h5wasm', path);
      assert.deepEqual(Array.from(reader.readColumns(all(40), null)), expected);
      assert.equal(await detectFormat(path), 'gctx');
      reader.close();
    }
  });

  test('a chunk whose deflate stream is damaged is a specific error from h5js', async () => {
    const path = join(tmp, 'damaged-chunk.gctx');
    const bytes = readFileSync(files.shuffle);
    // The chunks are zlib streams (0x78, then a level byte); damage the middle of the last one.
    let at = -1;
    for (let i = bytes.length - 2; i > 0 && at < 0; i--) if (bytes[i] === 0x78 && bytes.readUInt16BE(i) % 31 === 0) at = i;
    assert.ok(at > 0, 'no zlib stream found');
    for (let i = at + 4; i < Math.min(bytes.length, at + 24); i++) bytes[i] = 0xff;
    writeFileSync(path, bytes);
    const damaged = await openGctx(path);
    assert.equal(damaged.engine, 'h5js');
    assert.throws(
      () => damaged.readColumns(all(40), null),
      (e: unknown) => e instanceof FormatError && e.code === 'corrupt' && e.where === '/0/DATA/0/matrix' && /decompress/.test(e.detail),
    );
    damaged.close();
  });
});

describe('GCTX with wide rows', { skip: HAS_H5PY ? false : `${PYTHON} has no h5py` }, () => {
  test('a narrow gene window is read row by row (contiguous) or compacted in the output (chunked), same values', async () => {
    // 4,500 genes = 18 kB per row: a 100-gene window skips more than 16 kB a row (per-row reads);
    // the chunked twin keeps rows in 7 × 1000 chunks (read into the output and compacted there).
    const nS = 11;
    const nG = 4500;
    const expected = (s: number, g: number) => Math.fround((s * nG + g) / 16);
    const contiguous = join(tmp, 'wide-contig.gctx');
    const chunked = join(tmp, 'wide-chunked.gctx');
    runPython(
      `import h5py, numpy as np, sys
m = (np.arange(${nS} * ${nG}, dtype='<f4').reshape(${nS}, ${nG}) / 16).astype('<f4')
for path, chunks in [(sys.argv[1], None), (sys.argv[2], (7, 1000))]:
    f = h5py.File(path, 'w')
    f.create_dataset('/0/DATA/0/matrix', data=m, chunks=chunks)
    f.create_dataset('/0/META/ROW/id', data=np.array([('g%d' % g).encode() for g in range(${nG})]))
    f.create_dataset('/0/META/COL/id', data=np.array([('s%d' % s).encode() for s in range(${nS})]))
    f.close()`,
      [contiguous, chunked],
    );
    for (const path of [contiguous, chunked]) {
      const reader = await openGctx(path);
      try {
        assert.equal(reader.engine, 'h5js');
        // 4,500 distinct ids: past the 2,048 looked at before deciding not to intern them
        assert.deepEqual(
          reader.geneIds(),
          all(nG).map((g) => `g${g}`),
        );
        const window = all(100).map((g) => 950 + g);
        for (const [samples, genes] of [
          [all(nS), window],
          [
            [10, 3, 4, 5],
            [4499, 0, 2000],
          ],
          [[6, 7], null],
        ] as [number[], number[] | null][]) {
          const want = samples.flatMap((s) => (genes ?? all(nG)).map((g) => expected(s, g)));
          assert.deepEqual(Array.from(reader.readColumns(samples, genes)), want, `${path} ${samples}`);
          const batches: number[] = [];
          for await (const batch of reader.iterateSamples(samples, genes, {
            maxBatchBytes: 3 * (genes?.length ?? nG) * 4,
            reuseBuffer: true,
          }))
            batches.push(...batch.values);
          assert.deepEqual(batches, want, `${path} ${samples} in batches`);
        }
      } finally {
        reader.close();
      }
    }
  });
});

describe('GCTX: matrix reads half on the thread pool', { skip: HAS_H5PY ? false : `${PYTHON} has no h5py` }, () => {
  // 300 samples × 1,200 genes: chunks of 64 × 1,000 (a 978-gene window inside the first chunk
  // column, rows 4,000 bytes apart), chunks of 64 whole rows, and contiguous rows (gaps of 888
  // bytes). poolReadMinBytes 0 sends every direct hyperslab through planRows2d and readVectors.
  const nS = 300;
  const nG = 1200;
  const expected = (s: number, g: number) => Math.fround((s * nG + g) / 16);
  const layouts = { narrow: '(64, 1000)', whole: '(64, 1200)', contiguous: 'None' };
  const paths: Record<string, string> = {};
  before(() => {
    for (const name of Object.keys(layouts)) paths[name] = join(tmp, `pool-${name}.gctx`);
    runPython(
      `import h5py, numpy as np, sys
m = (np.arange(${nS} * ${nG}, dtype='<f4').reshape(${nS}, ${nG}) / 16).astype('<f4')
for path, chunks in zip(sys.argv[1:], [${Object.values(layouts).join(', ')}]):
    f = h5py.File(path, 'w')
    f.create_dataset('/0/DATA/0/matrix', data=m, chunks=chunks)
    f.create_dataset('/0/META/ROW/id', data=np.array([('g%d' % g).encode() for g in range(${nG})]))
    f.create_dataset('/0/META/COL/id', data=np.array([('s%d' % s).encode() for s in range(${nS})]))
    f.close()`,
      Object.values(paths),
    );
  });

  test('every batch holds its own samples, in order, on every layout', async () => {
    const landmarks = all(978);
    const shuffled = all(nS).map((s) => (s * 7) % nS); // 7 is prime to 300: a permutation
    for (const [name, path] of Object.entries(paths)) {
      const reader = await openGctx(path as string, { poolReadMinBytes: 0 });
      try {
        assert.equal(reader.engine, 'h5js');
        for (const [samples, genes, perBatch] of [
          [all(nS), landmarks, 150],
          [all(nS), landmarks, 7],
          [shuffled, landmarks, 40],
          [all(nS), null, 100],
        ] as [number[], number[] | null, number][]) {
          const width = genes?.length ?? nG;
          const seen: number[] = [];
          for await (const batch of reader.iterateSamples(samples, genes, { maxBatchBytes: perBatch * width * 4, reuseBuffer: true })) {
            for (let i = 0; i < batch.values.length; i += width)
              seen.push(batch.values[i] as number, batch.values[i + width - 1] as number);
          }
          const want = samples.flatMap((s) => [expected(s, genes ? 0 : 0), expected(s, (genes?.length ?? nG) - 1)]);
          assert.deepEqual(seen, want, `${name}: batches of ${perBatch}, ${genes ? 'landmarks' : 'all genes'}`);
        }
      } finally {
        reader.close();
      }
    }
  });

  test('a file cut short after opening fails the read that meets its end, as truncated, after every part settles', async () => {
    const path = join(tmp, 'pool-cut.gctx');
    copyFileSync(paths.narrow as string, path);
    const reader = await openGctx(path, { poolReadMinBytes: 0 });
    try {
      // The last chunks written hold samples 256–299: cut into them.
      truncateSync(path, readFileSync(path).length - 400_000);
      const starts: number[] = [];
      await rejectsWith(
        (async () => {
          for await (const batch of reader.iterateSamples(all(nS), all(978), { maxBatchBytes: 64 * 978 * 4 })) starts.push(batch.start);
        })(),
        'truncated',
        (e) => assert.equal(e.where, '/0/DATA/0/matrix'),
      );
      assert.ok(starts.length < nS / 64, 'the cut part was never read');
      assert.deepEqual(
        starts,
        all(starts.length).map((b) => b * 64),
      );
    } finally {
      reader.close();
    }
  });
});

describe('fixed-length ASCII ids and metadata decoded by their bytes', () => {
  test('values cut at the first NUL, repeats sharing one string, the first duplicate by position', () => {
    const size = 6;
    const records = ['ab', 'abcdef', '', 'ab', 'x\0y', 'abcdef', 'zz', 'ab'];
    const bytes = Buffer.alloc(records.length * size);
    records.forEach((r, i) => {
      bytes.write(r, i * size, 'latin1');
    });
    const want = records.map((r) => r.split('\0')[0]);
    const repeats = decodeAsciiRecords(bytes, records.length, size, false);
    assert.deepEqual(repeats.values, want);
    assert.equal(repeats.duplicate, null);
    const unique = decodeAsciiRecords(bytes, records.length, size, true);
    assert.deepEqual(unique.values, want);
    assert.deepEqual(unique.duplicate, [0, 3]);
    // Many records: the same answers as the string-based check, past the interning probe.
    const n = 5000;
    const many = Buffer.alloc(n * 8);
    for (let i = 0; i < n; i++) many.write(`k${(i * 7919) % 4999}`, i * 8, 'latin1');
    const decoded = decodeAsciiRecords(many, n, 8, true);
    assert.deepEqual(
      decoded.values,
      all(n).map((i) => `k${(i * 7919) % 4999}`),
    );
    assert.deepEqual(decoded.duplicate, findDuplicate(decoded.values));
    assert.deepEqual(decodeAsciiRecords(many, n, 8, false).values, decoded.values);
    // Repeating columns of 65,536 records and more are interned by their bytes, smaller ones by their strings: the same values.
    const large = 70_000;
    const column = Buffer.alloc(large * 8);
    for (let i = 0; i < large; i++) column.write(i % 11 === 0 ? `v${i}` : `c${i % 13}`, i * 8, 'latin1');
    const want70k = all(large).map((i) => (i % 11 === 0 ? `v${i}` : `c${i % 13}`));
    assert.deepEqual(decodeAsciiRecords(column, large, 8, false).values, want70k);
    assert.deepEqual(decodeAsciiRecords(column, 60_000, 8, false).values, want70k.slice(0, 60_000));
  });
});

describe('GCTX: compressed chunks decoded ahead on the thread pool', { skip: HAS_H5PY ? false : `${PYTHON} has no h5py` }, () => {
  // 60 samples × 9 genes in 4 × 4 chunks (15 chunk rows, 3 chunk columns), shuffle + gzip: an
  // iteration decodes the chunks of the next batches while it copies out the current one.
  const nS = 60;
  const nG = 9;
  const expected = (s: number, g: number) => Math.fround((s * nG + g) / 16);
  let path = '';
  before(() => {
    path = join(tmp, 'read-ahead.gctx');
    runPython(
      `import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'w')
f.create_dataset('/0/DATA/0/matrix', data=(np.arange(${nS} * ${nG}, dtype='<f4').reshape(${nS}, ${nG}) / 16).astype('<f4'), chunks=(4, 4), shuffle=True, compression='gzip')
f.create_dataset('/0/META/ROW/id', data=np.array([('g%d' % g).encode() for g in range(${nG})]))
f.create_dataset('/0/META/COL/id', data=np.array([('s%d' % s).encode() for s in range(${nS})]))
f.close()`,
      [path],
    );
  });

  test('every batch holds its own samples, whatever the order, batch size and genes', async () => {
    const reader = await openGctx(path);
    try {
      assert.equal(reader.engine, 'h5js');
      const shuffled = all(nS).map((s) => (s * 37) % nS); // 37 is prime to 60: a permutation
      const cases: [number[], number[] | null, number][] = [
        [all(nS), null, 1],
        [all(nS), [5, 6, 7], 3],
        [shuffled, [8, 0, 4], 7],
        [all(nS).reverse(), [1, 2], 16],
      ];
      for (const [samples, genes, perBatch] of cases) {
        const width = genes?.length ?? nG;
        const seen: number[] = [];
        for await (const batch of reader.iterateSamples(samples, genes, { maxBatchBytes: perBatch * width * 4, reuseBuffer: true })) {
          seen.push(...batch.values);
        }
        const want = samples.flatMap((s) => (genes ?? all(nG)).map((g) => expected(s, g)));
        assert.deepEqual(seen, want, `batches of ${perBatch}, genes ${genes}`);
      }
    } finally {
      reader.close();
    }
  });

  test('a chunk that does not decompress fails the batch that needs it, not the ones before', async () => {
    const bytes = readFileSync(path);
    // Chunks are written in order: the last zlib stream in the file is sample rows 56–59's.
    let at = -1;
    for (let i = bytes.length - 2; i > 0 && at < 0; i--) if (bytes[i] === 0x78 && bytes.readUInt16BE(i) % 31 === 0) at = i;
    assert.ok(at > 0, 'no zlib stream found');
    for (let i = at + 4; i < Math.min(bytes.length, at + 24); i++) bytes[i] = 0xff;
    const damagedPath = join(tmp, 'read-ahead-damaged.gctx');
    writeFileSync(damagedPath, bytes);
    const reader = await openGctx(damagedPath);
    try {
      assert.equal(reader.engine, 'h5js');
      const good: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const batch of reader.iterateSamples(all(nS), null, { maxBatchBytes: 4 * nG * 4 })) good.push(batch.start);
        })(),
        (e: unknown) => e instanceof FormatError && e.code === 'corrupt' && e.where === '/0/DATA/0/matrix' && /decompress/.test(e.detail),
      );
      // Which chunk was damaged depends on the writer's order; every batch before it arrived, in order.
      assert.deepEqual(
        good,
        all(good.length).map((b) => b * 4),
      );
      assert.ok(good.length < nS / 4, 'the damaged chunk was never read');
      // The reader still reads what is sound.
      assert.deepEqual(Array.from(reader.readColumns([0, 1], [0])), [expected(0, 0), expected(1, 0)]);
    } finally {
      reader.close();
    }
  });
});

describe('GCTX strings as other writers store them', { skip: HAS_H5PY ? false : `${PYTHON} has no h5py` }, () => {
  test('space-padded fixed-length ids (MATLAB-style) and variable-length UTF-8 ids', async () => {
    const path = join(tmp, 'strings.gctx');
    runPython(
      `import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'w')
f.create_dataset('/0/DATA/0/matrix', data=np.arange(6, dtype='<f4').reshape(2, 3))
t = h5py.h5t.C_S1.copy(); t.set_size(6); t.set_strpad(h5py.h5t.STR_SPACEPAD)
sid = h5py.h5s.create_simple((3,))
f.create_group('/0/META/ROW')
ds = h5py.h5d.create(f['/0/META/ROW'].id, b'id', t, sid)
ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([b'g1    ', b'gene2 ', b'g3    '], dtype='S6'))
f.create_dataset('/0/META/COL/id', data=['s\u00e9', 'zwei'], dtype=h5py.string_dtype())
f.close()`,
      [path],
    );
    const reader = await openGctx(path);
    assert.equal(reader.engine, 'h5js');
    assert.deepEqual(reader.geneIds(), ['g1', 'gene2', 'g3']);
    assert.deepEqual(reader.sampleIds(), ['sé', 'zwei']);
    assert.deepEqual(Array.from(reader.readColumns([1], [2])), [5]);
    reader.close();
  });
});

// ---------------------------------------------------------------------------------------------
// malformed HDF5

describe('malformed GCTX input gets a specific error', { skip: NO_CMAPPY }, () => {
  const base = fixture('mini_gctx_with_metadata_n2x3.gctx');

  test('truncated HDF5', async () => {
    const path = join(tmp, 'truncated.gctx');
    copyFileSync(base, path);
    truncateSync(path, 20000);
    const error = await rejectsWith(openGctx(path), 'truncated');
    assert.equal(error.file, path);
    assert.equal(error.where, 'superblock');
    assert.match(error.message, /eof = 20000/);
    await rejectsWith(openExpressionSource(path), 'truncated');
  });

  test('bit-flipped HDF5 signature', async () => {
    const path = join(tmp, 'flipped.gctx');
    const bytes = readFileSync(base);
    bytes[1] = (bytes[1] as number) ^ 0x01; // 'H' → 'I'
    writeFileSync(path, bytes);
    assert.equal(await detectFormat(path), 'unknown');
    await rejectsWith(openGctx(path), 'not-hdf5');
    await rejectsWith(openExpressionSource(path), 'not-hdf5');
  });

  test('bit-flipped superblock after the signature', async () => {
    const path = join(tmp, 'flipped-superblock.gctx');
    const bytes = readFileSync(base);
    bytes[8] = 0x7f; // superblock version
    writeFileSync(path, bytes);
    await rejectsWith(openGctx(path), 'corrupt');
  });

  test('text that is not HDF5, empty file, missing file', async () => {
    await rejectsWith(openGctx(fixture('older_version_v1_2.gct')), 'not-hdf5');
    const empty = join(tmp, 'empty.gctx');
    writeFileSync(empty, '');
    await rejectsWith(openGctx(empty), 'empty-file');
    await rejectsWith(openExpressionSource(empty), 'empty-file');
    await rejectsWith(openGctx(join(tmp, 'nope.gctx')), 'io');
  });

  test('missing /0/DATA/0/matrix', async () => {
    const path = join(tmp, 'nomatrix.gctx');
    await writeGctxH5wasm(path, { rowIds: ['a', 'b'], colIds: ['x'], values: new Float32Array(2), omitMatrix: true });
    await rejectsWith(openGctx(path), 'missing-dataset', (e) => assert.equal(e.where, '/0/DATA/0/matrix'));
  });

  test('ids that do not match the matrix shape', async () => {
    const path = join(tmp, 'mismatch.gctx');
    await writeGctxH5wasm(path, {
      rowIds: ['a', 'b', 'c'],
      colIds: ['x', 'y'],
      values: new Float32Array(6),
      colIdsOverride: ['x', 'y', 'z', 'w'],
    });
    await rejectsWith(openGctx(path), 'shape-mismatch', (e) => {
      assert.equal(e.where, '/0/DATA/0/matrix');
      assert.match(e.detail, /\[2, 3\].*4 column ids × 3 row ids/);
    });
  });

  test('duplicate ids', async () => {
    const path = join(tmp, 'dup.gctx');
    await writeGctxH5wasm(path, { rowIds: ['a', 'b', 'a'], colIds: ['x', 'y'], values: new Float32Array(6) });
    await rejectsWith(openGctx(path), 'duplicate-id', (e) => {
      assert.equal(e.where, '/0/META/ROW/id');
      assert.match(e.detail, /"a" at positions 0 and 2/);
    });
    const cols = join(tmp, 'dupcols.gctx');
    await writeGctxH5wasm(cols, { rowIds: ['a', 'b'], colIds: ['x', 'x'], values: new Float32Array(4) });
    await rejectsWith(openGctx(cols), 'duplicate-id', (e) => assert.equal(e.where, '/0/META/COL/id'));
  });

  test('a metadata column of the wrong length', async () => {
    const path = join(tmp, 'shortmeta.gctx');
    await writeGctxH5wasm(path, {
      rowIds: ['a', 'b'],
      colIds: ['x'],
      values: new Float32Array(2),
      rowMeta: { sym: { kind: 'text', values: ['A'] } },
    });
    const reader = await openGctx(path);
    assert.throws(
      () => reader.geneMetadata(),
      (e: unknown) => e instanceof FormatError && e.code === 'shape-mismatch' && e.where === '/0/META/ROW/sym',
    );
    reader.close();
  });
});
