// The cellshift_blas addon used from one worker thread after another, as the lab does (a training
// worker, then the analysis worker, then the next training run). Node unloads an addon when the
// last thread that loaded it exits; the addon's thread pool outlives those threads, so the addon
// must stay loaded, or the next parallel loop waits forever (seen: a hung analysis worker) or
// crashes. Runs in a child process so that a hang fails the test instead of blocking it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ADDON = join(process.cwd(), 'native', 'blas', 'build', 'Release', 'cellshift_blas.node');

// Four workers in turn, each loading the addon and running pooled elementwise loops (1M floats
// is 16 × the pool's grain, so two threads share every loop). The parent never loads the addon.
const SCRIPT = `
const { Worker } = require('node:worker_threads');
const work = \`
  const { parentPort } = require('node:worker_threads');
  const addon = require(${JSON.stringify(ADDON)});
  const x = new Float32Array(1 << 20).map((_, i) => (i % 7) - 3);
  const out = new Float32Array(x.length);
  for (let round = 0; round < 20; round++) addon.unary(0, out, x, 0);
  const info = addon.info();
  parentPort.postMessage({ threads: info.kernelThreads, loops: info.loopThreads, openmp: info.config.includes("USE_OPENMP"), positive: out.filter((v) => v > 0).length });
\`;
(async () => {
 for (let i = 0; i < 4; i++) {
  const worker = new Worker(work, { eval: true });
  const result = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await new Promise((resolve) => worker.once('exit', resolve));
  console.log(JSON.stringify({ worker: i, ...result }));
 }
})();
`;

type Line = { worker: number; threads: number; loops: string; openmp: boolean; positive: number };

function runWorkers(env: NodeJS.ProcessEnv): Line[] {
  const child = spawnSync(process.execPath, ['-e', SCRIPT], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CELLSHIFT_THREADS: '2', ...env },
  });
  assert.equal(
    child.signal,
    null,
    `the child was killed (${child.signal}): hung or crashed after ${child.stdout.trim().split('\n').length} workers`,
  );
  assert.equal(child.status, 0, child.stderr);
  return child.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
}

describe('native addon across worker threads', { skip: existsSync(ADDON) ? false : `not built: ${ADDON}` }, () => {
  // With an OpenMP OpenBLAS the loops run on its OpenMP team (one pool for matmuls and loops);
  // CELLSHIFT_OPENMP_TEAM=0, or a BLAS without OpenMP, keeps them on the addon's own pool.
  for (const [pool, env] of [
    ['the default pool', {}],
    ['the addon’s own pool', { CELLSHIFT_OPENMP_TEAM: '0' }],
  ] as const) {
    it(`keeps working when each use comes from a new worker thread (${pool})`, () => {
      const lines = runWorkers(env);
      assert.equal(lines.length, 4);
      for (const line of lines) {
        assert.equal(line.threads, 2);
        assert.equal(line.loops, 'CELLSHIFT_OPENMP_TEAM' in env || !line.openmp ? 'own' : 'openmp');
        // relu of (i mod 7) − 3 is positive for residues 4, 5, 6.
        assert.equal(line.positive, Array.from({ length: 1 << 20 }, (_, i) => (i % 7) - 3).filter((v) => v > 0).length);
      }
    });
  }
});
