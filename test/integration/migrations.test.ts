// Upgrading a populated database from every earlier schema version, and crashing mid-migration.
//
// A source lab at the current version is filled through the real code: the demo dataset, an
// L1000-shaped import with drug structures (molecule cache, fingerprints, journal), a failed
// import, a completed Environment VAE run, a cancelled VAE run with checkpoints, a study-like
// artifact. For each earlier version k, a database is built by running only migrations 1..k
// and copying the source's rows into the tables and columns that exist at version k (what that
// version's code would have written). Opening it with the current code must keep every row,
// pass integrity and foreign-key checks, reach the latest version, and be usable: same
// datasets and expression, same metrics, the same prior-shift analysis from the migrated
// checkpoint, and a cancelled run that resumes from it.
//
// Everything iterates over `migrations`, so a new migration is covered without touching this
// file: the versions before it are upgraded through it, and it is killed mid-way like the others.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import BetterSqlite3, { type Database } from 'better-sqlite3';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { openDatabase, schemaVersion } from '../../src-main/node/store/database.js';
import { latestSchemaVersion, migrations } from '../../src-main/node/store/migrations.js';
import { Store } from '../../src-main/node/store/store.js';
import type { LabEvent } from '../../src-main/shared/api/protocol.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';
import { writeLincsFixture } from '../fixtures/lincs.js';
import { repoRoot, spawnScript, waitUntil } from './fault-tools.js';

let root = '';
let source = '';
let counter = 0;

/** What the source lab held, as the app reports it, to compare the migrated copies with. */
interface Expected {
  lincsId: string;
  demoId: string;
  completedRun: string;
  cancelledRun: string;
  priorShift: unknown;
}
let expected: Expected;

function freshPath(label: string): string {
  counter++;
  return join(root, `${label}-${counter}.db`);
}

