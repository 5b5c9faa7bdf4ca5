// What SQLite failures caused by the machine (a full disk, a read-only file, another process
// holding the write lock, an I/O error) mean for the user, and what to do about them. Raw
// SQLite messages ("database or disk is full") name neither the file nor a way out.
import { accessSync, constants, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { LabError } from '../../shared/api/errors.js';
import { runningInstance } from './instance.js';
import { processIsAlive } from './runs.js';

/** How long a writer waits for another connection's write lock before giving up (ms). */
export const BUSY_TIMEOUT_MS = 5000;

/** The SQLite result code of a better-sqlite3 error ("SQLITE_FULL", "SQLITE_BUSY_SNAPSHOT", ...), else null. */
export function sqliteCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null;
}

export interface FailureContext {
  /** A connection to the same database, to name who holds the write lock when it is busy. */
  db?: Database;
}

/**
 * The LabError for a SQLite failure the user can act on, or null when the error is something
 * else (a bug, a LabError already, a constraint the caller should have checked).
 */
export function databaseFailure(error: unknown, path: string, context: FailureContext = {}): LabError | null {
  if (error instanceof LabError) return null;
  const code = sqliteCode(error);
  if (code === null) return null;
  if (code === 'SQLITE_FULL') {
    const free = freeSpace(path);
    return new LabError(
      'conflict',
      `The disk holding the database ${path} is full${free === null ? '' : ` (${formatBytes(free)} free)`}: ` +
        'nothing of this operation was stored. Free some space on that disk, then retry.',
      { sqlite: code },
    );
  }
  if (code.startsWith('SQLITE_BUSY')) {
    const holder = writeLockHolder(path, context);
    return new LabError(
      'conflict',
      `The database ${path} is busy: ${holder ?? 'another process'} has held its write lock for over ${BUSY_TIMEOUT_MS / 1000} s. ` +
        'Nothing was changed; retry when that work has finished (or stop it).',
      { sqlite: code },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new LabError(
      'bad_input',
      `The database ${path} cannot be written (${readOnlyReason(path) ?? 'SQLite opened it read-only'}). ` +
        'Make the file and its folder writable, or choose another database with --db PATH or CELLSHIFT_DB.',
      { sqlite: code },
    );
  }
  if (code.startsWith('SQLITE_IOERR')) {
    const message = error instanceof Error ? error.message : String(error);
    return new LabError(
      'internal',
      `Reading or writing the database ${path} failed at the operating-system level (${code}: ${message}). ` +
        'Check the disk (is it still connected, is it failing?); the last committed state is kept.',
      { sqlite: code },
    );
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new LabError('bad_input', `The database ${path} is damaged (${code}). Restore it from a backup.`, { sqlite: code });
  }
  return null;
}

/** Free bytes for an unprivileged user on the file system holding `path`, or null if unknown. */
export function freeSpace(path: string): number | null {
  try {
    const stats = statfsSync(dirname(path));
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Why the file (or, failing that, its folder) cannot be written, in words; null if both can. */
export function readOnlyReason(path: string): string | null {
  for (const [target, what] of [
    [path, 'the file'],
    [dirname(path), 'its folder'],
  ] as const) {
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      const errno = (error as { code?: string }).code;
      if (errno === 'ENOENT') continue;
      return `${what} ${target} ${describeErrno(errno)}`;
    }
  }
  return null;
}

/** An errno from a failed write or access check, as the end of a sentence. */
export function describeErrno(errno: string | undefined): string {
  switch (errno) {
    case 'EROFS':
      return 'is on a read-only file system';
    case 'EACCES':
      return 'is not writable for this user (permission denied)';
    case 'EPERM':
      return 'may not be modified (it is marked immutable, or the operation is not permitted)';
    case 'ENOSPC':
      return 'is on a full disk';
    case 'ENOTDIR':
      return 'has a file where a folder should be';
    default:
      return `cannot be written (${errno ?? 'unknown error'})`;
  }
}

/** Who is writing, from the import journal and the run table (readable while another connection writes, in WAL). */
function writeLockHolder(path: string, context: FailureContext): string | null {
  const importing = readImporting(path, context.db);
  if (importing) return `another CellShift process (pid ${importing.owner_pid}, importing ${importing.source})`;
  const server = runningInstance(path);
  if (server) return `another CellShift process (pid ${server.pid}${server.url ? `, serving ${new URL(server.url).origin}` : ''})`;
  return null;
}

/** The newest import another live process is running, read on `db` or on a short-lived read-only connection. */
function readImporting(path: string, db: Database | undefined): { owner_pid: number; source: string } | null {
  let reader: Database | null = null;
  try {
    if (!db?.open) {
      reader = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
      reader.pragma('busy_timeout = 500');
    }
    const rows = ((db?.open ? db : reader) as Database)
      .prepare("SELECT owner_pid, source FROM imports WHERE status = 'running' AND owner_pid IS NOT NULL ORDER BY started_at DESC")
      .all() as { owner_pid: number; source: string }[];
    return rows.find((r) => r.owner_pid !== process.pid && processIsAlive(r.owner_pid)) ?? null;
  } catch {
    // An older schema without the journal, or the database cannot be read either.
    return null;
  } finally {
    reader?.close();
  }
}
