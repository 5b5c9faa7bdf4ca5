// Structure throughput of the import path against Python RDKit, on chemCPA's 17,775 LINCS SMILES:
//   node --import tsx bench/chemistry.ts [--limit N] [--workers 2,1] [--rounds 3] [--no-python]
//     [--unshared] [--no-inchikey]
//
// Same work on both sides: parent fragment, canonical SMILES, Bemis–Murcko scaffold, Morgan bits
// (radius 2, 1024); no depiction, no InChIKey. Python RDKit (Debian python3-rdkit, one process,
// bench/chemistry_rdkit.py, its configuration printed) and CellShift's ChemistryPool (one RDKit
// wasm worker per core) run on the same list in alternating order within each round (--rounds), so
// the ratio compares runs made under the same machine load; medians and best rounds are printed,
// with `uptime` before and after. Every round starts a fresh pool and times two passes over the
// list: cold (V8 still optimising RDKit's hot wasm functions, as in an import) and warm.
// --unshared adds a pool whose workers each compile RDKit themselves (the pool's behaviour before
// it shared one compiled module). Once more at the end, a warm pool with InChIKeys, as an import
// computes them today (--no-inchikey skips it).
// Each side's time covers the work only: Python's excludes its import of RDKit, the pool's its
// workers' start (RDKit loaded in every worker first). Besides wall time (the
// target's measure), each side's CPU time is printed as molecules per CPU-second: on a machine
// other processes keep busy, wall time mostly says how much of the CPU each side was given. Every result is compared
// with Python's: fingerprints must be bit-identical, and canonical and scaffold SMILES equal.
// The SMILES are read from ../shared/fixtures/real-l1000/ at run time (not in the repository).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { MoleculeResult } from '../src-main/node/chem/chemistry.js';
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
const limit = Number(option('limit', 'Infinity'));
const workerCounts = option('workers', String(cpus().length))
  .split(',')
  .map(Number)
  .filter((n) => n >= 1);

const smiles = lincsSmilesOrSkip(limit);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`Chemistry benchmark — ${smiles.length} LINCS SMILES (chemCPA), ${cpus().length} cores, load average ${load()}`);
console.log('Work per molecule: parent fragment, canonical SMILES, Murcko scaffold, Morgan radius 2 / 1024 bits; no depiction\n');

interface Reference {
  canonical: string;
  scaffold: string;
  bits: string;
}
let reference: (Reference | null)[] | null = null;
const rounds = Math.max(1, Number(option('rounds', '3')));
const python = !args.includes('--no-python');

interface Timing {
  seconds: number;
  perCpuSecond: number;
}

/** One Python RDKit run over the list (its own process; the work only is timed, by the script). */
function runPython(): Timing | null {
  const dir = mkdtempSync(join(tmpdir(), 'cellshift-chem-'));
  try {
    writeFileSync(join(dir, 'in.smi'), `${smiles.join('\n')}\n`);
    const script = fileURLToPath(new URL('./chemistry_rdkit.py', import.meta.url));
    const run = spawnSync(PYTHON, [script, join(dir, 'in.smi'), join(dir, 'out.tsv')], { encoding: 'utf8' });
    if (run.status !== 0) {
      console.log(`Python RDKit: not run (${(run.stderr || run.error?.message || '').trim().split('\n').slice(-1)[0]})`);
      return null;
    }
    const summary = JSON.parse(run.stdout.trim().split('\n').slice(-1)[0] as string) as {
      seconds: number;
      cpu_seconds: number;
      rdkit: string;
      python: string;
      configuration: string;
    };
    reference ??= readFileSync(join(dir, 'out.tsv'), 'utf8')
      .split('\n')
      .slice(0, smiles.length)
      .map((line) => {
        if (line === '!') return null;
        const [canonical = '', scaffold = '', bits = ''] = line.split('\t');
        return { canonical, scaffold, bits };
      });
    rdkitVersion = summary.rdkit;
    pythonVersion = summary.python;
    pythonConfiguration = summary.configuration;
    return { seconds: summary.seconds, perCpuSecond: smiles.length / summary.cpu_seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
let rdkitVersion = '?';
let pythonVersion = '?';
let pythonConfiguration = '?';

/**
 * A fresh pool with RDKit loaded in every worker and nothing warmed (not timed): what an import
 * meets. Each worker describes 32 methanes so that it has started and instantiated RDKit.
 */
async function startPool(workers: number, shareCompiled: boolean): Promise<ChemistryPool> {
  const pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), workers, { shareCompiled });
  await pool.describeAll(new Array<string>(32 * workers).fill('C'), { depict: false, inchiKey: false });
  return pool;
}

async function runPool(pool: ChemistryPool, inchiKey: boolean): Promise<{ timing: Timing; results: MoleculeResult[] }> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage(); // all threads of this process, the workers included
  const results = await pool.describeAll(smiles, { depict: false, inchiKey });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  return { timing: { seconds, perCpuSecond: smiles.length / ((cpu.user + cpu.system) / 1e6) }, results };
}

