// A database the lab cannot write: on a read-only file system, an immutable file, or (for a
// normal user) a file or folder without write permission. Opening it from the CLI or `serve`
// must say which path is read-only and what to do, exit non-zero, crash with no raw SQLite
// error or stack, and leave the database as it was.
//
// Root ignores permission bits, so as root (CI) the read-only cases are made the way they bite
// root too: a tmpfs remounted read-only (EROFS) and `chattr +i` (EPERM). Without root those
// are skipped and the permission-bit cases run instead; each skip says why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { Store } from '../../src-main/node/store/store.js';
import { assertNoRawError, cellshift, isRoot, mountTmpfs, remount, spawnCellshift, unmount } from './fault-tools.js';

const WHAT_TO_DO = /choose a writable location with --db PATH or CELLSHIFT_DB/;

let root = '';

before(() => {
  root = mkdtempSync(join(tmpdir(), 'cellshift-readonly-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A database holding one small dataset. */
function makeDatabase(path: string): void {
  const store = Store.open(path);
  try {
    importSyntheticPreset(store, { preset: 'linear-independent-2', seed: 1 });
  } finally {
    store.close();
  }
}

async function assertRefused(args: string[], message: RegExp): Promise<void> {
  const result = await cellshift(args);
  assert.equal(result.code, 1, `${args.join(' ')} exit code; stderr: ${result.stderr}`);
  assert.match(result.stderr, message);
  assert.match(result.stderr, WHAT_TO_DO);
  assertNoRawError(result.stderr);
}

/** Opens the database for writing again, as the lab does, and counts its datasets. */
function datasetsIn(path: string): number {
  const store = Store.open(path);
  try {
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    return store.datasets.list().length;
  } finally {
    store.close();
  }
}

describe('read-only database locations', { concurrency: true }, () => {
  test('a read-only file system: the file, a new file, a new folder, and serve are each refused by name', async (t) => {
    const mount = join(root, 'ro-mount');
    mkdirSync(mount);
    const skip = mountTmpfs(mount, 4 * 1024 * 1024);
    if (skip) return t.skip(skip);
    try {
      const db = join(mount, 'lab.db');
      makeDatabase(db);
      const before = readFileSync(db);
      remount(mount, 'ro');

      await Promise.all([
        assertRefused(
          ['datasets', '--db', db],
          new RegExp(`The database file ${db} is read-only: it is on a read-only file system\\. CellShift writes to its database`),
        ),
        assertRefused(
          ['datasets', '--db', join(mount, 'new.db')],
          new RegExp(`The database folder ${mount} is read-only: it is on a read-only file system\\. SQLite keeps journal files`),
        ),
        assertRefused(
          ['import', '--synthetic', 'demo', '--db', join(mount, 'sub', 'lab.db')],
          new RegExp(`Cannot create the database folder ${join(mount, 'sub')}: ${mount} is on a read-only file system`),
        ),
        (async () => {
          // serve gives up at once with the same message; it neither hangs nor prints a URL.
          const served = spawnCellshift(['serve', '--json', '--port', '0', '--db', db]);
          const timer = setTimeout(() => served.child.kill('SIGKILL'), 30_000);
          const { code } = await served.exited;
          clearTimeout(timer);
          assert.equal(code, 1, `serve exit code; stderr: ${served.stderr()}`);
          assert.match(served.stderr(), /The database file .+ is read-only/);
          assert.equal(served.stdout(), '', 'no URL announced');
          assertNoRawError(served.stderr());
        })(),
      ]);

      remount(mount, 'rw');
      assert.ok(readFileSync(db).equals(before), 'the database file is byte for byte unchanged');
      assert.equal(datasetsIn(db), 1, 'writable again: the lab opens with its dataset');
    } finally {
      unmount(mount);
    }
  });

  test('an immutable database file (chattr +i, refused even to root)', async (t) => {
    const folder = join(root, 'immutable');
    mkdirSync(folder);
    const db = join(folder, 'lab.db');
    makeDatabase(db);
    const chattr = spawnSync('chattr', ['+i', db], { encoding: 'utf8' });
    if (chattr.error || chattr.status !== 0) {
      return t.skip(
        `chattr +i needs root (CAP_LINUX_IMMUTABLE) on a file system with attributes: ${chattr.stderr ?? chattr.error?.message}`,
      );
    }
    try {
      await assertRefused(
        ['datasets', '--db', db],
        new RegExp(`The database file ${db} is read-only: it may not be modified \\(it is marked immutable`),
      );
    } finally {
      spawnSync('chattr', ['-i', db]);
    }
    assert.equal(datasetsIn(db), 1);
  });

  test('no write permission on the file or its folder (a normal user; root ignores permission bits)', async (t) => {
    if (isRoot) return t.skip('running as root, which permission bits do not stop; the read-only mount and immutable cases cover root');
    const folder = join(root, 'no-permission');
    mkdirSync(folder);
    const db = join(folder, 'lab.db');
    makeDatabase(db);
    try {
      chmodSync(db, 0o444);
      await assertRefused(
        ['datasets', '--db', db],
        /The database file .+ is read-only: it is not writable for this user \(permission denied\)/,
      );
      chmodSync(db, 0o644);
      chmodSync(folder, 0o555);
      await assertRefused(
        ['datasets', '--db', db],
        /The database folder .+ is read-only: it is not writable for this user \(permission denied\)/,
      );
    } finally {
      chmodSync(folder, 0o755);
      chmodSync(db, 0o644);
    }
    assert.equal(datasetsIn(db), 1);
  });
});
