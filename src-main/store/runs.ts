// Training runs and their metric history. The trainer appends; the app reads.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { RunStatus, RunSummary } from '../api/domain.js';
import { LabError } from '../api/errors.js';

export interface NewRun {
  datasetId: string;
  splitId?: string;
  name: string;
  model: string;
  config: unknown;
  seed: number;
}

export interface MetricPoint {
  epoch: number;
  step: number;
  split: string;
  name: string;
  value: number;
}

interface RunRow {
  id: string;
  name: string;
  dataset_id: string;
  model: string;
  status: RunStatus;
  backend: string | null;
  seed: number;
  created_at: string;
  finished_at: string | null;
  epochs_done: number;
  best_validation_loss: number | null;
  message: string | null;
}

export class RunRepository {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  create(run: NewRun): RunSummary {
    if (!this.#db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(run.datasetId)) {
      throw new LabError('not_found', `No dataset with id "${run.datasetId}"`);
    }
    const id = `run_${randomUUID().slice(0, 8)}`;
    this.#db
      .prepare(
        `INSERT INTO runs (id, dataset_id, split_id, name, model, config, status, seed, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(id, run.datasetId, run.splitId ?? null, run.name, run.model, JSON.stringify(run.config), run.seed, new Date().toISOString());
    return this.get(id);
  }

  get(id: string): RunSummary {
    const row = this.#db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new LabError('not_found', `No run with id "${id}"`);
    return toSummary(row);
  }

  list(datasetId?: string): RunSummary[] {
    const rows = (
      datasetId === undefined
        ? this.#db.prepare('SELECT * FROM runs ORDER BY created_at DESC, rowid DESC').all()
        : this.#db.prepare('SELECT * FROM runs WHERE dataset_id = ? ORDER BY created_at DESC, rowid DESC').all(datasetId)
    ) as RunRow[];
    return rows.map(toSummary);
  }

  setStatus(id: string, status: RunStatus, message: string | null = null): void {
    const finished = ['completed', 'cancelled', 'failed', 'diverged'].includes(status) ? new Date().toISOString() : null;
    const info = this.#db
      .prepare(
        `UPDATE runs SET status = ?, message = ?, finished_at = coalesce(?, finished_at),
           started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) ELSE started_at END
         WHERE id = ?`,
      )
      .run(status, message, finished, status, new Date().toISOString(), id);
    if (info.changes === 0) throw new LabError('not_found', `No run with id "${id}"`);
  }

  /** Appends one epoch's metrics and progress atomically, so history never half-lands. */
  recordEpoch(id: string, epoch: number, points: MetricPoint[], validationLoss: number | null): void {
    const insert = this.#db.prepare(
      'INSERT INTO metrics (run_id, epoch, step, split, name, value, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const now = new Date().toISOString();
    this.#db.transaction(() => {
      for (const p of points) insert.run(id, p.epoch, p.step, p.split, p.name, p.value, now);
      this.#db
        .prepare(
          `UPDATE runs SET epochs_done = max(epochs_done, ?),
             best_validation_loss = CASE WHEN ? IS NULL THEN best_validation_loss
                                         ELSE min(coalesce(best_validation_loss, ?), ?) END
           WHERE id = ?`,
        )
        .run(epoch, validationLoss, validationLoss, validationLoss, id);
    })();
  }

  metrics(id: string, name?: string): MetricPoint[] {
    const sql = `SELECT epoch, step, split, name, value FROM metrics WHERE run_id = ? ${name ? 'AND name = ?' : ''} ORDER BY step, rowid`;
    return this.#db.prepare(sql).all(...(name ? [id, name] : [id])) as MetricPoint[];
  }
}

function toSummary(row: RunRow): RunSummary {
  return {
    id: row.id,
    name: row.name,
    datasetId: row.dataset_id,
    model: row.model,
    status: row.status,
    backend: row.backend,
    seed: row.seed,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    epochsDone: row.epochs_done,
    bestValidationLoss: row.best_validation_loss,
    message: row.message,
  };
}
