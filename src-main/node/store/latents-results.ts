// What the Latents view opens with — a run's default projection and its ordered prior shifts —
// computed once per checkpoint by the analysis worker and kept here, so opening the view reads
// stored results instead of loading the model (seconds to tens of seconds at LINCS size). Rows
// are keyed by the checkpoint epoch they were computed from; a new checkpoint of the run drops
// them (the trigger of migration 10), and a write checks that the checkpoint is still the newest.
import { Repository } from './repository.js';

export type LatentsResultMethod = 'pca' | 'umap' | 'prior-shifts' | 'top-genes';

export interface LatentsResultKey {
  runId: string;
  epoch: number;
  method: LatentsResultMethod;
  /** The projection's point budget (maxPoints), the genes kept per latent (top genes); 0 for the prior shifts. */
  points: number;
}

export interface LatentsResult {
  /** Small values (JSON): keys, scales, explained variance. */
  facts: unknown;
  /** The large arrays, packed by the caller. */
  arrays: Buffer;
}

/** A run's newest checkpoint, as results are stamped and checked. */
export interface CheckpointStamp {
  epoch: number;
  createdAt: string;
}

export class LatentsResultRepository extends Repository {
  newestCheckpoint(runId: string): CheckpointStamp | null {
    const row = this.firstRow<{ epoch: number; created_at: string }>(
      'SELECT epoch, created_at FROM checkpoints WHERE run_id = ? ORDER BY epoch DESC LIMIT 1',
      runId,
    );
    return row ? { epoch: row.epoch, createdAt: row.created_at } : null;
  }

  get(key: LatentsResultKey): LatentsResult | null {
    const row = this.firstRow<{ facts: string; arrays: Buffer }>(
      'SELECT facts, arrays FROM latents_results WHERE run_id = ? AND epoch = ? AND method = ? AND points = ?',
      key.runId,
      key.epoch,
      key.method,
      key.points,
    );
    return row ? { facts: JSON.parse(row.facts) as unknown, arrays: row.arrays } : null;
  }

  has(key: LatentsResultKey): boolean {
    return (
      this.firstRow(
        'SELECT 1 FROM latents_results WHERE run_id = ? AND epoch = ? AND method = ? AND points = ?',
        key.runId,
        key.epoch,
        key.method,
        key.points,
      ) !== undefined
    );
  }

  /**
   * Stores results computed from checkpoint `from`, all or none (one transaction), and only if
   * that checkpoint is still the run's newest: returns false (nothing written) when the run
   * trained on meanwhile or was deleted. Results of the run's other epochs are dropped.
   */
  put(runId: string, from: CheckpointStamp, results: readonly (Omit<LatentsResultKey, 'runId' | 'epoch'> & LatentsResult)[]): boolean {
    return this.db
      .transaction(() => {
        const newest = this.newestCheckpoint(runId);
        if (!newest || newest.epoch !== from.epoch || newest.createdAt !== from.createdAt) return false;
        this.db.prepare('DELETE FROM latents_results WHERE run_id = ? AND epoch != ?').run(runId, from.epoch);
        const insert = this.db.prepare(
          `INSERT OR REPLACE INTO latents_results (run_id, epoch, method, points, facts, arrays, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        );
        const now = new Date().toISOString();
        for (const r of results) insert.run(runId, from.epoch, r.method, r.points, JSON.stringify(r.facts), r.arrays, now);
        return true;
      })
      .immediate();
  }

  /** The runs (of those given) with a checkpoint that lack one of `required` for it. */
  runsMissing(runIds: readonly string[], required: readonly Omit<LatentsResultKey, 'runId' | 'epoch'>[]): string[] {
    return runIds.filter((runId) => {
      const newest = this.newestCheckpoint(runId);
      return newest !== null && required.some((kind) => !this.has({ runId, epoch: newest.epoch, ...kind }));
    });
  }
}
