// A journal of imports, written outside the import's own transaction: if the app dies mid-import
// the dataset rolls back, and the next start can still say which import was interrupted.
import { randomUUID } from 'node:crypto';
import { Repository } from './repository.js';
import { camelFields } from './rows.js';
import { processIsAlive } from './runs.js';

export interface ImportRecord {
  id: string;
  source: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';
  startedAt: string;
  finishedAt: string | null;
  datasetId: string | null;
  message: string | null;
}

interface Row {
  id: string;
  source: string;
  status: ImportRecord['status'];
  started_at: string;
  finished_at: string | null;
  dataset_id: string | null;
  message: string | null;
  owner_pid: number | null;
}

export class ImportJournal extends Repository {
  begin(source: string): string {
    const id = `imp_${randomUUID().slice(0, 8)}`;
    this.db
      .prepare("INSERT INTO imports (id, source, status, owner_pid, started_at) VALUES (?, ?, 'running', ?, ?)")
      .run(id, source, process.pid, new Date().toISOString());
    return id;
  }

  finish(id: string, status: Exclude<ImportRecord['status'], 'running'>, datasetId: string | null, message: string | null): void {
    this.db
      .prepare('UPDATE imports SET status = ?, dataset_id = ?, message = ?, finished_at = ? WHERE id = ?')
      .run(status, datasetId, message, new Date().toISOString(), id);
  }

  /** Imports whose process died are marked interrupted; returns them so the app can say so. */
  markInterrupted(isAlive: (pid: number) => boolean = processIsAlive): ImportRecord[] {
    const stale = (this.db.prepare("SELECT * FROM imports WHERE status = 'running'").all() as Row[]).filter(
      (r) => r.owner_pid === null || !isAlive(r.owner_pid),
    );
    if (stale.length === 0) return [];
    const update = this.db.prepare(
      "UPDATE imports SET status = 'interrupted', finished_at = ?, message = 'The app stopped during this import; nothing of it was stored. Import the file again.' WHERE id = ?",
    );
    this.db.transaction(() => {
      for (const r of stale) update.run(new Date().toISOString(), r.id);
    })();
    return stale.map((r) => this.get(r.id));
  }

  get(id: string): ImportRecord {
    return toRecord(this.db.prepare('SELECT * FROM imports WHERE id = ?').get(id) as Row);
  }

  list(limit = 50): ImportRecord[] {
    return (this.db.prepare('SELECT * FROM imports ORDER BY started_at DESC LIMIT ?').all(limit) as Row[]).map(toRecord);
  }
}

function toRecord(row: Row): ImportRecord {
  return camelFields(row, ['id', 'source', 'status', 'started_at', 'finished_at', 'dataset_id', 'message']);
}
