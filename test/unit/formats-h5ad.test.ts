// AnnData (.h5ad) reader: files written here with h5wasm (dense, CSR, CSC X; anndata >= 0.8 and
// 0.7 categorical layouts) and, when Debian's python3-anndata / python3-h5py are present, by
// anndata itself and by h5py (old compound-dataset layout), read back exactly; malformed files get
// specific errors.

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { detectFormat } from '../../src-main/node/data/formats/detect.js';
import { FormatError, type FormatErrorCode } from '../../src-main/node/data/formats/errors.js';
import { type H5Dataset, loadH5, READ_SLICE_ELEMENTS, readStrings, setHdf5StepListener } from '../../src-main/node/data/formats/h5.js';
import { openH5ad } from '../../src-main/node/data/formats/h5ad.js';
import { openExpressionSource } from '../../src-main/node/data/formats/index.js';
import type { MetaValue } from '../../src-main/node/data/formats/types.js';
import { type FrameColumn, type H5adSpec, PYTHON, pythonHas, runPython, writeH5adH5wasm } from '../fixtures/formats/writers.js';

const HAS_ANNDATA = pythonHas(['anndata', 'h5py', 'numpy', 'pandas', 'scipy.sparse']);
const HAS_H5PY = pythonHas(['h5py', 'numpy']);

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cellshift-h5ad-'));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

function brute(X: Float32Array, nVar: number, rows: number[], cols: number[] | null): number[] {
  const cs = cols ?? all(nVar);
  return rows.flatMap((r) => cs.map((c) => X[r * nVar + c] as number));
}

