// GCTX import benchmark (issue 5, "Benchmark"):
//   npm run bench:import -- [--samples 100000] [--dir PATH] [--keep] [--reuse] [--chunks 262x1000]
//                           [--key drug+cell] [--cache cold,warm] [--repeat N] [--no-h5py] [--no-reader] [--profile]
//
// 1. Writes a synthetic Level-5 GCTX with the LINCS layout: /0/DATA/0/matrix [samples, 12,328 genes]
//    float32 (samples first, as cmapPy/cmapM/cmapR store it), /0/META/ROW/id (gene ids, the first
//    978 are the landmarks), /0/META/COL/id + pert_id/pert_type/cell_id, plus gene_info, sig_info and
//    pert_info TSVs (300 drugs with SMILES — homologues of a dozen real molecules, a few missing or
//    invalid — and ~10% ctl_vehicle controls). Written in blocks with h5wasm (never more than one
//    block in memory). The matrix is chunked; the default chunk shape 262 × 1000 (samples × genes,
//    ~1 MB) is what cmapPy/cmapR compute "for compatibility with cmapM" (1000 genes by
//    1 MiB / 4 B / 1000 samples); --chunks 256x12328 gives whole-row chunks, where the landmark
//    subset cannot be read without touching every byte of the file.
// 2. Raw sequential read of the file with fs streams (the I/O ceiling), cold (after
//    `sync; echo 3 > /proc/sys/vm/drop_caches`, root only) and warm (file in the page cache).
// 3. CellShift's GCTX reader alone (openExpressionSource + iterateSamples with reuseBuffer over all
//    samples × the 978 landmarks), in a child process.
// 4. The real import, in a child process: openLab on a fresh temporary database, previewImport,
//    startImport (landmark genes, the default pert_type filter, which keeps every sample), wait
//    for job.finished, then spot-check stored values against the generator. Peak RSS is the
//    child's VmHWM at job.finished (whole process: RDKit, h5wasm heap, SQLite, JS heap); the parent
//    also polls its VmRSS every 100 ms, which gives the peak of each phase. Also reported: the
//    longest event-loop stalls (the lab runs in Electron's main process) and the main thread's
//    CPU and run-queue time (this machine may be shared: load is printed with every step).
// 5. The same subset with h5py (bench/import-h5py.py, /usr/bin/python3 with Debian's python3-h5py),
//    when available: same hyperslab blocks, same default chunk cache; the ratio CellShift/h5py.
// A table at the end sums it up. MB = 10^6 bytes. With --profile, one more (warm) import runs with
// the job CPU-profiled through the inspector; self and inclusive time are listed by function.
// The children run the sources bundled by esbuild with plain node, not under tsx (see
// bundleChildren). With --repeat N, warm figures are the fastest of N runs, cold ones the first.
//
// The temporary folder (default under the OS temp dir) is removed at the end, on error and on
// Ctrl-C, unless --keep; with --dir, only what this run created is removed (so --dir X --keep once,
// then --dir X --reuse, skips writing the 5 GB file the next times).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { loadH5 } from '../src-main/node/data/formats/h5.js';
import { GctxReader, openExpressionSource, openGctxH5wasm } from '../src-main/node/data/formats/index.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import type { DatasetSummary } from '../src-main/shared/api/domain.js';
import type { EnvironmentKey } from '../src-main/shared/api/imports.js';
import { CELLS, DOSES, drugId, drugSmiles, geneId, LANDMARKS, mix, TIMES } from './lincs-layout.js';
import { median, uptime } from './stats.js';

// ---------------------------------------------------------------------------------------------
// The synthetic LINCS data set (deterministic: children regenerate what they check against)

const GENES = 12_328;
const N_DRUGS = 300;
const POOL_SIZE = 1 << 22;
const POOL_MASK = POOL_SIZE - 1;

/** 4 Mi standard-normal values (Level-5 z-scores look like this); rows are windows into it. */
function makePool(seed: number): Float32Array {
  const pool = new Float32Array(POOL_SIZE);
  let state = mix(seed + 0x5eed) || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  for (let i = 0; i < POOL_SIZE; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const a = 2 * Math.PI * next();
    pool[i] = r * Math.cos(a);
    pool[i + 1] = r * Math.sin(a);
  }
  return pool;
}

/** Writes value(sample s, genes 0..width-1) into out at `at`. */
function fillRow(pool: Float32Array, seed: number, s: number, out: Float32Array, at: number, width: number): void {
  const offset = mix(s ^ Math.imul(seed + 1, 0x9e3779b9)) & POOL_MASK;
  const first = Math.min(width, POOL_SIZE - offset);
  out.set(pool.subarray(offset, offset + first), at);
  if (first < width) out.set(pool.subarray(0, width - first), at + first);
}

const pick = <T>(list: readonly T[], h: number): T => list[h % list.length] as T;

/** Like the layout's, plus what real pert_info tables hold: a missing and an unparsable structure. */
function smilesWithGaps(d: number): string {
  if (d % 40 === 39) return '-666'; // no structure in pert_info: one-hot fallback
  if (d === 7) return 'C1CC('; // unparsable: flagged, kept with the fallback
  return drugSmiles(d);
}

interface SyntheticSample {
  sigId: string;
  pertId: string;
  pertIname: string;
  pertType: 'trt_cp' | 'ctl_vehicle';
  cell: string;
  dose: string | null;
  time: string;
  distilId: string;
}

function sampleOf(seed: number, s: number): SyntheticSample {
  const h = mix(2 * s + 1 + Math.imul(seed, 0x27d4eb2f));
  const cell = pick(CELLS, h);
  const control = (h >>> 8) % 10 === 0;
  const d = (h >>> 12) % N_DRUGS;
  const time = pick(TIMES, h >>> 21);
  const plate = `BNCH${String(Math.floor(s / 384)).padStart(4, '0')}_${cell}_${time}H`;
  const well = `${String.fromCharCode(65 + (((s % 384) >> 5) % 16))}${String((s % 24) + 1).padStart(2, '0')}`;
  return {
    sigId: `${plate}:${s % 384}`,
    pertId: control ? 'DMSO' : drugId(d),
    pertIname: control ? 'DMSO' : `drug-${d}`,
    pertType: control ? 'ctl_vehicle' : 'trt_cp',
    cell,
    dose: control ? null : pick(DOSES, h >>> 24),
    time,
    distilId: [1, 2, 3].map((x) => `${plate}_X${x}_B${20 + (s % 7)}:${well}`).join('|'),
  };
}

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  samples: number;
  dir: string | null;
  keep: boolean;
  reuse: boolean;
  chunks: [number, number];
  key: EnvironmentKey;
  caches: ('cold' | 'warm')[];
  h5py: boolean;
  reader: boolean;
  profile: boolean;
  tsx: boolean;
  repeat: number;
  rounds: number;
  seed: number;
  engine: ReaderEngine;
  blockRows: number;
  /** Skip the import step (reader, raw read and h5py only). */
  import: boolean;
  /** gzip level of the written matrix (0: uncompressed, as GEO's LINCS files; cmapPy writes 6). */
  deflate: number;
  /** Genes in the file (12,328 written; --gctx: what the file has). */
  genes: number;
  /** An existing GCTX to read instead of a synthetic one (no write, no import, values checked against h5py only). */
  gctx: string | null;
}