function waitForJob(lab: LabService, jobId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const off = lab.onEvent((event: LabEvent) => {
      if (event.type === 'job.finished' && event.jobId === jobId) {
        off();
        resolve();
      }
      if (event.type === 'job.failed' && event.jobId === jobId) {
        off();
        reject(new Error(event.error.message));
      }
    });
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cellshift-migrations-'));
  source = join(root, 'source.db');
  const fixture = await writeLincsFixture(root);
  const lab = await openLab({ databasePath: source, carrier: 'cli', seedDemo: true });
  try {
    const demoId = lab.store.datasets.list()[0]?.id as string;
    const request = await lab.imports.requestFromPaths({
      matrixPath: fixture.gctx,
      sigInfoPath: fixture.sigInfo,
      pertInfoPath: fixture.pertInfo,
      geneInfoPath: fixture.geneInfo,
      environmentKey: 'drug+cell',
      name: 'LINCS fixture',
    });
    const imported = await lab.imports.start(request);
    await waitForJob(lab, imported.jobId);
    writeFileSync(join(root, 'broken.gctx'), 'not an HDF5 file');
    const missing = await lab.imports.start(await lab.imports.requestFromPaths({ matrixPath: join(root, 'broken.gctx') }));
    await waitForJob(lab, missing.jobId).then(
      () => assert.fail('importing a missing file succeeded'),
      () => undefined,
    );
    const lincsId = lab.store.datasets.list().find((d) => d.name === 'LINCS fixture')?.id as string;

    const completed = lab.training.start(
      lincsId,
      TrainingConfig.parse({ model: { family: 'env-vae', hiddenUnits: 8, latentDim: 3 }, epochs: 3, batchSize: 8, keepCheckpoints: 3 }),
    );
    let cancelled = '';
    const cancelOnFirstEpoch = lab.onEvent((event) => {
      if (event.type === 'run.epoch' && event.runId === cancelled) lab.training.control(cancelled, 'cancel');
    });
    cancelled = lab.training.start(
      demoId,
      TrainingConfig.parse({ model: { family: 'vae', hiddenUnits: 16, latentDim: 4 }, epochs: 400, batchSize: 256 }),
    ).id;
    await Promise.all([lab.training.settled(completed.id), lab.training.settled(cancelled)]);
    cancelOnFirstEpoch();
    assert.equal(lab.store.runs.get(completed.id).status, 'completed');
    assert.equal(lab.store.runs.get(cancelled).status, 'cancelled');
    lab.store.artifacts.put({
      kind: 'study',
      name: 'study report',
      mediaType: 'application/json',
      content: JSON.stringify({ study: 'fixture', rows: [1, 2, 3] }),
      provenance: { runs: [completed.id] },
      runId: completed.id,
      datasetId: lincsId,
    });
    // No code writes `splits` yet; one row in the v1 shape, so the table is carried along too.
    lab.store.db
      .prepare('INSERT INTO splits (id, dataset_id, name, kind, seed, assignment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(
        'split_1',
        lincsId,
        'held-out drugs',
        'held-out-drugs',
        0,
        JSON.stringify({ validation: ['BRD-CAFFEINE'] }),
        new Date().toISOString(),
      );
    expected = {
      lincsId,
      demoId,
      completedRun: completed.id,
      cancelledRun: cancelled,
      priorShift: await lab.analysis.priorShift(completed.id),
    };
  } finally {
    await closeLab(lab);
  }
  // Every kind of record the app writes is in the fixture.
  const check = new BetterSqlite3(source, { readonly: true });
  try {
    for (const table of ['settings', 'datasets', 'genes', 'perturbagens', 'environments', 'samples', 'splits', 'runs', 'metrics']) {
      assert.ok(rowCount(check, 'main', table) > 0, `the fixture has no ${table}`);
    }
    for (const table of ['checkpoints', 'artifacts', 'molecules', 'imports']) assert.ok(rowCount(check, 'main', table) > 0, table);
  } finally {
    check.close();
  }
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

function tables(db: Database, schema: string): string[] {
  return (
    db.prepare(`SELECT name FROM ${schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as {
      name: string;
    }[]
  ).map((r) => r.name);
}

function columns(db: Database, schema: string, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?, ?)`).all(table, schema) as { name: string }[]).map((r) => r.name);
}

function rowCount(db: Database, schema: string, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${schema}."${table}"`).get() as { n: number }).n;
}

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/** Tables and columns of a database at an earlier version, with the source's rows in them. */
function buildAtVersion(version: number): { path: string; shape: Map<string, string[]> } {
  const path = freshPath(`v${version}`);
  const db = openDatabase(path, { migrations: migrations.slice(0, version) });
  const shape = new Map<string, string[]>();
  try {
    assert.equal(schemaVersion(db), version);
    db.prepare('ATTACH DATABASE ? AS src').run(source);
    db.pragma('foreign_keys = OFF');
    const sourceTables = new Set(tables(db, 'src'));
    db.transaction(() => {
      for (const table of tables(db, 'main')) {
        const sourceColumns = new Set(sourceTables.has(table) ? columns(db, 'src', table) : []);
        const shared = columns(db, 'main', table).filter((c) => sourceColumns.has(c));
        shape.set(table, shared);
        if (shared.length === 0) continue;
        db.exec(`INSERT INTO main."${table}" (${quoted(shared)}) SELECT ${quoted(shared)} FROM src."${table}"`);
      }
    })();
    db.pragma('foreign_keys = ON');
    assert.deepEqual(db.pragma('foreign_key_check'), [], `version ${version} copy violates foreign keys`);
    db.exec('DETACH DATABASE src');
  } finally {
    db.close();
  }
  return { path, shape };
}

/** Every row of the earlier version's tables is still there, column for column (those it had). */
function assertRowsKept(db: Database, shape: Map<string, string[]>, label: string): void {
  db.prepare('ATTACH DATABASE ? AS src').run(source);
  try {
    for (const [table, cols] of shape) {
      if (cols.length === 0) continue;
      assert.ok(tables(db, 'main').includes(table), `${label}: table ${table} is gone`);
      const now = columns(db, 'main', table);
      for (const c of cols) assert.ok(now.includes(c), `${label}: column ${table}.${c} is gone`);
      assert.equal(rowCount(db, 'main', table), rowCount(db, 'src', table), `${label}: rows of ${table}`);
      const missing = db.prepare(
        `SELECT count(*) AS n FROM (SELECT ${quoted(cols)} FROM src."${table}" EXCEPT SELECT ${quoted(cols)} FROM main."${table}")`,
      );
      assert.equal((missing.get() as { n: number }).n, 0, `${label}: rows of ${table} changed`);
    }
  } finally {
    db.exec('DETACH DATABASE src');
  }
}

/** Schema and contents, independent of file layout: to tell "unchanged" after a crash. */
function logicalSnapshot(db: Database): { version: number; schema: unknown[]; tables: Record<string, string> } {
  const schema = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all();
  const contents: Record<string, string> = {};
  for (const table of tables(db, 'main')) {
    const rows = db
      .prepare(`SELECT * FROM "${table}"`)
      .raw()
      .all()
      .map((row) => JSON.stringify(row, (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)))
      .sort();
    contents[table] = createHash('sha256').update(rows.join('\n')).digest('hex');
  }
  return { version: db.pragma('user_version', { simple: true }) as number, schema, tables: contents };
}

const earlierVersions = Array.from({ length: latestSchemaVersion - 1 }, (_, i) => i + 1);

describe('upgrading a populated database from every earlier schema version', { concurrency: true }, () => {
  test('there are migrations to test, numbered 1..latest', () => {
    assert.deepEqual(
      migrations.map((m) => m.version),
      Array.from({ length: latestSchemaVersion }, (_, i) => i + 1),
    );
    assert.ok(latestSchemaVersion >= 2, 'nothing earlier to upgrade from');
  });

  for (const version of earlierVersions) {
    test(`version ${version} → ${latestSchemaVersion}: every row kept, integrity ok, and the lab works on it`, async () => {
      const { path, shape } = buildAtVersion(version);
      const label = `from v${version}`;

      const store = Store.open(path);
      try {
        assert.equal(store.schemaVersion, latestSchemaVersion);
        assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(store.db.pragma('foreign_key_check'), []);
        assertRowsKept(store.db, shape, label);
      } finally {
        store.close();
      }

      const lab = await openLab({ databasePath: path, carrier: 'cli', seedDemo: true });
      const reference = Store.open(source);
      try {
        // The demo is not seeded again: the setting saying it was is kept.
        assert.deepEqual(lab.store.datasets.list(), reference.datasets.list(), `${label}: datasets`);
        for (const id of [expected.lincsId, expected.demoId]) {
          assert.deepEqual(lab.store.datasets.get(id), reference.datasets.get(id), `${label}: dataset ${id}`);
          assert.deepEqual(lab.store.datasets.readExpression(id), reference.datasets.readExpression(id), `${label}: expression of ${id}`);
          assert.deepEqual(lab.store.datasets.representations(id), reference.datasets.representations(id), `${label}: fingerprints`);
          // Each environment's samples per cell line: counted by the migration as the import stores them.
          const counts = (store: Store) => store.datasets.environments(id).map((e) => [e.key, e.nSamples, e.cellLines]);
          assert.deepEqual(counts(lab.store), counts(reference), `${label}: environments' sample counts`);
        }
        for (const id of [expected.completedRun, expected.cancelledRun]) {
          const run = lab.training.detail(id);
          const was = reference.runs.get(id);
          assert.deepEqual(
            { ...run, details: undefined, checkpoints: undefined, config: undefined, active: undefined },
            {
              ...was,
              details: undefined,
              checkpoints: undefined,
              config: undefined,
              active: undefined,
            },
          );
          assert.deepEqual(run.checkpoints, reference.runs.checkpointEpochs(id), `${label}: checkpoints of ${id}`);
          assert.deepEqual(lab.training.metrics(id), (await metricsOf(reference, id)) as unknown, `${label}: metrics of ${id}`);
        }
        // The migrated checkpoint loads and gives the very same analysis.
        assert.deepEqual(await lab.analysis.priorShift(expected.completedRun), expected.priorShift, `${label}: prior shift`);

        // The cancelled run resumes from its migrated checkpoint and continues its history.
        const before = lab.store.runs.get(expected.cancelledRun).epochsDone;
        lab.training.control(expected.cancelledRun, 'resume');
        await waitUntil(
          'an epoch after the resume',
          () => {
            const run = lab.store.runs.get(expected.cancelledRun);
            if (run.status === 'failed') throw new Error(`resume failed: ${run.message}`);
            return run.epochsDone > before;
          },
          60_000,
        );
        lab.training.control(expected.cancelledRun, 'cancel');
        await lab.training.settled(expected.cancelledRun);
        const epochs = lab.store.runs
          .metrics(expected.cancelledRun, 'loss')
          .filter((p) => p.split === 'train')
          .map((p) => p.epoch);
        assert.deepEqual(
          epochs,
          Array.from({ length: epochs.length }, (_, i) => i + 1),
          `${label}: epochs once each across the upgrade`,
        );
        assert.ok(epochs.length > before);
        assert.equal(lab.store.db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        reference.close();
        await closeLab(lab);
      }
    });
  }
});

