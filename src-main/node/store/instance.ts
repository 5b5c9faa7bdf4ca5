// One lab server per database. `cellshift serve/start` holds an exclusive SQLite lock on a small
// file next to the database for as long as it runs; the operating system drops that lock when
// the process ends, however it ends (kill -9 included), so a stale lock cannot block the next
// start. Who holds it, and at which URL, is in a JSON file beside it (the lock file itself
// cannot be read while locked). A second start reads that and points the user to the running
// lab: the browser-mode equivalent of a second desktop launch focusing the first window.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { processIsAlive } from './runs.js';

export interface InstanceInfo {
  pid: number;
  /** The address the lab serves (with its launch token); null while it is still starting. */
  url: string | null;
  startedAt: string;
}

export function instanceLockPath(databasePath: string): string {
  return `${databasePath}.lock`;
}

export function instanceInfoPath(databasePath: string): string {
  return `${databasePath}.instance.json`;
}

export type Acquired =
  | { kind: 'acquired'; lock: InstanceLock }
  | { kind: 'held'; info: InstanceInfo | null }
  /** The lock file cannot be created (e.g. a read-only folder): opening the database will say why. */
  | { kind: 'unavailable'; reason: string };

export class InstanceLock {
  readonly #databasePath: string;
  readonly #db: Database;
  #info: InstanceInfo;

  private constructor(databasePath: string, db: Database) {
    this.#databasePath = databasePath;
    this.#db = db;
    this.#info = { pid: process.pid, url: null, startedAt: new Date().toISOString() };
    this.#write();
  }

  /** Takes the database's instance lock without waiting. */
  static acquire(databasePath: string, options: { nativeBinding?: string } = {}): Acquired {
    let db: Database;
    try {
      db = new BetterSqlite3(instanceLockPath(databasePath), options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
    } catch (error) {
      return { kind: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
    }
    try {
      db.pragma('busy_timeout = 0');
      db.exec('BEGIN EXCLUSIVE');
    } catch (error) {
      db.close();
      const code = (error as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY')) return { kind: 'held', info: runningInstance(databasePath) };
      return { kind: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
    }
    try {
      return { kind: 'acquired', lock: new InstanceLock(databasePath, db) };
    } catch (error) {
      db.close();
      return { kind: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  get info(): InstanceInfo {
    return this.#info;
  }

  /**
   * Tells later starts where this lab can be reached. Best effort: if it cannot be written (a
   * full disk), the lock still holds and a second start says that another process has the database.
   */
  publish(url: string): void {
    this.#info = { ...this.#info, url };
    try {
      this.#write();
    } catch (error) {
      console.error(`Could not write ${instanceInfoPath(this.#databasePath)}:`, error);
    }
  }

  release(): void {
    if (!this.#db.open) return;
    try {
      if (runningInstanceFile(this.#databasePath)?.pid === process.pid) rmSync(instanceInfoPath(this.#databasePath), { force: true });
    } finally {
      this.#db.close();
    }
  }

  #write(): void {
    // Readable by this user only: the URL carries the launch token. Renamed into place, so a
    // reader never sees half a file.
    const path = instanceInfoPath(this.#databasePath);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.#info)}\n`, { mode: 0o600 });
    renameSync(temporary, path);
  }
}

/** The live process serving this database, as it announced itself; null if none announced. */
export function runningInstance(databasePath: string): InstanceInfo | null {
  const info = runningInstanceFile(databasePath);
  return info && info.pid !== process.pid && processIsAlive(info.pid) ? info : null;
}

function runningInstanceFile(databasePath: string): InstanceInfo | null {
  try {
    const parsed = JSON.parse(readFileSync(instanceInfoPath(databasePath), 'utf8')) as Partial<InstanceInfo>;
    if (typeof parsed.pid !== 'number' || typeof parsed.startedAt !== 'string') return null;
    return { pid: parsed.pid, url: typeof parsed.url === 'string' ? parsed.url : null, startedAt: parsed.startedAt };
  } catch {
    return null;
  }
}