const USAGE = `usage: npm run bench:import -- [options]
  --samples N        samples in the synthetic GCTX (default 100000; 12,328 genes, ~49 kB each)
  --dir PATH         where to write the files (default: a new folder under ${tmpdir()})
  --keep             keep the files (and the temp folder) afterwards
  --reuse            reuse a GCTX written earlier in --dir with the same --samples/--chunks/--seed
  --chunks RxC       HDF5 chunk shape, samples x genes (default 262x1000, cmapPy/cmapR's; try 256x12328)
  --key K            environment key: drug | drug+cell | drug+cell+dose+time (default drug+cell)
  --cache LIST       page-cache states to measure: cold,warm (default both; cold needs root)
  --no-h5py          skip the h5py comparison
  --no-reader        skip the reader-only measurement
  --profile          one more warm import with its job CPU-profiled (inspector), summarized
  --tsx              run the measured child processes under tsx instead of an esbuild bundle
                     (tsx's loader thread alone adds ~600 MB RSS when h5wasm's 4 MB module loads)
  --repeat N         run each measurement N times per cache state (default 1): warm keeps the
                     fastest, cold the first (later cold runs may hit a VM host's cache)
  --rounds N         warm reader-vs-h5py comparison: N rounds, each running CellShift's reader and
                     h5py once in alternating order (default 5; 0 skips it)
  --seed N           generator seed (default 1)
  --block-rows N     samples per block, the same for CellShift's reader and h5py (default: ~16 MiB
                     of landmark values in whole chunk rows, 4,192 with 262-row chunks)
  --deflate N        write the matrix gzip-compressed at level N (1–9; cmapPy's default is 6; default 0:
                     uncompressed, as GEO's and CLUE's LINCS files are)
  --no-import        skip the import step (the reader, the raw read and h5py still run)
  --gctx PATH        read this existing GCTX (e.g. bench:lincs's full-size file) instead of writing one:
                     its samples × the first 978 genes; no import; values checked by the h5py checksum
  --reader-engine E  auto (default: as imports open files, h5js when it reads the file) or h5wasm
                     (the h5wasm GCTX reader, for comparison)`;

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) fail(`--${name} needs a value`);
    return v;
  };
  const integer = (name: string, fallback: number, min: number): number => {
    const text = value(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got "${text}"`);
    return n;
  };
  const known = new Set([
    'samples',
    'dir',
    'keep',
    'reuse',
    'chunks',
    'key',
    'cache',
    'no-h5py',
    'no-reader',
    'profile',
    'tsx',
    'repeat',
    'seed',
    'rounds',
    'reader-engine',
    'block-rows',
    'no-import',
    'gctx',
    'deflate',
    'help',
  ]);
  for (const arg of argv) if (arg.startsWith('--') && !known.has(arg.slice(2))) fail(`unknown option ${arg}`);
  if (argv.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const chunkText = value('chunks') ?? '262x1000';
  const match = /^(\d+)x(\d+)$/.exec(chunkText);
  const chunks: [number, number] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (chunks[0] < 1 || chunks[1] < 1 || chunks[1] > GENES) fail(`--chunks must be RxC with 1 <= C <= ${GENES}, got "${chunkText}"`);
  const key = value('key') ?? 'drug+cell';
  if (!['drug', 'drug+cell', 'drug+cell+dose+time'].includes(key)) fail(`--key must be drug, drug+cell or drug+cell+dose+time`);
  const caches = (value('cache') ?? 'cold,warm').split(',').map((c) => c.trim());
  if (caches.length === 0 || caches.some((c) => c !== 'cold' && c !== 'warm')) fail('--cache must list cold and/or warm');
  const dir = value('dir');
  return {
    samples: integer('samples', 100_000, 1),
    dir: dir === undefined ? null : resolve(dir),
    keep: argv.includes('--keep'),
    reuse: argv.includes('--reuse'),
    chunks,
    key: key as EnvironmentKey,
    caches: [...new Set(caches)] as ('cold' | 'warm')[],
    h5py: !argv.includes('--no-h5py'),
    reader: !argv.includes('--no-reader'),
    profile: argv.includes('--profile'),
    tsx: argv.includes('--tsx'),
    repeat: integer('repeat', 1, 1),
    seed: integer('seed', 1, 0),
    rounds: integer('rounds', 5, 0),
    engine: readerEngine(value('reader-engine') ?? 'auto'),
    blockRows: integer('block-rows', 0, 1),
    deflate: Math.min(9, integer('deflate', 0, 0)),
    genes: GENES,
    import: !argv.includes('--no-import') && value('gctx') === undefined,
    gctx: value('gctx') === undefined ? null : resolve(value('gctx') as string),
  };
}

function readerEngine(text: string): ReaderEngine {
  if (text !== 'auto' && text !== 'h5wasm') fail(`--reader-engine must be auto or h5wasm, got "${text}"`);
  return text;
}

function fail(message: string): never {
  console.error(`bench:import: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Small utilities

const SCRIPT = fileURLToPath(import.meta.url);
const REPO = dirname(dirname(SCRIPT));
const H5PY_SCRIPT = join(dirname(SCRIPT), 'import-h5py.py');
const PYTHON = '/usr/bin/python3';
const RESULT_PREFIX = '@@bench-result ';
/** The checksum sums the squares of every this-many-th sample's values (both readers). */
const CHECKSUM_STRIDE = 97;
/** Milliseconds a reader child waits after starting before it times anything. */
const SETTLE_MS = 300;
const MB = 1e6;

const now = () => performance.now() / 1000;
const mbs = (bytes: number, seconds: number) => bytes / MB / seconds;
const fmtS = (s: number) => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));
const fmtMB = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
const load = () => loadavg()[0]?.toFixed(2) ?? '?';
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** VmRSS / VmHWM (kB) of a process from /proc, or null if gone. */
function procStatus(pid: number | 'self'): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Main thread's time on a CPU and waiting for one (run queue), from /proc/self/schedstat: on a
 * shared machine, wall − cpu − run-queue wait ≈ time blocked on I/O.
 */
function schedstat(): { cpu: number; queue: number } {
  try {
    const [cpu, queue] = readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    return { cpu: (cpu ?? Number.NaN) / 1e9, queue: (queue ?? Number.NaN) / 1e9 };
  } catch {
    return { cpu: Number.NaN, queue: Number.NaN };
  }
}

interface Sched {
  cpu: number;
  queue: number;
}

const since = (before: Sched): Sched => {
  const after = schedstat();
  return { cpu: after.cpu - before.cpu, queue: after.queue - before.queue };
};

