// The import worker keeps a preview's prepared import for the import that follows it, and nothing
// after a large dataset is stored: it is ended then (issue 13: at 473,647 signatures it held
// 0.5–0.8 GB beside the training that follows an import), and the next job starts a new one. Small
// and failed jobs keep it: a worker's start costs seconds. Here "large" is set to this test's size.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImportThread } from '../../src-main/node/lab/import/import-thread.js';
import { Store } from '../../src-main/node/store/store.js';
import { ResolvedImport } from '../../src-main/shared/api/imports.js';
import { writeGctxH5wasm } from '../fixtures/formats/writers.js';

const SAMPLES = 300;
const GENES = 20;
const context = { progress: () => {} };
const noUnpack = async (path: string) => assert.fail(`nothing here is gzipped (${path})`);

describe('the import worker’s lifetime', () => {
  let dir = '';
  let store: Store;
  let thread: ImportThread;
  let resolved: ResolvedImport;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-import-worker-'));
    const databasePath = join(dir, 'lab.db');
    store = Store.open(databasePath);
    thread = new ImportThread({ databasePath }, { stopAfterBytes: SAMPLES * GENES * 4 });
    const ids = Array.from({ length: SAMPLES }, (_, s) => `sig${s}`);
    const matrixPath = join(dir, 'small.gctx');
    await writeGctxH5wasm(matrixPath, {
      rowIds: Array.from({ length: GENES }, (_, g) => String(100 + g)),
      colIds: ids,
      values: new Float32Array(SAMPLES * GENES).map((_, i) => i % 7),
      chunks: [100, GENES],
    });
    const sigInfoPath = join(dir, 'sig_info.txt');
    writeFileSync(
      sigInfoPath,
      ['sig_id\tpert_id\tpert_type\tcell_id', ...ids.map((id, s) => `${id}\tBRD-${s % 5}\ttrt_cp\tCL${s % 3}`)].join('\n'),
    );
    resolved = ResolvedImport.parse({ matrixPath, sigInfoPath, environmentKey: 'drug+cell', filter: { landmarkOnly: false } });
  });

  after(async () => {
    await thread?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs from a preview to its import, and is ended once the dataset is stored', async () => {
    assert.equal(thread.running, false, 'no worker before the first job');
    const preview = await thread.preview('request', resolved, noUnpack);
    assert.equal(preview.samples, SAMPLES);
    assert.equal(thread.running, true, 'the preview’s prepared import is kept in the worker for its import');
    const stored = await thread.importDataset({ key: 'request', resolved, journalEntry: store.imports.begin('small') }, context, noUnpack);
    assert.equal(stored.nSamples, SAMPLES);
    assert.equal(thread.running, false, 'the worker (and what it held) outlived the import');
  });

  test('a failed import keeps it; a generated dataset of that size ends it', async () => {
    const missing = ResolvedImport.parse({ ...resolved, matrixPath: join(dir, 'missing.gctx') });
    await assert.rejects(
      thread.importDataset({ key: 'missing', resolved: missing, journalEntry: store.imports.begin('missing') }, context, noUnpack),
    );
    assert.equal(thread.running, true, 'a failed import stored nothing; the worker is kept for the next try');
    const generated = await thread.createSynthetic({ preset: 'linear-independent-2', seed: 1 }, context);
    assert.ok(generated.nSamples * generated.nGenes >= SAMPLES * GENES, 'the preset is at least this test’s "large"');
    assert.equal(thread.running, false, 'ended after a generated dataset too');
    assert.equal(store.datasets.list().length, 2);
  });

  test('a dataset below the size keeps the worker', async () => {
    const small = new ImportThread({ databasePath: store.path }, { stopAfterBytes: Number.POSITIVE_INFINITY });
    try {
      await small.createSynthetic({ preset: 'linear-independent-2', seed: 2 }, context);
      assert.equal(small.running, true);
    } finally {
      await small.close();
    }
  });
});