async function rejectsWith(promise: Promise<unknown>, code: FormatErrorCode, check?: (e: FormatError) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FormatError, `expected FormatError(${code}), got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    check?.(error);
    return true;
  });
}

/** A sparse-ish matrix with exact float32 values. */
function sparseMatrix(nObs: number, nVar: number): Float32Array {
  const X = new Float32Array(nObs * nVar);
  for (let r = 0; r < nObs; r++)
    for (let c = 0; c < nVar; c++) if ((r * 7 + c * 3) % 5 === 0) X[r * nVar + c] = Math.fround(r + c / 8 + 0.5);
  return X;
}

describe('h5ad round trip (h5wasm writer)', () => {
  const nObs = 29;
  const nVar = 17;
  const X = sparseMatrix(nObs, nVar);
  const obsNames = all(nObs).map((i) => `AAAC${i}-1`);
  const varNames = all(nVar).map((j) => `GENE${j}`);
  const drugs = ['DMSO', 'vorinostat', 'trametinib'];
  const obs: Record<string, FrameColumn> = {
    drug: { kind: 'categorical', categories: drugs, codes: all(nObs).map((i) => (i % 8 === 7 ? -1 : i % 3)) },
    dose: { kind: 'numeric', values: all(nObs).map((i) => (i % 4 === 0 ? Number.NaN : i / 2)) },
    n_counts: { kind: 'numeric', values: all(nObs).map((i) => i * 100), dtype: '<q' },
    batch: { kind: 'string', values: all(nObs).map((i) => `b${i % 2}`) },
    is_control: { kind: 'bool', values: all(nObs).map((i) => i % 3 === 0) },
  };
  const expectedObs: Record<string, MetaValue[]> = {
    drug: all(nObs).map((i) => (i % 8 === 7 ? null : (drugs[i % 3] as string))),
    dose: all(nObs).map((i) => (i % 4 === 0 ? null : i / 2)),
    n_counts: all(nObs).map((i) => i * 100),
    batch: all(nObs).map((i) => `b${i % 2}`),
    is_control: all(nObs).map((i) => (i % 3 === 0 ? 1 : 0)),
  };
  const varCols: Record<string, FrameColumn> = {
    highly_variable: { kind: 'categorical', categories: ['no', 'yes'], codes: all(nVar).map((j) => j % 2) },
  };
  const selections: [number[], number[] | null][] = [
    [all(nObs), null],
    [[28, 0, 3, 3, 14, 15, 16], null],
    [
      [5, 6, 7],
      [16, 0, 8, 8],
    ],
    [[10], [2, 3, 4]],
    [[], null],
  ];
  for (const xFormat of ['dense', 'csr', 'csc'] as const) {
    for (const layout of ['new', 'old'] as const) {
      test(`${xFormat} X, anndata ${layout === 'new' ? '>= 0.8' : '0.7'} dataframes`, async () => {
        const path = join(tmp, `${xFormat}-${layout}.h5ad`);
        const spec: H5adSpec = { obsNames, varNames, X, xFormat, obs, var: varCols, layout };
        await writeH5adH5wasm(path, spec);
        assert.equal(await detectFormat(path), 'h5ad');
        // small sparse budget: many spans
        const reader = await openH5ad(path, { maxSparseElements: 5, maxSliceBytes: 2 * nVar * 4 });
        try {
          assert.equal(reader.xEncoding, xFormat);
          assert.equal(reader.xDtype, '<f');
          assert.deepEqual(reader.sampleIds(), obsNames);
          assert.deepEqual(reader.geneIds(), varNames);
          assert.deepEqual(Object.fromEntries(reader.sampleMetadata()), expectedObs);
          assert.deepEqual(Object.fromEntries(reader.geneMetadata()), { highly_variable: all(nVar).map((j) => (j % 2 ? 'yes' : 'no')) });
          assert.deepEqual(reader.skippedColumns, []);
          for (const [rows, cols] of selections) {
            assert.deepEqual(Array.from(reader.readRows(rows, cols)), brute(X, nVar, rows, cols), `${rows} / ${cols}`);
          }
          const batches: number[] = [];
          for await (const batch of reader.iterateSamples(all(nObs), [1, 2, 3], { maxBatchBytes: 4 * 3 * 4 }))
            batches.push(...batch.values);
          assert.deepEqual(batches, brute(X, nVar, all(nObs), [1, 2, 3]));
          // a reused buffer must not leak the previous batch's values into sparse rows
          const reused: number[] = [];
          for await (const batch of reader.iterateSamples(all(nObs), null, { maxBatchBytes: 3 * nVar * 4, reuseBuffer: true })) {
            reused.push(...batch.values);
          }
          assert.deepEqual(reused, brute(X, nVar, all(nObs), null));
        } finally {
          reader.close();
        }
      });
    }
  }

  test('CSR reads only the non-zeros of the requested rows', async () => {
    const path = join(tmp, 'csr-new.h5ad');
    const reader = await openH5ad(path, { maxSparseElements: 1_000_000 });
    reader.readRows([2, 3], null);
    const nnz = [2, 3].reduce((n, r) => n + brute(X, nVar, [r], null).filter((v) => v !== 0).length, 0);
    assert.equal(reader.stats.sparseElementsRead, nnz);
    reader.close();
  });

  test('openExpressionSource opens it as samples = obs, genes = var', async () => {
    const source = await openExpressionSource(join(tmp, 'csr-new.h5ad'));
    assert.equal(source.format, 'h5ad');
    assert.deepEqual([source.nSamples, source.nGenes], [nObs, nVar]);
    assert.deepEqual(Array.from(await source.readSamples([4], [0, 1])), brute(X, nVar, [4], [0, 1]));
    source.close();
  });
});

describe('h5ad written by anndata', { skip: HAS_ANNDATA ? false : `${PYTHON} has no anndata (Debian python3-anndata)` }, () => {
  for (const kind of ['dense', 'csr', 'csc'] as const) {
    test(`${kind} X with categorical, nullable, boolean and NaN columns`, async () => {
      const path = join(tmp, `anndata-${kind}.h5ad`);
      const json = runPython(
        `import sys, json, warnings
warnings.filterwarnings('ignore')
import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad
rng = np.random.default_rng(3)
n_obs, n_var = 40, 12
X = (rng.random((n_obs, n_var)) * (rng.random((n_obs, n_var)) < 0.3) * 10).astype(np.float32)
obs = pd.DataFrame({
  'pert': pd.Categorical([None if i % 9 == 0 else ['DMSO', 'bortezomib', 'MG-132'][i % 3] for i in range(n_obs)]),
  'dose_um': [np.nan if i % 5 == 0 else i / 4 for i in range(n_obs)],
  'replicate': pd.array([None if i % 6 == 0 else i % 3 for i in range(n_obs)], dtype='Int64'),
  'is_ctl': [i % 3 == 0 for i in range(n_obs)],
  'cell': ['A549' if i % 2 else 'MCF7' for i in range(n_obs)],
}, index=['cell_%d' % i for i in range(n_obs)])
var = pd.DataFrame({'symbol': ['S%d' % j for j in range(n_var)], 'is_lm': pd.Categorical(['y' if j < 6 else 'n' for j in range(n_var)])},
  index=['ENSG%05d' % j for j in range(n_var)])
m = {'dense': X, 'csr': sp.csr_matrix(X), 'csc': sp.csc_matrix(X)}[sys.argv[2]]
ad.AnnData(X=m, obs=obs, var=var).write_h5ad(sys.argv[1])
a = ad.read_h5ad(sys.argv[1])
Xd = a.X.toarray() if sp.issparse(a.X) else a.X
def col(s):
  out = []
  for v in s:
    if v is pd.NA or v is None or (isinstance(v, float) and np.isnan(v)): out.append(None)
    elif isinstance(v, (bool, np.bool_)): out.append(1 if v else 0)
    elif isinstance(v, (np.integer,)): out.append(int(v))
    elif isinstance(v, (np.floating,)): out.append(float(v))
    else: out.append(v)
  return out
print(json.dumps({'X': [float(v) for v in Xd.ravel()], 'obs_names': list(a.obs_names), 'var_names': list(a.var_names),
  'obs': {c: col(a.obs[c]) for c in a.obs.columns}, 'var': {c: col(a.var[c]) for c in a.var.columns}}))`,
        [path, kind],
      );
      const exp = JSON.parse(json) as {
        X: number[];
        obs_names: string[];
        var_names: string[];
        obs: Record<string, MetaValue[]>;
        var: Record<string, MetaValue[]>;
      };
      const reader = await openH5ad(path);
      try {
        assert.equal(reader.xEncoding, kind);
        assert.deepEqual(reader.sampleIds(), exp.obs_names);
        assert.deepEqual(reader.geneIds(), exp.var_names);
        // h5py booleans are an HDF5 enum FALSE/TRUE, read as "true"/"false"
        const obs = Object.fromEntries(reader.sampleMetadata());
        obs.is_ctl = (obs.is_ctl ?? []).map((v) => (v === 'true' ? 1 : v === 'false' ? 0 : v));
        assert.deepEqual(obs, exp.obs);
        assert.deepEqual(Object.fromEntries(reader.geneMetadata()), exp.var);
        assert.deepEqual(Array.from(reader.readRows(all(reader.nSamples), null)), exp.X);
        const rows = [39, 0, 17, 18, 19, 2];
        assert.deepEqual(
          Array.from(reader.readRows(rows, [11, 0, 5])),
          rows.flatMap((r) => [11, 0, 5].map((c) => exp.X[r * 12 + c] as number)),
        );
      } finally {
        reader.close();
      }
    });
  }
});

describe('older AnnData layouts written by h5py', { skip: HAS_H5PY ? false : `${PYTHON} has no h5py` }, () => {
  test('anndata 0.7: categorical codes with an object-reference attribute to __categories', async () => {
    const path = join(tmp, 'anndata07.h5ad');
    runPython(
      `import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'w')