/** `sync; echo 3 > /proc/sys/vm/drop_caches`; false when not allowed (not root, read-only /proc). */
function dropCaches(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function python(): { ok: true; version: string } | { ok: false; why: string } {
  if (!existsSync(PYTHON)) return { ok: false, why: `${PYTHON} not found` };
  try {
    const out = execFileSync(PYTHON, ['-c', 'import h5py; print(h5py.__version__, h5py.version.hdf5_version)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [h5py, hdf5] = out.trim().split(' ');
    return { ok: true, version: `h5py ${h5py}, HDF5 ${hdf5}` };
  } catch {
    return { ok: false, why: `${PYTHON} has no h5py (apt-get install python3-h5py)` };
  }
}

// ---------------------------------------------------------------------------------------------
// Writing the files

interface Files {
  gctx: string;
  sigInfo: string;
  pertInfo: string;
  geneInfo: string;
  manifest: string;
}

/**
 * --gctx: an existing file, its sample count taken from it (o.samples is set to it); no side tables.
 * Needs at least LANDMARKS genes (both readers read the first LANDMARKS).
 */
async function externalFile(o: Options, gctx: string): Promise<Files> {
  const source = await openExpressionSource(gctx);
  try {
    if (source.nGenes < LANDMARKS) throw new Error(`${gctx} has ${source.nGenes} genes, fewer than the ${LANDMARKS} read`);
    o.samples = source.nSamples;
    o.genes = source.nGenes;
    const chunks = source instanceof GctxReader ? source.chunks : null;
    if (chunks?.length === 2) o.chunks = [chunks[0] as number, chunks[1] as number];
    log(`--gctx: ${source.nSamples} samples × ${source.nGenes} genes, chunks ${chunks?.join(' × ') ?? 'none (contiguous)'}`);
  } finally {
    source.close();
  }
  const none = join(dirname(gctx), 'none');
  return { gctx, sigInfo: none, pertInfo: none, geneInfo: none, manifest: none };
}

function filesFor(dir: string, o: Options): Files {
  const stem = `lincs-n${o.samples}-c${o.chunks[0]}x${o.chunks[1]}-s${o.seed}${o.deflate > 0 ? `-z${o.deflate}` : ''}`;
  return {
    gctx: join(dir, `${stem}.gctx`),
    sigInfo: join(dir, `${stem}.sig_info.txt`),
    pertInfo: join(dir, `${stem}.pert_info.txt`),
    geneInfo: join(dir, `${stem}.gene_info.txt`),
    manifest: join(dir, `${stem}.json`),
  };
}

const MANIFEST_VERSION = 1;

function reusable(files: Files, o: Options): boolean {
  try {
    const m = JSON.parse(readFileSync(files.manifest, 'utf8')) as Record<string, unknown>;
    return (
      m.version === MANIFEST_VERSION &&
      m.samples === o.samples &&
      m.seed === o.seed &&
      JSON.stringify(m.chunks) === JSON.stringify(o.chunks) &&
      (m.deflate ?? 0) === o.deflate &&
      m.bytes === statSync(files.gctx).size &&
      [files.sigInfo, files.pertInfo, files.geneInfo].every((p) => existsSync(p))
    );
  } catch {
    return false;
  }
}

function writeTables(files: Files, o: Options): void {
  const genes = ['pr_gene_id\tpr_gene_symbol\tpr_gene_title\tpr_is_lm\tpr_is_bing'];
  for (let g = 0; g < GENES; g++)
    genes.push(`${geneId(g)}\tGENE${g}\tsynthetic gene ${g}\t${g < LANDMARKS ? 1 : 0}\t${g < 10_174 ? 1 : 0}`);
  writeFileSync(files.geneInfo, `${genes.join('\n')}\n`);
  const perts = ['pert_id\tpert_iname\tpert_type\tis_touchstone\tinchi_key\tcanonical_smiles\tpubchem_cid'];
  perts.push('DMSO\tDMSO\tctl_vehicle\t0\tIAZDPXIOMUYVGZ-UHFFFAOYSA-N\tCS(C)=O\t679');
  for (let d = 0; d < N_DRUGS; d++) perts.push(`${drugId(d)}\tdrug-${d}\ttrt_cp\t${d % 3 === 0 ? 1 : 0}\t-666\t${smilesWithGaps(d)}\t-666`);
  writeFileSync(files.pertInfo, `${perts.join('\n')}\n`);
  const header =
    'sig_id\tpert_id\tpert_iname\tpert_type\tcell_id\tpert_dose\tpert_dose_unit\tpert_idose\tpert_time\tpert_time_unit\tpert_itime\tdistil_id';
  const lines = [header];
  for (let s = 0; s < o.samples; s++) {
    const x = sampleOf(o.seed, s);
    const dose = x.dose === null ? '-666\t-666\t-666' : `${x.dose}\tµM\t${x.dose} µM`;
    lines.push([x.sigId, x.pertId, x.pertIname, x.pertType, x.cell, dose, x.time, 'h', `${x.time} h`, x.distilId].join('\t'));
  }
  writeFileSync(files.sigInfo, `${lines.join('\n')}\n`);
}

/** Fixed-length ASCII strings (cmapM/cmapPy-style), 'A<width>' in h5wasm's dtype spelling. */
function asciiDtype(values: readonly string[]): string {
  let width = 1;
  for (const v of values) width = Math.max(width, Buffer.byteLength(v));
  return `A${width}`;
}

async function writeGctx(path: string, o: Options, pool: Float32Array, cancelled: () => boolean): Promise<void> {
  const h5 = await loadH5();
  const file = new h5.File(path, 'w');
  try {
    file.create_attribute('version', 'GCTX1.0', null, 'A7');
    file.create_attribute('src', 'cellshift bench/import.ts');
    const root = file.create_group('0');
    const data = root.create_group('DATA').create_group('0');
    const matrix = data.create_dataset({
      name: 'matrix',
      data: new Float32Array(0),
      shape: [0, GENES],
      maxshape: [null, GENES],
      chunks: o.chunks,
      dtype: '<f',
      ...(o.deflate > 0 ? { compression: 'gzip' as const, compression_opts: o.deflate } : {}),
    });
    matrix.resize([o.samples, GENES]);
    // Whole chunks per write (≈ 48 MB a block), so HDF5 never reads a chunk back to fill it.
    const rowsPerChunk = o.chunks[0];
    const block = rowsPerChunk * Math.max(1, Math.floor((48 * MB) / (rowsPerChunk * GENES * 4)));
    const buffer = new Float32Array(block * GENES);
    let lastReport = now();
    const t0 = now();
    for (let s0 = 0; s0 < o.samples; s0 += block) {
      const n = Math.min(block, o.samples - s0);
      for (let i = 0; i < n; i++) fillRow(pool, o.seed, s0 + i, buffer, i * GENES, GENES);
      matrix.write_slice(
        [
          [s0, s0 + n],
          [0, GENES],
        ],
        n === block ? buffer : buffer.subarray(0, n * GENES),
      );
      if (now() - lastReport > 10) {
        lastReport = now();
        const done = s0 + n;
        log(`    … ${done} of ${o.samples} samples (${mbs(done * GENES * 4, now() - t0).toFixed(0)} MB/s)`);
      }
      await new Promise((r) => setImmediate(r)); // let Ctrl-C in
      if (cancelled()) throw new Error('interrupted');
    }
    const samples = Array.from({ length: o.samples }, (_, s) => sampleOf(o.seed, s));
    const meta = root.create_group('META');
    const rowIds = Array.from({ length: GENES }, (_, g) => geneId(g));
    meta.create_group('ROW').create_dataset({ name: 'id', data: rowIds, dtype: asciiDtype(rowIds) });
    const col = meta.create_group('COL');
    const columns: [string, (x: SyntheticSample) => string][] = [
      ['id', (x) => x.sigId],
      ['pert_id', (x) => x.pertId],
      ['pert_type', (x) => x.pertType],
      ['cell_id', (x) => x.cell],
    ];
    for (const [name, field] of columns) {
      const values = samples.map(field);
      col.create_dataset({ name, data: values, dtype: asciiDtype(values) });
    }
  } finally {
    file.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements run in the parent

async function rawRead(path: string): Promise<{ seconds: number; bytes: number }> {
  const t0 = now();
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 8 << 20 })) bytes += (chunk as Buffer).length;
  return { seconds: now() - t0, bytes };
}

// ---------------------------------------------------------------------------------------------
// Children: the reader alone and the full import, each in a fresh process (clean peak RSS)

interface ReaderParams {
  gctx: string;
  samples: number;
  seed: number;
  /** 'auto': openExpressionSource as the import opens files; 'h5wasm': the h5wasm GCTX reader. */
  engine: ReaderEngine;
  /** Samples per batch (h5py reads the same blocks). */
  blockRows: number;
  /** Compare values with the generator's (false for a file this bench did not write). */
  verify: boolean;
}

type ReaderEngine = 'auto' | 'h5wasm';

interface ReaderResult {
  /** Which library read the file (h5js or h5wasm). */
  engine: string;
  /** Metadata columns read at open (both axes). */
  metadataColumns: number;
  /** CPU seconds of the whole process (every thread, user + system) over open + read. */
  processCpu: number;
  openSeconds: number;
  readSeconds: number;
  seconds: number;
  checksum: number;
  verified: string | null;
  slices: number;
  cellsRead: number;
  chunks: number[] | null;
  vmHwmKb: number;
  /** Main thread during open + read. */
  sched: Sched;
}

interface ImportParams {
  gctx: string;
  sigInfo: string;
  pertInfo: string;
  geneInfo: string;
  db: string;
  key: EnvironmentKey;
  samples: number;
  seed: number;
  /** Write a CPU profile of the job (startImport → finished) here. */
  profilePath?: string;
}

/** A moment in the import child: wall clock (ms since epoch, shared with the parent's RSS polling) and memory. */
interface Mark {
  name: string;
  at: number;
  rssKb: number;
  heapMb: number;
  externalMb: number;
}

function markNow(name: string): Mark {
  const m = process.memoryUsage();
  return { name, at: Date.now(), rssKb: procStatus('self')?.rss ?? 0, heapMb: m.heapUsed / 2 ** 20, externalMb: m.external / 2 ** 20 };
}

interface ImportResult {
  openLabSeconds: number;
  /** RDKit wasm load (lab.chemistry.load()), before the preview. */
  rdkitLoadSeconds: number;
  /** previewImport on a fresh database: prepareImport incl. describing every drug with RDKit. */
  previewSeconds: number;
  /** startImport → job.finished. */
  jobSeconds: number;
  /** Inside the job: prepareImport (file ids + metadata, TSV joins, plan, RDKit) until "storing". */
  prepareSeconds: number;
  /** Reading + inserting the samples (first to last progress of the store loop). */
  storeSeconds: number;
  /** Last batch stored → job.finished (COMMIT, dataset summary, import journal). */
  commitSeconds: number;
  closeSeconds: number;
  preview: { samples: number; genes: number; environments: number; drugs: number; withoutStructure: number; controls: number };
  dataset: { id: string; nSamples: number; nGenes: number; nEnvironments: number };
  dbBytes: number;
  verified: string | null;
  vmHwmKb: number;
  rssAfterPreviewKb: number;
  marks: Mark[];
  /**
   * Longest event-loop stalls (ms) during previewImport and during the job: the lab runs in
   * Electron's main process, so a stall there is a frozen app (no IPC, no cancel).
   */
  stalls: { previewMaxMs: number; jobMaxMs: number; jobP99Ms: number };
  /** Main thread during the job. */
  sched: Sched;
}

function emit(result: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/**
 * Squares of every CHECKSUM_STRIDE-th sample of a batch (h5py's side sums the same ones): a full
 * sum in scalar JS would cost as much as the read itself, against numpy's vectorised one. A
 * function of its own, so V8 optimises this loop alone rather than the whole child around it.
 */
function sumOfSquares(v: Float32Array, start: number, end: number): number {
  let sum = 0;
  for (let s = Math.ceil(start / CHECKSUM_STRIDE) * CHECKSUM_STRIDE; s < end; s += CHECKSUM_STRIDE) {
    for (let i = (s - start) * LANDMARKS, stop = i + LANDMARKS; i < stop; i++) {
      const x = v[i] as number;
      sum += x * x;
    }
  }
  return sum;
}

async function childReader(p: ReaderParams): Promise<void> {
  // Starting up this child (loading the bundle and its dependencies) leaves V8 compiling and
  // collecting on background threads for a while: let that finish before the timed part, as
  // h5py's side has finished `import h5py` before its own. The generator's pool is made after it.
  await delay(SETTLE_MS);
  const s0 = schedstat();
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const source = p.engine === 'h5wasm' ? await openGctxH5wasm(p.gctx) : await openExpressionSource(p.gctx);
  // What h5py's side reads at open too (and what an import reads): every metadata column.
  const metadataColumns = source.geneMetadata().size + source.sampleMetadata().size;
  const t1 = now();
  const genes = Array.from({ length: LANDMARKS }, (_, g) => g);
  const all = Array.from({ length: p.samples }, (_, s) => s);
  const expected = new Float32Array(LANDMARKS);
  let checksum = 0;
  let verified: string | null = null;
  // The first and last sample of every batch, compared with the generator's values after the
  // timed part (h5py's side does no such check; generating them cost the timed part ~2k rows' work).
  const kept: [number, Float32Array][] = [];
  const maxBatchBytes = p.blockRows * LANDMARKS * 4;
  for await (const batch of source.iterateSamples(all, genes, { reuseBuffer: true, maxBatchBytes })) {
    const v = batch.values;
    checksum += sumOfSquares(v, batch.start, batch.end);
    if (p.verify) {
      for (const s of [batch.start, batch.end - 1])
        kept.push([s, v.slice((s - batch.start) * LANDMARKS, (s - batch.start + 1) * LANDMARKS)]);
    }
  }
  const t2 = now();
  const sched = since(s0);
  const cpu = process.cpuUsage(cpu0);
  // The kept samples must be the generator's values.
  const pool = p.verify ? makePool(p.seed) : new Float32Array(0);
  for (const [s, row] of kept) {
    fillRow(pool, p.seed, s, expected, 0, LANDMARKS);
    for (let g = 0; g < LANDMARKS && verified === null; g++) {
      if (row[g] !== expected[g]) verified = `sample ${s} gene ${g}: read ${row[g]}, wrote ${expected[g]}`;
    }
  }
  const reader = source instanceof GctxReader ? source : null;
  source.close();
  emit({
    engine: reader?.engine ?? source.format,
    metadataColumns,
    processCpu: (cpu.user + cpu.system) / 1e6,
    openSeconds: t1 - t0,
    readSeconds: t2 - t1,
    seconds: t2 - t0,
    checksum,
    verified,
    slices: reader?.stats.slices ?? 0,
    cellsRead: reader?.stats.cellsRead ?? 0,
    chunks: reader?.chunks ?? null,
    vmHwmKb: procStatus('self')?.hwm ?? 0,
    sched,
  } satisfies ReaderResult);
}

async function childImport(p: ImportParams): Promise<void> {
  const t0 = now();
  const marks: Mark[] = [markNow('start')];
  const lab = await openLab({ databasePath: p.db, carrier: 'cli', seedDemo: false });
  const t1 = now();
  const request = await lab.imports.requestFromPaths({
    matrixPath: p.gctx,
    sigInfoPath: p.sigInfo,
    pertInfoPath: p.pertInfo,
    geneInfoPath: p.geneInfo,
    name: 'bench import',
    environmentKey: p.key,
    filter: { landmarkOnly: true },
  });
  await lab.chemistry.load();
  const t1b = now();
  marks.push(markNow('RDKit + openLab'));
  const previewDelay = monitorEventLoopDelay({ resolution: 10 });
  previewDelay.enable();
  const preview = await lab.imports.preview(request);
  const t2 = now();
  // A stall is recorded when the histogram's timer finally fires: give it that chance.
  await delay(50);
  previewDelay.disable();
  marks.push(markNow('preview'));
  const rssAfterPreviewKb = procStatus('self')?.rss ?? 0;
  process.stderr.write(
    `    preview: ${preview.samples} samples × ${preview.genes} genes, ${preview.environments} environments, ` +
      `${preview.drugs} drugs (${preview.drugsWithoutStructure.length} without structure), ${preview.controlSamples} controls\n`,
  );
  let jobId: string | null = null;
  let storing: number | null = null;
  let lastStored: number | null = null;
  let nextReport = 0.25;
  const finished = new Promise<DatasetSummary>((resolveJob, rejectJob) => {
    lab.onEvent((event) => {
      if (!('jobId' in event) || event.jobId !== jobId) return;
      if (event.type === 'job.progress') {
        const t = now();
        if (event.fraction === 0 && storing === null) {
          storing = t;
          marks.push(markNow('prepare'));
        }
        if (event.fraction === 1 && event.message.startsWith('Stored')) marks.push(markNow('store'));
        if (event.fraction !== null && event.fraction > 0 && event.message.startsWith('Stored')) lastStored = t;
        if (event.fraction !== null && event.fraction >= nextReport) {
          nextReport += 0.25;
          process.stderr.write(`    ${fmtS(t - t2)} s: ${event.message} (RSS ${fmtMB(procStatus('self')?.rss ?? 0)})\n`);
        }
      } else if (event.type === 'job.finished') resolveJob(event.result as DatasetSummary);
      else if (event.type === 'job.failed') rejectJob(new Error(`import failed: ${event.error.message}`));
    });
  });
  process.once('SIGTERM', () => {
    if (jobId) lab.jobs.cancel(jobId);
    process.exit(143);
  });
  const session = p.profilePath ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
  }
  const s3 = schedstat();
  const jobDelay = monitorEventLoopDelay({ resolution: 10 });
  jobDelay.enable();
  const t3 = now();
  jobId = (await lab.imports.start(request)).jobId;
  const summary = await finished;
  const t4 = now();
  const sched = since(s3);
  await delay(50);
  jobDelay.disable();
  marks.push(markNow('commit'));
  const vmHwmKb = procStatus('self')?.hwm ?? 0; // the import's peak, before the bench's own checks allocate
  if (session && p.profilePath) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(p.profilePath, JSON.stringify(profile));
    session.disconnect();
  }
  const verified = verifyStored(lab.store.db, summary, p);
  marks.push(markNow('verify (bench)'));
  await closeLab(lab);
  const t5 = now();
  marks.push(markNow('close'));
  const dbBytes = [p.db, `${p.db}-wal`].reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);
  emit({
    openLabSeconds: t1 - t0,
    rdkitLoadSeconds: t1b - t1,
    previewSeconds: t2 - t1b,
    jobSeconds: t4 - t3,
    prepareSeconds: (storing ?? t4) - t3,
    storeSeconds: (lastStored ?? t4) - (storing ?? t3),
    commitSeconds: t4 - (lastStored ?? t4),
    closeSeconds: t5 - t4,
    preview: {
      samples: preview.samples,
      genes: preview.genes,
      environments: preview.environments,
      drugs: preview.drugs,
      withoutStructure: preview.drugsWithoutStructure.length,
      controls: preview.controlSamples,
    },
    dataset: { id: summary.id, nSamples: summary.nSamples, nGenes: summary.nGenes, nEnvironments: summary.nEnvironments },
    dbBytes,
    verified,
    vmHwmKb,
    rssAfterPreviewKb,
    marks,
    stalls: { previewMaxMs: previewDelay.max / 1e6, jobMaxMs: jobDelay.max / 1e6, jobP99Ms: jobDelay.percentile(99) / 1e6 },
    sched,
  } satisfies ImportResult);
}

