// Where one training step's time goes:
//   node --import tsx bench/profile-step.ts [cpu|wasm|wasm-patched|native|native-unfused] [vae|env-vae|...] [batch] [steps] [--ab [relu-grad|dense-linear|nll|latent|clip-in-adam|native-noise|stream|spin]] [--ab-rounds N] [--off SWITCH]
// native-unfused: native-blas without its fused kernels (the dense-ReLU backward, ml/native/dense.ts,
// the Gaussian loss, ml/native/nll.ts, the latent block, ml/native/latent.ts, and clipping inside
// Adam), as before them.
// With --ab (native only) it then alternates rounds (ABBA) of `steps` steps with one fused kernel on
// and off — relu-grad (default), dense-linear (a linear layer as one kernel, ml/native/dense.ts), nll, latent (the posterior sample and KL, ml/native/latent.ts),
// clip-in-adam (clipping's rescale inside Adam), native-noise (the noise drawn by the addon), stream (kernel calls queued on the addon's thread) or spin (the
// addon pool's threads spin CELLSHIFT_SPIN_US, default 100, µs before sleeping, against none) — and prints both medians of wall and CPU time per step and
// their ratios, measured under the same load.
// With CELLSHIFT_KERNEL_TIMES=1 (native only) it also lists every addon call of the timed steps:
// wall and CPU (all threads) per step, CPU ÷ wall (≈ 1: one thread), and the step's time outside
// the addon (JavaScript, tfjs's tape and dispatch).
// Runs the product's module (createModule) with a step shaped like Trainer#trainStep
// (variableGrads → clipByGlobalNorm → adam.applyGradients), times the phases, and lists
// tf.profile()'s kernels grouped by name and shape.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src-main/node/data/random.js';
import { selectBackend } from '../src-main/node/ml/backend.js';
import { type Batch, createModule } from '../src-main/node/ml/modules/index.js';
import { applyScaledGradients } from '../src-main/node/ml/native/adam.js';
import { addonTimesEnabled, takeAddonTimes } from '../src-main/node/ml/native/addon-times.js';
import { NativeBackend, outputArray } from '../src-main/node/ml/native/backend.js';
import { nativeNormalFiller } from '../src-main/node/ml/native/normal.js';
import { clipByGlobalNorm, clippingScale } from '../src-main/node/ml/trainer.js';
import type { ModelFamily } from '../src-main/shared/api/training.js';
import { dims, ENV_WIDTH, GENES, modelConfig, randomTrainingData } from './lib.js';
import { uptime } from './stats.js';

const backend = process.argv[2] ?? 'cpu';
const family = (process.argv[3] ?? 'vae') as ModelFamily;
const batchSize = Number(process.argv[4] ?? 256);
const steps = Number(process.argv[5] ?? (backend === 'cpu' ? 3 : 10));