async function metricsOf(store: Store, id: string): Promise<unknown> {
  // The same grouping the lab uses, from the reference store.
  const series = new Map<string, { split: string; name: string; points: { epoch: number; step: number; value: number }[] }>();
  for (const p of store.runs.metrics(id)) {
    const key = `${p.split}/${p.name}`;
    const s = series.get(key) ?? { split: p.split, name: p.name, points: [] };
    series.set(key, s);
    s.points.push({ epoch: p.epoch, step: p.step, value: p.value });
  }
  return [...series.values()];
}

const KILL_MID_MIGRATION = `
import { openDatabase } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/node/store/database.ts')).href)};
import { migrations } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/node/store/migrations.ts')).href)};
const [path, version] = process.argv.slice(1);
// Migration N does all its work, then the process dies before it can commit.
const killing = migrations.map((m) =>
  m.version === Number(version) ? { ...m, up(db) { m.up(db); process.kill(process.pid, 'SIGKILL'); } } : m,
);
openDatabase(path, { migrations: killing });
process.stdout.write('not killed\\n');
`;

describe('kill -9 in the middle of a migration', { concurrency: true }, () => {
  for (const migration of migrations) {
    const from = migration.version - 1;
    test(`killed inside migration ${migration.version}: version ${from} is intact, and the next start upgrades it`, async () => {
      const { path, shape } = buildAtVersion(from);
      const raw = new BetterSqlite3(path);
      const before = logicalSnapshot(raw);
      raw.close();

      const child = spawnScript(KILL_MID_MIGRATION, [path, String(migration.version)]);
      const exit = await child.exited;
      assert.equal(exit.signal, 'SIGKILL', `the child was not killed inside the migration: ${child.stdout()} ${child.stderr()}`);

      const after = new BetterSqlite3(path);
      try {
        assert.equal(after.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(logicalSnapshot(after), before, `version ${from} is exactly as it was`);
      } finally {
        after.close();
      }
      const upgraded = Store.open(path);
      try {
        assert.equal(upgraded.schemaVersion, latestSchemaVersion);
        assertRowsKept(upgraded.db, shape, `killed in v${migration.version}`);
      } finally {
        upgraded.close();
      }
    });
  }
});
