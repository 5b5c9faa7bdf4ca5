// Training runs and their metric history. The trainer appends; the app reads.
import { randomUUID } from 'node:crypto';
import { finishingRunStatuses, type RunStatus, type RunSummary } from '../../shared/api/domain.js';
import { LabError } from '../../shared/api/errors.js';
import type { ModelFamily } from '../../shared/api/model-families.js';
import { Repository } from './repository.js';
import { camelFields } from './rows.js';

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

export interface EpochRecord {
  epoch: number;
  points: MetricPoint[];
  validationLoss: number | null;
  checkpoint?: { step: number; weights: Buffer; optimizerState: Buffer | null; rngState: string | null; keep: number };
}

export interface StoredCheckpoint {
  epoch: number;
  step: number;
  weights: Buffer;
  optimizerState: Buffer | null;
  rngState: string | null;
}

interface RunRow {
  id: string;
  name: string;
  dataset_id: string;
  /** Written from a validated TrainingConfig, so always a family id. */
  model: ModelFamily;
  status: RunStatus;
  backend: string | null;
  threads: number | null;
  seed: number;
  created_at: string;
  finished_at: string | null;
  epochs_done: number;
  config: string;
  best_validation_loss: number | null;
  message: string | null;
}

export class RunRepository extends Repository {
  create(run: NewRun): RunSummary {
    if (!this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(run.datasetId)) {
      throw new LabError('not_found', `No dataset with id "${run.datasetId}"`);
    }
    const id = `run_${randomUUID().slice(0, 8)}`;
    this.db
      .prepare(
        `INSERT INTO runs (id, dataset_id, split_id, name, model, config, status, seed, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(id, run.datasetId, run.splitId ?? null, run.name, run.model, JSON.stringify(run.config), run.seed, new Date().toISOString());
    return this.get(id);
  }

  get(id: string): RunSummary {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new LabError('not_found', `No run with id "${id}"`);
    return toSummary(row);
  }

  list(datasetId?: string): RunSummary[] {
    const rows = (
      datasetId === undefined
        ? this.db.prepare('SELECT * FROM runs ORDER BY created_at DESC, rowid DESC').all()
        : this.db.prepare('SELECT * FROM runs WHERE dataset_id = ? ORDER BY created_at DESC, rowid DESC').all(datasetId)
    ) as RunRow[];
    return rows.map(toSummary);
  }

  setStatus(id: string, status: RunStatus, message: string | null = null): void {
    const finished = finishingRunStatuses.includes(status) ? new Date().toISOString() : null;
    const info = this.db
      .prepare(
        `UPDATE runs SET status = ?, message = ?, finished_at = coalesce(?, finished_at),
           started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) ELSE started_at END
         WHERE id = ?`,
      )
      .run(status, message, finished, status, new Date().toISOString(), id);
    if (info.changes === 0) throw new LabError('not_found', `No run with id "${id}"`);
  }

  setBackend(id: string, backend: string, threads: number | null): void {
    this.db.prepare('UPDATE runs SET backend = ?, threads = ? WHERE id = ?').run(backend, threads, id);
  }

  setDetails(id: string, details: unknown): void {
    this.db.prepare('UPDATE runs SET details = ? WHERE id = ?').run(JSON.stringify(details), id);
  }

  details(id: string): unknown {
    const row = this.db.prepare('SELECT details FROM runs WHERE id = ?').get(id) as { details: string | null } | undefined;
    if (!row) throw new LabError('not_found', `No run with id "${id}"`);
    return row.details === null ? null : JSON.parse(row.details);
  }

  config(id: string): unknown {
    const row = this.db.prepare('SELECT config FROM runs WHERE id = ?').get(id) as { config: string } | undefined;
    if (!row) throw new LabError('not_found', `No run with id "${id}"`);
    return JSON.parse(row.config);
  }

  rename(id: string, name: string): RunSummary {
    if (this.db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(name, id).changes === 0) {
      throw new LabError('not_found', `No run with id "${id}"`);
    }
    return this.get(id);
  }

  delete(id: string): void {
    if (this.db.prepare('DELETE FROM runs WHERE id = ?').run(id).changes === 0) throw new LabError('not_found', `No run with id "${id}"`);
  }

  /**
   * Appends one epoch's metrics, progress and checkpoint in one transaction, so history and
   * checkpoint never disagree after a crash; then prunes checkpoints to the newest `keep`
   * plus the one with the best validation loss.
   */
  recordEpoch(id: string, epoch: EpochRecord): void {
    const insert = this.db.prepare(
      'INSERT INTO metrics (run_id, epoch, step, split, name, value, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const now = new Date().toISOString();
    this.db
      .transaction(() => {
        if (!this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id)) throw new LabError('not_found', `No run with id "${id}"`);
        for (const p of epoch.points) insert.run(id, p.epoch, p.step, p.split, p.name, p.value, now);
        const validationLoss = epoch.validationLoss;
        this.db
          .prepare(
            `UPDATE runs SET epochs_done = max(epochs_done, ?),
             best_validation_loss = CASE WHEN ? IS NULL THEN best_validation_loss
                                         ELSE min(coalesce(best_validation_loss, ?), ?) END
           WHERE id = ?`,
          )
          .run(epoch.epoch, validationLoss, validationLoss, validationLoss, id);
        const checkpoint = epoch.checkpoint;
        if (!checkpoint) return;
        this.db
          .prepare(
            `INSERT OR REPLACE INTO checkpoints (run_id, epoch, step, created_at, weights, optimizer_state, rng_state)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, epoch.epoch, checkpoint.step, now, checkpoint.weights, checkpoint.optimizerState, checkpoint.rngState);
        const best = this.db
          .prepare(`SELECT epoch FROM metrics WHERE run_id = ? AND split = 'validation' AND name = 'loss' ORDER BY value, epoch LIMIT 1`)
          .pluck()
          .get(id) as number | undefined;
        this.db
          .prepare(
            `DELETE FROM checkpoints WHERE run_id = ? AND epoch != ? AND epoch NOT IN
             (SELECT epoch FROM checkpoints WHERE run_id = ? ORDER BY epoch DESC LIMIT ?)`,
          )
          .run(id, best ?? -1, id, checkpoint.keep);
      })
      .immediate(); // IMMEDIATE: it reads before it writes, and a deferred upgrade fails at once under WAL contention
  }

  latestCheckpoint(id: string): StoredCheckpoint | null {
    const row = this.db
      .prepare('SELECT epoch, step, weights, optimizer_state, rng_state FROM checkpoints WHERE run_id = ? ORDER BY epoch DESC LIMIT 1')
      .get(id) as { epoch: number; step: number; weights: Buffer; optimizer_state: Buffer | null; rng_state: string | null } | undefined;
    return row
      ? { epoch: row.epoch, step: row.step, weights: row.weights, optimizerState: row.optimizer_state, rngState: row.rng_state }
      : null;
  }

  checkpointEpochs(id: string): number[] {
    return this.db.prepare('SELECT epoch FROM checkpoints WHERE run_id = ? ORDER BY epoch').pluck().all(id) as number[];
  }

  /** Removes history past a checkpoint, so a resumed run does not record an epoch twice. */
  truncateAfter(id: string, epoch: number): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM metrics WHERE run_id = ? AND epoch > ?').run(id, epoch);
        this.db.prepare('DELETE FROM checkpoints WHERE run_id = ? AND epoch > ?').run(id, epoch);
        this.db.prepare('UPDATE runs SET epochs_done = ? WHERE id = ?').run(epoch, id);
      })
      .immediate();
  }

  /** Records which process trains a run, so another process can tell a live run from an orphan. */
  setOwner(id: string, pid: number | null): void {
    this.db.prepare('UPDATE runs SET owner_pid = ? WHERE id = ?').run(pid, id);
  }

  /**
   * Runs left running, queued or paused by a process that no longer exists are marked
   * interrupted (on start-up). Runs of another live process (a second CLI, the app) are left alone.
   */
  markInterrupted(isAlive: (pid: number) => boolean = processIsAlive): string[] {
    const candidates = this.db.prepare("SELECT id, owner_pid FROM runs WHERE status IN ('running', 'paused', 'queued')").all() as {
      id: string;
      owner_pid: number | null;
    }[];
    const ids = candidates.filter((r) => r.owner_pid === null || !isAlive(r.owner_pid)).map((r) => r.id);
    // Nothing to mark: take no write lock, so opening the lab does not wait behind another
    // process's long write (an import holds one for its whole duration).
    if (ids.length === 0) return ids;
    const update = this.db.prepare(
      "UPDATE runs SET status = 'interrupted', message = 'The app stopped while this run was training; resume it to continue from its last checkpoint.' WHERE id = ?",
    );
    this.db
      .transaction(() => {
        for (const id of ids) update.run(id);
      })
      .immediate();
    return ids;
  }

  metrics(id: string, name?: string): MetricPoint[] {
    const sql = `SELECT epoch, step, split, name, value FROM metrics WHERE run_id = ? ${name ? 'AND name = ?' : ''} ORDER BY step, rowid`;
    return this.db.prepare(sql).all(...(name ? [id, name] : [id])) as MetricPoint[];
  }
}

function toSummary(row: RunRow): RunSummary {
  return {
    ...camelFields(row, ['id', 'name', 'dataset_id', 'model', 'status', 'backend', 'threads', 'seed', 'created_at', 'finished_at']),
    epochsDone: row.epochs_done,
    epochsPlanned: plannedEpochs(row.config),
    bestValidationLoss: row.best_validation_loss,
    message: row.message,
  };
}

/** Whether a process (by pid, on this machine) still exists. */
export function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}

function plannedEpochs(config: string): number | null {
  try {
    const epochs = (JSON.parse(config) as { epochs?: unknown }).epochs;
    return typeof epochs === 'number' && Number.isInteger(epochs) ? epochs : null;
  } catch {
    return null;
  }
}
