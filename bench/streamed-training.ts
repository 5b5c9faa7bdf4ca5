// Training from rows read from the store per batch (what the training worker does above 256 MB of
// matrix) against the whole matrix in memory (the reference, setUpRun), on a lab a `bench:lincs
// --keep-db` run left (or a copy of it), each round in its own process, alternating:
//   node --import tsx bench/streamed-training.ts --db LAB.db [--steps 60] [--rounds 2]
// Per variant: setup time (reading the matrix, or the pass for statistics), time of the first
// `--steps` optimiser steps of epoch 1 (CPU time of the process besides wall time, which load
// stretches less), and the process's VmHWM. The run trained is the lab's first completed Env-VAE
// run's configuration (bench:lincs: 978 → 500 → 200, batch 1,024, held-out drugs), backend as the
// worker chooses (native-blas when built).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src-main/node/ml/backend.js';
import { setUpRun, setUpTraining, type TrainingSetup } from '../src-main/node/ml/run-setup.js';
import { Trainer } from '../src-main/node/ml/trainer.js';
import { Store } from '../src-main/node/store/store.js';
import { integerOption, usageError } from './options.js';

type Variant = 'in-memory' | 'streamed';
interface Measured {
  variant: Variant;
  setupMs: number;
  stepsMs: number;
  stepsCpuMs: number;
  hwmMb: number;
  firstLosses: number[];
  backend: string;
}

const args = process.argv.slice(2);
const value = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const db = value('--db') ?? usageError('streamed-training', '--db LAB.db is needed (a lab bench:lincs --keep-db left)');
const steps = integerOption('streamed-training', '--steps', value('--steps') ?? '60', 1);
const rounds = integerOption('streamed-training', '--rounds', value('--rounds') ?? '2', 1);
const child = value('--variant') as Variant | undefined;

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function measure(variant: Variant): Promise<Measured> {
  const backend = await selectBackend({});
  const store = Store.open(db, { readonly: true });
  const run = store.db
    .prepare("SELECT id FROM runs WHERE model = 'env-vae' AND status = 'completed' ORDER BY created_at LIMIT 1")
    .pluck()
    .get() as string | undefined;
  if (!run) usageError('streamed-training', `${db} has no completed env-vae run`);
  const t0 = performance.now();
  const setup: TrainingSetup = variant === 'streamed' ? setUpTraining(store, run, store, { inMemoryBytes: 0 }) : setUpRun(store, run);
  const setupMs = performance.now() - t0;
  const trainer = new Trainer(setup.module, setup.data, { ...setup.config, epochs: 1 });
  const losses: number[] = [];
  const t1 = performance.now();
  const c1 = cpuMs();
  await trainer.run({
    control: () => (losses.length >= steps ? 'cancel' : 'run'),
    onStep: (report) => {
      losses.push(report.metrics.loss as number);
    },
    onEpoch: () => {},
  });
  const stepsMs = performance.now() - t1;
  const stepsCpuMs = cpuMs() - c1;
  const hwmMb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
  store.close();
  return { variant, setupMs, stepsMs, stepsCpuMs, hwmMb, firstLosses: losses.slice(0, 5), backend: backend.name };
}

if (child) {
  console.log(`@@result ${JSON.stringify(await measure(child))}`);
} else {
  const results: Measured[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Alternate which goes first, so neither always meets the cold page cache.
    const order: Variant[] = round % 2 === 1 ? ['in-memory', 'streamed'] : ['streamed', 'in-memory'];
    for (const variant of order) {
      const out = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args, '--variant', variant], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      const line = out.stdout.split('\n').find((l) => l.startsWith('@@result '));
      if (!line) throw new Error(`the ${variant} round failed: ${out.stderr}`);
      const r = JSON.parse(line.slice(9)) as Measured;
      results.push(r);
      console.log(
        `round ${round} ${variant.padEnd(9)} (${r.backend}): setup ${(r.setupMs / 1000).toFixed(1)} s, ${steps} steps ${(r.stepsMs / 1000).toFixed(1)} s wall / ${(r.stepsCpuMs / 1000).toFixed(1)} s CPU, VmHWM ${r.hwmMb.toFixed(0)} MB, load ${loadavg()[0]?.toFixed(1)}`,
      );
    }
  }
  const same = results.every((r) => JSON.stringify(r.firstLosses) === JSON.stringify(results[0]?.firstLosses));
  console.log(`first losses equal in every round and variant: ${same} (${results[0]?.firstLosses.join(', ')})`);
  for (let round = 0; round < rounds; round++) {
    const [a, b] = results.slice(2 * round, 2 * round + 2);
    const memory = [a, b].find((r) => r?.variant === 'in-memory') as Measured;
    const streamed = [a, b].find((r) => r?.variant === 'streamed') as Measured;
    console.log(
      `round ${round + 1}: streamed / in-memory — steps wall ${(streamed.stepsMs / memory.stepsMs).toFixed(2)}×, steps CPU ${(streamed.stepsCpuMs / memory.stepsCpuMs).toFixed(2)}×, setup ${(streamed.setupMs / memory.setupMs).toFixed(2)}×, VmHWM ${streamed.hwmMb.toFixed(0)} vs ${memory.hwmMb.toFixed(0)} MB`,
    );
  }
}
