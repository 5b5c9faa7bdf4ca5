// Opening the lab database: WAL, foreign keys, forward-only migrations, and specific errors
// for the ways opening fails on a real desktop (locked, read-only, full, newer schema, not SQLite).
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { LabError } from '../../shared/api/errors.js';
import { BUSY_TIMEOUT_MS, databaseFailure, describeErrno } from './errors.js';
import { migrations as allMigrations, latestSchemaVersion, type Migration } from './migrations.js';

export interface OpenOptions {
  /** Path to a better_sqlite3.node built for another ABI (Electron in development). */
  nativeBinding?: string;
  /** For tests of migrations: apply only the first N migrations. */
  migrations?: readonly Migration[];
  readonly?: boolean;
}

const CHOOSE_ANOTHER = 'choose a writable location with --db PATH or CELLSHIFT_DB';

export function openDatabase(path: string, options: OpenOptions = {}): Database {
  const migrations = options.migrations ?? allMigrations;
  if (path !== ':memory:' && !options.readonly) checkWritableLocation(path);
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(path, {
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.readonly ? { readonly: true, fileMustExist: true } : {}),
    });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
  } catch (error) {
    // A file that is not SQLite opens fine and fails at the first pragma: do not leak its handle.
    if (db?.open) db.close();
    throw describeOpenError(path, error);
  }
  try {
    migrate(db, migrations);
  } catch (error) {
    const described = error instanceof LabError ? error : describeOpenError(path, error, db);
    db.close();
    throw described;
  }
  return db;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Each migration runs in one IMMEDIATE transaction together with its version bump: a crash or
 * an error mid-migration leaves the previous version intact. Foreign keys are off meanwhile (it
 * cannot change inside a transaction), so a migration may rebuild a table (create, copy, drop,
 * rename) without the drop cascading into its children; the result is checked before commit.
 */
function migrate(db: Database, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  assertNotNewer(current);
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return;
  db.pragma('foreign_keys = OFF');
  try {
    for (const migration of pending) {
      db.transaction(() => {
        // Re-read inside the write lock: another process may have migrated since we looked.
        const now = schemaVersion(db);
        assertNotNewer(now);
        if (migration.version <= now) return;
        migration.up(db);
        const broken = db.pragma('foreign_key_check') as { table: string; parent: string }[];
        if (broken.length > 0) {
          const first = broken[0] as { table: string; parent: string };
          throw new LabError(
            'internal',
            `Migration ${migration.version} (${migration.description}) left ${broken.length} rows of ${first.table} without their ${first.parent}; ` +
              'it was rolled back and the database is unchanged.',
          );
        }
        db.pragma(`user_version = ${migration.version}`);
      }).immediate();
    }
  } finally {
    db.pragma('foreign_keys = ON');
  }
}

function assertNotNewer(current: number): void {
  if (current > latestSchemaVersion) {
    throw new LabError(
      'conflict',
      `This database has schema version ${current}, newer than this CellShift understands (${latestSchemaVersion}). ` +
        'It was written by a newer version of the app: update CellShift, or choose another database with --db.',
    );
  }
}

/**
 * Before SQLite sees the path: the folder must exist (or be creatable) and, like the file, be
 * writable, since SQLite keeps its -wal and -shm files next to the database. Asked of the
 * operating system (access(2)), so it holds for root too: a read-only mount or an immutable
 * file refuses root as well, while plain permissions do not.
 */
function checkWritableLocation(path: string): void {
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    // A recursive mkdir reports ENOENT where the real cause is the nearest existing ancestor (EROFS, EACCES).
    const ancestor = nearestExisting(folder);
    let errno = errnoOf(error);
    try {
      if (ancestor) accessSync(ancestor, constants.W_OK);
    } catch (accessError) {
      errno = errnoOf(accessError);
    }
    throw new LabError(
      'bad_input',
      `Cannot create the database folder ${folder}: ${ancestor && ancestor !== folder ? `${ancestor} ` : 'it '}${describeErrno(errno)}. ` +
        `Create it yourself, or ${CHOOSE_ANOTHER}.`,
    );
  }
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    // Not there yet: SQLite creates it.
  }
  if (isFile) {
    requireWritable(path, 'file', `CellShift writes to its database whenever it runs; make the file writable, or ${CHOOSE_ANOTHER}.`);
  }
  requireWritable(
    folder,
    'folder',
    `SQLite keeps journal files next to the database (${basename(path)}-wal, ${basename(path)}-shm); ` +
      `make the folder writable, or ${CHOOSE_ANOTHER}.`,
  );
}

/** Throws, saying why and what to do, when the operating system refuses to let us write `target`. */
function requireWritable(target: string, what: 'file' | 'folder', advice: string): void {
  try {
    accessSync(target, constants.W_OK);
  } catch (error) {
    throw new LabError('bad_input', `The database ${what} ${target} is read-only: it ${describeErrno(errnoOf(error))}. ${advice}`);
  }
}

function describeOpenError(path: string, error: unknown, db?: Database): LabError {
  const code = (error as { code?: string }).code ?? '';
  const message = messageOf(error);
  const known = databaseFailure(error, path, db ? { db } : {});
  if (known) return known;
  if (code === 'SQLITE_NOTADB') {
    return new LabError('bad_input', `${path} is not a CellShift database (not an SQLite file).`);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    let what = message;
    try {
      if (statSync(path).isDirectory()) what = 'it is a folder, not a file';
    } catch {
      // Not there: the message SQLite gave is all we know.
    }
    return new LabError('bad_input', `Cannot open the database ${path}: ${what}. Check the path, or ${CHOOSE_ANOTHER}.`);
  }
  return new LabError('internal', `Cannot open the database ${path}: ${message}`);
}

function nearestExisting(folder: string): string | null {
  for (let current = folder; ; current = dirname(current)) {
    try {
      statSync(current);
      return current;
    } catch {
      if (dirname(current) === current) return null;
    }
  }
}

function errnoOf(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
