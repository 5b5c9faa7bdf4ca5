// The SQLite store on real temporary files: migrations, opening failures, the transactional
// DatasetWriter (including a hard kill mid-import), dataset deletion and training runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import BetterSqlite3, { type Database } from 'better-sqlite3';
import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { openDatabase, schemaVersion } from '../../src-main/node/store/database.js';
import type { NewDataset, SampleRecord } from '../../src-main/node/store/datasets.js';
import { latestSchemaVersion, type Migration, migrations } from '../../src-main/node/store/migrations.js';
import { Store } from '../../src-main/node/store/store.js';
import type { DatasetSummary } from '../../src-main/shared/api/domain.js';
import { type ErrorCode, LabError } from '../../src-main/shared/api/errors.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let root = '';
let counter = 0;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'cellshift-store-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh path for a database file that does not exist yet. */
function freshPath(label = 'lab'): string {
  counter++;
  return join(root, `${label}-${counter}.db`);
}

const openStores: Store[] = [];
function openStore(path = freshPath()): Store {
  const store = Store.open(path);
  openStores.push(store);
  return store;
}
after(() => {
  for (const store of openStores) store.close();
});

function catchLabError(fn: () => unknown): LabError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof LabError, `expected a LabError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a LabError to be thrown');
}

function assertLabError(fn: () => unknown, code: ErrorCode, ...mentions: string[]): LabError {
  const error = catchLabError(fn);
  assert.equal(error.code, code, `code of "${error.message}"`);
  for (const m of mentions) assert.ok(error.message.includes(m), `"${error.message}" should mention ${m}`);
  return error;
}

function tableNames(db: Database): string[] {
  return (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]
  ).map((r) => r.name);
}

/** Everything observable about the database's contents: the dataset list and every table's row count. */
function snapshot(store: Store): { datasets: DatasetSummary[]; rows: Record<string, number> } {
  const rows: Record<string, number> = {};
  for (const table of tableNames(store.db)) {
    rows[table] = (store.db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
  }
  return { datasets: store.datasets.list(), rows };
}

function header(overrides: Partial<NewDataset> = {}): NewDataset {
  return {
    name: 'Tiny',
    source: 'csv',
    description: 'three genes, two environments',
    provenance: { file: 'tiny.csv', rows: 4 },
    genes: [
      { id: 'g1', symbol: 'TP53', landmark: true },
      { id: 'g2', symbol: 'MYC', landmark: false },
      { id: 'g3', symbol: 'EGFR', landmark: true },
    ],
    environments: [
      { key: 'ctrl', label: 'DMSO', isControl: true, representationKind: 'none' },
      {
        key: 'aspirin|MCF7|10uM|24h',
        label: 'aspirin 10 µM 24 h',
        isControl: false,
        perturbagen: { id: 'BRD-K00000001', name: 'aspirin', smiles: 'CC(=O)Oc1ccccc1C(=O)O' },
        cellLine: 'MCF7',
        dose: '10uM',
        time: '24h',
        representation: new Float32Array([1, 0, 1, 1, 0]),
        representationKind: 'morgan',
      },
    ],
    ...overrides,
  };
}

function sample(id: string, environment: number, values: number[], metadata: SampleRecord['metadata'] = {}): SampleRecord {
  return { id, environment, metadata, expression: new Float32Array(values) };
}

const tinySamples = (): SampleRecord[] => [
  sample('s1', 0, [1, 2, 3], { cell: 'MCF7', dose_um: 0 }),
  sample('s2', 1, [4, 5, 6], { cell: 'MCF7', dose_um: 10 }),
  sample('s3', 1, [7, 8, 9], { cell: 'A549', dose_um: 10 }),
];

function commitTiny(store: Store, overrides: Partial<NewDataset> = {}, samples = tinySamples()): DatasetSummary {
  const writer = store.datasets.begin(header(overrides));
  writer.addSamples(samples);
  return writer.commit();
}

// ---------------------------------------------------------------------------------------------
// opening and migrations

describe('openDatabase: migrations', () => {
  test('a new file is migrated to the latest schema, WAL and foreign keys on', () => {
    const path = freshPath();
    const db = openDatabase(path);
    try {
      assert.ok(latestSchemaVersion >= 1);
      assert.equal(schemaVersion(db), latestSchemaVersion);
      const tables = tableNames(db);
      for (const t of [
        'settings',
        'datasets',
        'genes',
        'samples',
        'perturbagens',
        'environments',
        'splits',
        'runs',
        'metrics',
        'checkpoints',
        'artifacts',
      ]) {
        assert.ok(tables.includes(t), `table ${t} exists (have ${tables.join(', ')})`);
      }
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    } finally {
      db.close();
    }
  });

  test('an existing empty (zero-byte) file is migrated too', () => {
    const path = freshPath();
    writeFileSync(path, '');
    const db = openDatabase(path);
    try {
      assert.equal(schemaVersion(db), latestSchemaVersion);
      assert.ok(tableNames(db).includes('datasets'));
    } finally {
      db.close();
    }
  });

  test('reopening is idempotent: same version, same schema, data kept', () => {
    const path = freshPath();
    const first = Store.open(path);
    first.setSetting('marker', 'kept');
    const schemaBefore = first.db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
    first.close();
    for (let i = 0; i < 2; i++) {
      const again = Store.open(path);
      try {
        assert.equal(again.schemaVersion, latestSchemaVersion);
        assert.equal(again.getSetting('marker'), 'kept');
        assert.deepEqual(again.db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all(), schemaBefore);
      } finally {
        again.close();
      }
    }
  });

  test('a database from a newer CellShift is refused with conflict, naming both versions, and left untouched', () => {
    const path = freshPath();
    const newer = latestSchemaVersion + 5;
    const raw = new BetterSqlite3(path);
    raw.exec('CREATE TABLE from_the_future (x)');
    raw.pragma(`user_version = ${newer}`);
    raw.close();
    const error = assertLabError(() => openDatabase(path), 'conflict', String(newer), `(${latestSchemaVersion})`);
    assert.match(error.message, /newer/);
    const check = new BetterSqlite3(path, { readonly: true });
    try {
      assert.equal(check.pragma('user_version', { simple: true }), newer);
      assert.deepEqual(tableNames(check), ['from_the_future']);
    } finally {
      check.close();
    }
  });

  test('a file that is not SQLite is bad_input "not a CellShift database"', () => {
    const path = freshPath('notes');
    writeFileSync(path, 'Gene expression notes, definitely not SQLite.\n'.repeat(200));
    assertLabError(() => openDatabase(path), 'bad_input', 'not a CellShift database', path);
  });

  test('a failed open of a non-SQLite file does not keep the file open', () => {
    const path = freshPath('leak');
    writeFileSync(path, 'not sqlite '.repeat(500));
    assertLabError(() => openDatabase(path), 'bad_input');
    const fds = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
    assert.equal(fds.length, 0, `file descriptors still open on ${path}`);
  });

  test('a partially migrated database gets the remaining migrations on reopen, ending with the same schema', () => {
    const reference = openDatabase(freshPath('reference'));
    const referenceSchema = reference
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
      .all();
    reference.close();
    for (let applied = 0; applied < latestSchemaVersion; applied++) {
      const path = freshPath(`partial${applied}`);
      const partial = openDatabase(path, { migrations: migrations.slice(0, applied) });
      assert.equal(schemaVersion(partial), applied);
      if (applied === 0) assert.deepEqual(tableNames(partial), []);
      partial.close();
      const full = openDatabase(path);
      try {
        assert.equal(schemaVersion(full), latestSchemaVersion);
        assert.deepEqual(
          full.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all(),
          referenceSchema,
        );
      } finally {
        full.close();
      }
    }
  });

  test('a migration that throws rolls back together with its version bump', () => {
    const path = freshPath();
    const failing: Migration = {
      version: latestSchemaVersion + 1,
      description: 'half-done',
      up(db) {
        db.exec('CREATE TABLE half_done (x)');
        throw new Error('migration exploded');
      },
    };
    const error = catchLabError(() => openDatabase(path, { migrations: [...migrations, failing] }));
    assert.match(error.message, /migration exploded/);
    const check = new BetterSqlite3(path, { readonly: true });
    try {
      assert.equal(check.pragma('user_version', { simple: true }), latestSchemaVersion);
      assert.ok(!tableNames(check).includes('half_done'));
    } finally {
      check.close();
    }
  });

  test('two openers racing on a fresh file both succeed (version re-checked inside the migration transaction)', () => {
    const path = freshPath('race');
    const first = migrations[0];
    assert.ok(first);
    let raced = false;
    // The getter runs after this opener has read user_version (0) and before it begins the
    // migration's transaction: exactly the window in which a second process can migrate.
    const racing: Migration = {
      get version() {
        if (!raced) {
          raced = true;
          openDatabase(path).close();
        }
        return first.version;
      },
      description: first.description,
      up: first.up,
    };
    const db = openDatabase(path, { migrations: [racing, ...migrations.slice(1)] });
    try {
      assert.equal(schemaVersion(db), latestSchemaVersion);
    } finally {
      db.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// DatasetWriter

describe('DatasetWriter', () => {
  test('commit makes the dataset visible with correct counts, genes, environments and provenance', () => {
    const store = openStore();
    assert.deepEqual(store.datasets.list(), []);
    const summary = commitTiny(store);
    assert.match(summary.id, /^ds_/);
    assert.equal(summary.name, 'Tiny');
    assert.equal(summary.source, 'csv');
    assert.equal(summary.nSamples, 3);
    assert.equal(summary.nGenes, 3);
    assert.equal(summary.nEnvironments, 2);
    assert.equal(summary.expressionBytes, 3 * 3 * 4);
    assert.match(summary.contentHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(store.datasets.list(), [summary]);

    const detail = store.datasets.get(summary.id);
    assert.deepEqual(
      detail.genes.map((g) => [g.id, g.symbol, g.landmark]),
      [
        ['g1', 'TP53', true],
        ['g2', 'MYC', false],
        ['g3', 'EGFR', true],
      ],
    );
    assert.equal(detail.genesTotal, 3);
    assert.deepEqual(detail.provenance, { file: 'tiny.csv', rows: 4 });

    const environments = store.datasets.environments(summary.id);
    assert.deepEqual(
      environments.map((e) => [
        e.key,
        e.isControl,
        e.nSamples,
        e.perturbagen,
        e.cellLine,
        e.dose,
        e.time,
        e.representationLength,
        e.representationKind,
      ]),
      [
        ['ctrl', true, 1, null, null, null, null, 0, 'none'],
        ['aspirin|MCF7|10uM|24h', false, 2, 'BRD-K00000001', 'MCF7', '10uM', '24h', 5, 'morgan'],
      ],
    );
    assert.equal((store.db.prepare('SELECT name FROM perturbagens WHERE id = ?').get('BRD-K00000001') as { name: string }).name, 'aspirin');
  });

  test('nothing is visible to another connection before commit', () => {
    const path = freshPath();
    const store = openStore(path);
    const reader = Store.open(path);
    try {
      const writer = store.datasets.begin(header());
      writer.addSamples(tinySamples());
      assert.deepEqual(reader.datasets.list(), []);
      assert.equal((reader.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n, 0);
      const summary = writer.commit();
      assert.deepEqual(
        reader.datasets.list().map((d) => d.id),
        [summary.id],
      );
    } finally {
      reader.close();
    }
  });

  test('metadata profile: kinds, distinct values, missing values ("-666", -666, "", null, absent)', () => {
    const store = openStore();
    const samples = [
      sample('a', 0, [0, 0, 0], { cell: 'MCF7', dose: 10, time: '24h', note: 'x' }),
      sample('b', 1, [0, 0, 0], { cell: 'MCF7', dose: '-666', time: '', note: 'x' }),
      sample('c', 1, [0, 0, 0], { cell: 'A549', dose: -666, time: '6h' }),
      sample('d', 1, [0, 0, 0], { cell: '-666', dose: 2.5, time: null, late: 7 }),
      sample('e', 0, [0, 0, 0], { cell: 'MCF7', dose: '', time: '24h', late: 3 }),
    ];
    const summary = commitTiny(store, {}, samples);
    const byName = new Map(summary.metadataColumns.map((c) => [c.name, c]));
    assert.deepEqual([...byName.keys()].sort(), ['cell', 'dose', 'late', 'note', 'time']);
    assert.deepEqual(byName.get('cell'), { name: 'cell', kind: 'categorical', distinct: 2, missing: 1, examples: ['MCF7', 'A549'] });
    assert.deepEqual(byName.get('dose'), { name: 'dose', kind: 'numeric', distinct: 2, missing: 3, examples: ['2.5', '10'] });
    assert.deepEqual(byName.get('time'), { name: 'time', kind: 'categorical', distinct: 2, missing: 2, examples: ['24h', '6h'] });
    // Absent in a row counts as missing, whether the column appears early or late.
    assert.deepEqual(byName.get('note'), { name: 'note', kind: 'categorical', distinct: 1, missing: 3, examples: ['x'] });
    assert.deepEqual(byName.get('late'), { name: 'late', kind: 'numeric', distinct: 2, missing: 3, examples: ['3', '7'] });
    // The stored profile is what list() and get() report later.
    assert.deepEqual(store.datasets.get(summary.id).metadataColumns, summary.metadataColumns);
  });

  test('a column whose values are all missing is categorical with no distinct values', () => {
    const store = openStore();
    const summary = commitTiny(store, {}, [
      sample('a', 0, [1, 1, 1], { pert_dose: -666 }),
      sample('b', 0, [1, 1, 1], { pert_dose: '-666' }),
    ]);
    assert.deepEqual(summary.metadataColumns, [{ name: 'pert_dose', kind: 'categorical', distinct: 0, missing: 2, examples: [] }]);
  });

  test('content hash: stable for identical content, different when a value, sample id or gene id changes', () => {
    const store = openStore();
    const base = commitTiny(store, { name: 'A' });
    const sameContent = commitTiny(store, { name: 'B, another name', description: 'other', provenance: { other: true } });
    assert.notEqual(base.id, sameContent.id);
    assert.equal(sameContent.contentHash, base.contentHash);

    const changedValue = tinySamples();
    changedValue[2] = sample('s3', 1, [7, 8, Math.fround(9.000001)], { cell: 'A549', dose_um: 10 });
    assert.notEqual(commitTiny(store, {}, changedValue).contentHash, base.contentHash);

    const renamedSample = tinySamples();
    renamedSample[0] = sample('s1b', 0, [1, 2, 3], { cell: 'MCF7', dose_um: 0 });
    assert.notEqual(commitTiny(store, {}, renamedSample).contentHash, base.contentHash);

    const otherGenes = header().genes.map((g, i) => (i === 1 ? { ...g, id: 'g2b' } : g));
    assert.notEqual(commitTiny(store, { genes: otherGenes }).contentHash, base.contentHash);

    // A fresh database with the same content yields the same hash (it is a property of the data).
    const elsewhere = openStore();
    assert.equal(commitTiny(elsewhere, { name: 'C' }).contentHash, base.contentHash);
  });

  test('readExpression round-trips float32 values bit for bit, in sample order', () => {
    const store = openStore();
    const special = [
      Math.fround(0.1),
      -0,
      1.401298464324817e-45, // smallest subnormal
      3.4028234663852886e38, // largest float32
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      Math.fround(-123.456),
      Math.fround(Math.PI),
      1,
    ];
    // Rows are views into one big buffer at non-zero offsets, like the importers pass them.
    const backing = new Float32Array(1 + special.length);
    backing.set(special, 1);
    const rows = [0, 1, 2].map((r) => backing.subarray(1 + r * 3, 1 + (r + 1) * 3));
    const writer = store.datasets.begin(header());
    writer.addSamples(rows.map((expression, r) => ({ id: `r${r}`, environment: r % 2, metadata: {}, expression })));
    const summary = writer.commit();
    const matrix = store.datasets.readExpression(summary.id);
    assert.equal(matrix.nSamples, 3);
    assert.equal(matrix.nGenes, 3);
    const expected = new Float32Array(special);
    assert.deepEqual(Buffer.from(matrix.values.buffer, matrix.values.byteOffset, matrix.values.byteLength), Buffer.from(expected.buffer));
    assert.ok(Object.is(matrix.values[1], -0));
    assertLabError(() => store.datasets.readExpression('ds_missing'), 'not_found', 'ds_missing');
  });

  test('abort() leaves the database exactly as before, and the writer is finished afterwards', () => {
    const store = openStore();
    commitTiny(store, { name: 'existing' });
    const before = snapshot(store);
    const writer = store.datasets.begin(header({ name: 'aborted' }));
    writer.addSamples(tinySamples());
    writer.addSamples([sample('s4', 0, [1, 1, 1])]);
    assert.equal(writer.samplesWritten, 4);
    writer.abort();
    assert.deepEqual(snapshot(store), before);
    assert.equal(store.db.inTransaction, false);
    assertLabError(() => writer.addSamples([sample('s5', 0, [1, 1, 1])]), 'conflict');
    assertLabError(() => writer.commit(), 'conflict');
    writer.abort(); // a second abort is harmless
    assert.deepEqual(snapshot(store), before);
    // The connection is usable again.
    commitTiny(store, { name: 'after abort' });
    assert.equal(store.datasets.list().length, 2);
  });

  test('an error thrown mid-import (caller aborts) leaves the database exactly as before', () => {
    const store = openStore();
    commitTiny(store, { name: 'existing' });
    const before = snapshot(store);
    const writer = store.datasets.begin(header({ name: 'doomed' }));
    assert.throws(() => {
      try {
        writer.addSamples(tinySamples());
        writer.addSamples(
          (function* () {
            yield sample('s4', 0, [1, 1, 1]);
            throw new Error('disk read failed halfway');
          })(),
        );
        writer.commit();
      } catch (error) {
        writer.abort();
        throw error;
      }
    }, /disk read failed halfway/);
    assert.deepEqual(snapshot(store), before);
  });

  test('a synthetic import cancelled through its progress callback leaves the database exactly as before', () => {
    const store = openStore();
    commitTiny(store, { name: 'existing' });
    const before = snapshot(store);
    const fractions: number[] = [];
    const error = catchLabError(() =>
      importSyntheticPreset(
        store,
        { preset: 'demo', seed: 1 },
        {
          progress(fraction) {
            fractions.push(fraction ?? -1);
            if ((fraction ?? 0) > 0.5) throw new LabError('cancelled', 'cancelled by test');
          },
        },
      ),
    );
    assert.equal(error.code, 'cancelled');
    assert.ok(
      fractions.some((f) => f > 0.2 && f <= 0.5),
      `some samples were stored before cancelling (progress ${fractions.join(', ')})`,
    );
    assert.deepEqual(snapshot(store), before);
    assert.equal(store.db.inTransaction, false);
  });

  test('commit with no samples is bad_input and leaves nothing behind', () => {
    const store = openStore();
    const before = snapshot(store);
    const writer = store.datasets.begin(header({ name: 'Empty one' }));
    assertLabError(() => writer.commit(), 'bad_input', 'Empty one');
    assert.deepEqual(snapshot(store), before);
  });

  describe('bad input is refused with bad_input naming the offender', () => {
    function expectRefused(samples: SampleRecord[][], ...mentions: string[]): void {
      const store = openStore();
      commitTiny(store, { name: 'existing' });
      const before = snapshot(store);
      const writer = store.datasets.begin(header({ name: 'bad' }));
      assert.throws(
        () => {
          for (const batch of samples) writer.addSamples(batch);
        },
        (error: unknown) => {
          assert.ok(error instanceof LabError, String(error));
          assert.equal(error.code, 'bad_input');
          for (const m of mentions) assert.ok(error.message.includes(m), `"${error.message}" should mention ${m}`);
          return true;
        },
      );
      writer.abort();
      assert.deepEqual(snapshot(store), before);
    }

    test('duplicate sample id within a batch', () => {
      expectRefused([[sample('dup-1', 0, [1, 2, 3]), sample('ok', 0, [1, 2, 3]), sample('dup-1', 1, [1, 2, 3])]], '"dup-1"');
    });

    test('duplicate sample id across batches', () => {
      expectRefused([[sample('dup-2', 0, [1, 2, 3])], [sample('dup-2', 1, [4, 5, 6])]], '"dup-2"');
    });

    test('wrong expression length (too short and too long)', () => {
      expectRefused([[sample('short-one', 0, [1, 2])]], '"short-one"', '2', '3');
      expectRefused([[sample('long-one', 0, [1, 2, 3, 4])]], '"long-one"', '4');
    });

    test('unknown environment index', () => {
      expectRefused([[sample('lost-env', 2, [1, 2, 3])]], '"lost-env"', '#2');
      expectRefused([[sample('neg-env', -1, [1, 2, 3])]], '"neg-env"');
      expectRefused([[sample('frac-env', 0.5, [1, 2, 3])]], '"frac-env"');
    });

    test('duplicate gene id is refused at begin(), before anything is written', () => {
      const store = openStore();
      const before = snapshot(store);
      const genes = [...header().genes, { id: 'g2', symbol: 'MYC-again', landmark: false }];
      assertLabError(() => store.datasets.begin(header({ genes })), 'bad_input', '"g2"');
      assert.deepEqual(snapshot(store), before);
      assert.equal(store.db.inTransaction, false);
      commitTiny(store); // the connection is not stuck in a transaction
    });

    test('duplicate environment key is refused at begin()', () => {
      const store = openStore();
      const environments = [...header().environments, { key: 'ctrl', label: 'again', isControl: true, representationKind: 'none' }];
      assertLabError(() => store.datasets.begin(header({ environments })), 'bad_input', '"ctrl"');
      assert.equal(store.db.inTransaction, false);
    });
  });

  test('a second writer on the same connection is refused while one is open', () => {
    const store = openStore();
    const writer = store.datasets.begin(header());
    assertLabError(() => store.datasets.begin(header({ name: 'second' })), 'conflict');
    writer.addSamples(tinySamples());
    assert.equal(writer.commit().nSamples, 3);
  });
});

// ---------------------------------------------------------------------------------------------
// deleting datasets

describe('DatasetRepository.delete', () => {
  function rowsOf(store: Store, table: string, datasetId: string): number {
    return (store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE dataset_id = ?`).get(datasetId) as { n: number }).n;
  }

  test('a dataset with runs is refused with conflict and kept whole', () => {
    const store = openStore();
    const dataset = commitTiny(store);
    store.runs.create({ datasetId: dataset.id, name: 'vae', model: 'vae', config: {}, seed: 0 });
    const before = snapshot(store);
    assertLabError(() => store.datasets.delete(dataset.id), 'conflict', dataset.id, '1');
    assert.deepEqual(snapshot(store), before);
  });

  test('a dataset without runs disappears with its genes, samples and environments; others stay', () => {
    const store = openStore();
    const doomed = commitTiny(store, { name: 'doomed' });
    const kept = commitTiny(store, { name: 'kept' });
    for (const table of ['genes', 'samples', 'environments']) assert.ok(rowsOf(store, table, doomed.id) > 0);
    store.datasets.delete(doomed.id);
    assert.deepEqual(
      store.datasets.list().map((d) => d.id),
      [kept.id],
    );
    for (const table of ['genes', 'samples', 'environments']) assert.equal(rowsOf(store, table, doomed.id), 0, table);
    assert.equal(rowsOf(store, 'genes', kept.id), 3);
    assert.equal(rowsOf(store, 'samples', kept.id), 3);
    assert.equal(rowsOf(store, 'environments', kept.id), 2);
    assert.equal((store.db.pragma('foreign_key_check') as unknown[]).length, 0);
    assertLabError(() => store.datasets.get(doomed.id), 'not_found');
  });

  test('deleting an unknown dataset is not_found', () => {
    const store = openStore();
    assertLabError(() => store.datasets.delete('ds_nothere'), 'not_found', 'ds_nothere');
  });
});

