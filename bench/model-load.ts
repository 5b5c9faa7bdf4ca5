// What loading a trained model for analysis costs, streamed (TrainedModel.load: rows read from the
// store when needed) against the whole-matrix load it replaced (test/fixtures/whole-matrix-model.ts:
// setUpRun reads and standardises the matrix), on a lab database a bench:lincs run kept:
//   npm run bench:lincs -- --signatures 100000 --compounds 8000 --keep-db     (prints the lab folder)
//   npm run bench:model-load -- --db /tmp/cellshift-lincs-XXXX/lab.db [--run ID] [--rounds 2] [--points 200000]
// Each measurement runs in its own process (so its VmHWM is its own), the two paths alternating
// within a round and taking turns to go first. Per path: the model load, the environment means of
// the held-out evaluation (training and held-out samples), the posterior means of the PCA step's
// subsample, and that PCA. Both paths must give the same means to the bit (their hashes are compared).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { principalComponents, subsample } from '../src-main/node/analysis/inspection.js';
import { TrainedModel } from '../src-main/node/analysis/trained-model.js';
import { environmentMeansOf, splitMeans } from '../src-main/node/analysis/unseen.js';
import { selectBackend } from '../src-main/node/ml/backend.js';
import { Store } from '../src-main/node/store/store.js';
import { wholeMatrixModel } from '../test/fixtures/whole-matrix-model.js';
import { flagOptions, usageError } from './options.js';

type Path = 'whole-matrix' | 'streamed';
const STEPS = ['load', 'environment means', 'posterior means', 'PCA of them'] as const;
interface Measurement {
  path: Path;
  seconds: Record<(typeof STEPS)[number], number>;
  vmHwmMb: number;
  meansHash: string;
  posteriorHash: string;
}

const { value, int } = flagOptions('model-load');
const db = value('--db') ?? usageError('model-load', '--db PATH (a lab database a bench:lincs --keep-db run left) is required');
const points = int('--points', 200_000);

function hashOf(arrays: readonly (Float32Array | null)[]): string {
  const hash = createHash('sha256');
  for (const a of arrays) hash.update(a ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : 'null');
  return hash.digest('hex').slice(0, 16);
}

async function measure(path: Path, runId: string): Promise<Measurement> {
  const store = Store.open(db, { readonly: true });
  await selectBackend();
  const seconds = {} as Measurement['seconds'];
  const timed = <T>(step: (typeof STEPS)[number], work: () => T): T => {
    const t0 = performance.now();
    const result = work();
    seconds[step] = (performance.now() - t0) / 1000;
    return result;
  };
  let means: (Float32Array | null)[];
  let posterior: Float32Array;
  if (path === 'whole-matrix') {
    const model = timed('load', () => wholeMatrixModel(store, runId));
    const { data } = model;
    means = timed('environment means', () => [
      ...environmentMeansOf(data, data.trainIndices),
      ...environmentMeansOf(data, data.validationIndices),
    ]);
    posterior = timed('posterior means', () => model.encode(subsample(data.environmentOfSample.length, points)));
    const n = posterior.length / model.latentDim;
    timed('PCA of them', () => principalComponents(posterior, n, model.latentDim, 2));
  } else {
    const t0 = performance.now();
    const model = await TrainedModel.load(store, runId);
    seconds.load = (performance.now() - t0) / 1000;
    means = timed('environment means', () => {
      const split = splitMeans(model);
      return [...split.train, ...split.held];
    });
    posterior = timed('posterior means', () => model.encodeMeans(subsample(model.nSamples, points)));
    timed('PCA of them', () => principalComponents(posterior, posterior.length / model.latentDim, model.latentDim, 2));
  }
  const vmHwmMb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
  return { path, seconds, vmHwmMb, meansHash: hashOf(means), posteriorHash: hashOf([posterior]) };
}

const child = value('--child') as Path | undefined;
if (child) {
  console.log(JSON.stringify(await measure(child, value('--run') as string)));
} else {
  const store = Store.open(db, { readonly: true });
  const run =
    value('--run') ??
    store.runs
      .list()
      .filter((r) => r.status === 'completed')
      .at(-1)?.id ??
    usageError('model-load', `no completed run in ${db}`);
  const summary = store.runs.get(run);
  const dataset = store.datasets.get(summary.datasetId);
  store.close();
  const rounds = int('--rounds', 2);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(
    `bench:model-load: run ${summary.name} (${run}) on ${dataset.nSamples} samples × ${dataset.nGenes} genes; ` +
      `${Math.min(points, dataset.nSamples)} posterior means; ${rounds} rounds; load ${load()} at the start`,
  );
  console.log(
    'whole-matrix = the load before issue 13 (setUpRun: the matrix read and standardised in memory); streamed = TrainedModel.load now',
  );
  const results: Measurement[] = [];
  for (let round = 0; round < rounds; round++) {
    const order: Path[] = round % 2 === 0 ? ['whole-matrix', 'streamed'] : ['streamed', 'whole-matrix'];
    for (const path of order) {
      const args = ['--import', 'tsx', import.meta.filename, '--child', path, '--db', db, '--run', run, '--points', String(points)];
      const out = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (out.status !== 0) throw new Error(`${path} failed: ${out.stderr}`);
      const m = JSON.parse(out.stdout.trim().split('\n').at(-1) as string) as Measurement;
      results.push(m);
      const steps = STEPS.map((s) => `${s} ${m.seconds[s].toFixed(1)} s`).join(', ');
      console.log(`round ${round + 1} ${path.padEnd(12)}: ${steps}; VmHWM ${m.vmHwmMb.toFixed(0)} MB (load ${load()})`);
    }
  }
  const hashes = new Set(results.map((m) => `${m.meansHash}/${m.posteriorHash}`));
  console.log(
    hashes.size === 1
      ? 'same environment means and posterior means on both paths (hashes equal)'
      : `RESULTS DIFFER: ${[...hashes].join(' ')}`,
  );
  const best = (path: Path, step: (typeof STEPS)[number]) =>
    Math.min(...results.filter((m) => m.path === path).map((m) => m.seconds[step]));
  for (const step of STEPS) {
    const ratio = best('whole-matrix', step) / best('streamed', step);
    console.log(
      `${step}: whole-matrix best ${best('whole-matrix', step).toFixed(1)} s, streamed best ${best('streamed', step).toFixed(1)} s (${ratio.toFixed(2)}×)`,
    );
  }
  const hwm = (path: Path) => Math.max(...results.filter((m) => m.path === path).map((m) => m.vmHwmMb));
  console.log(
    `VmHWM: whole-matrix ${hwm('whole-matrix').toFixed(0)} MB, streamed ${hwm('streamed').toFixed(0)} MB; load ${load()} at the end`,
  );
  if (hashes.size !== 1) process.exitCode = 1;
}