f.create_dataset('X', data=np.arange(12, dtype='<f4').reshape(4, 3))
obs = f.create_group('obs'); obs.attrs['_index'] = 'index'; obs.attrs['column-order'] = np.array(['drug', 'dose'], dtype=h5py.string_dtype())
obs.create_dataset('index', data=np.array([b'c0', b'c1', b'c2', b'c3']))
cats = obs.create_group('__categories'); c = cats.create_dataset('drug', data=np.array([b'DMSO', b'drugX']))
d = obs.create_dataset('drug', data=np.array([0, 1, -1, 1], dtype='i1')); d.attrs['categories'] = c.ref
obs.create_dataset('dose', data=np.array([0.0, 1.5, np.nan, 3.0]))
var = f.create_group('var'); var.attrs['_index'] = 'index'; var.attrs['column-order'] = np.array([], dtype=h5py.string_dtype())
var.create_dataset('index', data=np.array([b'g0', b'g1', b'g2']))
f.close()`,
      [path],
    );
    const reader = await openH5ad(path);
    assert.deepEqual(reader.sampleIds(), ['c0', 'c1', 'c2', 'c3']);
    assert.deepEqual(Object.fromEntries(reader.sampleMetadata()), { drug: ['DMSO', 'drugX', null, 'drugX'], dose: [0, 1.5, null, 3] });
    assert.deepEqual(Object.fromEntries(reader.geneMetadata()), {});
    assert.deepEqual(Array.from(reader.readRows([3], null)), [9, 10, 11]);
    reader.close();
  });

  test('anndata <= 0.6: obs/var as compound datasets, legacy h5sparse CSR attributes', async () => {
    const path = join(tmp, 'anndata06.h5ad');
    runPython(
      `import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'w')
