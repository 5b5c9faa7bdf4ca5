// A study as a plan bundle, without Slurm: the bundle's files (a read-only snapshot holding only
// the dataset, the plan, an sbatch job array), its tasks run as `run-task` would run them, and
// collecting: partial, idempotent, refusing shards from another plan or dataset without merging
// anything, and building the report once every task is in.
import assert from 'node:assert/strict';
import { accessSync, constants, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import { writeStudyBundle } from '../../src-main/node/lab/plans/bundle.js';
import { collectBundle } from '../../src-main/node/lab/plans/collect.js';
import { type PlanFile, readPlan, SHARD_INFO_KEY, shardPath } from '../../src-main/node/lab/plans/plan.js';
import { runTask } from '../../src-main/node/lab/plans/task.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { StudyOptions, StudyResult } from '../../src-main/shared/api/studies.js';
import { environmentAwareFamilies } from '../../src-main/shared/api/training.js';
import { labCaller } from '../lab-call.js';

process.env.CELLSHIFT_THREADS ??= '1';

const OPTIONS = StudyOptions.parse({ quick: true, trials: 1, epochs: 1 });
/** One task a run: 3 splits × each environment-aware family × 1 trial. */
const TASKS = 3 * environmentAwareFamilies.length;
const indices = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function counts(lab: LabService): { runs: number; metrics: number; artifacts: number; planTasks: number } {
  const count = (table: string) => (lab.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { runs: count('runs'), metrics: count('metrics'), artifacts: count('artifacts'), planTasks: count('plan_tasks') };
}

describe('a study as a plan bundle (no Slurm needed)', () => {
  let dir: string;
  let lab: LabService;
  let bundle: string;
  let plan: PlanFile;
  let otherBundle: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-plans-'));
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
    ({ bundle, plan } = await writeStudyBundle(lab, 'split-comparison', OPTIONS, {
      folder: join(dir, 'bundle'),
      slurm: { time: '30:00', mem: '2G' },
    }));
    // A second plan on the same dataset, for a shard that belongs elsewhere.
    ({ bundle: otherBundle } = await writeStudyBundle(
      lab,
      'split-comparison',
      { ...OPTIONS, datasetId: plan.dataset.id },
      { folder: join(dir, 'other'), slurm: {} },
    ));
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the plan, an sbatch job array over its runs and a read-only snapshot of the dataset alone', () => {
    assert.equal(readPlan(bundle).plan.id, plan.id);
    assert.equal(plan.runs.length, TASKS, '3 splits × the families × 1 trial');
    assert.ok(plan.runs.every((r) => r.config.epochs === 1 && r.datasetId === plan.dataset.id));
    assert.deepEqual(
      plan.runs.map((r) => r.config.seed),
      plan.runs.map(() => 0),
      'fixed seeds, stored in the plan',
    );
    const script = readFileSync(join(bundle, 'submit.sbatch'), 'utf8');
    for (const line of [
      `#SBATCH --array=0-${TASKS - 1}`,
      '#SBATCH --output=logs/task-%a.out',
      '#SBATCH --time=30:00',
      '#SBATCH --mem=2G',
    ]) {
      assert.ok(script.includes(line), `script has ${line}`);
    }
    assert.match(script, /run-task plan\.json --index "\$SLURM_ARRAY_TASK_ID"/);

    const snapshot = join(bundle, 'dataset.sqlite');
    assert.equal(statSync(snapshot).mode & 0o222, 0, 'the snapshot is read-only on disk');
    const db = new BetterSqlite3(snapshot, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'delete', 'no WAL: tasks read it over network filesystems');
      assert.deepEqual(
        (db.prepare('SELECT id FROM datasets').all() as { id: string }[]).map((r) => r.id),
        [plan.dataset.id],
      );
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
    assert.deepEqual(readdirSync(join(bundle, 'shards')), []);
  });

  it('refuses a task index the plan does not have', async () => {
    await assert.rejects(
      runTask(bundle, TASKS, () => {}),
      new RegExp(`tasks 0 to ${TASKS - 1}; there is no task ${TASKS}`),
    );
  });

  it('collects finished tasks as they come, once, and builds the report when the last one is in', async () => {
    const log: string[] = [];
    for (const index of [0, 1, 2]) await runTask(join(bundle, 'plan.json'), index, (line) => log.push(line));
    assert.ok(log.some((l) => l.includes('epoch 1')));
    const before = counts(lab);
    const partial = await collectBundle(lab, bundle);
    assert.deepEqual(partial.merged, [0, 1, 2]);
    assert.deepEqual(partial.missing, indices(3, TASKS));
    assert.equal(partial.report, null);
    const afterPartial = counts(lab);
    assert.equal(afterPartial.runs, before.runs + 3);
    assert.ok(afterPartial.metrics > before.metrics);

    const again = await collectBundle(lab, bundle);
    assert.deepEqual(again.merged, []);
    assert.deepEqual(again.alreadyCollected, [0, 1, 2]);
    assert.deepEqual(counts(lab), afterPartial, 'collecting again changes nothing');

    for (let index = 3; index < TASKS; index++) await runTask(bundle, index, () => {});
    // Through the LabApi, as the Plans view collects: merged and evaluated in a study worker, so
    // the serving side's connection merges nothing (it did all of it, and fitted the baselines).
    const plans = lab.store.plans;
    const { mergeShard } = plans;
    let mergedHere = 0;
    plans.mergeShard = (...args) => {
      mergedHere++;
      return mergeShard.apply(plans, args);
    };
    let full: { merged: number[]; reportArtifactId: string | null };
    try {
      full = await labCaller(lab)('plans.collect', { planId: plan.id });
    } finally {
      plans.mergeShard = mergeShard;
    }
    assert.equal(mergedHere, 0, 'shards were merged on the serving thread');
    assert.deepEqual(full.merged, indices(3, TASKS));
    assert.ok(full.reportArtifactId, 'the report is built once every task is in');
    const report = StudyResult.parse(JSON.parse(lab.store.artifacts.content(full.reportArtifactId).toString('utf8')));
    assert.equal(report.runs.length, TASKS);
    assert.deepEqual(
      report.runs.map((r) => r.status),
      report.runs.map(() => 'completed'),
    );
    const models = report.comparison?.splits.flatMap((s) => s.rows.filter((r) => r.kind === 'model')) ?? [];
    assert.equal(models.length, TASKS);
    assert.ok(models.every((r) => r.runs === 1 && r.failed === 0 && typeof r.metrics.r2.mean === 'number'));
    // The collected runs are ordinary runs of the lab: their checkpoints load for inspection.
    assert.equal(lab.store.runs.checkpointEpochs(report.runs[0]?.runId as string).at(-1), 1);

    const settled = counts(lab);
    const last = await collectBundle(lab, bundle);
    assert.equal(last.report, null);
    assert.equal(last.reportArtifactId, full.reportArtifactId);
    assert.deepEqual(counts(lab), settled, 'no second report, no duplicate runs');
  });

  it('refuses a shard from another plan, and one trained on another dataset, merging nothing', async () => {
    const before = counts(lab);
    copyFileSync(shardPath(bundle, 0), shardPath(otherBundle, 0));
    await assert.rejects(collectBundle(lab, otherBundle), (error: Error) => {
      assert.match(error.message, /task-0\.sqlite belongs to plan plan_\w+, not plan_\w+/);
      return true;
    });
    rmSync(shardPath(otherBundle, 0));

    // A shard of this plan whose snapshot differs (another dataset behind the same id).
    const forged = shardPath(otherBundle, 1);
    copyFileSync(shardPath(bundle, 1), forged);
    const other = readPlan(otherBundle).plan;
    const db = new BetterSqlite3(forged);
    const info = JSON.parse((db.prepare('SELECT value FROM settings WHERE key = ?').get(SHARD_INFO_KEY) as { value: string }).value);
    db.prepare('UPDATE settings SET value = ? WHERE key = ?').run(
      JSON.stringify({ ...info, planId: other.id, datasetSha256: '0'.repeat(64) }),
      SHARD_INFO_KEY,
    );
    db.close();
    await assert.rejects(collectBundle(lab, otherBundle), /task-1\.sqlite was trained on another dataset/);
    assert.deepEqual(counts(lab), before);
    accessSync(join(bundle, 'dataset.sqlite'), constants.R_OK);
  });

  it('refuses to collect into a lab database that lacks the dataset', async () => {
    const stranger = await openLab({ databasePath: join(dir, 'stranger.db'), carrier: 'cli', seedDemo: false });
    try {
      await assert.rejects(
        collectBundle(stranger, bundle),
        /which is not in .*stranger\.db: collect into the lab database the bundle was written from/,
      );
      assert.equal(counts(stranger).runs, 0);
    } finally {
      await closeLab(stranger);
    }
  });
});
