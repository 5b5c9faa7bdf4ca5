// The split comparison through a real single-node Slurm (scripts/slurm-test-cluster.sh, started
// by .ci/run): submit the bundle's job array, watch it through Slurm, kill one task with scancel,
// re-submit it, collect, and get the same report as the same plan run here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import { writeStudyBundle } from '../../src-main/node/lab/plans/bundle.js';
import { collectBundle } from '../../src-main/node/lab/plans/collect.js';
import { type BundleStatus, bundleStatus, resubmitFailed, submitBundle } from '../../src-main/node/lab/plans/slurm.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { runStudy } from '../../src-main/node/lab/studies.js';
import { StudyOptions, type StudyResult } from '../../src-main/shared/api/studies.js';
import { environmentAwareFamilies } from '../../src-main/shared/api/training.js';

process.env.CELLSHIFT_THREADS ??= '1';

const script = fileURLToPath(new URL('../../scripts/slurm-test-cluster.sh', import.meta.url));
const OPTIONS = StudyOptions.parse({ quick: true, trials: 1, epochs: 1 });

function nodeIsUp(): boolean {
  try {
    return /idle|mixed|alloc/.test(
      execFileSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }),
    );
  } catch {
    return false;
  }
}

/** Null when a Slurm node is up (starting one as root if needed), else why the test cannot run. */
function slurmProblem(): { reason: string | null; startedHere: boolean } {
  if (nodeIsUp()) return { reason: null, startedHere: false };
  if (process.getuid?.() !== 0)
    return { reason: 'no Slurm node is up and starting one needs root (scripts/slurm-test-cluster.sh start)', startedHere: false };
  try {
    execFileSync(script, ['start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { reason: `a single-node Slurm could not start: ${[e.stdout, e.stderr].join('\n').trim() || e.message}`, startedHere: false };
  }
  return nodeIsUp() ? { reason: null, startedHere: true } : { reason: 'Slurm started but its node is not idle', startedHere: true };
}

const slurm = slurmProblem();

async function waitFor(bundle: string, done: (s: BundleStatus) => boolean, what: string, seconds = 600): Promise<BundleStatus> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const status = bundleStatus(bundle);
    if (done(status)) return status;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(status.counts)}`);
    await sleep(500);
  }
}

describe('the split comparison on a single-node Slurm', { skip: slurm.reason ?? false, timeout: 1_200_000 }, () => {
  let dir: string;
  let lab: LabService;
  let local: StudyResult;
  let bundle: string;
  let killed: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-slurm-'));
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
    local = await runStudy(lab, 'split-comparison', OPTIONS, undefined, { workers: 2 });
    ({ bundle } = await writeStudyBundle(lab, 'split-comparison', OPTIONS, { folder: join(dir, 'bundle'), slurm: { time: '20:00' } }));
  });

  after(async () => {
    if (bundle) {
      const jobs = bundleStatus(bundle).submissions.map((s) => s.jobId);
      if (jobs.length > 0) execFileSync('scancel', jobs);
    }
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
    if (slurm.startedHere) execFileSync(script, ['stop']);
  });

  it('submits the job array and sees its tasks through Slurm; a task killed with scancel is reported failed', async () => {
    const submission = submitBundle(bundle);
    // One task a run: 3 splits × each environment-aware family × 1 trial.
    assert.deepEqual(
      submission.tasks,
      Array.from({ length: 3 * environmentAwareFamilies.length }, (_, i) => i),
    );
    const running = await waitFor(bundle, (s) => s.tasks.some((t) => t.state === 'running' && t.source === 'squeue'), 'a running task');
    const target = running.tasks.find((t) => t.state === 'running') as BundleStatus['tasks'][number];
    killed = target.index;
    execFileSync('scancel', [target.jobId as string]);
    const settled = await waitFor(bundle, (s) => s.counts.pending + s.counts.running === 0, 'the array to end');
    const task = settled.tasks[killed];
    assert.equal(task?.state, 'failed', JSON.stringify(task));
    assert.equal(task?.slurmState, 'CANCELLED');
    assert.ok(!existsSync(join(bundle, 'shards', `task-${killed}.sqlite`)), 'a killed task leaves no shard');
    assert.deepEqual(
      settled.tasks.filter((t) => t.state !== 'done').map((t) => t.index),
      [killed],
    );
    assert.ok(
      settled.tasks.every((t) => t.index === killed || t.logTail.some((l) => l.includes('wrote'))),
      'each log tail ends with its shard',
    );

    const partial = await collectBundle(lab, bundle);
    assert.deepEqual(partial.missing, [killed]);
    assert.equal(partial.report, null);
  });

  it('re-submits the killed task, collects it, and reports what the local run reported', async () => {
    const again = resubmitFailed(bundle);
    assert.deepEqual(again?.tasks, [killed]);
    const done = await waitFor(bundle, (s) => s.counts.pending + s.counts.running === 0, 'the re-submitted task');
    assert.equal(done.counts.done, 3 * environmentAwareFamilies.length, JSON.stringify(done.tasks.filter((t) => t.state !== 'done')));

    const collected = await collectBundle(lab, bundle);
    assert.deepEqual(collected.merged, [killed]);
    const report = collected.report;
    assert.ok(report, 'the report is built once every task is in');
    assert.deepEqual(report.comparison, local.comparison, 'the same metrics as the local run of the same plan');
    assert.deepEqual(report.table, local.table);
    assert.deepEqual(
      report.runs.map((r) => [r.family, r.trial, r.status]),
      local.runs.map((r) => [r.family, r.trial, r.status]),
    );
    const backends = new Set(report.runs.map((r) => lab.store.runs.get(r.runId).backend));
    const localBackends = new Set(local.runs.map((r) => lab.store.runs.get(r.runId).backend));
    assert.deepEqual(backends, localBackends, 'same backend on both sides');
  });
});
