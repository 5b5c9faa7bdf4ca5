// Each environment's samples per cell line, stored with the environment (a migration) rather than
// counted from every sample's metadata on each listing: filled by the import, counted by the
// migration for datasets stored before it, and gone with an import that fails.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { SampleMetadata } from '../../src-main/node/store/metadata-profile.js';
import { migrations } from '../../src-main/node/store/migrations.js';
import { Store } from '../../src-main/node/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'cellshift-environment-counts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Three environments, one without samples; cell lines from cell_id, cell_line or neither. */
function writeDataset(store: Store, options: { failBeforeCommit?: boolean } = {}): string {
  const writer = store.datasets.begin({
    name: 'Cell lines',
    source: 'synthetic',
    description: 'environment-counts.test.ts',
    provenance: {},
    genes: [{ id: 'g1', symbol: 'G1', landmark: true }],
    environments: ['drug | A375', 'drug | MCF7', 'unused'].map((key) => ({
      key,
      label: key,
      isControl: false,
      representationKind: 'none',
    })),
  });
  const metadata: SampleMetadata[] = [
    { cell_id: 'A375' },
    { cell_id: 'A375' },
    { cell_line: 'PC3' },
    {},
    { cell_id: 'MCF7' },
    { cell_id: null, cell_line: 'MCF7' },
  ];
  writer.addSamples(metadata.map((m, i) => ({ id: `s${i}`, environment: i < 4 ? 0 : 1, metadata: m, expression: Float32Array.of(i) })));
  if (options.failBeforeCommit) {
    writer.commit(() => {
      throw new Error('the journal could not be written');
    });
  }
  return writer.commit().id;
}

const counted = (store: Store, datasetId: string) =>
  store.datasets.environments(datasetId).map((e) => ({ key: e.key, nSamples: e.nSamples, cellLines: e.cellLines }));

const expected = [
  {
    key: 'drug | A375',
    nSamples: 4,
    cellLines: [
      { cellLine: 'A375', samples: 2 },
      { cellLine: '(unknown)', samples: 1 },
      { cellLine: 'PC3', samples: 1 },
    ],
  },
  { key: 'drug | MCF7', nSamples: 2, cellLines: [{ cellLine: 'MCF7', samples: 2 }] },
  { key: 'unused', nSamples: 0, cellLines: [] },
];

describe("environments' sample counts per cell line", () => {
  test('are stored by the import, and listing them reads no sample', () => {
    const store = Store.open(join(dir, 'import.db'));
    try {
      const id = writeDataset(store);
      assert.deepEqual(counted(store, id), expected);
      const stored = store.db.prepare('SELECT n_samples, cell_lines FROM environments WHERE dataset_id = ? ORDER BY idx').all(id);
      assert.deepEqual(
        stored,
        expected.map((e) => ({ n_samples: e.nSamples, cell_lines: JSON.stringify(e.cellLines) })),
      );
      // Listing them scans no sample: the plan touches no samples table.
      const plan = store.db
        .prepare(`EXPLAIN QUERY PLAN SELECT e.n_samples, e.cell_lines FROM environments e WHERE e.dataset_id = ? ORDER BY e.idx`)
        .all(id) as { detail: string }[];
      assert.ok(
        plan.every((p) => !/samples/.test(p.detail)),
        JSON.stringify(plan),
      );
    } finally {
      store.close();
    }
  });

  test('a failed import leaves no environment, no count, no sample', () => {
    const store = Store.open(join(dir, 'failed.db'));
    try {
      assert.throws(() => writeDataset(store, { failBeforeCommit: true }), /the journal could not be written/);
      for (const table of ['datasets', 'environments', 'samples']) {
        assert.equal(store.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get(), 0, table);
      }
    } finally {
      store.close();
    }
  });

  test('are counted by their migration for datasets stored before it, as the import counts them', () => {
    const migration = migrations.find((m) => m.description.startsWith('environments.n_samples and cell_lines'));
    assert.ok(migration, 'the migration that stores the counts');
    const store = Store.open(join(dir, 'before.db'));
    try {
      const id = writeDataset(store);
      // The environments as the version before left them (no counts), then that migration.
      // (v13's listing index names n_samples: it goes first, as it came after.)
      store.db.exec(
        'DROP INDEX environments_listing; ALTER TABLE environments DROP COLUMN n_samples; ALTER TABLE environments DROP COLUMN cell_lines',
      );
      store.db.transaction(() => migration.up(store.db))();
      assert.deepEqual(counted(store, id), expected);
    } finally {
      store.close();
    }
  });
});