/** A fused kernel that can be switched off (its callers then run tfjs's unfused ops). */
type Switch = { on: () => void; off: () => void };
const switches = new Map<string, Switch>();
/** Switches of the step's own code, on by default (the Trainer's way); `on` reads the current setting. */
const stepSwitches = {
  /** Clipping's rescale folded into the Adam update, or as a scaled copy first. */
  'clip-in-adam': true,
  /** Noise drawn by the addon on both cores (native-blas), or by Rng in JavaScript. */
  'native-noise': true,
};
for (const name of Object.keys(stepSwitches) as (keyof typeof stepSwitches)[]) {
  switches.set(name, {
    on: () => {
      stepSwitches[name] = true;
    },
    off: () => {
      stepSwitches[name] = false;
    },
  });
}
if (backend === 'native' || backend === 'native-unfused') {
  const { registerNativeBackend } = await import('../src-main/node/ml/native/index.js');
  const { DENSE_LINEAR, RELU_GRAD } = await import('../src-main/node/ml/native/dense.js');
  const { GAUSSIAN_NLL } = await import('../src-main/node/ml/native/nll.js');
  const { GAUSSIAN_LATENT } = await import('../src-main/node/ml/native/latent.js');
  const status = registerNativeBackend();
  if (!status.ok) throw new Error(status.why);
  await tf.setBackend(status.name);
  for (const [name, kernel] of [
    ['relu-grad', RELU_GRAD],
    ['dense-linear', DENSE_LINEAR],
    ['nll', GAUSSIAN_NLL],
    ['latent', GAUSSIAN_LATENT],
  ] as const) {
    const config = tf.getKernel(kernel, status.name);
    if (!config) throw new Error(`${kernel} is not registered`);
    switches.set(name, {
      off: () => {
        if (tf.getKernel(kernel, status.name)) tf.unregisterKernel(kernel, status.name);
      },
      on: () => {
        if (!tf.getKernel(kernel, status.name)) tf.registerKernel(config);
      },
    });
  }
  // The addon pool's bounded spin before its threads sleep (native/blas/src/addon.c; off unless
  // CELLSHIFT_SPIN_US is set): `--ab spin` alternates CELLSHIFT_SPIN_US (100 if unset) µs with none.
  const { loadAddon } = await import('../src-main/node/ml/native/addon.js');
  const addon = loadAddon();
  if (addon.ok && addon.binding.setSpin) {
    const setSpin = addon.binding.setSpin;
    const spin = Number(process.env.CELLSHIFT_SPIN_US || 100);
    switches.set('spin', { on: () => setSpin(spin), off: () => setSpin(0) });
  }
  // The addon's stream (native/blas/src/stream.h): `--ab stream` alternates the backend's kernel
  // calls queued on the addon's thread with each run before it returns.
  if (addon.ok && addon.binding.setStream && addon.binding.queued) {
    const setStream = addon.binding.setStream;
    switches.set('stream', { on: () => setStream(true), off: () => setStream(false) });
  }
  if (backend === 'native-unfused') for (const s of switches.values()) s.off();
  // --off NAME: native-blas with that one switch off for the whole run (its kernel times and profile).
  const offAt = process.argv.indexOf('--off');
  if (offAt >= 0) {
    const off = switches.get(process.argv[offAt + 1] ?? '');
    if (!off) throw new Error(`--off: no such switch (${[...switches.keys()].join(', ')})`);
    off.off();
  }
} else if (backend === 'wasm-patched') {
  await selectBackend({ prefer: 'wasm' });
  const { patchWasmTransposedMatMul } = await import('../src-main/node/ml/native/wasm-matmul.js');
  patchWasmTransposedMatMul();
} else {
  await selectBackend({ prefer: backend as 'cpu' | 'wasm' });
}

const data = randomTrainingData(batchSize);
const module = createModule(modelConfig(family), dims(data), new Rng(0));
const optimizer: tf.Optimizer = tf.train.adam(1e-3);
const rng = new Rng(2);
// Batch and noise arrays from the backend's pool, as the Trainer takes them (fresh 4 MB arrays per
// step would add page faults the Trainer does not have).
const noise = (rows: number, cols: number) => {
  const v = outputArray(tf.backend(), rows * cols);
  rng.fillNormal(v, stepSwitches['native-noise'] ? nativeNormalFiller() : undefined);
  return tf.tensor2d(v, [rows, cols]);
};
function makeBatch(): Batch {
  const xs = outputArray(tf.backend(), batchSize * GENES);
  xs.set(data.x.subarray(0, batchSize * GENES));
  const es = outputArray(tf.backend(), batchSize * ENV_WIDTH);
  for (let r = 0; r < batchSize; r++)
    es.set(data.environmentInputs.subarray((r % 64) * ENV_WIDTH, ((r % 64) + 1) * ENV_WIDTH), r * ENV_WIDTH);
  return {
    x: tf.tensor2d(xs, [batchSize, GENES]),
    e: tf.tensor2d(es, [batchSize, ENV_WIDTH]),
    environmentClass: tf.tensor1d(new Int32Array(batchSize), 'int32'),
  };
}

const phases = { batch: 0, grads: 0, clip: 0, adam: 0, sync: 0 };
function step(time: boolean): number {
  return tf.tidy(() => {
    let t = performance.now();
    const mark = (k: keyof typeof phases) => {
      const now = performance.now();
      if (time) phases[k] += now - t;
      t = now;
    };
    const batch = makeBatch();
    mark('batch');
    const { value, grads } = tf.variableGrads(() => module.loss(batch, { klWeight: 0.5, noise }).total, module.params.list());
    mark('grads');
    let loss: number;
    if (stepSwitches['clip-in-adam']) {
      // As the Trainer does: the rescale inside the Adam update (native-blas), the norm alone
      // here, and the loss read before the update (which stays queued into the next step).
      const { scale } = clippingScale(grads, 10);
      mark('clip');
      loss = value.dataSync()[0] as number;
      mark('sync');
      applyScaledGradients(optimizer, grads, scale);
    } else {
      const clipped = clipByGlobalNorm(grads, 10);
      mark('clip');
      loss = value.dataSync()[0] as number;
      mark('sync');
      optimizer.applyGradients(clipped.grads);
    }
    mark('adam');
    return loss;
  });
}

