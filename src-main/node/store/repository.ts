// Every repository reads and writes its tables through the one connection the Store opens.
import type { Database } from 'better-sqlite3';

export abstract class Repository {
  protected readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** The first row `sql` returns for `params`, or undefined when there is none. */
  protected firstRow<Row>(sql: string, ...params: unknown[]): Row | undefined {
    return this.db.prepare(sql).get(...params) as Row | undefined;
  }
}
