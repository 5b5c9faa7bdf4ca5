// Structure throughput of the import path against Python RDKit, on chemCPA's 17,775 LINCS SMILES:
//   node --import tsx bench/chemistry.ts [--limit N] [--workers 2,1] [--rounds 3] [--no-python]
//
// Same work on both sides: parent fragment, canonical SMILES, Bemis–Murcko scaffold, Morgan bits
// (radius 2, 1024); no depiction, no InChIKey. Python RDKit (Debian python3-rdkit, one process,
// bench/chemistry_rdkit.py) and CellShift's ChemistryPool (one RDKit wasm worker per core) run on
// the same list in alternating order within each round (--rounds), so the ratio compares runs made
// under the same machine load; medians and best rounds are printed, with `uptime` before and after.
// The pool runs once more with InChIKeys, as an import computes them.
// Each side's time covers the work only: Python's excludes its import of RDKit, the pool's its
// workers' start (a warm-up chunk loads RDKit in every worker first). Besides wall time (the
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
    return { seconds: summary.seconds, perCpuSecond: smiles.length / summary.cpu_seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
let rdkitVersion = '?';

/** A started pool with RDKit loaded in every worker (not timed). */
async function startPool(workers: number): Promise<ChemistryPool> {
  const pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), workers);
  await pool.describeAll(smiles.slice(0, 32 * workers), { depict: false, inchiKey: false });
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

console.log(`${uptime()}\n${rounds} round(s); in each, Python RDKit (1 process) and every pool size run once, the order alternating`);
for (const workers of workerCounts) {
  const pool = await startPool(workers);
  try {
    const py: Timing[] = [];
    const ours: Timing[] = [];
    let compared = false;
    for (let round = 0; round < rounds; round++) {
      const steps = [
        () => {
          const t = python ? runPython() : null;
          if (t) py.push(t);
        },
        async () => {
          const { timing, results } = await runPool(pool, false);
          ours.push(timing);
          if (!compared && (reference || !python)) {
            compared = true;
            compare(results);
          }
        },
      ];
      if (round % 2 === 1) steps.reverse();
      for (const step of steps) await step();
      const last = ours[ours.length - 1] as Timing;
      const lastPy = py[py.length - 1];
      console.log(
        `  round ${round + 1} (${round % 2 ? 'CellShift' : 'Python'} first): CellShift pool of ${workers} ${Math.round(rate(last))} mol/s` +
          (lastPy ? `, Python RDKit ${Math.round(rate(lastPy))} mol/s` : '') +
          ` (load ${load()})`,
      );
    }
    if (!compared && reference) compare((await runPool(pool, false)).results);
    const oursRates = ours.map(rate);
    const pyRates = py.map(rate);
    const line = (label: string, xs: number[]) => `${label}median ${Math.round(median(xs))}, best ${Math.round(Math.max(...xs))} mol/s`;
    console.log(
      `CellShift pool, ${workers} RDKit wasm worker(s): ${line('', oursRates)}; ${Math.round(median(ours.map((t) => t.perCpuSecond)))} mol per CPU-second (median)`,
    );
    if (pyRates.length > 0) {
      console.log(
        `Python RDKit ${rdkitVersion}, 1 process: ${line('', pyRates)}; ${Math.round(median(py.map((t) => t.perCpuSecond)))} mol per CPU-second (median)`,
      );
      console.log(
        `  ratio CellShift / Python RDKit (wall, same work): median ${(median(oursRates) / median(pyRates)).toFixed(2)}×, ` +
          `best ${(Math.max(...oursRates) / Math.max(...pyRates)).toFixed(2)}×; per CPU-second ` +
          `${(median(ours.map((t) => t.perCpuSecond)) / median(py.map((t) => t.perCpuSecond))).toFixed(2)}× (medians)`,
      );
    }
    if (workers === workerCounts[0]) {
      const { timing } = await runPool(pool, true);
      console.log(`  the same pool with InChIKeys too (as an import computes them): ${Math.round(rate(timing))} mol/s (load ${load()})`);
    }
  } finally {
    await pool.close();
  }
}
console.log(`\n${uptime()}`);
