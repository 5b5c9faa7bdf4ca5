// Structure throughput of the import path against Python RDKit, on chemCPA's 17,775 LINCS SMILES:
//   node --import tsx bench/chemistry.ts [--limit N] [--rounds 3] [--no-python] [--no-wasm]
//
// Same work on every side: parent fragment, canonical SMILES, Bemis–Murcko scaffold, Morgan bits
// (radius 2, 1024); no depiction, no InChIKey. Compared, in alternating order within each round so
// that every ratio compares runs made under the same machine load:
// - Python RDKit (Debian python3-rdkit, bench/chemistry_rdkit.py, its configuration printed) in one
//   process, and in a multiprocessing pool of one process per core (the honest "both cores"
//   reference; the pool is started and warmed before its clock starts);
// - CellShift's ChemistryPool on the native engine (cellshift_rdkit addon, native/rdkit; batches on
//   libuv threads, one per core, and one thread for the per-core comparison), when the addon is built;
// - the same pool on the wasm engine (one RDKit wasm worker per core), the fallback.
// Each pool is made fresh per round (its start not timed, printed) and describes the list once, as
// an import meets it. Wall time is the target's measure; CPU time is printed too (molecules per
// CPU-second, every thread of the process and Python's pool processes counted): on a machine other
// processes keep busy, wall time mostly says how much of the CPU each side was given. Results are
// compared field by field — every engine with Python, and native with wasm — with examples of any
// difference. `uptime` before and after. The SMILES are read from ../shared/fixtures/real-l1000/ at
// run time (not in the repository).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ChemistryEngineName, MoleculeResult } from '../src-main/node/chem/chemistry.js';
import { loadNativeRDKit } from '../src-main/node/chem/native.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../src-main/node/chem/pool.js';
import { startWorker } from '../src-main/node/threads/start-worker.js';
import { lincsSmilesOrSkip } from './lincs-smiles.js';
import { median, uptime } from './stats.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : fallback;
};
const PYTHON = '/usr/bin/python3';
const cores = availableParallelism();
const smiles = lincsSmilesOrSkip(Number(option('limit', 'Infinity')));
const rounds = Math.max(1, Number(option('rounds', '3')));
const native = loadNativeRDKit();

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`Chemistry benchmark — ${smiles.length} LINCS SMILES (chemCPA), ${cores} cores, load average ${load()}`);
console.log(
  'Work per molecule: parent fragment, canonical SMILES, Murcko scaffold, Morgan radius 2 / 1024 bits; no depiction, no InChIKey',
);
console.log(`Native engine: ${native.ok ? `RDKit ${native.version} (${native.path})` : `not run: ${native.why}`}\n`);

/** What every side is compared on. */
interface Facts {
  canonical: string;
  scaffold: string;
  bits: string;
}

interface Timing {
  seconds: number;
  perCpuSecond: number;
}

interface Variant {
  label: string;
  run: () => Promise<{ timing: Timing; facts: (Facts | null)[] }>;
  timings: Timing[];
  /** Seconds to start a pool (workers up, RDKit loaded), not timed in its throughput. */
  starts: number[];
  facts?: (Facts | null)[];
}

const configurations: string[] = [];

/** One Python RDKit run over the list in `processes` processes (the script times the work only). */
function runPython(processes: number): { timing: Timing; facts: (Facts | null)[] } {
  const dir = mkdtempSync(join(tmpdir(), 'cellshift-chem-'));
  try {
    writeFileSync(join(dir, 'in.smi'), `${smiles.join('\n')}\n`);
    const script = fileURLToPath(new URL('./chemistry_rdkit.py', import.meta.url));
    const run = spawnSync(PYTHON, [script, join(dir, 'in.smi'), join(dir, 'out.tsv'), String(processes)], { encoding: 'utf8' });
    if (run.status !== 0)
      throw new Error(`Python RDKit failed: ${(run.stderr || run.error?.message || '').trim().split('\n').slice(-1)[0]}`);
    const summary = JSON.parse(run.stdout.trim().split('\n').slice(-1)[0] as string) as {
      seconds: number;
      cpu_seconds: number;
      rdkit: string;
      python: string;
      configuration: string;
    };
    const configuration = `Python RDKit ${summary.rdkit} (Python ${summary.python}): ${summary.configuration}`;
    if (!configurations.includes(configuration)) configurations.push(configuration);
    const facts = readFileSync(join(dir, 'out.tsv'), 'utf8')
      .split('\n')
      .slice(0, smiles.length)
      .map((line) => {
        if (line === '!') return null;
        const [canonical = '', scaffold = '', bits = ''] = line.split('\t');
        return { canonical, scaffold, bits };
      });
    return { timing: { seconds: summary.seconds, perCpuSecond: smiles.length / summary.cpu_seconds }, facts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function factsOf(result: MoleculeResult): Facts | null {
  if (!result.ok) return null;
  const bits: number[] = [];
  for (let b = 0; b < result.fingerprint.length; b++) if (result.fingerprint[b]) bits.push(b);
  return { canonical: result.canonicalSmiles, scaffold: result.scaffoldSmiles ?? '', bits: bits.join(',') };
}

/** A fresh pool of `engine` with `size` threads, started and RDKit loaded (each worker describes 32 methanes; not timed), then timed over the list. */
async function runPool(engine: ChemistryEngineName, size: number, variant: Variant) {
  const starting = performance.now();
  const pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), size, { engine });
  try {
    await pool.describeAll(new Array<string>(32 * size).fill('C'), { depict: false, inchiKey: false });
    variant.starts.push((performance.now() - starting) / 1000);
    const started = performance.now();
    const cpuStarted = process.cpuUsage(); // every thread of this process: workers and libuv threads
    const results = await pool.describeAll(smiles, { depict: false, inchiKey: false });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    return { timing: { seconds, perCpuSecond: smiles.length / ((cpu.user + cpu.system) / 1e6) }, facts: results.map(factsOf) };
  } finally {
    await pool.close();
  }
}

const variants: Variant[] = [];
const add = (label: string, run: Variant['run']) => {
  const variant: Variant = { label, run, timings: [], starts: [] };
  variants.push(variant);
  return variant;
};
const python1 = args.includes('--no-python') ? null : add('Python RDKit, 1 process', async () => runPython(1));
const pythonAll = args.includes('--no-python') ? null : add(`Python RDKit, ${cores} processes`, async () => runPython(cores));
const nativeAll: Variant | null = native.ok
  ? add(`CellShift native, ${cores} threads`, () => runPool('native', cores, nativeAll as Variant))
  : null;
const native1: Variant | null = native.ok ? add('CellShift native, 1 thread', () => runPool('native', 1, native1 as Variant)) : null;
const wasm: Variant | null = args.includes('--no-wasm')
  ? null
  : add(`CellShift wasm, ${cores} workers`, () => runPool('wasm', cores, wasm as Variant));

const rate = (t: Timing) => smiles.length / t.seconds;
console.log(`${uptime()}\n${rounds} round(s); in each, every variant runs once, the order reversed every other round.`);
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? [...variants].reverse() : variants;
  const line: string[] = [];
  for (const variant of order) {
    const { timing, facts } = await variant.run();
    variant.timings.push(timing);
    variant.facts ??= facts;
    line.push(`${variant.label} ${Math.round(rate(timing))}`);
  }
  console.log(`  round ${round + 1}: ${line.join('; ')} mol/s (load ${load()})`);
}

