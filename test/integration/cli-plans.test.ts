// The plan verbs of the command line refuse bad input with a specific message and exit code,
// before touching any database.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mainScript = join(repoRoot, 'src-main/node/cli/main.ts');
let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cellshift-cli-plans-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cellshift(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', mainScript, ...args],
      { cwd: repoRoot, env: { ...process.env, CELLSHIFT_DB: join(dir, 'lab.db') }, timeout: 180_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

describe('plan verbs on bad input', { concurrency: true }, () => {
  test('collect names a folder that is not a bundle', async () => {
    const r = await cellshift(['collect', join(dir, 'nowhere')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nowhere is not a CellShift bundle: .*plan\.json does not exist/);
  });

  test('run-task needs a task index', async () => {
    const r = await cellshift(['run-task', join(dir, 'plan.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: cellshift run-task PLAN --index I/);
  });

  test('sweep refuses an unknown grid parameter', async () => {
    const r = await cellshift(['sweep', '--dataset', 'ds_x', '--model', 'cvae', '--grid', 'depth=2,3']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--grid depth: unknown parameter/);
  });

  test('a study on Slurm needs a bundle folder, and Slurm options sbatch would take', async () => {
    const noBundle = await cellshift(['study', 'split-comparison', '--executor', 'slurm']);
    assert.equal(noBundle.code, 2);
    assert.match(noBundle.stderr, /--executor slurm needs --bundle DIR/);
    const badTime = await cellshift(['study', 'split-comparison', '--executor', 'slurm', '--bundle', join(dir, 'b'), '--time', 'soon']);
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /Invalid Slurm options: .*a Slurm time/);
    assert.ok(!existsSync(join(dir, 'b')), 'nothing written');
  });

  test('cluster names its actions', async () => {
    const r = await cellshift(['cluster', 'explode', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cellshift cluster status\|submit\|resubmit BUNDLE/);
  });
});
