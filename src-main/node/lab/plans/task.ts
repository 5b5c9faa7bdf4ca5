// One task of a plan (a Slurm array task, or any process): trains run i reading the dataset from
// the bundle's read-only snapshot, in a scratch database on local disk, and publishes the result
// as shards/task-i.sqlite by an atomic rename, so a killed task leaves no shard that looks done.
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import type { LabEvent } from '../../../shared/api/protocol.js';
import { copyRow } from '../../store/plans.js';
import { Store } from '../../store/store.js';
import { studyRunName } from '../studies/common.js';
import { TrainingManager } from '../training.js';
import { bundleFiles, readPlan, SHARD_INFO_KEY, type ShardInfo, shardPath } from './plan.js';

export async function runTask(bundleOrPlan: string, index: number, log: (line: string) => void): Promise<RunSummary> {
  const { bundle, plan } = readPlan(bundleOrPlan);
  const planned = plan.runs[index];
  if (!Number.isInteger(index) || !planned) {
    throw new LabError('invalid_params', `Plan ${plan.id} has tasks 0 to ${plan.runs.length - 1}; there is no task ${index}.`);
  }
  const snapshotPath = join(bundle, bundleFiles.snapshot);
  // Node-local scratch: SQLite's WAL needs shared memory, which network filesystems do not give.
  const scratch = mkdtempSync(join(process.env.SLURM_TMPDIR ?? process.env.TMPDIR ?? tmpdir(), `cellshift-${plan.id}-${index}-`));
  // scancel (and a time limit) sends SIGTERM first: leave no scratch copy behind on the node.
  const onTerm = () => {
    rmSync(scratch, { recursive: true, force: true });
    process.exit(143);
  };
  process.once('SIGTERM', onTerm);
  try {
    const shard = Store.open(join(scratch, 'shard.sqlite'));
    const snapshot = Store.open(snapshotPath, { readonly: true });
    let run: RunSummary;
    try {
      if (shard.schemaVersion !== plan.schemaVersion) {
        throw new LabError(
          'conflict',
          `Plan ${plan.id} was written for database schema ${plan.schemaVersion}; this cellshift writes ${shard.schemaVersion}. Run the tasks with the lab's version.`,
        );
      }
      copyRow(snapshot.db, shard.db, 'datasets', planned.datasetId);
      const training = new TrainingManager({ store: shard, emit: (event) => logEvent(event, log), datasetPath: snapshotPath });
      const started = training.start(planned.datasetId, planned.config, studyRunName(`${planned.label} · `, planned.config, planned.trial));
      log(`task ${index} of plan ${plan.id}: run ${started.id}, ${started.name}, seed ${planned.config.seed}`);
      await training.settled(started.id);
      run = shard.runs.get(started.id);
      const info: ShardInfo = {
        planId: plan.id,
        taskIndex: index,
        datasetId: planned.datasetId,
        datasetSha256: plan.dataset.sha256,
        runId: run.id,
      };
      shard.setSetting(SHARD_INFO_KEY, JSON.stringify(info));
      // The shard travels as one plain file, read over the network filesystem: no WAL.
      shard.db.pragma('journal_mode = DELETE');
    } finally {
      shard.close();
      snapshot.close();
    }
    log(`task ${index}: ${run.status} after ${run.epochsDone} epochs${run.message ? ` (${run.message})` : ''}`);
    if (run.status !== 'completed' && run.status !== 'diverged') {
      throw new LabError('internal', `Task ${index} did not finish its run: ${run.status}${run.message ? `: ${run.message}` : ''}`);
    }
    const target = shardPath(bundle, index);
    const partial = `${target}.partial-${process.pid}`;
    copyFileSync(join(scratch, 'shard.sqlite'), partial);
    renameSync(partial, target);
    log(`task ${index}: wrote ${target}`);
    return run;
  } finally {
    process.off('SIGTERM', onTerm);
    rmSync(scratch, { recursive: true, force: true });
  }
}

function logEvent(event: LabEvent, log: (line: string) => void): void {
  if (event.type === 'run.epoch') {
    const validation = event.validation?.loss;
    log(
      `epoch ${event.epoch}: train loss ${event.train.loss?.toFixed(4)}${validation !== undefined ? `, validation loss ${validation.toFixed(4)}` : ''}`,
    );
  } else if (event.type === 'run.status') {
    log(`run ${event.run.id}: ${event.run.status}${event.run.backend ? ` (backend ${event.run.backend})` : ''}`);
  }
}
