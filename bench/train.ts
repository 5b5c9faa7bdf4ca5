// Training throughput of every available engine against PyTorch at its best on this machine:
//   npm run bench:train -- [--quick] [--families vae,env-vae] [--batches 64,256,1024] [--rounds 3]
//                          [--engines native-blas,wasm-fixed,wasm,cpu,pytorch] [--torch-seconds 4]
//
// Trains the VAE and the Environment VAE at seed L1000 sizes (978 genes, 1024-bit fingerprints,
// 500 hidden units, latent 200) with the product's own code — createModule + Trainer.run, i.e.
// variableGrads, global-norm clipping and tf.train.adam — on random standardised data, on every
// backend that works here: tensorflow (tfjs-node, if installed), native-blas (the cellshift_blas
// addon, if built), wasm-fixed (wasm with src-main/node/ml/native/wasm-matmul.ts's transposed-matmul
// fix), wasm (stock) and cpu (cpu at batch 256 only: it is slow). When
// `/usr/bin/python3 -c 'import torch'` works, the same architectures and step run in PyTorch
// (bench/torch_train.py, 2 threads, as native-blas), tuned to its best:
//   - glibc's allocator thresholds raised (MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_ =
//     256 MiB) for the PyTorch process only: with glibc's defaults it trims the heap after every
//     step and page-faults it back in, at less than half its speed;
//   - a warm-up of 2 s (and at least 10 steps) before timing, so it is in steady state (the tfjs
//     engines get the same warm-up, as one-epoch runs of the same model, except cpu: it is slow);
//   - every round run with OpenMP's default (spinning) wait policy and with OMP_WAIT_POLICY=PASSIVE,
//     the better of the two counted: spinning wins on an idle machine, sleeping on a loaded one;
//   - with Debian's OpenMP build of OpenBLAS when it is installed.
// OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE force an older kernel on some machines and slow both
// sides: `npm run bench:train` unsets them for this command (both sides); never in tests or CI.
// native-blas runs its loops on OpenBLAS's OpenMP team, which sleeps at once (OMP_WAIT_POLICY=PASSIVE)
// unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set for this command (with a pthread BLAS,
// its own pool sleeps at once unless CELLSHIFT_SPIN_US is set); none of them reaches PyTorch.
// The configuration each side ran with is printed with its numbers. Engines alternate within
// each round, so every ratio to PyTorch compares runs made under the same machine load. Both the
// median and the best round are shown: on a shared 2-core machine PyTorch's spinning OpenMP
// threads lose up to 95% of their speed whenever another process runs, so the best round is the
// better estimate of each engine's speed on an idle machine, and best/best the fairer ratio.
// Each run also reports its CPU time (all threads) per sample, a measure of the work done that the
// load moves far less than samples/s (PyTorch: the wait policy that used less).
// Samples/s is the Trainer's own per-epoch figure (the first epoch of each run is a warm-up and
// not counted); live tensor counts after every epoch show whether memory stays flat.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src-main/node/data/random.js';
import { selectBackend } from '../src-main/node/ml/backend.js';
import { createModule } from '../src-main/node/ml/modules/index.js';
import { loadAddon } from '../src-main/node/ml/native/addon.js';
import { registerNativeBackend } from '../src-main/node/ml/native/index.js';
import { patchWasmTransposedMatMul } from '../src-main/node/ml/native/wasm-matmul.js';
import { Trainer } from '../src-main/node/ml/trainer.js';
import type { TrainingData } from '../src-main/node/ml/training-data.js';
import type { ModelFamily } from '../src-main/shared/api/training.js';
import { dims, randomTrainingData, trainingConfig } from './lib.js';
import { median, uptime } from './stats.js';

type Engine = 'tensorflow' | 'native-blas' | 'wasm-fixed' | 'wasm' | 'cpu' | 'pytorch';

interface Measurement {
  samplesPerSecond: number;
  /** CPU time of all the engine's threads per sample, in µs (timed epochs or the timed run only). */
  cpuMicrosPerSample: number;
  numTensors: number[];
  loss: number;
  /** How the figure was obtained, when there is more to say (PyTorch: each wait policy's). */
  detail?: string;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : fallback;
};
const quick = args.includes('--quick');
const families = option('families', 'vae,env-vae').split(',') as ModelFamily[];
const batches = option('batches', quick ? '256' : '64,256,1024')
  .split(',')
  .map(Number);
const rounds = Number(option('rounds', quick ? '1' : '3'));
const only = args.includes('--engines') ? option('engines', '').split(',') : null;
const PYTHON = '/usr/bin/python3';
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Samples per epoch (at least `steps` batches) and epochs (first one is warm-up) per engine, sized
 * for ~1-10 s per run. At batch 1024, 4096 samples made 4-step epochs: a rate from 8 timed steps,
 * where one slow step on a shared machine moved it by a quarter, against PyTorch's 4 s of steps.
 */