// ---------------------------------------------------------------------------------------------
// runs

describe('RunRepository', () => {
  test('create, get and list (newest first, filtered by dataset)', () => {
    const store = openStore();
    const a = commitTiny(store, { name: 'a' });
    const b = commitTiny(store, { name: 'b' });
    const r1 = store.runs.create({ datasetId: a.id, name: 'first', model: 'vae', config: { latent: 8 }, seed: 3 });
    assert.match(r1.id, /^run_/);
    assert.deepEqual(
      { ...r1, id: '', createdAt: '' },
      {
        id: '',
        name: 'first',
        datasetId: a.id,
        model: 'vae',
        status: 'queued',
        backend: null,
        threads: null,
        seed: 3,
        createdAt: '',
        finishedAt: null,
        epochsDone: 0,
        epochsPlanned: null,
        bestValidationLoss: null,
        message: null,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(r1.createdAt)));
    const r2 = store.runs.create({ datasetId: b.id, name: 'second', model: 'cvae', config: {}, seed: 0 });
    const r3 = store.runs.create({ datasetId: a.id, name: 'third', model: 'evae', config: {}, seed: 1 });
    assert.deepEqual(
      store.runs.list().map((r) => r.id),
      [r3.id, r2.id, r1.id],
    );
    assert.deepEqual(
      store.runs.list(a.id).map((r) => r.id),
      [r3.id, r1.id],
    );
    assert.deepEqual(store.runs.list('ds_none'), []);
    assert.deepEqual(store.runs.get(r2.id), r2);
    assertLabError(() => store.runs.get('run_nothere'), 'not_found', 'run_nothere');
    const config = store.db.prepare('SELECT config FROM runs WHERE id = ?').get(r1.id) as { config: string };
    assert.deepEqual(JSON.parse(config.config), { latent: 8 });
  });

  test('setStatus records messages, start and finish times', () => {
    const store = openStore();
    const dataset = commitTiny(store);
    const run = store.runs.create({ datasetId: dataset.id, name: 'r', model: 'vae', config: {}, seed: 0 });
    store.runs.setStatus(run.id, 'running');
    const running = store.runs.get(run.id);
    assert.equal(running.status, 'running');
    assert.equal(running.finishedAt, null);
    const startedAt = (store.db.prepare('SELECT started_at FROM runs WHERE id = ?').get(run.id) as { started_at: string | null })
      .started_at;
    assert.ok(startedAt !== null && !Number.isNaN(Date.parse(startedAt)));
    store.runs.setStatus(run.id, 'paused', 'paused by user');
    assert.deepEqual(
      [store.runs.get(run.id).status, store.runs.get(run.id).message, store.runs.get(run.id).finishedAt],
      ['paused', 'paused by user', null],
    );
    store.runs.setStatus(run.id, 'diverged', 'loss exploded at epoch 3');
    const diverged = store.runs.get(run.id);
    assert.equal(diverged.status, 'diverged');
    assert.equal(diverged.message, 'loss exploded at epoch 3');
    assert.ok(diverged.finishedAt !== null && !Number.isNaN(Date.parse(diverged.finishedAt)));
    assertLabError(() => store.runs.setStatus('run_nothere', 'running'), 'not_found', 'run_nothere');
  });

  test('recordEpoch: epochs done, best validation loss is the minimum, metrics in step order', () => {
    const store = openStore();
    const dataset = commitTiny(store);
    const run = store.runs.create({ datasetId: dataset.id, name: 'r', model: 'vae', config: {}, seed: 0 });
    const epoch = (e: number, train: number, val: number | null) => {
      const points = [{ epoch: e, step: e * 10, split: 'train', name: 'loss', value: train }];
      if (val !== null) points.push({ epoch: e, step: e * 10, split: 'validation', name: 'loss', value: val });
      points.push({ epoch: e, step: e * 10, split: 'train', name: 'kl', value: train / 10 });
      store.runs.recordEpoch(run.id, { epoch: e, points, validationLoss: val });
    };
    epoch(1, 2.0, 0.5);
    assert.equal(store.runs.get(run.id).bestValidationLoss, 0.5);
    epoch(2, 1.5, 0.3);
    epoch(3, 1.2, 0.4);
    epoch(4, 1.1, null);
    const summary = store.runs.get(run.id);
    assert.equal(summary.epochsDone, 4);
    assert.equal(summary.bestValidationLoss, 0.3);

    const all = store.runs.metrics(run.id);
    assert.equal(all.length, 11);
    assert.deepEqual(
      all.map((p) => p.step),
      [...all.map((p) => p.step)].sort((x, y) => x - y),
    );
    assert.deepEqual(
      store.runs.metrics(run.id, 'loss').map((p) => [p.epoch, p.split, p.value]),
      [
        [1, 'train', 2.0],
        [1, 'validation', 0.5],
        [2, 'train', 1.5],
        [2, 'validation', 0.3],
        [3, 'train', 1.2],
        [3, 'validation', 0.4],
        [4, 'train', 1.1],
      ],
    );
    assert.deepEqual(
      store.runs.metrics(run.id, 'kl').map((p) => p.value),
      [2.0, 1.5, 1.2, 1.1].map((train) => train / 10),
    );
    assert.deepEqual(store.runs.metrics(run.id, 'nothing'), []);
  });

  test('recordEpoch is atomic: a bad point leaves neither metrics nor progress behind', () => {
    const store = openStore();
    const dataset = commitTiny(store);
    const run = store.runs.create({ datasetId: dataset.id, name: 'r', model: 'vae', config: {}, seed: 0 });
    store.runs.recordEpoch(run.id, {
      epoch: 1,
      points: [{ epoch: 1, step: 1, split: 'train', name: 'loss', value: 1 }],
      validationLoss: 0.9,
    });
    assert.throws(() =>
      store.runs.recordEpoch(run.id, {
        epoch: 2,
        points: [
          { epoch: 2, step: 2, split: 'train', name: 'loss', value: 0.5 },
          // value is NOT NULL; NaN binds as NULL and must abort the whole epoch
          { epoch: 2, step: 2, split: 'validation', name: 'loss', value: Number.NaN },
        ],
        validationLoss: 0.1,
      }),
    );
    const summary = store.runs.get(run.id);
    assert.equal(summary.epochsDone, 1);
    assert.equal(summary.bestValidationLoss, 0.9);
    assert.equal(store.runs.metrics(run.id).length, 1);
  });

  test('deleting a run frees its dataset for deletion (metrics cascade)', () => {
    const store = openStore();
    const dataset = commitTiny(store);
    const run = store.runs.create({ datasetId: dataset.id, name: 'r', model: 'vae', config: {}, seed: 0 });
    store.runs.recordEpoch(run.id, {
      epoch: 1,
      points: [{ epoch: 1, step: 1, split: 'train', name: 'loss', value: 1 }],
      validationLoss: null,
    });
    store.db.prepare('DELETE FROM runs WHERE id = ?').run(run.id);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM metrics').get() as { n: number }).n, 0);
    store.datasets.delete(dataset.id);
    assert.deepEqual(store.datasets.list(), []);
  });
});