for (let i = 0; i < 2; i++) step(false);
const pool = tf.backend() instanceof NativeBackend ? (tf.backend() as NativeBackend) : null;
pool?.takeAllocCounts();
takeAddonTimes();
const started = performance.now();
const cpuBefore = process.cpuUsage();
for (let i = 0; i < steps; i++) step(true);
pool?.sync(); // the last update may still be queued on the addon's thread
const ms = (performance.now() - started) / steps;
// CPU time of all the process's threads per step: the work done, which the machine's load moves
// far less than the wall time (at load 15 a step mostly waits for a core).
const cpu = process.cpuUsage(cpuBefore);
const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
console.log(
  `${backend} ${family} batch ${batchSize}: ${ms.toFixed(1)} ms/step = ${((batchSize * 1000) / ms).toFixed(0)} samples/s; ` +
    `CPU ${cpuMs.toFixed(1)} ms/step (system ${(cpu.system / 1000 / steps).toFixed(1)}), ${((cpuMs * 1000) / batchSize).toFixed(1)} µs CPU/sample; ${uptime()}`,
);
if (addonTimesEnabled()) printAddonTimes(ms, cpuMs);
const roundsAt = process.argv.indexOf('--ab-rounds');
/** Alternated A/B rounds (`--ab-rounds N`, default 8): more of them on a shared, noisy machine. */
const AB_ROUNDS = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : 8;
if (pool) {
  const { hits, misses } = pool.takeAllocCounts();
  const missedMb = misses.reduce((sum, n) => sum + n * 4, 0) / 2 ** 20;
  console.log(
    `  array pool: ${(hits / steps).toFixed(1)} hits and ${(misses.length / steps).toFixed(1)} misses per step (${(missedMb / steps).toFixed(2)} MB/step new arrays; ` +
      `largest missed lengths ${
        [...new Set(misses)]
          .sort((a, b) => b - a)
          .slice(0, 6)
          .join(', ') || 'none'
      })`,
  );
}
const abAt = process.argv.indexOf('--ab');
if (abAt >= 0 && backend === 'native') {
  const name = process.argv[abAt + 1]?.startsWith('-') === false ? (process.argv[abAt + 1] as string) : 'relu-grad';
  const kernel = switches.get(name);
  if (!kernel) throw new Error(`--ab ${name}: no such fused kernel (${[...switches.keys()].join(', ')})`);
  const wall: Record<'fused' | 'unfused', number[]> = { fused: [], unfused: [] };
  const cpuTime: Record<'fused' | 'unfused', number[]> = { fused: [], unfused: [] };
  for (let round = 0; round < AB_ROUNDS; round++) {
    // ABBA: neither variant always runs first.
    for (const variant of round % 2 === 0 ? (['fused', 'unfused'] as const) : (['unfused', 'fused'] as const)) {
      if (variant === 'fused') kernel.on();
      else kernel.off();
      step(false);
      const t = performance.now();
      const c = process.cpuUsage();
      for (let i = 0; i < steps; i++) step(false);
      pool?.sync();
      wall[variant].push((performance.now() - t) / steps);
      const used = process.cpuUsage(c);
      cpuTime[variant].push((used.user + used.system) / 1000 / steps);
    }
  }
  kernel.on();
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
  const best = (v: number[]) => Math.min(...v);
  const line = (what: string, v: Record<'fused' | 'unfused', number[]>) =>
    `${what}: fused ${med(v.fused).toFixed(1)} ms/step median (best ${best(v.fused).toFixed(1)}), unfused ${med(v.unfused).toFixed(1)} ` +
    `(best ${best(v.unfused).toFixed(1)}), unfused/fused ${(med(v.unfused) / med(v.fused)).toFixed(3)}× median, ${(best(v.unfused) / best(v.fused)).toFixed(3)}× best`;
  console.log(`  A/B of ${name} over ${AB_ROUNDS} alternated rounds of ${steps} steps; ${uptime()}`);
  console.log(`    ${line('wall', wall)}`);
  console.log(`    ${line('CPU', cpuTime)}`);
}
console.log(
  `  phases (ms/step): ${Object.entries(phases)
    .map(([k, v]) => `${k} ${(v / steps).toFixed(2)}`)
    .join(', ')}`,
);