const PLAN: Record<Exclude<Engine, 'pytorch'>, { samples: number; epochs: number; steps?: number }> = {
  tensorflow: { samples: 4096, epochs: 3, steps: 16 },
  'native-blas': { samples: 4096, epochs: 3, steps: 16 },
  'wasm-fixed': { samples: 2048, epochs: 2 },
  wasm: { samples: 1024, epochs: 2 },
  cpu: { samples: 512, epochs: 2 },
};
const TORCH_SECONDS = Number(option('torch-seconds', quick ? '3' : '4'));
const TORCH_WARMUP_SECONDS = 2;
/** glibc allocator thresholds that keep PyTorch's heap between steps (256 MiB). */
const TORCH_MALLOC = { MALLOC_TRIM_THRESHOLD_: '268435456', MALLOC_MMAP_THRESHOLD_: '268435456' };
const OPENBLAS_OVERRIDES = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

// ---------------------------------------------------------------------------------------------

async function available(): Promise<{ engines: Engine[]; notes: string[] }> {
  const engines: Engine[] = [];
  const notes: string[] = [];
  let hasTfjsNode = false;
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    hasTfjsNode = true;
  } catch {
    notes.push('tensorflow: @tensorflow/tfjs-node is not installed');
  }
  if (hasTfjsNode) {
    try {
      await selectBackend({ prefer: 'tensorflow' });
      engines.push('tensorflow');
    } catch (error) {
      notes.push(`tensorflow: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const native = registerNativeBackend();
  if (native.ok) {
    engines.push('native-blas');
    // The detail names the OpenMP team's idle policy when the loops run on it; the addon's own
    // pool (a pthread BLAS) has CELLSHIFT_SPIN_US instead.
    const addon = loadAddon();
    const ownPool = !addon.ok || addon.binding.info().loopThreads !== 'openmp';
    const spin = ownPool ? `; CELLSHIFT_SPIN_US=${process.env.CELLSHIFT_SPIN_US ?? 'unset (no spin)'}` : '';
    notes.push(`native-blas: ${native.detail}${spin}`);
  } else notes.push(`native-blas: unavailable (${native.why})`);
  for (const name of ['wasm', 'cpu'] as const) {
    try {
      const choice = await selectBackend({ prefer: name });
      if (name === 'wasm' && patchWasmTransposedMatMul(false)) engines.push('wasm-fixed');
      engines.push(name);
      notes.push(`${name}: ${choice.reason}`);
    } catch (error) {
      notes.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status === 0) {
    engines.push('pytorch');
    const blas = torchEnv().LD_LIBRARY_PATH ? `OpenBLAS from ${OPENMP_BLAS}` : 'the default BLAS (libblas.so.3 alternative)';
    notes.push(
      `pytorch: torch ${probe.stdout.trim()} via ${PYTHON}, 2 threads, ${blas}, ` +
        `MALLOC_TRIM_THRESHOLD_=MALLOC_MMAP_THRESHOLD_=${TORCH_MALLOC.MALLOC_TRIM_THRESHOLD_}, warm-up ${TORCH_WARMUP_SECONDS} s, timed ${TORCH_SECONDS} s per run`,
    );
  } else notes.push(`pytorch: \`${PYTHON} -c 'import torch'\` failed; no reference`);
  return { engines, notes };
}

async function activate(engine: Exclude<Engine, 'pytorch'>): Promise<void> {
  if (engine === 'native-blas') {
    await tf.setBackend('native-blas');
    return;
  }
  await selectBackend({ prefer: engine === 'wasm-fixed' ? 'wasm' : engine });
  if (engine === 'wasm-fixed' || engine === 'wasm') patchWasmTransposedMatMul(engine === 'wasm-fixed');
}

/** Debian's OpenMP build of OpenBLAS (libopenblas0-openmp), if installed: the issue's reference. */
const OPENMP_BLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
function torchEnv(): NodeJS.ProcessEnv {
  if (!existsSync(join(OPENMP_BLAS, 'libblas.so.3'))) return {};
  return { LD_LIBRARY_PATH: [OPENMP_BLAS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
}

/**
 * The same warm-up as PyTorch's (TORCH_WARMUP_SECONDS and at least 10 steps): one-epoch runs of the
 * same model and batch size, before the measured run. Without it the measured run's own first epoch
 * was the only warm-up, 4 steps at batch 1024: native-blas then ran at 86–107 µs CPU/sample there,
 * a second run at the same batch size in the same process at 68–71.
 */
async function warmUp(family: ModelFamily, batchSize: number, data: TrainingData): Promise<void> {
  const started = performance.now();
  let steps = 0;
  while (steps < 10 || performance.now() - started < TORCH_WARMUP_SECONDS * 1000) {
    const config = trainingConfig(family, batchSize, 1);
    const module = createModule(config.model, dims(data), new Rng(config.seed).fork('init'));
    const trainer = new Trainer(module, data, config);
    try {
      await trainer.run({ onEpoch() {} });
    } finally {
      trainer.dispose();
      module.dispose();
    }
    steps += Math.ceil(data.trainIndices.length / batchSize);
  }
}

async function runTfjs(engine: Exclude<Engine, 'pytorch'>, family: ModelFamily, batchSize: number): Promise<Measurement> {
  await activate(engine);
  const plan = PLAN[engine];
  const data = randomTrainingData(Math.max(plan.samples, batchSize * (plan.steps ?? 1)));
  if (engine !== 'cpu') await warmUp(family, batchSize, data);
  const config = trainingConfig(family, batchSize, plan.epochs);
  const module = createModule(config.model, dims(data), new Rng(config.seed).fork('init'));
  const trainer = new Trainer(module, data, config);
  const rates: number[] = [];
  const numTensors: number[] = [];
  let loss = Number.NaN;
  // CPU time from the end of the first (warm-up) epoch to the end of the last.
  let cpuAfterWarmUp: NodeJS.CpuUsage | null = null;
  let timedSamples = 0;
  let cpuMicros = Number.NaN;
  try {
    const outcome = await trainer.run({
      onEpoch(report) {
        if (cpuAfterWarmUp) {
          const used = process.cpuUsage(cpuAfterWarmUp);
          cpuMicros = used.user + used.system;
          timedSamples += data.trainIndices.length;
        } else cpuAfterWarmUp = process.cpuUsage();
        rates.push(report.samplesPerSecond);
        numTensors.push(report.numTensors);
        loss = report.train.loss ?? Number.NaN;
      },
    });
    if (outcome.status !== 'completed') throw new Error(`training ${outcome.status}`);
  } finally {
    trainer.dispose();
    module.dispose();
  }
  return { samplesPerSecond: median(rates.slice(1)), cpuMicrosPerSample: cpuMicros / timedSamples, numTensors, loss };
}

/** What PyTorch said about its own configuration, per wait policy (each printed once). */
const torchConfigurations = new Map<string, string>();

/**
 * OpenMP's wait policies: libgomp's default spins between parallel regions (fastest on an idle
 * machine); PASSIVE sleeps at once (on a loaded machine spinning threads lose up to 95% of their
 * speed: 208 vs 2,935 samples/s at load 20 here). Every round runs both, and the better one is
 * PyTorch's figure for that round: the reference at its best under the load of the moment.
 */
const TORCH_WAIT_POLICIES: { name: string; waitPolicy: string | undefined }[] = [
  { name: 'spin (OpenMP default)', waitPolicy: undefined },
  { name: 'OMP_WAIT_POLICY=PASSIVE', waitPolicy: 'PASSIVE' },
];

function runTorch(family: ModelFamily, batchSize: number): Measurement {
  const runs = TORCH_WAIT_POLICIES.map((policy) => ({ policy: policy.name, ...runTorchOnce(family, batchSize, policy.waitPolicy) }));
  const best = runs.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a));
  for (const run of runs) {
    if (torchConfigurations.has(run.policy)) continue;
    torchConfigurations.set(run.policy, run.config);
    console.log(`  pytorch configuration (${run.policy}): ${run.config}`);
  }
  const detail = `best of ${runs.map((r) => `${r.policy} ${fmt(r.samplesPerSecond)} (${fmt(r.cpuMicrosPerSample)} µs CPU/sample)`).join(', ')}`;
  // CPU per sample: the policy that used less (spinning threads burn CPU waiting).
  const cpuMicrosPerSample = Math.min(...runs.map((r) => r.cpuMicrosPerSample));
  return { samplesPerSecond: best.samplesPerSecond, cpuMicrosPerSample, numTensors: [], loss: best.loss, detail };
}

function runTorchOnce(family: ModelFamily, batchSize: number, waitPolicy: string | undefined): Measurement & { config: string } {
  const args = [join(here, 'torch_train.py'), '--family', family, '--batch', String(batchSize), '--threads', '2'];
  args.push('--seconds', String(TORCH_SECONDS), '--warmup-seconds', String(TORCH_WARMUP_SECONDS));
  const env: NodeJS.ProcessEnv = { ...process.env, ...torchEnv(), ...TORCH_MALLOC, OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: waitPolicy };
  // Removed, not inherited, for the spinning run: loading the addon sets OMP_WAIT_POLICY=PASSIVE in
  // this process (native/blas/src/addon.c), so "spin" runs used to sleep as well.
  if (waitPolicy === undefined) delete env.OMP_WAIT_POLICY;
  // Spin settings given for native-blas's threads (CELLSHIFT_SPIN_US, and GOMP_SPINCOUNT, which
  // libgomp in both processes reads) stay on its side: the reference keeps its own two policies.
  delete env.GOMP_SPINCOUNT;
  delete env.CELLSHIFT_SPIN_US;
  const result = spawnSync(PYTHON, args, { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`torch_train.py failed: ${result.stderr.trim().split('\n').slice(-1)[0]}`);
  const line = JSON.parse(result.stdout.trim().split('\n').slice(-1)[0] as string) as {
    samples_per_s: number;
    cpu_us_per_sample: number;
    loss: number;
    config: string;
  };
  return {
    samplesPerSecond: line.samples_per_s,
    cpuMicrosPerSample: line.cpu_us_per_sample,
    numTensors: [],
    loss: line.loss,
    config: line.config,
  };
}

function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

// ---------------------------------------------------------------------------------------------

const started = performance.now();
const found = await available();
const engines = only ? found.engines.filter((e) => only.includes(e)) : found.engines;
const notes = found.notes;
console.log(`CellShift training benchmark — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`);
console.log('Models: seed L1000 sizes (978 genes, env 1024, hidden 500, latent 200), Adam, clip 10, float32');
console.log(`at the start: ${uptime()}`);
for (const note of notes) console.log(`  ${note}`);
const overrides = OPENBLAS_OVERRIDES.map((name) => (process.env[name] === undefined ? `${name} unset` : `${name}=${process.env[name]}`));
console.log(
  `  both sides: ${overrides.join(', ')}${process.env.OPENBLAS_CORETYPE ? ' (run through npm run bench:train to unset them)' : ''}`,
);
console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (other processes skew every engine)\n`,
);

const rows: {
  family: ModelFamily;
  batch: number;
  engine: Engine;
  rate: number;
  ratio: number;
  best: number;
  bestRatio: number;
  cpu: number;
  cpuRatio: number;
  tensors: string;
}[] = [];
for (const family of families) {
  for (const batch of batches) {
    const results = new Map<Engine, Measurement[]>();
    for (let round = 0; round < rounds; round++) {
      for (const engine of engines) {
        if (engine === 'cpu' && (batch !== 256 || round > 0)) continue;
        const m = engine === 'pytorch' ? runTorch(family, batch) : await runTfjs(engine, family, batch);
        results.set(engine, [...(results.get(engine) ?? []), m]);
        const tensors = m.numTensors.length ? `, tensors/epoch ${m.numTensors.join(',')}` : m.detail ? ` (${m.detail})` : '';
        const load = loadavg()[0]?.toFixed(1);
        console.log(
          `  ${family} batch ${batch} round ${round + 1} ${engine}: ${fmt(m.samplesPerSecond)} samples/s, ${fmt(m.cpuMicrosPerSample)} µs CPU/sample${tensors} (load ${load})`,
        );
      }
    }
    const torchRates = (results.get('pytorch') ?? []).map((m) => m.samplesPerSecond);
    const torch = median(torchRates);
    const torchBest = torchRates.length ? Math.max(...torchRates) : Number.NaN;
    const torchCpu = median((results.get('pytorch') ?? []).map((m) => m.cpuMicrosPerSample));
    for (const [engine, list] of results) {
      const rates = list.map((m) => m.samplesPerSecond);
      const rate = median(rates);
      const best = Math.max(...rates);
      const tensors = list.flatMap((m) => m.numTensors);
      const cpu = median(list.map((m) => m.cpuMicrosPerSample));
      rows.push({
        cpu,
        cpuRatio: torchCpu / cpu,
        family,
        batch,
        engine,
        rate,
        ratio: rate / torch,
        best,
        bestRatio: best / torchBest,
        tensors: tensors.length ? [...new Set(tensors)].join('/') : '',
      });
    }
  }
}

const ratioText = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 0.1 ? 3 : 2) : '—');
console.log(`\nsamples/s over ${rounds} round(s) (cpu: one run, batch 256 only)`);
// CPU µs per sample (all threads, median of rounds) is the work each side does: the machine's load
// moves it far less than samples/s. PyTorch CPU ÷ engine CPU above 1 means the engine does less.
console.log(
  '| model | batch | engine | median samples/s | × PyTorch (median) | best samples/s | × PyTorch (best/best) | CPU µs/sample | PyTorch CPU ÷ this | live tensors after each epoch |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.family} | ${r.batch} | ${r.engine} | ${fmt(r.rate)} | ${ratioText(r.ratio)} | ${fmt(r.best)} | ${ratioText(r.bestRatio)} | ${r.cpu.toFixed(1)} | ${ratioText(r.cpuRatio)} | ${r.tensors || '—'} |`,
  );
}
console.log(`\nat the end: ${uptime()}; took ${((performance.now() - started) / 1000).toFixed(0)} s`);