// ---------------------------------------------------------------------------------------------
// a hard kill in the middle of an import

describe('killed mid-import', () => {
  test('SIGKILL before commit leaves an intact database with no partial dataset', () => {
    const path = freshPath('killed');
    const storeUrl = pathToFileURL(join(repoRoot, 'src-main/node/store/store.ts')).href;
    // Enough data (about 8 MB) that SQLite spills uncommitted pages into the WAL before the kill.
    const script = `
      import { Store } from ${JSON.stringify(storeUrl)};
      const store = Store.open(process.env.KILL_DB);
      const genes = Array.from({ length: 400 }, (_, i) => ({ id: 'g' + i, symbol: 'G' + i, landmark: i % 2 === 0 }));
      const environments = [{ key: 'ctrl', label: 'control', isControl: true, representationKind: 'none' }];
      const kept = store.datasets.begin({ name: 'kept', source: 'csv', description: '', provenance: {}, genes, environments });
      kept.addSamples([{ id: 'k0', environment: 0, metadata: {}, expression: new Float32Array(400).fill(1) }]);
      const keptSummary = kept.commit();
      const writer = store.datasets.begin({ name: 'partial', source: 'csv', description: '', provenance: {}, genes, environments });
      for (let batch = 0; batch < 10; batch++) {
        const samples = [];
        for (let i = 0; i < 500; i++) {
          samples.push({ id: 's' + (batch * 500 + i), environment: 0, metadata: { b: batch }, expression: new Float32Array(400).fill(i) });
        }
        writer.addSamples(samples);
      }
      process.stdout.write(JSON.stringify({ kept: keptSummary.id, partial: writer.id, written: writer.samplesWritten }) + '\\n');
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, KILL_DB: path },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(child.signal, 'SIGKILL', `child ended by SIGKILL (status ${child.status}, stderr ${child.stderr})`);
    const report = JSON.parse(child.stdout.trim()) as { kept: string; partial: string; written: number };
    assert.equal(report.written, 5000);
    assert.ok(
      readdirSync(root).includes(`${path.split('/').pop()}-wal`),
      'the killed process left a WAL behind (the scenario actually exercises recovery)',
    );

    const store = openStore(path);
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(
      store.datasets.list().map((d) => [d.id, d.name, d.nSamples]),
      [[report.kept, 'kept', 1]],
    );
    for (const table of ['samples', 'genes', 'environments']) {
      const partialRows = (store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE dataset_id = ?`).get(report.partial) as { n: number })
        .n;
      assert.equal(partialRows, 0, `${table} rows of the partial dataset`);
    }
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n, 1);
    assert.equal((store.db.pragma('foreign_key_check') as unknown[]).length, 0);
  });
});