// One profiled step per phase.
type Kernels = Awaited<ReturnType<typeof tf.profile>>['kernels'];
const profiles: { phase: string; kernels: Kernels }[] = [];
let gradsHolder: tf.NamedTensorMap = {};
let valueHolder: tf.Scalar | null = null;
const batch = makeBatch();
profiles.push({
  phase: 'forward+backward',
  kernels: (
    await tf.profile(() => {
      const r = tf.variableGrads(() => module.loss(batch, { klWeight: 0.5, noise }).total, module.params.list());
      gradsHolder = r.grads;
      valueHolder = r.value;
    })
  ).kernels,
});
let clippedHolder: tf.NamedTensorMap = {};
profiles.push({
  phase: 'clip',
  kernels: (
    await tf.profile(() => {
      clippedHolder = clipByGlobalNorm(gradsHolder, 10).grads;
    })
  ).kernels,
});
profiles.push({ phase: 'adam', kernels: (await tf.profile(() => optimizer.applyGradients(clippedHolder))).kernels });
tf.dispose([gradsHolder, clippedHolder, valueHolder as unknown as tf.Tensor, batch.x, batch.e, batch.environmentClass]);

const matmulNames = new Set(['BatchMatMul', '_FusedMatMul']);
// tf.profile lists a custom-gradient op ("fusedMatMul__op") and, inside it, its kernels
// (_FusedMatMul): counting both would count that time twice.
for (const { phase, kernels: all } of profiles) {
  const kernels = all.filter((k) => !k.name.endsWith('__op'));
  const total = kernels.reduce((s, k) => s + (k.kernelTimeMs as number), 0);
  const groups = new Map<string, { n: number; ms: number }>();
  for (const k of kernels) {
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`;
    const g = groups.get(key) ?? { n: 0, ms: 0 };
    g.n += 1;
    g.ms += k.kernelTimeMs as number;
    groups.set(key, g);
  }
  const mm = kernels.filter((k) => matmulNames.has(k.name)).reduce((s, k) => s + (k.kernelTimeMs as number), 0);
  console.log(
    `\n  ${phase}: ${kernels.length} kernels, ${total.toFixed(1)} ms in kernels (matmul ${mm.toFixed(1)} ms, other ${(total - mm).toFixed(1)} ms)`,
  );
  const byName = new Map<string, { n: number; ms: number }>();
  for (const k of kernels) {
    const g = byName.get(k.name) ?? { n: 0, ms: 0 };
    g.n += 1;
    g.ms += k.kernelTimeMs as number;
    byName.set(k.name, g);
  }
  console.log(
    `    by kernel: ${[...byName.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([name, g]) => `${name}×${g.n} ${g.ms.toFixed(2)}`)
      .join(', ')}`,
  );
  for (const [key, g] of [...groups.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.env.PROFILE_ROWS ?? 14))) {
    console.log(`    ${g.ms.toFixed(2).padStart(8)} ms  ×${g.n}  ${key}`);
  }
}
console.log(`\n  live tensors: ${tf.memory().numTensors}`);

/** The addon's share of a timed step, and each addon call's wall and CPU (CELLSHIFT_KERNEL_TIMES=1). */
function printAddonTimes(stepMs: number, stepCpuMs: number): void {
  const times = takeAddonTimes();
  const wall = times.reduce((sum, t) => sum + t.wallMs, 0) / steps;
  const cpu = times.reduce((sum, t) => sum + t.cpuMs, 0) / steps;
  const serial = times.filter((t) => t.cpuMs < 1.25 * t.wallMs).reduce((sum, t) => sum + t.wallMs, 0) / steps;
  console.log(
    `  addon calls (CELLSHIFT_KERNEL_TIMES=1): ${(times.reduce((sum, t) => sum + t.calls, 0) / steps).toFixed(0)} per step, ` +
      `${wall.toFixed(1)} ms wall (${((100 * wall) / stepMs).toFixed(0)}% of the step) and ${cpu.toFixed(1)} ms CPU ` +
      `(${((100 * cpu) / stepCpuMs).toFixed(0)}%); outside the addon ${(stepMs - wall).toFixed(1)} ms wall, ${(stepCpuMs - cpu).toFixed(1)} ms CPU; ` +
      `calls at CPU/wall < 1.25 (one thread busy) ${serial.toFixed(1)} ms wall`,
  );
  for (const t of times.slice(0, Number(process.env.PROFILE_ROWS ?? 24))) {
    console.log(
      `    ${(t.wallMs / steps).toFixed(2).padStart(7)} ms wall ${(t.cpuMs / steps).toFixed(2).padStart(7)} ms CPU ` +
        `${(t.cpuMs / Math.max(t.wallMs, 1e-9)).toFixed(2)} CPU/wall ×${(t.calls / steps).toFixed(0)}  ${t.label}`,
    );
  }
}
