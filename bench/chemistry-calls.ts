// Why the chemistry pool cannot reach 1.5× Python RDKit on two cores: the cost of each RDKit call
// in the wasm build (MinimalLib, one thread, this process) against the same call in native Python
// RDKit (Debian python3-rdkit, one process), on the same LINCS SMILES:
//   node --import tsx bench/chemistry-calls.ts [--limit N] [--rounds 3] [--passes 4]
// Calls timed, each over the whole list in turn, fastest of --rounds (the two sides alternate
// within each round): parse (get_mol / Chem.MolFromSmiles), canonical SMILES (get_smiles /
// MolToSmiles), Morgan radius 2 / 1024 bits (get_morgan_fp / GetMorganFingerprintAsBitVect) and
// freeing the molecule (delete(); Python frees by reference counting, inside its other timings).
// Microseconds per molecule; the ratio is wasm ÷ native. Then the warm-up: Chemistry.describe (the
// import's work, depiction and InChIKey off) over the same list --passes times (default 4) in a
// fresh RDKit instance of this thread, CPU µs per molecule for each pass — the first pass runs
// while V8 still recompiles RDKit's hot wasm functions. The SMILES are read from
// ../shared/fixtures/real-l1000/ at run time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chemistry } from '../src-main/node/chem/chemistry.js';
import { loadRDKit, type RDKitMol } from '../src-main/node/chem/rdkit.js';
import { lincsSmilesOrSkip } from './lincs-smiles.js';
import { integerOption } from './options.js';
import { uptime } from './stats.js';

const args = process.argv.slice(2);
const value = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const limit = args.includes('--limit') ? integerOption('chemistry-calls', '--limit', value('--limit'), 1) : Number.POSITIVE_INFINITY;
const passes = args.includes('--passes') ? integerOption('chemistry-calls', '--passes', value('--passes'), 1) : 4;
const rounds = args.includes('--rounds') ? integerOption('chemistry-calls', '--rounds', value('--rounds'), 1) : 3;
const PYTHON = '/usr/bin/python3';
const smiles = lincsSmilesOrSkip(limit);

const CALLS = ['parse', 'canonical', 'morgan', 'free'] as const;
type Call = (typeof CALLS)[number];
type Timings = Record<Call, number>;

const PYTHON_SCRIPT = `
import json, sys, time
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem
RDLogger.DisableLog("rdApp.*")
smiles = [l.rstrip("\\n") for l in open(sys.argv[1])]
t = time.process_time(); mols = [Chem.MolFromSmiles(s) for s in smiles]; parse = time.process_time() - t
mols = [m for m in mols if m is not None]
t = time.process_time(); [Chem.MolToSmiles(m) for m in mols]; canonical = time.process_time() - t
t = time.process_time(); [AllChem.GetMorganFingerprintAsBitVect(m, 2, nBits=1024) for m in mols]; morgan = time.process_time() - t
t = time.process_time(); del mols; free = time.process_time() - t
print(json.dumps({"parse": parse, "canonical": canonical, "morgan": morgan, "free": free}))
`;

const dir = mkdtempSync(join(tmpdir(), 'cellshift-chem-calls-'));
const listFile = join(dir, 'smiles.txt');
writeFileSync(listFile, `${smiles.join('\n')}\n`);

function python(): Timings {
  const run = spawnSync(PYTHON, ['-c', PYTHON_SCRIPT, listFile], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python RDKit failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Timings;
}

// The warm-up first, while this thread's RDKit is still cold (Chemistry shares loadRDKit's instance).
const chemistry = await Chemistry.load();
const perPass: number[] = [];
for (let pass = 0; pass < passes; pass++) {
  const started = process.cpuUsage();
  for (const s of smiles) chemistry.describe(s, { depict: false, inchiKey: false });
  const used = process.cpuUsage(started);
  perPass.push((used.user + used.system) / smiles.length);
}
const rdkit = (await loadRDKit()).module;
/** CPU seconds of this process (user + system), like Python's time.process_time(). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
function wasm(): Timings {
  let t = cpu();
  const mols = smiles.map((s) => rdkit.get_mol(s));
  const parse = cpu() - t;
  const valid = mols.filter((m): m is RDKitMol => m?.is_valid() === true);
  t = cpu();
  for (const m of valid) m.get_smiles();
  const canonical = cpu() - t;
  const fp = JSON.stringify({ radius: 2, nBits: 1024 });
  t = cpu();
  for (const m of valid) m.get_morgan_fp(fp);
  const morgan = cpu() - t;
  t = cpu();
  for (const m of mols) m?.delete();
  const free = cpu() - t;
  return { parse, canonical, morgan, free };
}

console.log(`RDKit per-call CPU cost — ${smiles.length} LINCS SMILES, fastest of ${rounds} rounds; ${uptime()}`);
const best: Record<'wasm' | 'python', Timings> = {
  wasm: { parse: Infinity, canonical: Infinity, morgan: Infinity, free: Infinity },
  python: { parse: Infinity, canonical: Infinity, morgan: Infinity, free: Infinity },
};
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['wasm', 'python'] as const) : (['python', 'wasm'] as const);
    for (const side of order) {
      const t = side === 'wasm' ? wasm() : python();
      for (const call of CALLS) best[side][call] = Math.min(best[side][call], t[call]);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const us = (seconds: number) => ((seconds * 1e6) / smiles.length).toFixed(1);
console.log('| call | RDKit wasm (µs/mol) | Python RDKit (µs/mol) | wasm ÷ native |');
console.log('|---|---|---|---|');
let wasmTotal = 0;
let pythonTotal = 0;
for (const call of CALLS) {
  const [w, p] = [best.wasm[call], best.python[call]];
  wasmTotal += w;
  pythonTotal += p;
  console.log(`| ${call} | ${us(w)} | ${us(p)} | ${p > 0 ? (w / p).toFixed(2) : '—'} |`);
}
console.log(`| all four | ${us(wasmTotal)} | ${us(pythonTotal)} | ${(wasmTotal / pythonTotal).toFixed(2)} |`);
console.log(
  `Chemistry.describe, CPU µs a molecule in passes 1..${passes} over the list (cold RDKit first): ${perPass.map((us) => us.toFixed(0)).join(', ')}`,
);
console.log(
  `With every core busy, N workers reach at most N ÷ ${(wasmTotal / pythonTotal).toFixed(2)} = ` +
    `${(2 / (wasmTotal / pythonTotal)).toFixed(2)}× one Python process on 2 cores for these calls alone. ${uptime()}`,
);
