// Structure throughput of the import path against Python RDKit, on chemCPA's 17,775 LINCS SMILES:
//   node --import tsx bench/chemistry.ts [--limit N] [--workers 2,1] [--no-python]
//
// Same work on both sides: parent fragment, canonical SMILES, Bemis–Murcko scaffold, Morgan bits
// (radius 2, 1024); no depiction, no InChIKey. Python RDKit (Debian python3-rdkit, one process,
// bench/chemistry_rdkit.py) runs first, then CellShift's ChemistryPool (one RDKit wasm worker per
// core) on the same list, and the pool once more with InChIKeys, as an import computes them.
// Each side's time covers the work only: Python's excludes its import of RDKit, the pool's its
// workers' start (a warm-up chunk loads RDKit in every worker first). Besides wall time (the
// target's measure), each side's CPU time is printed as molecules per CPU-second: on a machine
// other processes keep busy, wall time mostly says how much of the CPU each side was given. Every result is compared
// with Python's: fingerprints must be bit-identical, and canonical and scaffold SMILES equal.
// The SMILES are read from ../shared/fixtures/real-l1000/ at run time (not in the repository).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { MoleculeResult } from '../src-main/node/chem/chemistry.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../src-main/node/chem/pool.js';
import { startWorker } from '../src-main/node/threads/start-worker.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : fallback;
};
const SMILES_FILE = fileURLToPath(new URL('../../shared/fixtures/real-l1000/chemCPA_lincs_drugs_smiles.csv', import.meta.url));
const PYTHON = '/usr/bin/python3';
const limit = Number(option('limit', 'Infinity'));
const workerCounts = option('workers', String(cpus().length))
  .split(',')
  .map(Number)
  .filter((n) => n >= 1);

if (!existsSync(SMILES_FILE)) {
  console.log(`skipped: ${SMILES_FILE} is not there (the shared fixtures sit beside the repository)`);
  process.exit(0);
}
// "BRD id, SMILES" per line, no header.
const smiles = readFileSync(SMILES_FILE, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => line.slice(line.indexOf(',') + 1).trim())
  .slice(0, limit);

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
let pythonRate = Number.NaN;
let pythonPerCpuSecond = Number.NaN;
if (!args.includes('--no-python')) {
  const dir = mkdtempSync(join(tmpdir(), 'cellshift-chem-'));
  try {
    writeFileSync(join(dir, 'in.smi'), `${smiles.join('\n')}\n`);
    const script = fileURLToPath(new URL('./chemistry_rdkit.py', import.meta.url));
    const run = spawnSync(PYTHON, [script, join(dir, 'in.smi'), join(dir, 'out.tsv')], { encoding: 'utf8' });
    if (run.status !== 0) {
      console.log(`Python RDKit: not run (${(run.stderr || run.error?.message || '').trim().split('\n').slice(-1)[0]})`);
    } else {
      const summary = JSON.parse(run.stdout.trim().split('\n').slice(-1)[0] as string) as {
        mol_per_s: number;
        seconds: number;
        cpu_seconds: number;
        rdkit: string;
      };
      pythonRate = summary.mol_per_s;
      pythonPerCpuSecond = smiles.length / summary.cpu_seconds;
      console.log(
        `Python RDKit ${summary.rdkit}, 1 process: ${summary.seconds.toFixed(1)} s, ${Math.round(pythonRate)} mol/s; ` +
          `${Math.round(pythonPerCpuSecond)} mol per CPU-second (load ${load()})`,
      );
      reference = readFileSync(join(dir, 'out.tsv'), 'utf8')
        .split('\n')
        .slice(0, smiles.length)
        .map((line) => {
          if (line === '!') return null;
          const [canonical = '', scaffold = '', bits = ''] = line.split('\t');
          return { canonical, scaffold, bits };
        });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runPool(workers: number, inchiKey: boolean): Promise<MoleculeResult[]> {
  const pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), workers);
  try {
    const options = { depict: false, inchiKey };
    await pool.describeAll(smiles.slice(0, 32 * workers), options); // loads RDKit in every worker
    const started = performance.now();
    const cpuStarted = process.cpuUsage(); // all threads of this process, the workers included
    let reported = 0;
    const results = await pool.describeAll(smiles, {
      ...options,
      onProgress: (done, total) => {
        if (done - reported >= 5000 || done === total) {
          reported = done;
          process.stdout.write(`    ${done} of ${total}\r`);
        }
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const perCpuSecond = smiles.length / ((cpu.user + cpu.system) / 1e6);
    const rate = smiles.length / seconds;
    const ratio = Number.isFinite(pythonRate) ? ` = ${(rate / pythonRate).toFixed(2)}× Python RDKit` : '';
    const cpuRatio = Number.isFinite(pythonPerCpuSecond) ? ` (${(perCpuSecond / pythonPerCpuSecond).toFixed(2)}× Python's)` : '';
    const what = inchiKey ? 'same work + InChIKey (as an import)' : 'same work';
    console.log(
      `\nCellShift pool, ${workers} RDKit wasm worker(s), ${what}: ${seconds.toFixed(1)} s, ${Math.round(rate)} mol/s${ratio}; ` +
        `${Math.round(perCpuSecond)} mol per CPU-second${cpuRatio} (load ${load()})`,
    );
    return results;
  } finally {
    await pool.close();
  }
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
    else if (examples.length < 6) examples.push(`scaffold of ${smiles[i]}: ${result.scaffoldSmiles} vs Python ${expected.scaffold}`);
  }
  console.log(
    `  against Python RDKit: ${bothValid} valid on both sides (validity differs for ${validityDiffers}); fingerprints bit-identical ` +
      `${fingerprints}/${bothValid}, canonical SMILES equal ${canonical}/${bothValid}, scaffolds equal ${scaffolds}/${bothValid}`,
  );
  for (const example of examples) console.log(`    differs: ${example}`);
}

for (const workers of workerCounts) {
  compare(await runPool(workers, false));
}
await runPool(workerCounts[0] ?? 1, true);
console.log(`\nload average at end: ${load()}`);
