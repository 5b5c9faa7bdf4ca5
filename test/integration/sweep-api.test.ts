// A sweep started through the LabApi (plans.sweep), as the Runs view starts it: the same planning
// and executors as `cellshift sweep`. Local: one run per grid point, with the grid's values.
// Slurm without sbatch here: the bundle is written and the job says how to submit it.
// A bad grid value is refused before any job starts, and nothing is stored. A planned study takes
// the same executor through studies.start.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { SweepResult } from '../../src-main/node/lab/plans/sweep.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import type { JobStarted, RunDetail } from '../../src-main/shared/api/domain.js';
import type { TrainingConfig } from '../../src-main/shared/api/training.js';
import { labCaller } from '../lab-call.js';
import { waitForJob } from './jobs.js';

process.env.CELLSHIFT_THREADS ??= '1';

function counts(lab: LabService): { runs: number; artifacts: number; plans: number } {
  const count = (table: string) => (lab.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { runs: count('runs'), artifacts: count('artifacts'), plans: count('plans') };
}

describe('plans.sweep (the LabApi sweep)', () => {
  let dir: string;
  let allowed: string;
  let lab: LabService;
  let call: ReturnType<typeof labCaller>;
  let datasetId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-sweep-api-'));
    allowed = join(dir, 'allowed');
    mkdirSync(allowed);
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false, allowedDirs: [allowed] });
    call = labCaller(lab);
    datasetId = importSyntheticPreset(lab.store, { preset: 'demo', seed: 1 }).id;
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a grid value that is not a number, naming it, and stores nothing', async () => {
    const before = counts(lab);
    await assert.rejects(
      call('plans.sweep', { datasetId, family: 'vae', grid: [{ setting: 'lr', values: '1e-3,fast' }], epochs: 1 }),
      /invalid_params: --grid lr: "fast" is not a number/,
    );
    await assert.rejects(
      call('plans.sweep', { datasetId, family: 'vae', grid: [{ setting: 'latent', values: '2,0' }], epochs: 1 }),
      /invalid_params: Grid point latent=0 is not a valid configuration/,
    );
    assert.deepEqual(counts(lab), before);
  });

  it('trains one run per grid point here (local executor) with the grid values', async () => {
    const started = await call<JobStarted>('plans.sweep', {
      datasetId,
      family: 'vae',
      grid: [
        { setting: 'hidden', values: '8' },
        { setting: 'latent', values: '2,3' },
      ],
      epochs: 1,
      executor: { kind: 'local', workers: 1 },
    });
    assert.equal(started.kind, 'sweep');
    const outcome = await waitForJob(lab, started.jobId);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const result = outcome.result as SweepResult & { kind: string };
    assert.equal(result.kind, 'local');
    assert.deepEqual(
      result.points.map((p) => p.point),
      ['hidden=8 latent=2', 'hidden=8 latent=3'],
    );
    const latents: number[] = [];
    for (const p of result.points) {
      const run = await call<RunDetail>('runs.get', { id: p.runId });
      assert.equal(run.status, 'completed');
      const config = run.config as TrainingConfig;
      assert.equal(config.epochs, 1);
      assert.equal(config.model.hiddenUnits, 8);
      latents.push(config.model.latentDim);
    }
    assert.deepEqual(latents, [2, 3]);
    assert.ok(lab.store.artifacts.list('sweep').some((a) => a.id === result.artifactId));
    assert.match(result.best ?? '', /^hidden=8 latent=[23]$/);
    assert.ok(result.points.every((p) => p.finalValidationLoss !== null));
  });

  it('writes a Slurm bundle in an allowed folder and says how to submit it when sbatch is not here', async () => {
    // Slurm is not on PATH for this test (the machine may have a test Slurm).
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-slurm');
    const started = await call<JobStarted>('plans.sweep', {
      datasetId,
      family: 'vae',
      grid: [{ setting: 'lr', values: '1e-3,1e-4' }],
      epochs: 1,
      executor: { kind: 'slurm', folderId: 'folder_1', bundleName: 'sweep-bundle', slurm: { time: '10:00' } },
    });
    const outcome = await waitForJob(lab, started.jobId).finally(() => {
      process.env.PATH = path;
    });
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const result = outcome.result as { kind: string; bundle: string; tasks: number; jobId: string | null; next: string };
    assert.equal(result.kind, 'slurm');
    assert.equal(result.tasks, 2);
    assert.equal(result.jobId, null);
    assert.ok(existsSync(join(allowed, 'sweep-bundle', 'submit.sbatch')));
    assert.match(result.next, /sbatch is not on PATH here.*sbatch submit\.sbatch/);
  });

  it('writes a planned study as a Slurm bundle (studies.start with the same executor)', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-slurm');
    const started = await call<JobStarted>('studies.start', {
      id: 'split-comparison',
      options: { quick: true, trials: 1, datasetId },
      executor: { kind: 'slurm', folderId: 'folder_1', bundleName: 'study-bundle' },
    });
    assert.equal(started.kind, 'study');
    const outcome = await waitForJob(lab, started.jobId).finally(() => {
      process.env.PATH = path;
    });
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const result = outcome.result as { kind: string; tasks: number; jobId: string | null; planId: string };
    assert.equal(result.kind, 'slurm');
    assert.ok(result.tasks > 0);
    assert.equal(result.jobId, null);
    assert.ok(existsSync(join(allowed, 'study-bundle', 'submit.sbatch')));
    assert.ok(lab.store.plans.list().some((p) => p.id === result.planId));
  });

  // The call itself is refused (a started job would have answered with its id).
  it('refuses to bundle a study that is not a plan of independent runs, before any job starts', async () => {
    const before = counts(lab);
    await assert.rejects(
      call('studies.start', {
        id: 'linear-independent',
        options: { quick: true },
        executor: { kind: 'slurm', folderId: 'folder_1', bundleName: 'not-a-plan' },
      }),
      /invalid_params: The linear-independent study does not run as a plan of independent runs yet \(these do: split-comparison\)/,
    );
    assert.equal(existsSync(join(allowed, 'not-a-plan')), false);
    assert.deepEqual(counts(lab), before);
  });
});
