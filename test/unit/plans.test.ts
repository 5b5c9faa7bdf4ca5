// Plans without training: the sweep grid and its runs, and the sbatch script a bundle carries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sbatchScript } from '../../src-main/node/lab/plans/bundle.js';
import { PlanFile } from '../../src-main/node/lab/plans/plan.js';
import { parseGrid, planSweep } from '../../src-main/node/lab/plans/sweep.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';

const base = TrainingConfig.parse({ model: { family: 'cvae' }, epochs: 3, seed: 7 });

describe('sweep grids', () => {
  it('plans the cartesian product of the axes, each point a checked config with the base seed', () => {
    const plan = planSweep('ds_1', base, parseGrid(['lr=1e-3,1e-4', 'latent=100,200']));
    assert.deepEqual(
      plan.runs.map((r) => r.group),
      ['lr=0.001 latent=100', 'lr=0.001 latent=200', 'lr=0.0001 latent=100', 'lr=0.0001 latent=200'],
    );
    assert.deepEqual(
      plan.runs.map((r) => [r.config.learningRate, r.config.model.latentDim, r.config.seed, r.config.epochs]),
      [
        [1e-3, 100, 7, 3],
        [1e-3, 200, 7, 3],
        [1e-4, 100, 7, 3],
        [1e-4, 200, 7, 3],
      ],
    );
    assert.equal(base.model.latentDim, 200, 'the base config is not changed');
  });

  it('refuses unknown names, non-numbers, a name twice, and points that are not valid configs', () => {
    assert.throws(() => parseGrid([]), /at least one --grid/);
    assert.throws(() => parseGrid(['depth=2']), /--grid depth: unknown parameter \(one of lr, latent/);
    assert.throws(() => parseGrid(['lr=1e-3,fast']), /--grid lr: "fast" is not a number/);
    assert.throws(() => parseGrid(['lr=1e-3', 'lr=1e-4']), /given twice/);
    assert.throws(() => parseGrid(['lr']), /is not NAME=V1,V2/);
    assert.throws(() => planSweep('ds_1', base, parseGrid(['latent=0,8'])), /Grid point latent=0 is not a valid configuration/);
  });
});

describe('the sbatch script', () => {
  it('is a job array over the runs with the given directives, each task running run-task on its index', () => {
    const plan = PlanFile.parse({
      format: 'cellshift-plan',
      version: 1,
      id: 'plan_0123abcd',
      name: 'test',
      createdAt: new Date(0).toISOString(),
      schemaVersion: 5,
      dataset: { id: 'ds_1', name: 'd', sha256: 'a'.repeat(64) },
      evaluation: { kind: 'sweep', axes: [{ name: 'lr', values: [1e-3, 1e-4] }] },
      runs: planSweep('ds_1', base, parseGrid(['lr=1e-3,1e-4'])).runs,
      slurm: { partition: 'gpu', time: '1:00:00', cpusPerTask: 4, mem: '8G', account: 'lab' },
      command: ['/opt/node dir/bin/node', '/opt/cellshift/main.js'],
    });
    const script = sbatchScript(plan);
    for (const line of [
      '#SBATCH --array=0-1',
      '#SBATCH --output=logs/task-%a.out',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --partition=gpu',
      '#SBATCH --time=1:00:00',
      '#SBATCH --mem=8G',
      '#SBATCH --account=lab',
    ]) {
      assert.ok(script.includes(`${line}\n`), `has ${line}`);
    }
    assert.ok(script.includes(`exec '/opt/node dir/bin/node' /opt/cellshift/main.js run-task plan.json --index "$SLURM_ARRAY_TASK_ID"`));
    assert.ok(script.includes('exec $CELLSHIFT run-task plan.json'), 'a cluster install can be named with $CELLSHIFT');
  });

  it('refuses Slurm options that sbatch would not take', () => {
    const bad = (slurm: object) => PlanFile.shape.slurm.safeParse(slurm).success;
    assert.equal(bad({ time: 'one hour' }), false);
    assert.equal(bad({ mem: '4 GB' }), false);
    assert.equal(bad({ cpusPerTask: 0 }), false);
    assert.equal(bad({ time: '1-00:00:00', mem: '4G' }), true);
  });
});