/** Spot-checks the stored dataset against the generator: shape, first/middle/last sample. */
function verifyStored(db: Database, summary: DatasetSummary, p: ImportParams): string | null {
  if (summary.nSamples !== p.samples) return `stored ${summary.nSamples} samples, expected ${p.samples}`;
  if (summary.nGenes !== LANDMARKS) return `stored ${summary.nGenes} genes, expected ${LANDMARKS}`;
  const gene = db.prepare('SELECT gene_id FROM genes WHERE dataset_id = ? AND idx = ?').pluck();
  if (gene.get(summary.id, LANDMARKS - 1) !== geneId(LANDMARKS - 1)) return 'last landmark gene id differs';
  const pool = makePool(p.seed);
  const expected = new Float32Array(LANDMARKS);
  const row = db.prepare('SELECT sample_id, expression FROM samples WHERE dataset_id = ? AND idx = ?');
  for (const s of [0, Math.floor(p.samples / 2), p.samples - 1]) {
    const r = row.get(summary.id, s) as { sample_id: string; expression: Buffer } | undefined;
    if (!r) return `no sample at idx ${s}`;
    if (r.sample_id !== sampleOf(p.seed, s).sigId) return `sample ${s} is "${r.sample_id}"`;
    const stored = new Float32Array(r.expression.buffer.slice(r.expression.byteOffset, r.expression.byteOffset + r.expression.byteLength));
    fillRow(pool, p.seed, s, expected, 0, LANDMARKS);
    for (let g = 0; g < LANDMARKS; g++) {
      if (stored[g] !== expected[g]) return `sample ${s} gene ${g}: stored ${stored[g]}, wrote ${expected[g]}`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Running children from the parent

interface ChildRun<T> {
  result: T;
  /** Highest VmRSS seen by polling /proc/<pid>/status every 100 ms. */
  polledPeakKb: number;
  /** [Date.now(), VmRSS kB] every 100 ms. */
  rssSamples: [number, number][];
  seconds: number;
}

const state: { child: ChildProcess | null; interrupted: boolean } = { child: null, interrupted: false };

function runChild<T>(command: string, args: string[], label: string): Promise<ChildRun<T>> {
  return new Promise((resolveRun, rejectRun) => {
    const t0 = now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    state.child = child;
    let result: T | undefined;
    let polledPeakKb = 0;
    const rssSamples: [number, number][] = [];
    let pending = '';
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      const status = procStatus(child.pid);
      if (status && Number.isFinite(status.rss)) {
        polledPeakKb = Math.max(polledPeakKb, status.rss);
        rssSamples.push([Date.now(), status.rss]);
      }
    }, 100);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      pending += text;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
        else if (line.trimStart().startsWith('{') && command === PYTHON) result = JSON.parse(line) as T;
        else if (line.trim() !== '') log(`    ${line}`);
        newline = pending.indexOf('\n');
      }
    });
    child.on('error', (error) => {
      clearInterval(poll);
      state.child = null;
      rejectRun(error);
    });
    child.on('close', (code, signal) => {
      clearInterval(poll);
      state.child = null;
      if (code === 0 && result !== undefined) resolveRun({ result, polledPeakKb, rssSamples, seconds: now() - t0 });
      else rejectRun(new Error(`${label} exited with ${signal ?? `code ${code}`}${result === undefined ? ' (no result)' : ''}`));
    });
  });
}

