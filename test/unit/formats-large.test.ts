// Bounded memory on a large GCTX (opt-in: CELLSHIFT_LARGE_TESTS=1; writes ~750 MiB to the temp dir).
//
// A 978 × 200,000 float32 GCTX (CELLSHIFT_LARGE_SAMPLES overrides the sample count) is written in
// blocks with h5wasm, then read by the GCTX reader: 1,000 scattered samples (unsorted, all genes,
// then 300 scattered genes) and every sample in 16 MiB batches, checking values as it goes.
//
// The reads run in a child process on plain Node, with the readers transpiled to JavaScript the way
// the app ships them: under tsx, importing h5wasm's 4 MB single-file build alone costs ~600 MiB of
// RSS (tsx transforms it), which would measure the test harness rather than the reader. The child's
// RSS must stay under 1 GiB. Throughput is reported next to `cat file > /dev/null` on the same
// (page-cached) file and, when /usr/bin/python3 has h5py, next to h5py reading the same selections.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import ts from 'typescript';

import { PYTHON, pythonHas, writeLargeGctxH5wasm } from '../fixtures/formats/writers.js';

const ENABLED = process.env.CELLSHIFT_LARGE_TESTS === '1';
const N_GENES = 978;
const N_SAMPLES = Number(process.env.CELLSHIFT_LARGE_SAMPLES ?? 200_000);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let tmp = '';
before(() => {
  if (ENABLED) tmp = mkdtempSync(join(tmpdir(), 'cellshift-large-'));
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Transpiles src-main/node/data/formats/*.ts to ESM JavaScript in dir, pointing h5wasm at node_modules. */
function transpileReaders(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const src = join(ROOT, 'src-main', 'node', 'data', 'formats');
  const h5wasmUrl = pathToFileURL(join(ROOT, 'node_modules', 'h5wasm', 'dist', 'node', 'hdf5_hl.js')).href;
  for (const name of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
    const out = ts.transpileModule(readFileSync(join(src, name), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    });
    writeFileSync(join(dir, name.replace(/\.ts$/, '.js')), out.outputText.replaceAll("'h5wasm/node'", `'${h5wasmUrl}'`));
  }
}

const DRIVER = `
import { openGctx } from './formats/gctx.js';
const [path, nGenes, nSamples] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const value = (s, g) => Math.fround((s % 4096) + g / 1024);
let peak = 0;
const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); };
const timer = setInterval(sample, 10);
const fail = (msg) => { console.error(msg); process.exit(2); };
sample();
const baseline = process.memoryUsage().rss;
const reader = await openGctx(path);
sample();
const afterOpen = process.memoryUsage().rss;
let state = 42;
const rand = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const scattered = Array.from({ length: 1000 }, () => Math.floor(rand() * nSamples));
let t0 = performance.now();
const values = await reader.readSamples(scattered, null);
const scatteredMs = performance.now() - t0;
scattered.forEach((s, i) => { for (const g of [0, 1, 500, nGenes - 1]) if (values[i * nGenes + g] !== value(s, g)) fail('scattered mismatch'); });
const genes = Array.from({ length: 300 }, (_, k) => (k * 331) % nGenes);
t0 = performance.now();
const subset = await reader.readSamples(scattered, genes);
const subsetMs = performance.now() - t0;
for (let i = 0; i < scattered.length; i += 7) for (let j = 0; j < genes.length; j += 13) if (subset[i * genes.length + j] !== value(scattered[i], genes[j])) fail('subset mismatch');
const slices0 = reader.stats.slices;
t0 = performance.now();
let seen = 0;
for await (const batch of reader.iterateSamples(Array.from({ length: nSamples }, (_, i) => i), null, { maxBatchBytes: 16 * 1024 * 1024, reuseBuffer: true })) {
  for (let s = batch.start; s < batch.end; s += 997) if (batch.values[(s - batch.start) * nGenes + 977] !== value(s, 977)) fail('full mismatch at ' + s);
  seen += batch.end - batch.start;
  sample();
}
const fullMs = performance.now() - t0;
if (seen !== nSamples) fail('saw ' + seen);
reader.close();
clearInterval(timer);
sample();
console.log(JSON.stringify({ baseline, afterOpen, peak, maxRss: process.resourceUsage().maxRSS * 1024, scatteredMs, subsetMs, fullMs, slices: reader.stats.slices - slices0 }));
`;

const H5PY_TIMING = `
import h5py, numpy as np, sys, time
f = h5py.File(sys.argv[1], 'r'); d = f['/0/DATA/0/matrix']; n = d.shape[0]
state = 42; idx = []
for _ in range(1000):
    state = (state * 1664525 + 1013904223) % 2**32; idx.append(int(state / 2**32 * n))
t = time.time(); rows = [d[i] for i in idx]; scattered = time.time() - t
t = time.time()
for s in range(0, n, 17000): d[s:s + 17000]
full = time.time() - t
print(scattered * 1000, full * 1000)
`;

test('GCTX 978 × 200,000: scattered and full reads with RSS < 1 GiB', {
  skip: ENABLED ? false : 'set CELLSHIFT_LARGE_TESTS=1',
}, async (t) => {
  const path = join(tmp, 'large.gctx');
  let t0 = performance.now();
  await writeLargeGctxH5wasm(path, N_GENES, N_SAMPLES, { chunkSamples: 256, blockSamples: 4096 });
  const bytes = statSync(path).size;
  t.diagnostic(`wrote ${(bytes / MiB).toFixed(0)} MiB (chunks [256, 978]) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  t0 = performance.now();
  assert.equal(spawnSync('sh', ['-c', `cat '${path}' > /dev/null`]).status, 0);
  const catSeconds = (performance.now() - t0) / 1000;

  transpileReaders(join(tmp, 'formats'));
  writeFileSync(join(tmp, 'driver.mjs'), DRIVER);
  const child = spawnSync(process.execPath, [join(tmp, 'driver.mjs'), path, String(N_GENES), String(N_SAMPLES)], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024,
  });
  assert.equal(child.status, 0, `reader child failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as {
    baseline: number;
    afterOpen: number;
    peak: number;
    maxRss: number;
    scatteredMs: number;
    subsetMs: number;
    fullMs: number;
    slices: number;
  };
  const matrixMiB = (N_SAMPLES * N_GENES * 4) / MiB;
  const mib = (x: number) => `${(x / MiB).toFixed(0)} MiB`;
  t.diagnostic(`cat > /dev/null: ${(bytes / MiB / catSeconds).toFixed(0)} MiB/s`);
  t.diagnostic(
    `reader, all samples in 16 MiB batches (one reused buffer): ${(r.fullMs / 1000).toFixed(2)} s = ${(matrixMiB / (r.fullMs / 1000)).toFixed(0)} MiB/s (${r.slices} slices)`,
  );
  t.diagnostic(`reader, 1,000 scattered samples: ${r.scatteredMs.toFixed(0)} ms all genes, ${r.subsetMs.toFixed(0)} ms 300 genes`);
  t.diagnostic(`child RSS: ${mib(r.baseline)} at start, ${mib(r.afterOpen)} after open, peak ${mib(r.peak)}, maxRSS ${mib(r.maxRss)}`);
  if (pythonHas(['h5py', 'numpy'])) {
    const [scattered, full] = spawnSync(PYTHON, ['-c', H5PY_TIMING, path], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number);
    if (scattered !== undefined && full !== undefined && Number.isFinite(full)) {
      t.diagnostic(
        `h5py, same reads: ${scattered.toFixed(0)} ms scattered, ${(full / 1000).toFixed(2)} s full = ${(matrixMiB / (full / 1000)).toFixed(0)} MiB/s`,
      );
    }
  }
  assert.ok(r.peak < GiB, `peak RSS ${mib(r.peak)} >= 1 GiB`);
  assert.ok(r.maxRss < GiB, `maxRSS ${mib(r.maxRss)} >= 1 GiB`);
});
