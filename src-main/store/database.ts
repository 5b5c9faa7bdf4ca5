// Opening the lab database: WAL, foreign keys, forward-only migrations, and specific errors
// for the ways opening fails on a real desktop (locked, read-only, newer schema, not SQLite).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { LabError } from '../api/errors.js';
import { migrations as allMigrations, latestSchemaVersion, type Migration } from './migrations.js';

export interface OpenOptions {
  /** Path to a better_sqlite3.node built for another ABI (Electron in development). */
  nativeBinding?: string;
  /** For tests of migrations: apply only the first N migrations. */
  migrations?: readonly Migration[];
  readonly?: boolean;
}

export function openDatabase(path: string, options: OpenOptions = {}): Database {
  const migrations = options.migrations ?? allMigrations;
  if (path !== ':memory:' && !options.readonly) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw new LabError('bad_input', `Cannot create the database folder ${dirname(path)}: ${messageOf(error)}`);
    }
  }
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(path, {
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.readonly ? { readonly: true, fileMustExist: true } : {}),
    });
    db.pragma('busy_timeout = 5000');
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
    db.close();
    throw error instanceof LabError ? error : describeOpenError(path, error);
  }
  return db;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Database, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  assertNotNewer(current);
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated since we looked.
      const now = schemaVersion(db);
      assertNotNewer(now);
      if (migration.version <= now) return;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
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

function describeOpenError(path: string, error: unknown): LabError {
  const code = (error as { code?: string }).code ?? '';
  const message = messageOf(error);
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY')) {
    return new LabError('conflict', `The database ${path} is locked by another process (is CellShift already running?).`);
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new LabError('bad_input', `The database ${path} is read-only: choose a writable location with --db or CELLSHIFT_DB.`);
  }
  if (code === 'SQLITE_NOTADB') {
    return new LabError('bad_input', `${path} is not a CellShift database (not an SQLite file).`);
  }
  if (code === 'SQLITE_CORRUPT') {
    return new LabError('bad_input', `The database ${path} is damaged (${message}). Restore it from a backup.`);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new LabError('bad_input', `Cannot open the database ${path}: ${message}`);
  }
  if (code === 'SQLITE_FULL') {
    return new LabError('bad_input', `The disk holding ${path} is full.`);
  }
  return new LabError('internal', `Cannot open the database ${path}: ${message}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