X = f.create_group('X'); X.attrs['h5sparse_format'] = 'csr'; X.attrs['h5sparse_shape'] = np.array([3, 2])
X.create_dataset('data', data=np.array([1.0, 2.0, 3.0], dtype='<f8'))
X.create_dataset('indices', data=np.array([1, 0, 1], dtype='<i4'))
X.create_dataset('indptr', data=np.array([0, 1, 1, 3], dtype='<i8'))
obs = np.array([(b'c0', 0, 1.5), (b'c1', 1, 2.5), (b'c2', 0, np.nan)], dtype=[('index', 'S2'), ('drug', '<i4'), ('score', '<f8')])
f.create_dataset('obs', data=obs)
f.create_dataset('var', data=np.array([(b'g0',), (b'g1',)], dtype=[('index', 'S2')]))
f.create_dataset('uns/drug_categories', data=np.array([b'DMSO', b'drugY']))
f.close()`,
      [path],
    );
    const reader = await openH5ad(path);
    assert.equal(reader.xEncoding, 'csr');
    assert.deepEqual(reader.sampleIds(), ['c0', 'c1', 'c2']);
    assert.deepEqual(reader.geneIds(), ['g0', 'g1']);
    assert.deepEqual(Object.fromEntries(reader.sampleMetadata()), { drug: ['DMSO', 'drugY', 'DMSO'], score: [1.5, 2.5, null] });
    assert.deepEqual(Array.from(reader.readRows([0, 1, 2], null)), [0, 1, 0, 0, 2, 3]);
    reader.close();
  });
});

describe('malformed h5ad input gets a specific error', () => {
  const base: H5adSpec = {
    obsNames: ['a', 'b', 'c'],
    varNames: ['g1', 'g2'],
    X: Float32Array.from([1, 0, 0, 2, 3, 4]),
    xFormat: 'csr',
  };

  test('indptr of the wrong length', async () => {
    const path = join(tmp, 'bad-indptr.h5ad');
    await writeH5adH5wasm(path, { ...base, breakIndptr: true });
    await rejectsWith(openH5ad(path), 'shape-mismatch', (e) => assert.equal(e.where, '/X/indptr'));
  });

  test('X shape that disagrees with obs/var', async () => {
    const path = join(tmp, 'bad-shape.h5ad');
    await writeH5adH5wasm(path, { ...base, xFormat: 'dense', X: Float32Array.from([1, 0, 0, 2]), xShape: [2, 2] });
    await rejectsWith(openH5ad(path), 'shape-mismatch', (e) => {
      assert.equal(e.where, '/X');
      assert.match(e.detail, /\[2, 2\] but obs has 3 rows and var 2/);
    });
  });

  test('duplicate obs names: error by default, anndata-style suffixes on request', async () => {
    const path = join(tmp, 'dup.h5ad');
    await writeH5adH5wasm(path, { ...base, obsNames: ['a', 'b', 'a'] });
    await rejectsWith(openH5ad(path), 'duplicate-id', (e) => assert.equal(e.where, '/obs'));
    const reader = await openH5ad(path, { duplicateNames: 'suffix' });
    assert.deepEqual(reader.sampleIds(), ['a', 'b', 'a-1']);
    reader.close();
  });

  test('truncated and bit-flipped h5ad', async () => {
    const path = join(tmp, 'good.h5ad');
    await writeH5adH5wasm(path, base);
    const cut = join(tmp, 'cut.h5ad');
    copyFileSync(path, cut);
    truncateSync(cut, Math.floor(statSync(path).size / 2));
    assert.equal(await detectFormat(cut), 'h5ad'); // signature present; the name decides
    await rejectsWith(openH5ad(cut), 'truncated');
    await rejectsWith(openExpressionSource(cut), 'truncated');
    const flipped = join(tmp, 'flipped.h5ad');
    const bytes = readFileSync(path);
    bytes[3] = (bytes[3] as number) ^ 0x20; // 'F' → 'f'
    writeFileSync(flipped, bytes);
    assert.equal(await detectFormat(flipped), 'unknown');
    await rejectsWith(openH5ad(flipped), 'not-hdf5');
    await rejectsWith(openExpressionSource(flipped), 'not-hdf5');
  });

  test('missing X', async () => {
    if (!HAS_H5PY) return;
    const path = join(tmp, 'nox.h5ad');
    runPython(
      `import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'w')