function compare(results: MoleculeResult[]): void {
  if (!reference) return;
  let bothValid = 0;
  let fingerprints = 0;
  let canonical = 0;
  let scaffolds = 0;
  let validityDiffers = 0;
  const examples: string[] = [];
  for (const [i, result] of results.entries()) {
    const expected = reference[i];
    if (!expected || !result.ok) {
      if (Boolean(expected) !== result.ok) validityDiffers++;
      continue;
    }
    bothValid++;
    const bits: number[] = [];
    for (let b = 0; b < result.fingerprint.length; b++) if (result.fingerprint[b]) bits.push(b);
    if (bits.join(',') === expected.bits) fingerprints++;
    else if (examples.length < 3) examples.push(`fingerprint of ${smiles[i]}`);
    if (result.canonicalSmiles === expected.canonical) canonical++;
    if (result.scaffoldSmiles === expected.scaffold) scaffolds++;
    else if (examples.length < 3) examples.push(`scaffold of ${smiles[i]}: ${result.scaffoldSmiles} vs Python ${expected.scaffold}`);
  }
  console.log(
    `  against Python RDKit: ${bothValid} valid on both sides (validity differs for ${validityDiffers}); fingerprints bit-identical ` +
      `${fingerprints}/${bothValid}, canonical SMILES equal ${canonical}/${bothValid}, scaffolds equal ${scaffolds}/${bothValid}`,
  );
  for (const example of examples) console.log(`    differs: ${example}`);
}

const rate = (t: Timing) => smiles.length / t.seconds;

interface Variant {
  label: string;
  shareCompiled: boolean;
  cold: Timing[];
  warm: Timing[];
}

console.log(
  `${uptime()}\n${rounds} round(s); in each, Python RDKit (1 process) and every pool variant run once, the order alternating. ` +
    'A pool run is a fresh pool (workers started, RDKit loaded, not timed) describing the list twice: cold (as an import) and warm.',
);
for (const workers of workerCounts) {
  const variants: Variant[] = [{ label: `pool of ${workers}, one compiled module`, shareCompiled: true, cold: [], warm: [] }];
  if (args.includes('--unshared'))
    variants.push({ label: `pool of ${workers}, each worker compiling`, shareCompiled: false, cold: [], warm: [] });
  const py: Timing[] = [];
  let compared = false;
  for (let round = 0; round < rounds; round++) {
    const steps: (() => Promise<void>)[] = [
      async () => {
        const t = python ? runPython() : null;
        if (t) py.push(t);
      },
      ...variants.map((variant) => async () => {
        const pool = await startPool(workers, variant.shareCompiled);
        try {
          const cold = await runPool(pool, false);
          const warm = await runPool(pool, false);
          variant.cold.push(cold.timing);
          variant.warm.push(warm.timing);
          if (!compared && (reference || !python)) {
            compared = true;
            compare(cold.results);
          }
        } finally {
          await pool.close();
        }
      }),
    ];
    if (round % 2 === 1) steps.reverse();
    for (const step of steps) await step();
    const lastPy = py[py.length - 1];
    const pools = variants.map(
      (v) => `${v.label} ${Math.round(rate(v.cold.at(-1) as Timing))} cold / ${Math.round(rate(v.warm.at(-1) as Timing))} warm mol/s`,
    );
    console.log(
      `  round ${round + 1} (${round % 2 ? 'pools' : 'Python'} first): ${pools.join('; ')}` +
        (lastPy ? `; Python RDKit ${Math.round(rate(lastPy))} mol/s` : '') +
        ` (load ${load()})`,
    );
  }
  const line = (xs: Timing[]) =>
    `median ${Math.round(median(xs.map(rate)))}, best ${Math.round(Math.max(...xs.map(rate)))} mol/s, ${Math.round(median(xs.map((t) => t.perCpuSecond)))} mol per CPU-second (median)`;
  if (py.length > 0) console.log(`Python RDKit ${rdkitVersion} (Python ${pythonVersion}; ${pythonConfiguration}): ${line(py)}`);
  for (const variant of variants) {
    for (const [pass, timings] of [
      ['cold', variant.cold],
      ['warm', variant.warm],
    ] as const) {
      console.log(`CellShift ${variant.label}, ${pass}: ${line(timings)}`);
      if (py.length === 0) continue;
      const pyRates = py.map(rate);
      const ours = timings.map(rate);
      console.log(
        `  ratio to Python RDKit (same work): wall median ${(median(ours) / median(pyRates)).toFixed(2)}×, best ${(Math.max(...ours) / Math.max(...pyRates)).toFixed(2)}×; ` +
          `per CPU-second ${(median(timings.map((t) => t.perCpuSecond)) / median(py.map((t) => t.perCpuSecond))).toFixed(2)}× (medians)`,
      );
    }
  }
  if (workers === workerCounts[0] && !args.includes('--no-inchikey')) {
    const pool = await startPool(workers, true);
    try {
      await runPool(pool, false);
      const { timing } = await runPool(pool, true);
      console.log(`  a warm pool with InChIKeys too (what an import computes today): ${Math.round(rate(timing))} mol/s (load ${load()})`);
    } finally {
      await pool.close();
    }
  }
}
console.log(`\n${uptime()}`);
