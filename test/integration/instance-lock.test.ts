// Two CellShift processes on one database.
// - A second `cellshift serve` / `start --browser` does not start another server on the same
//   database: it prints where the first one serves (pid and URL) and exits 0, the browser-mode
//   equivalent of a second desktop launch focusing the first window. The lock dies with its
//   process, kill -9 included, so it never blocks the next start.
// - While another process holds a long write (an import holds the write lock until it
//   commits), a CLI import gives up after the bounded busy timeout with a message naming that
//   process, readers are not blocked at all, and nothing is corrupted.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { BUSY_TIMEOUT_MS } from '../../src-main/node/store/errors.js';
import { instanceInfoPath } from '../../src-main/node/store/instance.js';
import { Store } from '../../src-main/node/store/store.js';
import { writeGctxH5wasm } from '../fixtures/formats/writers.js';
import { assertNoRawError, cellshift, repoRoot, type Spawned, spawnCellshift, spawnScript, waitUntil } from './fault-tools.js';

let root = '';
const children: Spawned[] = [];

before(() => {
  root = mkdtempSync(join(tmpdir(), 'cellshift-instances-'));
});

after(() => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function announcement(served: Spawned): { mode: string; url: string; pid?: number } | undefined {
  const line = served.stdout().split('\n')[0];
  if (!line?.endsWith('}')) return undefined;
  return JSON.parse(line) as { mode: string; url: string; pid?: number };
}

async function startServe(db: string): Promise<{ served: Spawned; url: string }> {
  const served = spawnCellshift(['serve', '--json', '--port', '0', '--db', db]);
  children.push(served);
  const info = await waitUntil(
    'the serve announcement',
    () => {
      if (served.child.exitCode !== null) throw new Error(`serve exited ${served.child.exitCode}: ${served.stderr()}`);
      return announcement(served);
    },
    45_000,
  );
  assert.equal(info.mode, 'browser');
  return { served, url: info.url };
}

async function appInfo(url: string): Promise<{ databasePath: string }> {
  const address = new URL(url);
  const response = await fetch(`${address.origin}/api/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${address.searchParams.get('token')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 1, method: 'app.info', params: {} }),
  });
  const envelope = (await response.json()) as { ok: boolean; result: { databasePath: string } };
  assert.ok(envelope.ok, JSON.stringify(envelope));
  return envelope.result;
}

describe('one lab server per database', () => {
  test('a second serve or start points to the running lab and exits 0; after kill -9 the next start serves again', async () => {
    const db = join(root, 'served.db');
    const first = await startServe(db);
    const pid = first.served.child.pid;

    // Who serves, and where, is announced next to the database, readable by this user only.
    const infoFile = instanceInfoPath(db);
    assert.equal(statSync(infoFile).mode & 0o777, 0o600);
    assert.deepEqual((({ pid, url }) => ({ pid, url }))(JSON.parse(readFileSync(infoFile, 'utf8')) as { pid: number; url: string }), {
      pid,
      url: first.url,
    });

    const [second, third] = await Promise.all([
      cellshift(['serve', '--json', '--port', '0', '--db', db]),
      cellshift(['start', '--browser', '--no-open', '--db', db]),
    ]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), { mode: 'already-running', url: first.url, pid, databasePath: db });
    assert.equal(third.code, 0, third.stderr);
    assert.ok(
      third.stdout.includes(`CellShift is already running on this database at ${first.url} (pid ${pid}).`),
      `start says where the lab runs: ${third.stdout}`,
    );
    assert.doesNotMatch(third.stdout, /Mode: browser|Press Ctrl-C/, 'no second server');
    // The address it points to is the live lab, token and all.
    assert.equal((await appInfo(first.url)).databasePath, db);

    // Killed without a chance to clean up: the operating system drops the lock with the process.
    first.served.child.kill('SIGKILL');
    await first.served.exited;
    const next = await startServe(db);
    assert.notEqual(next.url, first.url);
    assert.equal((await appInfo(next.url)).databasePath, db);
    assert.equal((JSON.parse(readFileSync(infoFile, 'utf8')) as { pid: number }).pid, next.served.child.pid);

    next.served.child.kill('SIGTERM');
    assert.equal((await next.served.exited).code, 0);
    assert.equal(existsSync(infoFile), false, 'a clean stop removes the announcement');
  });
});

const HOLDER = `
import { Store } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/node/store/store.ts')).href)};
const store = Store.open(process.argv[1]);
const entry = store.imports.begin('/data/GSE92742_Level5.gctx');
const writer = store.datasets.begin({
  name: 'held import', source: 'gctx', description: '', provenance: {},
  genes: [{ id: 'g1', symbol: 'G1', landmark: true }, { id: 'g2', symbol: 'G2', landmark: true }],
  environments: [{ key: 'ctl', label: 'DMSO', isControl: true, representationKind: 'none' }],
});
writer.addSamples(Array.from({ length: 500 }, (_, i) => ({ id: 's' + i, environment: 0, metadata: {}, expression: new Float32Array([i, -i]) })));
process.stdout.write('holding\\n');
process.stdin.once('data', () => {
  writer.commit((id) => store.imports.finish(entry, 'completed', id, null));
  store.close();
  process.stdout.write('committed\\n');
  process.exit(0);
});
`;

describe('a database busy with a long write in another process', () => {
  test('CLI imports give up after the busy timeout naming that process; readers are not blocked; nothing is corrupted', async () => {
    const db = join(root, 'busy.db');
    const setup = Store.open(db);
    const existing = importSyntheticPreset(setup, { preset: 'linear-independent-2', seed: 1 });
    setup.close();
    const gctx = join(root, 'small.gctx');
    await writeGctxH5wasm(gctx, {
      rowIds: ['1', '2', '3'],
      colIds: Array.from({ length: 8 }, (_, i) => `sig${i}`),
      values: new Float32Array(24).map((_, i) => i),
      colMeta: { pert_id: { kind: 'text', values: Array.from({ length: 8 }, (_, i) => `BRD-${i % 2}`) } },
    });

    const holder = spawnScript(HOLDER, [db]);
    children.push(holder);
    await waitUntil('the holder to take the write lock', () => {
      if (holder.child.exitCode !== null) throw new Error(`holder exited: ${holder.stderr()}`);
      return holder.stdout().includes('holding');
    });
    const holderPid = holder.child.pid;

    const busy = new RegExp(
      `The database ${db} is busy: another CellShift process \\(pid ${holderPid}, importing /data/GSE92742_Level5\\.gctx\\) ` +
        `has held its write lock for over ${BUSY_TIMEOUT_MS / 1000} s\\. Nothing was changed; retry when that work has finished`,
    );
    const [fileImport, syntheticImport, listing] = await Promise.all([
      cellshift(['import', gctx, '--db', db, '--json']),
      cellshift(['import', '--synthetic', 'linear-independent-2', '--db', db, '--json']),
      cellshift(['datasets', '--db', db, '--json']),
    ]);
    for (const [what, result] of [
      ['file import', fileImport],
      ['synthetic import', syntheticImport],
    ] as const) {
      assert.equal(result.code, 1, `${what}: exit code; stderr ${result.stderr}`);
      assert.match(result.stderr, busy, what);
      assertNoRawError(result.stderr);
      assert.ok(result.ms >= BUSY_TIMEOUT_MS, `${what} waited the busy timeout (${result.ms.toFixed(0)} ms)`);
      assert.ok(result.ms < BUSY_TIMEOUT_MS + 25_000, `${what} gave up in bounded time (${result.ms.toFixed(0)} ms)`);
    }
    // Reading never waits for a writer (WAL), and opening the lab takes no write lock.
    assert.equal(listing.code, 0, listing.stderr);
    assert.deepEqual(
      (JSON.parse(listing.stdout) as { id: string }[]).map((d) => d.id),
      [existing.id],
    );
    assert.ok(listing.ms < fileImport.ms, `listing took ${listing.ms.toFixed(0)} ms, as long as a blocked writer`);
    console.log(
      `# busy database: imports gave up after ${fileImport.ms.toFixed(0)} / ${syntheticImport.ms.toFixed(0)} ms, ` +
        `listing took ${listing.ms.toFixed(0)} ms (process start included)`,
    );

    holder.child.stdin.write('commit\n');
    await waitUntil('the holder to commit', () => holder.stdout().includes('committed'));
    assert.equal((await holder.exited).code, 0, holder.stderr());

    const store = Store.open(db);
    try {
      assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
      const datasets = store.datasets.list();
      assert.deepEqual(datasets.map((d) => d.name).sort(), ['held import', existing.name].sort());
      assert.equal(datasets.find((d) => d.name === 'held import')?.nSamples, 500);
      const journal = store.imports.list();
      assert.deepEqual(
        journal.map((j) => [j.source, j.status]),
        [['/data/GSE92742_Level5.gctx', 'completed']],
        'the refused import wrote nothing, not even a journal entry',
      );
    } finally {
      store.close();
    }
  });
});
