// Plans (a study or sweep as independent runs that may train elsewhere, e.g. as Slurm array
// tasks), the runs collected from their result shards, and the database files they travel as: a
// read-only snapshot of one dataset, and one small shard per finished task.
import { chmodSync, rmSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { LabError } from '../../shared/api/errors.js';
import { schemaVersion } from './database.js';
import { Repository } from './repository.js';
import { camelFields } from './rows.js';

export interface PlanRecord {
  id: string;
  kind: string;
  name: string;
  datasetId: string;
  executor: string;
  bundlePath: string | null;
  tasks: number;
  plan: string;
  reportArtifactId: string | null;
  createdAt: string;
}

interface PlanRow {
  id: string;
  kind: string;
  name: string;
  dataset_id: string;
  executor: string;
  bundle_path: string | null;
  tasks: number;
  plan: string;
  report_artifact_id: string | null;
  created_at: string;
}

function fromRow(row: PlanRow): PlanRecord {
  return camelFields(row, [
    'id',
    'kind',
    'name',
    'dataset_id',
    'executor',
    'bundle_path',
    'tasks',
    'plan',
    'report_artifact_id',
    'created_at',
  ]);
}

export class PlanRepository extends Repository {
  /** Registers a plan once; registering the same id again keeps the first record. */
  register(plan: Omit<PlanRecord, 'reportArtifactId'>): PlanRecord {
    this.db
      .prepare(
        `INSERT INTO plans (id, kind, name, dataset_id, executor, bundle_path, tasks, plan, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(plan.id, plan.kind, plan.name, plan.datasetId, plan.executor, plan.bundlePath, plan.tasks, plan.plan, plan.createdAt);
    return this.get(plan.id);
  }

  find(id: string): PlanRecord | null {
    const row = this.db.prepare('SELECT * FROM plans WHERE id = ?').get(id) as PlanRow | undefined;
    return row ? fromRow(row) : null;
  }

  get(id: string): PlanRecord {
    const plan = this.find(id);
    if (!plan) throw new LabError('not_found', `No plan with id "${id}"`);
    return plan;
  }

  list(): PlanRecord[] {
    return (this.db.prepare('SELECT * FROM plans ORDER BY created_at DESC').all() as PlanRow[]).map(fromRow);
  }

  /** Task index → run id of every task collected so far. */
  collected(planId: string): Map<number, string> {
    const rows = this.db.prepare('SELECT task_index, run_id FROM plan_tasks WHERE plan_id = ?').all(planId) as {
      task_index: number;
      run_id: string;
    }[];
    return new Map(rows.map((r) => [r.task_index, r.run_id]));
  }

  setReport(planId: string, artifactId: string): void {
    this.db.prepare('UPDATE plans SET report_artifact_id = ? WHERE id = ?').run(artifactId, planId);
  }

  /**
   * Copies one task's run (its record, metrics and checkpoints) out of a shard file and records
   * the task as collected, in one transaction. The shard must have this database's schema.
   */
  mergeShard(shardPath: string, planId: string, taskIndex: number, runId: string): void {
    this.db.prepare('ATTACH DATABASE ? AS shard').run(shardPath);
    try {
      const shardVersion = this.db.pragma('shard.user_version', { simple: true }) as number;
      if (shardVersion !== schemaVersion(this.db)) {
        throw new LabError(
          'bad_input',
          `Shard ${shardPath} has database schema ${shardVersion}, this lab ${schemaVersion(this.db)}: run the tasks with the same CellShift version as the lab.`,
        );
      }
      this.db.transaction(() => {
        this.#copy('runs', 'id', runId);
        // The task's process is gone: no owner to look after the run here.
        this.db.prepare('UPDATE main.runs SET owner_pid = NULL WHERE id = ?').run(runId);
        this.#copy('metrics', 'run_id', runId);
        this.#copy('checkpoints', 'run_id', runId);
        this.db
          .prepare('INSERT INTO plan_tasks (plan_id, task_index, run_id, collected_at) VALUES (?, ?, ?, ?)')
          .run(planId, taskIndex, runId, new Date().toISOString());
      })();
    } finally {
      this.db.exec('DETACH DATABASE shard');
    }
  }

  /** By column name, so a column order that differs between two databases cannot shift values. */
  #copy(table: 'runs' | 'metrics' | 'checkpoints', key: string, value: string): void {
    const columns = (this.db.pragma(`main.table_info(${table})`) as { name: string }[]).map((c) => c.name).join(', ');
    this.db.prepare(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM shard.${table} WHERE ${key} = ?`).run(value);
  }
}

/**
 * A file holding one dataset and nothing else of the lab, in rollback-journal mode (no WAL: it
 * is read over network filesystems) and read-only on disk, so any number of tasks can read it.
 */
export function writeDatasetSnapshot(lab: Database, datasetId: string, path: string): void {
  rmSync(path, { force: true });
  lab.prepare('VACUUM INTO ?').run(path);
  const db = new BetterSqlite3(path);
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('foreign_keys = ON');
    db.transaction(() => {
      // Runs first: datasets refuse to go while runs point at them.
      db.exec('DELETE FROM plans; DELETE FROM artifacts; DELETE FROM runs; DELETE FROM imports; DELETE FROM view_states');
      db.prepare('DELETE FROM datasets WHERE id != ?').run(datasetId);
    })();
    db.exec('VACUUM');
  } finally {
    db.close();
  }
  chmodSync(path, 0o444);
}

/** Copies one row by id from one database to another with the same table (column names read from the row). */
export function copyRow(from: Database, to: Database, table: 'datasets', id: string): void {
  const row = from.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
  if (!row) throw new LabError('not_found', `No ${table} row "${id}" to copy`);
  const columns = Object.keys(row);
  to.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...Object.values(row));
}

/** One setting of a database file opened read-only (a shard's description of itself); null if absent or not a lab database. */
export function readSetting(path: string, key: string): string | null {
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    return (db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}