/**
 * The children run the product's sources compiled by esbuild into one ESM file (dependencies stay
 * external, resolved through a node_modules link next to it), with plain node: under tsx, loading
 * h5wasm's 4 MB module through the loader thread alone costs ~600 MB of RSS, which would swamp the
 * peak-RSS figure with something the shipped app (compiled JS) never does. Null = use tsx.
 */
async function bundleChildren(dir: string): Promise<string | null> {
  const esbuild = await import('esbuild');
  // Worker threads are started by URL next to the module that starts them (`new URL('./x-worker.js',
  // import.meta.url)`); in a bundle that module is the bundle, so every worker entry is bundled beside it.
  const workers = readdirSync(join(REPO, 'src-main'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('-worker.ts'))
    .map((path) => join(REPO, 'src-main', path));
  const entryPoints = Object.fromEntries([['bench-import-child', SCRIPT], ...workers.map((path) => [basename(path, '.ts'), path])]);
  await esbuild.build({
    entryPoints,
    outdir: dir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  // The workers' URLs end in .js: mark the folder's .js files as ES modules.
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'bench-import-child.js');
}

let childEntry: string | null = null;

function nodeChild<T>(kind: 'reader' | 'import', params: ReaderParams | ImportParams): Promise<ChildRun<T>> {
  const entry = childEntry === null ? [...process.execArgv, SCRIPT] : [childEntry];
  return runChild<T>(process.execPath, [...entry, '--child', kind, JSON.stringify(params)], kind);
}

/** "preview 389 MiB (heap 120 / ext 30 MiB) → prepare …" from the child's marks and the parent's polling. */
function rssByPhase(marks: Mark[], samples: [number, number][]): string {
  const parts: string[] = [];
  for (let i = 1; i < marks.length; i++) {
    const from = (marks[i - 1] as Mark).at;
    const m = marks[i] as Mark;
    let max = m.rssKb;
    for (const [at, rss] of samples) if (at >= from && at <= m.at) max = Math.max(max, rss);
    parts.push(`${m.name} ${fmtMB(max)} (${m.heapMb.toFixed(0)}/${m.externalMb.toFixed(0)})`);
  }
  return parts.join(' → ');
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self and inclusive (on-stack) time by function, self time by file, of a V8 CPU profile. */
function summarizeProfile(path: string, bundle: string | null): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  // esbuild marks where each source file starts in the bundle ("// src-main/node/lab/service.ts").
  const marks: [number, string][] = [];
  if (bundle) {
    readFileSync(bundle, 'utf8')
      .split('\n')
      .forEach((text, line) => {
        const m = /^\/\/ ((?:src-main|bench)\/\S+\.ts)$/.exec(text);
        if (m?.[1]) marks.push([line, basename(m[1])]);
      });
  }
  const sourceOf = (line: number) => {
    let lo = 0;
    let hi = marks.length - 1;
    let found = '?';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const mark = marks[mid] as [number, string];
      if (mark[0] <= line) {
        found = mark[1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inBundle = (url: string) => bundle !== null && url.endsWith(basename(bundle));
  const fileOf = (url: string, line: number) =>
    url === '' ? '(vm)' : url.startsWith('wasm://') ? '(wasm)' : inBundle(url) ? sourceOf(line) : basename(url.replace(/[?#].*$/, ''));
  const nameOf = (id: number): string => {
    const frame = byId.get(id)?.callFrame;
    if (!frame) return '?';
    const file = fileOf(frame.url, frame.lineNumber);
    const where =
      !frame.url || frame.url.startsWith('wasm')
        ? ''
        : inBundle(frame.url)
          ? ` (bundle:${frame.lineNumber + 1})`
          : `:${frame.lineNumber + 1}`;
    return `${frame.functionName || '(anonymous)'}  ${file}${where}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000; // time until the next sample
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    total += dt;
    self.set(nameOf(id), (self.get(nameOf(id)) ?? 0) + dt);
    const file = fileOf(frame.url, frame.lineNumber);
    byFile.set(file, (byFile.get(file) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const name = nameOf(n);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    }
  });
  const top = (map: Map<string, number>, n: number, skip: (name: string) => boolean = () => false) =>
    [...map]
      .filter(([name]) => !skip(name))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => `    ${(ms / 1000).toFixed(2).padStart(7)} s ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  log(`  CPU profile of the import job (${(total / 1000).toFixed(1)} s sampled, startImport → finished), self time by function:`);
  log(top(self, 16));
  log('  … self time by file:');
  log(top(byFile, 10));
  log('  … inclusive time (on the stack), product and library frames:');
  log(top(inclusive, 28, (name) => /^\((root|program|idle|garbage collector)\)|^\(anonymous\) {2}\(vm\)|^wasm-function/.test(name)));
}

// ---------------------------------------------------------------------------------------------
// The parent: phases and the table

interface Row {
  step: string;
  cache: string;
  seconds: number;
  fileMBs: number | null;
  subsetMBs: number | null;
  vsRaw: string;
  /** "cpu / run-queue" seconds of the main thread. */
  cpu: string;
  peakKb: number | null;
  note: string;
}

interface H5pyResult {
  seconds: number;
  openSeconds: number;
  checksum: number;
  peakRssKb: number;
  sched: Sched;
  /** CPU seconds of the whole process (every thread, user + system) over the timed part. */
  processCpu: number;
}

/** Rows per block for both readers: --block-rows, else ~16 MiB of landmark values in whole chunk rows. */
function h5pyBlockRows(o: Options): number {
  if (o.blockRows > 0) return o.blockRows;
  const maxRows = Math.floor((16 * 2 ** 20) / (LANDMARKS * 4));
  return Math.max(o.chunks[0], Math.floor(maxRows / o.chunks[0]) * o.chunks[0]);
}

const h5pyChild = (gctx: string, block: number) =>
  runChild<H5pyResult>(PYTHON, [H5PY_SCRIPT, gctx, String(LANDMARKS), String(block), String(CHECKSUM_STRIDE)], 'h5py');

async function main(o: Options): Promise<void> {
  const created: string[] = [];
  const ownsDir = o.dir === null;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'cellshift-bench-import-'));
  mkdirSync(dir, { recursive: true });
  const scratch = mkdtempSync(join(dir, 'scratch-'));
  const cleanup = () => {
    if (state.child?.pid !== undefined) state.child.kill('SIGTERM');
    if (o.keep) {
      rmSync(scratch, { recursive: true, force: true }); // the child bundle and the databases
      log(`\nKept ${dir}`);
      return;
    }
    try {
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
      else {
        rmSync(scratch, { recursive: true, force: true });
        for (const f of created) rmSync(f, { force: true });
      }
    } catch (error) {
      console.error(`cleanup of ${dir} failed: ${String(error)}`);
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.interrupted) return;
    state.interrupted = true;
    console.error(`\n${signal}: stopping, cleaning up…`);
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const files = o.gctx === null ? filesFor(dir, o) : await externalFile(o, o.gctx);
    const matrixBytes = o.samples * o.genes * 4;
    const subsetBytes = o.samples * LANDMARKS * 4;
    const geneChunkCols = Math.min(o.genes, Math.ceil(LANDMARKS / o.chunks[1]) * o.chunks[1]);
    const touchedBytes = o.samples * geneChunkCols * 4;
    log(
      `CellShift GCTX import benchmark — ${o.samples} samples × ${o.genes} genes float32 (${(matrixBytes / 1e9).toFixed(2)} GB matrix), ` +
        `landmark subset ${LANDMARKS} genes (${(subsetBytes / 1e9).toFixed(3)} GB)`,
    );
    log(
      `machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM ` +
        `(${(freemem() / 2 ** 30).toFixed(1)} free), load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}; node ${process.version}`,
    );
    log(
      `chunks ${o.chunks[0]} × ${o.chunks[1]} (samples × genes, ${((o.chunks[0] * o.chunks[1] * 4) / MB).toFixed(2)} MB${o.gctx === null ? (o.deflate > 0 ? `, gzip level ${o.deflate}` : ', uncompressed') : ''}); ` +
        `landmark reads touch chunks holding ${(touchedBytes / 1e9).toFixed(2)} GB (${((100 * touchedBytes) / matrixBytes).toFixed(0)}% of the matrix)`,
    );
    if (!o.tsx) {
      try {
        childEntry = await bundleChildren(scratch);
      } catch (error) {
        notes.push(`could not bundle the children with esbuild (${String(error)}): they ran under tsx, whose loader inflates RSS.`);
      }
    }
    log(`files in ${dir}; children run ${childEntry === null ? 'under tsx' : 'as an esbuild bundle of the sources (plain node)'}\n`);
    const loadAt = (what: string) => `${what}, load ${load()}`;

    // 1. The file --------------------------------------------------------------------------
    if (o.gctx !== null) {
      log(`[write] reading ${o.gctx} as it is (--gctx)`);
    } else if (o.reuse && reusable(files, o)) {
      log(`[write] reusing ${files.gctx}`);
      rows.push({
        step: 'write GCTX + TSVs',
        cache: '-',
        seconds: Number.NaN,
        fileMBs: null,
        subsetMBs: null,
        vsRaw: '',
        cpu: '',
        peakKb: null,
        note: 'reused (--reuse)',
      });
    } else {
      if (o.reuse) log('[write] --reuse: no matching file in --dir, writing it');
      const free = (() => {
        try {
          const out = execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' });
          return Number(out.trim().split('\n').pop());
        } catch {
          return Number.POSITIVE_INFINITY;
        }
      })();
      if (free < matrixBytes * 1.2 + subsetBytes * 1.5) {
        throw new Error(
          `not enough disk space in ${dir}: ${(free / 1e9).toFixed(1)} GB free, ~${((matrixBytes * 1.2 + subsetBytes * 1.5) / 1e9).toFixed(1)} GB needed`,
        );
      }
      log(`[write] ${loadAt('GCTX with h5wasm')}`);
      const pool = makePool(o.seed);
      created.push(files.gctx, files.sigInfo, files.pertInfo, files.geneInfo, files.manifest);
      const t0 = now();
      writeTables(files, o);
      const t1 = now();
      await writeGctx(files.gctx, o, pool, () => state.interrupted);
      const t2 = now();
      execFileSync('sync');
      const t3 = now();
      const bytes = statSync(files.gctx).size;
      writeFileSync(
        files.manifest,
        JSON.stringify({ version: MANIFEST_VERSION, samples: o.samples, seed: o.seed, chunks: o.chunks, deflate: o.deflate, bytes }),
      );
      log(
        `  TSVs ${fmtS(t1 - t0)} s; GCTX ${(bytes / 1e9).toFixed(2)} GB in ${fmtS(t2 - t1)} s (${mbs(bytes, t2 - t1).toFixed(0)} MB/s), sync ${fmtS(t3 - t2)} s`,
      );
      rows.push({
        step: 'write GCTX (h5wasm) + sync',
        cache: '-',
        seconds: t3 - t1,
        fileMBs: mbs(bytes, t3 - t1),
        subsetMBs: null,
        vsRaw: '',
        cpu: '',
        peakKb: null,
        note: `${fmtS(t2 - t1)} s write + ${fmtS(t3 - t2)} s sync; TSVs ${fmtS(t1 - t0)} s`,
      });
    }
    const fileBytes = statSync(files.gctx).size;
    const sidecarBytes = [files.sigInfo, files.pertInfo, files.geneInfo].reduce((s, f) => s + (existsSync(f) ? statSync(f).size : 0), 0);
    log(`  file ${(fileBytes / 1e9).toFixed(2)} GB (${fileBytes} bytes); TSVs ${(sidecarBytes / MB).toFixed(1)} MB`);

    const canDrop = o.caches.includes('cold') ? dropCaches() : false;
    if (o.caches.includes('cold') && !canDrop) notes.push('cold runs could not drop the page cache (not root?): they ran warm-ish.');
    if (fileBytes > totalmem() * 0.6 && o.caches.includes('warm'))
      notes.push('the file is > 60% of RAM: "warm" runs may not find it all in the page cache.');
    /** Brings the page cache to the wanted state before a measured run. */
    const prepareCache = async (cache: 'cold' | 'warm') => {
      if (cache === 'cold') dropCaches();
      else await rawRead(files.gctx); // no-op cost if already cached; makes sure it is
    };

    /**
     * Runs a measurement `o.repeat` times in a cache state. Warm: the fastest run (a shared machine
     * only ever slows a run down). Cold: the first run — later "cold" runs can be served by a cache
     * below this OS (a VM host's page cache) that drop_caches does not reach.
     */
    const repeated = async <T>(cache: 'cold' | 'warm', title: string, run: () => Promise<T>, seconds: (r: T) => number) => {
      let best: T | null = null;
      const times: number[] = [];
      for (let i = 0; i < o.repeat; i++) {
        await prepareCache(cache);
        log(`[${title}] ${loadAt(`${cache}${o.repeat > 1 ? `, run ${i + 1}/${o.repeat}` : ''}`)}`);
        const r = await run();
        times.push(seconds(r));
        if (best === null || (cache === 'warm' && seconds(r) < seconds(best))) best = r;
      }
      const all = o.repeat > 1 ? `${cache === 'warm' ? 'best' : 'first'} of ${times.map(fmtS).join(', ')} s; ` : '';
      return { best: best as T, all };
    };
    const cpuCell = (sched: Sched | undefined) =>
      sched === undefined || Number.isNaN(sched.cpu) ? '' : `${fmtS(sched.cpu)} / ${fmtS(sched.queue)}`;

    // 2. Raw sequential read -------------------------------------------------------------
    const raw: Partial<Record<'cold' | 'warm', number>> = {};
    for (const cache of o.caches) {
      const { best: r, all } = await repeated(
        cache,
        'raw read',
        () => rawRead(files.gctx),
        (x) => x.seconds,
      );
      raw[cache] = mbs(r.bytes, r.seconds);
      log(`  ${(r.bytes / 1e9).toFixed(2)} GB in ${fmtS(r.seconds)} s = ${raw[cache]?.toFixed(0)} MB/s`);
      rows.push({
        step: 'raw sequential read (fs stream)',
        cache,
        seconds: r.seconds,
        fileMBs: raw[cache] ?? null,
        subsetMBs: null,
        vsRaw: '1.00',
        cpu: '',
        peakKb: null,
        note: `${all}load ${load()}`,
      });
    }
    const vsRaw = (cache: 'cold' | 'warm', seconds: number) => {
      const r = raw[cache];
      return r === undefined ? '' : (mbs(fileBytes, seconds) / r).toFixed(2);
    };
    // The columns every timed step of the GCTX file fills the same way (throughput, against raw, cpu).
    const timedColumns = (cache: 'cold' | 'warm', seconds: number, sched: Sched | undefined) => ({
      cache,
      seconds,
      fileMBs: mbs(fileBytes, seconds),
      subsetMBs: mbs(subsetBytes, seconds),
      vsRaw: vsRaw(cache, seconds),
      cpu: cpuCell(sched),
    });

    // 3. Reader alone ---------------------------------------------------------------------
    let readerChecksum: number | null = null;
    const readerSeconds: Partial<Record<'cold' | 'warm', number>> = {};
    const readerReadSeconds: Partial<Record<'cold' | 'warm', number>> = {};
    if (o.reader) {
      for (const cache of o.caches) {
        const { best: run, all } = await repeated(
          cache,
          'CellShift reader',
          () =>
            nodeChild<ReaderResult>('reader', {
              gctx: files.gctx,
              samples: o.samples,
              seed: o.seed,
              engine: o.engine,
              blockRows: h5pyBlockRows(o),
              verify: o.gctx === null,
            }),
          (x) => x.result.seconds,
        );
        const r = run.result;
        readerChecksum = r.checksum;
        readerSeconds[cache] = r.seconds;
        readerReadSeconds[cache] = r.readSeconds;
        if (r.verified) notes.push(`reader (${cache}) returned wrong values: ${r.verified}`);
        log(
          `  ${r.engine}: open ${fmtS(r.openSeconds)} s + read ${fmtS(r.readSeconds)} s; ${r.slices} hyperslabs, ${((r.cellsRead * 4) / 1e9).toFixed(2)} GB of cells; ` +
            `values ${r.verified ? `WRONG (${r.verified})` : 'checked'}; main thread cpu ${fmtS(r.sched.cpu)} s, run queue ${fmtS(r.sched.queue)} s; VmHWM ${fmtMB(r.vmHwmKb)}`,
        );
        rows.push({
          step: 'CellShift reader only (iterateSamples)',
          ...timedColumns(cache, r.seconds, r.sched),
          peakKb: r.vmHwmKb,
          note: `${all}open ${fmtS(r.openSeconds)} s (${r.engine}, ids and metadata); load ${load()}`,
        });
      }
    }

    // 3b. Reader vs h5py, warm, alternated ------------------------------------------------
    // One figure for the ratio: the same read (all samples × the landmarks, same blocks, a checksum
    // over every value) with the file in the page cache, the two engines alternating within each
    // round (who goes first alternates too) so load on this shared machine hits both alike.
    if (o.reader && o.h5py && o.rounds > 0 && o.caches.includes('warm')) {
      const py = python();
      if (!py.ok) notes.push(`reader vs h5py comparison skipped: ${py.why}.`);
      else {
        const block = h5pyBlockRows(o);
        log(`[reader vs h5py] warm, ${o.rounds} alternated rounds; ${py.version}, blocks of ${block} rows; ${uptime()}`);
        log(
          '  h5py at its best: page cache warm, `import h5py` outside its timing, read_direct into one reused numpy ' +
            `buffer (numpy asks for huge pages), HDF5's default 1 MiB chunk cache (holds one ${o.chunks.join('×')} float32 chunk); ` +
            `CellShift's child waits ${SETTLE_MS} ms after loading before its timing (V8's background compiling and collecting ` +
            'of the startup settle) and checks the values it kept against the generator after it',
        );
        log(
          '  the same work on both sides, timed from opening the file: every dataset under /0/META/ROW and /0/META/COL ' +
            '(the ids included) decoded to strings or numbers, then all samples × the first 978 genes in the same blocks into ' +
            `one reused buffer, squares summed over every ${CHECKSUM_STRIDE}th sample; CellShift's side also checks the ids for ` +
            'duplicates and parses the chunk index whole at open (h5py does neither)',
        );
        await prepareCache('warm');
        const times = {
          cellshift: [] as number[],
          h5py: [] as number[],
          cellshiftRead: [] as number[],
          h5pyRead: [] as number[],
          cellshiftCpu: [] as number[],
          h5pyCpu: [] as number[],
        };
        const engines = new Set<string>();
        const cellshift = async () => {
          const r = (
            await nodeChild<ReaderResult>('reader', {
              gctx: files.gctx,
              samples: o.samples,
              seed: o.seed,
              engine: o.engine,
              blockRows: h5pyBlockRows(o),
              verify: o.gctx === null,
            })
          ).result;
          if (r.verified) notes.push(`reader returned wrong values: ${r.verified}`);
          engines.add(r.engine);
          times.cellshift.push(r.seconds);
          times.cellshiftRead.push(r.readSeconds);
          times.cellshiftCpu.push(r.processCpu);
          return r.checksum;
        };
        const h5py = async () => {
          const r = (await h5pyChild(files.gctx, block)).result;
          times.h5py.push(r.seconds);
          times.h5pyRead.push(r.seconds - r.openSeconds);
          times.h5pyCpu.push(r.processCpu);
          return r.checksum;
        };
        for (let round = 0; round < o.rounds; round++) {
          const order = round % 2 === 0 ? [cellshift, h5py] : [h5py, cellshift];
          const [a, b] = [await (order[0] as () => Promise<number>)(), await (order[1] as () => Promise<number>)()];
          if (Math.abs(a - b) / Math.abs(a) > 1e-9) notes.push(`round ${round + 1}: checksums differ (${a} vs ${b})`);
          log(
            `  round ${round + 1} (${round % 2 === 0 ? 'CellShift first' : 'h5py first'}): CellShift ${fmtS(times.cellshift[round] as number)} s, ` +
              `h5py ${fmtS(times.h5py[round] as number)} s; load ${load()}`,
          );
        }
        const summary = (label: string, xs: number[]) => `${label} median ${fmtS(median(xs))} s, best ${fmtS(Math.min(...xs))} s`;
        log(`  ${summary(`CellShift reader (${[...engines].join(', ')})`, times.cellshift)}; ${summary('h5py', times.h5py)}`);
        log(
          `  ratio CellShift/h5py time (open + read, warm): median ${(median(times.cellshift) / median(times.h5py)).toFixed(2)}, ` +
            `best ${(Math.min(...times.cellshift) / Math.min(...times.h5py)).toFixed(2)}; read only: median ` +
            `${(median(times.cellshiftRead) / median(times.h5pyRead)).toFixed(2)}, best ${(Math.min(...times.cellshiftRead) / Math.min(...times.h5pyRead)).toFixed(2)} (< 1 = CellShift faster)`,
        );
        log(
          `  CPU seconds (whole process, every thread): CellShift median ${fmtS(median(times.cellshiftCpu))}, h5py median ` +
            `${fmtS(median(times.h5pyCpu))}, ratio ${(median(times.cellshiftCpu) / median(times.h5pyCpu)).toFixed(2)} ` +
            '(the work done; wall time on a loaded machine also depends on how the scheduler treats each process)',
        );
        log(`  ${uptime()}`);
      }
    }

    // 4. The import ------------------------------------------------------------------------
    const importSeconds: Partial<Record<'cold' | 'warm', number>> = {};
    const importOnce = async (tag: string, profilePath?: string) => {
      const db = join(scratch, `${tag}.db`);
      const params: ImportParams = { ...files, db, key: o.key, samples: o.samples, seed: o.seed, ...(profilePath ? { profilePath } : {}) };
      try {
        return await nodeChild<ImportResult>('import', params);
      } finally {
        for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
      }
    };
    for (const cache of o.import ? o.caches : []) {
      const { best: run, all } = await repeated(
        cache,
        'CellShift import',
        () => importOnce(cache),
        (x) => x.result.jobSeconds,
      );
      const r = run.result;
      importSeconds[cache] = r.jobSeconds;
      if (r.verified) notes.push(`import (${cache}) stored wrong data: ${r.verified}`);
      log(
        `  job ${fmtS(r.jobSeconds)} s = prepare ${fmtS(r.prepareSeconds)} + read & store ${fmtS(r.storeSeconds)} + commit ${fmtS(r.commitSeconds)}; ` +
          `main thread cpu ${fmtS(r.sched.cpu)} s, run queue ${fmtS(r.sched.queue)} s`,
      );
      log(
        `  before the job: openLab ${fmtS(r.openLabSeconds)} s, RDKit load ${fmtS(r.rdkitLoadSeconds)} s, previewImport ${fmtS(r.previewSeconds)} s ` +
          `(fresh database: every drug described by RDKit); after: close ${fmtS(r.closeSeconds)} s`,
      );
      log(
        `  stored ${r.dataset.nSamples} samples × ${r.dataset.nGenes} genes, ${r.dataset.nEnvironments} environments ` +
          `(${r.preview.drugs} drugs, ${r.preview.withoutStructure} without structure, ${r.preview.controls} control samples); ` +
          `database ${(r.dbBytes / MB).toFixed(0)} MB; values ${r.verified ? `WRONG (${r.verified})` : 'checked'}`,
      );
      log(
        `  peak RSS ${fmtMB(r.vmHwmKb)} (VmHWM; polled VmRSS max ${fmtMB(run.polledPeakKb)}; RSS after preview ${fmtMB(r.rssAfterPreviewKb)})`,
      );
      log(`  RSS by phase (max polled VmRSS during it; JS heap / external MiB at its end): ${rssByPhase(r.marks, run.rssSamples)}`);
      log(
        `  event loop blocked up to ${r.stalls.previewMaxMs.toFixed(0)} ms during previewImport, up to ${r.stalls.jobMaxMs.toFixed(0)} ms ` +
          `during the job (p99 ${r.stalls.jobP99Ms.toFixed(0)} ms)`,
      );
      rows.push({
        step: 'CellShift import (startImport → finished)',
        ...timedColumns(cache, r.jobSeconds, r.sched),
        peakKb: r.vmHwmKb,
        note: `${all}prep ${fmtS(r.prepareSeconds)} + store ${fmtS(r.storeSeconds)} + commit ${fmtS(r.commitSeconds)}; preview ${fmtS(r.previewSeconds)} s; load ${load()}`,
      });
    }

    // 5. h5py -----------------------------------------------------------------------------
    const h5pyTimes: Partial<Record<'cold' | 'warm', number>> = {};
    const h5pyReadTimes: Partial<Record<'cold' | 'warm', number>> = {};
    if (o.h5py) {
      const py = python();
      if (!py.ok) notes.push(`h5py comparison skipped: ${py.why}.`);
      else {
        const block = h5pyBlockRows(o);
        log(`(h5py: ${py.version}, blocks of ${block} rows)`);
        for (const cache of o.caches) {
          const { best: run, all } = await repeated(
            cache,
            'h5py',
            () => h5pyChild(files.gctx, block),
            (x) => x.result.seconds,
          );
          const r = run.result;
          h5pyTimes[cache] = r.seconds;
          h5pyReadTimes[cache] = r.seconds - r.openSeconds;
          const agree = readerChecksum === null ? 'n/a' : Math.abs(r.checksum - readerChecksum) / r.checksum < 1e-9 ? 'same' : 'DIFFERENT';
          if (agree === 'DIFFERENT') notes.push(`h5py checksum ${r.checksum} differs from CellShift's reader ${readerChecksum}`);
          log(
            `  ${fmtS(r.seconds)} s (open ${fmtS(r.openSeconds)} s); checksum vs CellShift reader: ${agree}; ` +
              `main thread cpu ${fmtS(r.sched.cpu)} s, run queue ${fmtS(r.sched.queue)} s; peak RSS ${fmtMB(r.peakRssKb)}`,
          );
          const ratio =
            importSeconds[cache] === undefined ? '' : `CellShift import / h5py = ${((importSeconds[cache] ?? 0) / r.seconds).toFixed(1)}; `;
          rows.push({
            step: 'h5py read of the same subset',
            ...timedColumns(cache, r.seconds, r.sched),
            peakKb: r.peakRssKb,
            note: `${all}${ratio}load ${load()}`,
          });
        }
      }
    }

    // 6. Profile (not part of the figures) -----------------------------------------------
    if (o.profile && o.import) {
      await prepareCache('warm');
      log(`[profile] ${loadAt('warm import, job profiled with the inspector')}`);
      const profilePath = join(o.keep ? dir : scratch, 'import-job.cpuprofile');
      const run = await importOnce('profile', profilePath);
      log(`  (profiled job ${fmtS(run.result.jobSeconds)} s)`);
      summarizeProfile(profilePath, childEntry);
    }

    // Table ----------------------------------------------------------------------------------
    log(
      `\nSummary — ${o.samples} samples, file ${(fileBytes / 1e9).toFixed(2)} GB, subset ${(subsetBytes / 1e9).toFixed(3)} GB, chunks ${o.chunks.join('×')}`,
    );
    const header = ['step', 'cache', 'time s', 'file MB/s', 'subset MB/s', '× raw', 'cpu/queue s', 'peak RSS', 'notes'];
    const cells = rows.map((r) => [
      r.step,
      r.cache,
      Number.isNaN(r.seconds) ? '-' : fmtS(r.seconds),
      r.fileMBs === null ? '' : r.fileMBs.toFixed(0),
      r.subsetMBs === null ? '' : r.subsetMBs.toFixed(0),
      r.vsRaw,
      r.cpu,
      r.peakKb === null ? '' : fmtMB(r.peakKb),
      r.note,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
    const right = new Set([2, 3, 4, 5, 6, 7]);
    const line = (c: string[]) =>
      c
        .map((x, i) => (i === c.length - 1 ? x : right.has(i) ? x.padStart(widths[i] ?? 0) : x.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    log(line(header));
    log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const c of cells) log(line(c));
    for (const cache of o.caches) {
      const a = importSeconds[cache];
      const b = h5pyTimes[cache];
      const c = readerSeconds[cache];
      const cr = readerReadSeconds[cache];
      const br = h5pyReadTimes[cache];
      if (a !== undefined && b !== undefined) {
        log(
          `ratio CellShift/h5py (${cache}): import ${(a / b).toFixed(2)}` +
            (c === undefined
              ? ''
              : `, reader alone ${(c / b).toFixed(2)} (same read, one run each: the alternated rounds above are the ratio to quote)`) +
            (cr === undefined || br === undefined ? '' : `, reads without opening the file ${(cr / br).toFixed(2)}`),
        );
      }
    }
    log(
      '× raw = file bytes per second of the step / raw sequential read MB/s in the same cache state (file MB/s counts the whole ' +
        'file even where the step reads only the landmark chunks). cold = after sync + drop_caches (first run if repeated); ' +
        'warm = file in the page cache (best run). ' +
        'cpu/queue = main thread on a CPU / waiting for one (the rest of the wall time is I/O or other waits).',
    );
    for (const n of notes) log(`NOTE: ${n}`);
  } finally {
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// ---------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  const kind = argv[1];
  const params = JSON.parse(argv[2] ?? '{}') as ReaderParams & ImportParams;
  try {
    if (kind === 'reader') await childReader(params);
    else if (kind === 'import') await childImport(params);
    else throw new Error(`unknown child ${kind}`);
    process.exit(0);
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  }
} else {
  try {
    await main(parseOptions(argv));
    await delay(0);
  } catch (error) {
    console.error(`bench:import failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