for g in ('obs', 'var'):
  grp = f.create_group(g); grp.attrs['_index'] = '_index'; grp.create_dataset('_index', data=np.array([b'x']))
f.close()`,
      [path],
    );
    await rejectsWith(openH5ad(path), 'missing-dataset', (e) => assert.equal(e.where, '/X'));
  });
});

describe('large 1-D datasets', () => {
  test('are read in pieces, each its own step of the probe watchdog, and joined exactly', async () => {
    const n = 2 * READ_SLICE_ELEMENTS + 1234;
    const obsNames = Array.from({ length: n }, (_, i) => `sig_${i}`);
    const path = join(tmp, 'many-obs.h5ad');
    await writeH5adH5wasm(path, { obsNames, varNames: ['g1'], X: Float32Array.from({ length: n }, (_, i) => i % 7), xFormat: 'dense' });
    const h5 = await loadH5();
    const file = new h5.File(path, 'r');
    // Which reads of the dataset HDF5 was asked for, and the watchdog steps between them.
    const events: string[] = [];
    const index = file.get('obs/_index') as H5Dataset;
    const watched = new Proxy(index, {
      get(target, property) {
        if (property === 'value') events.push(`read ${n}`);
        if (property === 'slice') {
          return (ranges: [number, number][]) => {
            events.push(`read ${(ranges[0] as [number, number])[1] - (ranges[0] as [number, number])[0]}`);
            return target.slice(ranges);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    setHdf5StepListener(() => events.push('step'));
    try {
      assert.deepEqual(readStrings(path, watched), obsNames);
    } finally {
      setHdf5StepListener(null);
      file.close();
    }
    const reads = events.filter((e) => e.startsWith('read')).map((e) => Number(e.slice(5)));
    assert.ok(reads.length >= 3, `expected the ${n} ids in at least 3 reads, saw ${events.join(', ')}`);
    assert.ok(Math.max(...reads) <= READ_SLICE_ELEMENTS, `a read of more than ${READ_SLICE_ELEMENTS}: ${events.join(', ')}`);
    for (const [i, e] of events.entries()) if (e.startsWith('read')) assert.equal(events[i - 1], 'step', 'every read follows a step');
    const reader = await openH5ad(path);
    assert.deepEqual(reader.sampleIds(), obsNames);
    reader.close();
  });
});
