// The latent block's two native kernels alone (native/blas/src/latent.c: gaussianLatent and
// gaussianLatentGrad, ml/native/latent.ts), at the Environment VAE's shapes:
//   node --import tsx bench/latent-block.ts [batch=1024] [latent=200] [--calls N] [--rounds N] [--addons A.node,B.node]
// Each round times `calls` calls of each kernel with the learnt prior (Environment VAE) and with
// N(0, I) (plain VAE), and reports per call the wall time and the process's CPU time (all threads:
// CPU ÷ wall ≈ the threads kept busy). With --addons, each addon build runs in processes of its
// own (CELLSHIFT_NATIVE_ADDON), alternated round by round (ABBA), so both see the same load on a
// shared machine. Medians and best rounds, with uptime before and after.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src-main/node/data/random.js';
import { loadAddon } from '../src-main/node/ml/native/addon.js';
import { median, uptime } from './stats.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? (args.splice(at, 2)[1] ?? fallback) : fallback;
};
const calls = Number(option('--calls', '20'));
const rounds = Number(option('--rounds', '8'));
const addons = option('--addons', '');
const json = args.includes('--json');
const [batch, latent] = args.filter((a) => !a.startsWith('--')).map(Number) as [number?, number?];
const rows = batch ?? 1024;
const width = latent ?? 200;

/** Per call, ms: [forward wall, forward CPU, backward wall, backward CPU]. */
type Times = [number, number, number, number];
type Round = Record<'prior' | 'normal', Times>;

function measure(roundCount: number): Round[] {
  const addon = loadAddon();
  if (!addon.ok) throw new Error(addon.why);
  const { gaussianLatent, gaussianLatentGrad } = addon.binding;
  if (!gaussianLatent || !gaussianLatentGrad) throw new Error(`${addon.path} has no latent kernels`);
  const rng = new Rng(7);
  const random = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());
  const [posterior, prior, noise, dz] = [
    random(rows * 2 * width),
    random(rows * 2 * width),
    random(rows * width),
    random(rows * width, 1e-3),
  ];
  const dkl = new Float32Array(rows).fill(1 / rows);
  const [z, kl, dPosterior, dPrior] = [
    new Float32Array(rows * width),
    new Float32Array(rows),
    new Float32Array(rows * 2 * width),
    new Float32Array(rows * 2 * width),
  ];
  const none = new Float32Array(0);
  // The schema's defaults: logVarBound 8, the prior's bound half of it, temperature 1.
  const scalars = [8, 4, 1] as const;
  const time = (run: () => void): [number, number] => {
    const [wall, cpu] = [performance.now(), process.cpuUsage()];
    for (let i = 0; i < calls; i++) run();
    const used = process.cpuUsage(cpu);
    return [(performance.now() - wall) / calls, (used.user + used.system) / 1000 / calls];
  };
  const once = (withPrior: boolean): Times => {
    const p = withPrior ? prior : none;
    return [
      ...time(() => gaussianLatent(z, kl, posterior, noise, p, rows, width, ...scalars)),
      ...time(() => gaussianLatentGrad(dPosterior, withPrior ? dPrior : none, dz, dkl, posterior, noise, p, rows, width, ...scalars)),
    ] as Times;
  };
  once(true);
  once(false);
  return Array.from({ length: roundCount }, () => ({ prior: once(true), normal: once(false) }));
}

function report(label: string, results: Round[]): void {
  const ms = (values: number[]) => `${median(values).toFixed(3)} (${Math.min(...values).toFixed(3)})`;
  for (const path of ['prior', 'normal'] as const) {
    const column = (k: number) => results.map((r) => r[path][k] as number);
    const both = results.map((r) => r[path][1] + r[path][3]);
    console.log(
      `  ${label.padEnd(10)} ${path === 'prior' ? 'learnt prior' : 'N(0, I)     '}  forward wall ${ms(column(0))} CPU ${ms(column(1))}  backward wall ${ms(column(2))} CPU ${ms(column(3))}  forward+backward CPU ${ms(both)}`,
    );
  }
}

if (json) {
  console.log(JSON.stringify(measure(rounds)));
} else {
  console.log(
    `latent block kernels, ${rows}×${width}, ${calls} calls a round, ms per call: median (best) of ${rounds} rounds; ${uptime()}`,
  );
  if (!addons) {
    report('this build', measure(rounds));
  } else {
    // Absolute: the addon is required from src-main, not from the working directory.
    const paths = addons.split(',').map((path) => resolve(path));
    const results = new Map<string, Round[]>(paths.map((p) => [p, []]));
    const script = fileURLToPath(import.meta.url);
    for (let round = 0; round < rounds; round++) {
      for (const path of round % 2 ? [...paths].reverse() : paths) {
        const run = spawnSync(
          process.execPath,
          ['--import', 'tsx', script, String(rows), String(width), '--calls', String(calls), '--rounds', '1', '--json'],
          {
            encoding: 'utf8',
            env: { ...process.env, CELLSHIFT_NATIVE_ADDON: path },
          },
        );
        if (run.status !== 0) throw new Error(`${path}: ${run.stderr}`);
        results.get(path)?.push(...(JSON.parse(run.stdout.trim().split('\n').pop() as string) as Round[]));
      }
    }
    for (const [i, path] of paths.entries()) report(String.fromCharCode(65 + i), results.get(path) ?? []);
    for (const [i, path] of paths.entries()) console.log(`  ${String.fromCharCode(65 + i)} = ${path}`);
  }
  console.log(`  done; ${uptime()}`);
}