function compare(label: string, ours: (Facts | null)[] | undefined, theirs: (Facts | null)[] | undefined): void {
  if (!ours || !theirs) return;
  let both = 0;
  let validityDiffers = 0;
  const equal = { bits: 0, canonical: 0, scaffold: 0 };
  const examples: string[] = [];
  for (const [i, a] of ours.entries()) {
    const b = theirs[i];
    if (!a || !b) {
      if (Boolean(a) !== Boolean(b)) validityDiffers++;
      continue;
    }
    both++;
    for (const field of ['bits', 'canonical', 'scaffold'] as const) {
      if (a[field] === b[field]) equal[field]++;
      else if (examples.length < 4 && field !== 'bits') examples.push(`${field} of ${smiles[i]}: ${a[field]} vs ${b[field]}`);
      else if (examples.length < 4) examples.push(`fingerprint of ${smiles[i]}`);
    }
  }
  console.log(
    `  ${label}: ${both} valid on both sides (validity differs for ${validityDiffers}); fingerprints bit-identical ${equal.bits}/${both}, ` +
      `canonical SMILES equal ${equal.canonical}/${both}, scaffolds equal ${equal.scaffold}/${both}`,
  );
  for (const example of examples) console.log(`    differs: ${example}`);
}

console.log('\nSame results?');
compare('native against Python RDKit', nativeAll?.facts, python1?.facts);
compare('native, 1 thread, against native, both', native1?.facts, nativeAll?.facts);
compare('wasm against Python RDKit', wasm?.facts, python1?.facts);
compare('native against wasm', nativeAll?.facts, wasm?.facts);
compare(`Python, ${cores} processes, against 1`, pythonAll?.facts, python1?.facts);

console.log('\nConfigurations:');
for (const configuration of configurations) console.log(`  ${configuration}`);
console.log(
  '  CellShift: ChemistryPool.describeAll, depiction and InChIKey off; native batches of 128 SMILES on libuv threads; wasm chunks of 32 on worker threads sharing one compiled module',
);
console.log('\nThroughput (median and best of the rounds; CPU: molecules per CPU-second, median):');
const line = (xs: Timing[]) =>
  `median ${Math.round(median(xs.map(rate)))}, best ${Math.round(Math.max(...xs.map(rate)))} mol/s; ${Math.round(median(xs.map((t) => t.perCpuSecond)))} per CPU-second`;
for (const variant of variants) {
  const start = variant.starts.length ? ` (pool start ${median(variant.starts).toFixed(2)} s median, not included)` : '';
  console.log(`  ${variant.label}: ${line(variant.timings)}${start}`);
}
console.log('\nRatios (wall: median of per-round ratios, so each compares runs under one load; best: best against best):');
for (const ours of [nativeAll, native1, wasm]) {
  if (!ours) continue;
  for (const reference of [python1, pythonAll]) {
    if (!reference) continue;
    const perRound = ours.timings.map((t, i) => rate(t) / rate(reference.timings[i] as Timing));
    const best = Math.max(...ours.timings.map(rate)) / Math.max(...reference.timings.map(rate));
    const cpu = median(ours.timings.map((t) => t.perCpuSecond)) / median(reference.timings.map((t) => t.perCpuSecond));
    console.log(
      `  ${ours.label} ÷ ${reference.label}: wall ${median(perRound).toFixed(2)}× (rounds ${perRound.map((r) => r.toFixed(2)).join(', ')}; best ${best.toFixed(2)}×); per CPU-second ${cpu.toFixed(2)}×`,
    );
  }
}
console.log(`\n${uptime()}`);
