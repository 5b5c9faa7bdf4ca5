// Load benchmark (issue 6, "Load"): the whole lab at L1000 scale, as a person would drive it.
//   npm run build && npm run bench:load -- [--samples 100000] [--drugs 200] [--umap-points 20000]
//                                          [--epochs 1] [--evaluate] [--dir PATH] [--keep] [--no-browser]
//
// 1. Writes an L1000-shaped Level-5 GCTX (samples × 978 landmark genes, float32, as cmapPy lays it
//    out, written in blocks with h5wasm) with LINCS sig_info, pert_info and gene_info tables:
//    `--drugs` drugs with real structures (homologues of a dozen real molecules) in 10 cell lines
//    at 6 doses, ~10% DMSO controls. Each drug moves 20 genes (more at higher doses) on top of a
//    per-cell-line baseline and unit noise, so a model has something to find.
// 2. Starts the built app (dist/) in a child process: openLab + startServer, exactly what
//    `cellshift serve` runs, plus a line of heap figures every 250 ms (main thread and analysis
//    worker; worker_threads share the process's RSS, so the process RSS is polled from /proc).
// 3. Through the running server's LabApi: imports the files (preview, then import, environments
//    keyed by drug × cell line), trains an Environment VAE at the seed's L1000 sizes (978 → 500 →
//    200) for `--epochs`, requests the PCA projection of every sample, a UMAP of `--umap-points`
//    (UMAP of 100k points takes too long to be interactive: measure it with --umap-points 100000),
//    the prior shifts and top genes; with --evaluate also the unseen-environment evaluation (at
//    100k samples and ~2,000 environments it ran for more than 5 minutes: its ridge baseline
//    inverts an environments × environments matrix in JavaScript for each of six λ).
// 4. Opens the UI in Debian's Chromium (playwright-core) and visits every view, waiting for its
//    heading and, in Latents, for the scatter's point count; then switches Latents to UMAP.
// During every phase: peak RSS of the server process, peak heap of its analysis worker, peak RSS of
// Chromium's renderer processes (sum and largest) and the longest app.info round trip (the serving
// thread's responsiveness). MB = 10^6 bytes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import type { AnalysisWorkerStats } from '../src-main/node/analysis/worker-protocol.js';
import { loadH5 } from '../src-main/node/data/formats/h5.js';
import type { LabEvent } from '../src-main/shared/api/protocol.js';
import { launchBrowser } from '../test/e2e/harness.js';
import { CELLS, DOSES, drugId, drugSmiles, geneId, LANDMARKS, mix, TIMES } from './lincs-layout.js';
import { integerOption, usageError } from './options.js';

export { mix };

const MB = 1e6;
const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
export const DIST = join(REPO, 'dist');
// Latents last: the run ends by switching its projection to UMAP.
const VIEWS = ['datasets', 'environments', 'train', 'runs', 'predict', 'latents'] as const;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  samples: number;
  drugs: number;
  umapPoints: number;
  epochs: number;
  dir: string | null;
  keep: boolean;
  browser: boolean;
  evaluate: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    samples: 100_000,
    drugs: 200,
    umapPoints: 20_000,
    epochs: 1,
    dir: null,
    keep: false,
    browser: true,
    evaluate: false,
  };
  const number = (flag: string, value: string | undefined, min: number) => integerOption('load', flag, value, min);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--samples') o.samples = number(flag, argv[++i], 100);
    else if (flag === '--drugs') o.drugs = number(flag, argv[++i], 1);
    else if (flag === '--umap-points') o.umapPoints = number(flag, argv[++i], 0);
    else if (flag === '--epochs') o.epochs = number(flag, argv[++i], 1);
    else if (flag === '--dir') o.dir = resolve(argv[++i] ?? fail('--dir needs a path'));
    else if (flag === '--keep') o.keep = true;
    else if (flag === '--no-browser') o.browser = false;
    else if (flag === '--evaluate') o.evaluate = true;
    else fail(`unknown option ${flag}`);
  }
  return o;
}

function fail(message: string): never {
  return usageError('load', message);
}

export const now = () => performance.now();
export const seconds = (ms: number) => (ms >= 100_000 ? (ms / 1000).toFixed(0) : (ms / 1000).toFixed(1));
export const mb = (bytes: number) => (bytes > 0 ? `${(bytes / MB).toFixed(0)} MB` : '—');
export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)} load ${loadavg()[0]?.toFixed(1)}] ${message}`);
}

// ---------------------------------------------------------------------------------------------
// The L1000-shaped data set

/** A fast deterministic uniform generator (xorshift32). */
export function uniform(seed: number): () => number {
  let state = mix(seed) || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

export function normals(count: number, seed: number): Float32Array {
  const next = uniform(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a);
    if (i + 1 < count) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

export interface Sample {
  sigId: string;
  pertId: string;
  pertType: 'trt_cp' | 'ctl_vehicle';
  cell: number;
  drug: number | null;
  dose: number | null;
  time: string;
}

/** What writeDataset lays out: sample s is `sampleOf(s)`; compound d is `compounds[d]`. */
export interface DatasetLayout {
  samples: number;
  cells: readonly string[];
  compounds: readonly { id: string; smiles: string }[];
  sampleOf: (s: number) => Sample;
  /** File name of the GCTX inside the folder. */
  gctxName: string;
}

/** Any cell line, any drug: the load bench's layout (10 cell lines, ~10% DMSO controls). */
function loadLayout(o: Options): DatasetLayout {
  const compounds = Array.from({ length: o.drugs }, (_, d) => ({ id: drugId(d), smiles: drugSmiles(d) }));
  return {
    samples: o.samples,
    cells: CELLS,
    compounds,
    gctxName: `load-n${o.samples}.gctx`,
    sampleOf: (s) => {
      const h = mix(2 * s + 1);
      const control = (h >>> 8) % 10 === 0;
      return sampleWith(s, h % CELLS.length, control ? null : (h >>> 12) % o.drugs, compounds, CELLS);
    },
  };
}

/** Sample s of cell line `cell` treated with compound `drug` (null: DMSO); dose and time from s's hash. */
export function sampleWith(
  s: number,
  cell: number,
  drug: number | null,
  compounds: readonly { id: string }[],
  cells: readonly string[],
): Sample {
  const h = mix(2 * s + 1);
  const time = TIMES[(h >>> 21) % TIMES.length] as string;
  return {
    sigId: `LOAD${String(Math.floor(s / 384)).padStart(4, '0')}_${cells[cell]}_${time}H:${s % 384}`,
    pertId: drug === null ? 'DMSO' : (compounds[drug]?.id as string),
    pertType: drug === null ? 'ctl_vehicle' : 'trt_cp',
    cell,
    drug,
    dose: drug === null ? null : (h >>> 24) % DOSES.length,
    time,
  };
}

export interface Files {
  gctx: string;
  sigInfo: string;
  pertInfo: string;
  geneInfo: string;
}

export async function writeDataset(dir: string, layout: DatasetLayout): Promise<Files> {
  const { cells, compounds } = layout;
  const files: Files = {
    gctx: join(dir, layout.gctxName),
    sigInfo: join(dir, 'sig_info.txt'),
    pertInfo: join(dir, 'pert_info.txt'),
    geneInfo: join(dir, 'gene_info.txt'),
  };
  const samples = Array.from({ length: layout.samples }, (_, s) => layout.sampleOf(s));
  writeFileSync(
    files.geneInfo,
    `pr_gene_id\tpr_gene_symbol\tpr_gene_title\tpr_is_lm\tpr_is_bing\n${Array.from(
      { length: LANDMARKS },
      (_, g) => `${geneId(g)}\tGENE${g}\tsynthetic landmark ${g}\t1\t1`,
    ).join('\n')}\n`,
  );
  writeFileSync(
    files.pertInfo,
    [
      'pert_id\tpert_iname\tpert_type\tcanonical_smiles',
      'DMSO\tDMSO\tctl_vehicle\tCS(C)=O',
      ...compounds.map((c, d) => `${c.id}\tdrug-${d}\ttrt_cp\t${c.smiles}`),
    ].join('\n'),
  );
  const header =
    'sig_id\tpert_id\tpert_iname\tpert_type\tcell_id\tpert_dose\tpert_dose_unit\tpert_idose\tpert_time\tpert_time_unit\tpert_itime';
  const rows = samples.map((x) => {
    const dose = x.dose === null ? '-666\t-666\t-666' : `${DOSES[x.dose]}\tµM\t${DOSES[x.dose]} µM`;
    const name = x.drug === null ? 'DMSO' : `drug-${x.drug}`;
    return [x.sigId, x.pertId, name, x.pertType, cells[x.cell], dose, x.time, 'h', `${x.time} h`].join('\t');
  });
  writeFileSync(files.sigInfo, `${header}\n${rows.join('\n')}\n`);

  // Expression: cell-line baseline + a sparse drug effect growing with dose + unit noise.
  const baseline = normals(cells.length * LANDMARKS, 1).map((v) => 0.5 * v);
  const effects = Array.from({ length: compounds.length }, (_, d) => {
    const next = uniform(1000 + d);
    return Array.from({ length: 20 }, () => ({ gene: Math.floor(next() * LANDMARKS), size: (next() < 0.5 ? -1 : 1) * (1 + 2 * next()) }));
  });
  const noise = normals(1 << 22, 2);
  const h5 = await loadH5();
  const file = new h5.File(files.gctx, 'w');
  try {
    file.create_attribute('version', 'GCTX1.0', null, 'A7');
    file.create_attribute('src', 'cellshift bench/load.ts');
    const root = file.create_group('0');
    const matrix = root
      .create_group('DATA')
      .create_group('0')
      .create_dataset({
        name: 'matrix',
        data: new Float32Array(0),
        shape: [0, LANDMARKS],
        maxshape: [null, LANDMARKS],
        chunks: [256, LANDMARKS],
        dtype: '<f',
      });
    matrix.resize([layout.samples, LANDMARKS]);
    const block = 256 * 32;
    const buffer = new Float32Array(block * LANDMARKS);
    for (let s0 = 0; s0 < layout.samples; s0 += block) {
      const n = Math.min(block, layout.samples - s0);
      for (let i = 0; i < n; i++) {
        const x = samples[s0 + i] as Sample;
        const offset = mix(s0 + i) & ((1 << 22) - 1 - LANDMARKS);
        const row = buffer.subarray(i * LANDMARKS, (i + 1) * LANDMARKS);
        row.set(noise.subarray(offset, offset + LANDMARKS));
        for (let g = 0; g < LANDMARKS; g++) row[g] = (row[g] as number) + (baseline[x.cell * LANDMARKS + g] as number);
        if (x.drug !== null) {
          const scale = 0.4 + (0.6 * (x.dose as number)) / (DOSES.length - 1);
          for (const e of effects[x.drug] ?? []) row[e.gene] = (row[e.gene] as number) + scale * e.size;
        }
      }
      matrix.write_slice(
        [
          [s0, s0 + n],
          [0, LANDMARKS],
        ],
        n === block ? buffer : buffer.subarray(0, n * LANDMARKS),
      );
    }
    const meta = root.create_group('META');
    // A reduce, not Math.max(...): 473,647 ids overflow the call stack as arguments.
    const ascii = (values: string[]) => `A${values.reduce((width, v) => Math.max(width, v.length), 1)}`;
    const rowIds = Array.from({ length: LANDMARKS }, (_, g) => geneId(g));
    meta.create_group('ROW').create_dataset({ name: 'id', data: rowIds, dtype: ascii(rowIds) });
    const col = meta.create_group('COL');
    for (const [name, values] of [
      ['id', samples.map((x) => x.sigId)],
      ['pert_id', samples.map((x) => x.pertId)],
      ['pert_type', samples.map((x) => x.pertType)],
      ['cell_id', samples.map((x) => cells[x.cell] as string)],
    ] as const) {
      col.create_dataset({ name, data: values, dtype: ascii(values) });
    }
  } finally {
    file.close();
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// The app in a child process, and what we measure of it

/** What `cellshift serve` runs (lab/open + server/server from dist/), plus heap figures on stdout. */
const SERVER_CHILD = `
import { pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
// The serving thread's own view of its stalls: the longest event-loop delay and GC pause since the last report.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let gcMaxMs = 0;
new PerformanceObserver((list) => { for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration); }).observe({ entryTypes: ['gc'] });
// Load-independent: between two turns of the serving thread's event loop (a 2 ms timer), its own
// CPU time, and its time off the CPU other than waiting for a core (schedstat: ns on the CPU, ns
// runnable in the run queue): blocking calls (a SQLite lock, a synchronous read) count, load does not.
import { readFileSync } from 'node:fs';
import { subscribe } from 'node:diagnostics_channel';
const schedstat = '/proc/' + process.pid + '/task/' + process.pid + '/schedstat';
const TURN_MS = 2;
const longTurnMs = Number(process.env.BENCH_LONG_TURN_MS ?? 0);
const threadTimes = () => {
  try {
    const [cpu, queued] = readFileSync(schedstat, 'utf8').split(' ').map(Number);
    return { at: performance.now(), cpu: cpu / 1e6, queued: queued / 1e6 };
  } catch { return { at: performance.now(), cpu: 0, queued: 0 }; }
};
let lastTurn = threadTimes();
let cpuTaskMaxMs = 0;
let heldMaxMs = 0;
// The named tasks of the current turn, and of the turn that took the most CPU: a turn can be one
// long task or a backlog of many short ones (worker messages queued while the thread waited for a core).
let turnTasks = { count: 0, cpuMs: 0, labels: new Map() };
let heldTurn = null;
setInterval(() => {
  const turn = threadTimes();
  const cpu = turn.cpu - lastTurn.cpu;
  // BENCH_LONG_TURN_MS: print each turn over that much CPU with its end on the monotonic clock
  // (µs, the clock of a --cpu-prof profile's timestamps), to find it in a profile of the server.
  if (longTurnMs > 0 && cpu >= longTurnMs) {
    console.log('long turn: ' + cpu.toFixed(1) + ' ms CPU, ' + (turn.at - lastTurn.at).toFixed(1) + ' ms wall, ended at ' + (process.hrtime.bigint() / 1000n) + ' µs monotonic; named tasks: ' + ([...turnTasks.labels].map(([label, n]) => label + ' ×' + n).join(', ') || 'none'));
  }
  if (cpu > cpuTaskMaxMs) {
    const top = [...turnTasks.labels].sort((a, b) => b[1] - a[1])[0];
    heldTurn = { cpuMs: cpu, tasks: turnTasks.count, taskCpuMs: turnTasks.cpuMs, top: top ? top[0] + ' ×' + top[1] : null };
  }
  cpuTaskMaxMs = Math.max(cpuTaskMaxMs, cpu);
  heldMaxMs = Math.max(heldMaxMs, turn.at - lastTurn.at - (turn.queued - lastTurn.queued) - TURN_MS);
  lastTurn = turn;
  turnTasks = { count: 0, cpuMs: 0, labels: new Map() };
}, TURN_MS);
// What held it: the dispatcher's and carriers' named synchronous tasks (src-main/node/threads/serving-tasks.ts).
let longestTask = null;
// Ranked by their CPU time where the platform gives it (wall time otherwise): load stretches wall time.
const cost = (task) => task.cpuMs ?? task.ms;
subscribe('cellshift:serving-task', (task) => {
  if (!longestTask || cost(task) > cost(longestTask)) longestTask = task;
  turnTasks.count++;
  turnTasks.cpuMs += cost(task);
  turnTasks.labels.set(task.label, (turnTasks.labels.get(task.label) ?? 0) + 1);
});
const dist = process.env.BENCH_DIST;
const { openLab, closeLab } = await import(pathToFileURL(dist + '/main/node/lab/open.js').href);
const { startServer } = await import(pathToFileURL(dist + '/main/node/server/server.js').href);
const lab = await openLab({ databasePath: process.env.BENCH_DB, carrier: 'browser', seedDemo: false, allowedDirs: [process.env.BENCH_DATA_DIR] });
const server = await startServer({ service: lab, staticDir: dist + '/renderer' });
// What held the thread while the lab opened (loading modules, migrating, 0.3 s of CPU in one turn
// at LINCS size) was before it served anything: counted from here, so the first step (whose first
// report came 250 ms after this) is not charged with it.
const ready = threadTimes();
if (longTurnMs > 0) console.log('serving from ' + (process.hrtime.bigint() / 1000n) + ' µs monotonic; opening the lab took ' + ready.cpu.toFixed(0) + ' ms CPU, its costliest turn ' + cpuTaskMaxMs.toFixed(1) + ' ms');
lastTurn = ready;
cpuTaskMaxMs = 0;
heldMaxMs = 0;
heldTurn = null;
longestTask = null;
gcMaxMs = 0;
loopDelay.reset();
console.log('@@ready ' + JSON.stringify({ url: server.url, origin: server.origin, token: server.token }));
let asking = false;
const timer = setInterval(async () => {
  if (asking) return;
  asking = true;
  const analysis = await lab.analysis.workerStats().catch(() => null);
  asking = false;
  const m = process.memoryUsage();
  const loopDelayMaxMs = loopDelay.max / 1e6;
  loopDelay.reset();
  console.log('@@stats ' + JSON.stringify({ heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, analysis, loopDelayMaxMs, gcMaxMs, cpuTaskMaxMs, heldMaxMs, heldTurn, longestTask }));
  gcMaxMs = 0;
  cpuTaskMaxMs = 0;
  heldMaxMs = 0;
  heldTurn = null;
  longestTask = null;
}, 250);
process.on('SIGTERM', async () => {
  clearInterval(timer);
  await server.close();
  await closeLab(lab);
  process.exit(0);
});
`;

export interface Server {
  child: ChildProcess;
  url: string;
  origin: string;
  token: string;
  /** Latest heap figures the child printed. */
  stats: {
    heapUsed: number;
    arrayBuffers: number;
    analysis: AnalysisWorkerStats | null;
    loopDelayMaxMs: number;
    gcMaxMs: number;
    /** The serving thread's most CPU time between two turns of its event loop. */
    cpuTaskMaxMs?: number;
    /** The same stretch's wall time less its time waiting for a core: CPU plus blocking calls. */
    heldMaxMs?: number;
    /** The turn with the most CPU: how many named tasks it ran, their CPU, the most frequent. */
    heldTurn?: HeldTurn | null;
    /** The longest named synchronous task on the serving thread (wall time). */
    longestTask?: ServingTaskReport | null;
  } | null;
  /** Called with each stats report (every 250 ms) as it arrives. */
  onStats?: (stats: NonNullable<Server['stats']>) => void;
}

/** The server keeps its database and script in `dir`; it may read files under `dataDir` (default: `dir`). */
export async function startServerChild(dir: string, dataDir = dir): Promise<Server> {
  // A file rather than --eval: worker threads inherit execArgv, and --input-type would break them.
  const script = join(dir, 'server-child.mjs');
  writeFileSync(script, SERVER_CHILD);
  // BENCH_SERVER_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile the serving thread (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter((arg) => arg !== '') ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_DIST: DIST, BENCH_DB: join(dir, 'lab.db'), BENCH_DATA_DIR: dataDir },
  });
  return new Promise((resolveServer, rejectServer) => {
    let server: Server | null = null;
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      pending += text;
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith('@@ready ')) {
          server = { child, stats: null, ...(JSON.parse(line.slice(8)) as { url: string; origin: string; token: string }) };
          resolveServer(server);
        } else if (line.startsWith('@@stats ') && server) {
          server.stats = JSON.parse(line.slice(8)) as NonNullable<Server['stats']>;
          server.onStats?.(server.stats);
        } else if (line.trim() !== '') {
          log(`  server: ${line}`);
        }
      }
    });
    child.once('exit', (code) => {
      if (!server) rejectServer(new Error(`the server exited with code ${code} before it was ready`));
    });
  });
}

export function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Chromium's renderer processes among this process's descendants (other sessions may run Chromium too). */
export function rendererRss(): { sum: number; largest: number; all: number } {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  let sum = 0;
  let largest = 0;
  let all = 0;
  for (const pid of parents.keys()) {
    if (!isDescendant(pid)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes('chrom')) continue;
    const bytes = rssKb(pid) * 1024;
    all += bytes;
    if (cmdline.includes('--type=renderer')) {
      sum += bytes;
      largest = Math.max(largest, bytes);
    }
  }
  return { sum, largest, all };
}

export interface ServingTaskReport {
  label: string;
  ms: number;
  cpuMs?: number;
  bytes?: number;
}

export interface HeldTurn {
  cpuMs: number;
  tasks: number;
  taskCpuMs: number;
  top: string | null;
}

export const servingTaskCost = (task: ServingTaskReport) => task.cpuMs ?? task.ms;

export interface Phase {
  name: string;
  ms: number;
  serverRss: number;
  mainHeap: number;
  analysisHeap: number;
  rendererSum: number;
  rendererLargest: number;
  browserAll: number;
  /** Longest app.info round trip while the phase ran. */
  probeMs: number;
  /** Every app.info round trip while the phase ran (ms). */
  probes: number[];
  probeFailures: number;
  /** The serving thread's longest event-loop delay and GC pause in the reports received while the phase ran (ms). */
  loopDelayMs: number;
  gcPauseMs: number;
  /** The serving thread's most CPU time without turning its event loop (ms; load does not stretch it). */
  cpuTaskMs: number;
  /** The same, counting blocking calls too (wall time less time waiting for a core). */
  heldMs: number;
  /** What ran in the turn that took the most CPU. */
  heldTurn: HeldTurn | null;
  /** Its longest named synchronous task (dispatcher, carriers). */
  longestTask: ServingTaskReport | null;
  note: string;
  /** When it ran (performance.timeOrigin + performance.now(), ms); end is Infinity while it runs. */
  startedAt: number;
  endedAt: number;
}

/** One app.info round trip, timed in the prober's thread (absolute ms). */
interface Probe {
  sentAt: number;
  answeredAt: number;
  failure: string | null;
}

/**
 * The prober's own thread: app.info every 100 ms over HTTP, timed there, so a round trip measures
 * the server and not this process (which parses tens of MB of results on its main thread: when
 * the prober ran there, those parses counted as server stalls). Plain JavaScript: no loader needed.
 */
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const { request } = require('node:http');
const { origin, token } = workerData;
const body = JSON.stringify({ id: 1, method: 'app.info', params: {} });
const at = () => performance.timeOrigin + performance.now();
function once() {
  return new Promise((resolve, reject) => {
    const req = request(origin + '/api/call', {
      method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: 'Bearer ' + token },
    }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => (JSON.parse(Buffer.concat(chunks).toString('utf8')).ok ? resolve() : reject(new Error('app.info failed'))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => {
  for (;;) {
    const sentAt = at();
    let failure = null;
    try { await once(); } catch (error) { failure = error.message + (error.code ? ' (' + error.code + ')' : ''); }
    parentPort.postMessage({ sentAt, answeredAt: at(), failure });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
})();
`;

/** "3 named tasks, 2 ms CPU of them, most: event run.progress ×2". */
export function describeHeldTurn(turn: HeldTurn): string {
  return `${turn.tasks} named task${turn.tasks === 1 ? '' : 's'}, ${turn.taskCpuMs.toFixed(0)} ms CPU of them${turn.top ? `, most: ${turn.top}` : ''}`;
}

/** "label 12 ms CPU (40 ms wall, 3 MB)". */
export function describeServingTask(task: ServingTaskReport | null): string {
  if (!task) return '—';
  const cpu = task.cpuMs === undefined ? `${task.ms.toFixed(0)} ms wall` : `${task.cpuMs.toFixed(0)} ms CPU (${task.ms.toFixed(0)} ms wall`;
  return `${task.label} ${cpu}${task.bytes === undefined ? '' : `, ${mb(task.bytes)}`}${task.cpuMs === undefined ? '' : ')'}`;
}

const absoluteNow = () => performance.timeOrigin + performance.now();

export class Recorder {
  readonly phases: Phase[] = [];
  #current: Phase | null = null;
  readonly #server: Server;
  #timer: NodeJS.Timeout | null = null;
  #prober: Worker | null = null;
  /** Called with each probe as it arrives (a phase's end waits for the first probe sent after it). */
  #onProbe: ((probe: Probe) => void) | null = null;

  constructor(server: Server) {
    this.#server = server;
  }

  start(): void {
    this.#timer = setInterval(() => this.#sample(), 100);
    this.#prober = new Worker(PROBER, { eval: true, workerData: { origin: this.#server.origin, token: this.#server.token } });
    this.#prober.on('message', (probe: Probe) => this.#record(probe));
    // Each report covers the 250 ms before it: one arriving just after a step ends still counts in that step.
    this.#server.onStats = (stats) => {
      const at = absoluteNow();
      const last = this.phases.at(-1);
      const phases = [this.#current, last && at - last.endedAt < 250 ? last : null];
      for (const p of phases) {
        if (!p) continue;
        p.loopDelayMs = Math.max(p.loopDelayMs, stats.loopDelayMaxMs ?? 0);
        p.gcPauseMs = Math.max(p.gcPauseMs, stats.gcMaxMs ?? 0);
        p.cpuTaskMs = Math.max(p.cpuTaskMs, stats.cpuTaskMaxMs ?? 0);
        p.heldMs = Math.max(p.heldMs, stats.heldMaxMs ?? 0);
        if (stats.heldTurn && (!p.heldTurn || stats.heldTurn.cpuMs > p.heldTurn.cpuMs)) p.heldTurn = stats.heldTurn;
        const task = stats.longestTask;
        if (task && (!p.longestTask || servingTaskCost(task) > servingTaskCost(p.longestTask))) p.longestTask = task;
      }
    };
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    void this.#prober?.terminate();
    this.#prober = null;
  }

  async phase<T>(name: string, work: () => Promise<T>, note: (result: T) => string = () => ''): Promise<T> {
    const phase: Phase = {
      name,
      ms: 0,
      serverRss: 0,
      mainHeap: 0,
      analysisHeap: 0,
      rendererSum: 0,
      rendererLargest: 0,
      browserAll: 0,
      probeMs: 0,
      probes: [],
      probeFailures: 0,
      loopDelayMs: 0,
      gcPauseMs: 0,
      cpuTaskMs: 0,
      heldMs: 0,
      heldTurn: null,
      longestTask: null,
      note: '',
      startedAt: absoluteNow(),
      endedAt: Number.POSITIVE_INFINITY,
    };
    this.#current = phase;
    this.#sample();
    log(`${name} …`);
    const t0 = now();
    const result = await work();
    phase.ms = now() - t0;
    phase.endedAt = absoluteNow();
    this.#sample();
    phase.note = note(result);
    this.#current = null;
    this.phases.push(phase);
    await this.#probeSentAfter(phase.endedAt);
    log(
      `${name}: ${seconds(phase.ms)} s, server ${mb(phase.serverRss)}, app.info max ${phase.probeMs.toFixed(0)} ms, serving thread held ${phase.cpuTaskMs.toFixed(0)} ms CPU / ${phase.heldMs.toFixed(0)} ms with blocking${phase.heldTurn ? ` (that turn: ${describeHeldTurn(phase.heldTurn)})` : ''}${phase.longestTask ? ` (longest task: ${describeServingTask(phase.longestTask)})` : ''}${phase.note ? `; ${phase.note}` : ''}`,
    );
    return result;
  }

  #sample(): void {
    const p = this.#current;
    if (!p || this.#server.child.pid === undefined) return;
    p.serverRss = Math.max(p.serverRss, rssKb(this.#server.child.pid) * 1024);
    const stats = this.#server.stats;
    if (stats) {
      p.mainHeap = Math.max(p.mainHeap, stats.heapUsed);
      p.analysisHeap = Math.max(p.analysisHeap, stats.analysis?.heapUsed ?? 0);
    }
    const chromium = rendererRss();
    p.rendererSum = Math.max(p.rendererSum, chromium.sum);
    p.rendererLargest = Math.max(p.rendererLargest, chromium.largest);
    p.browserAll = Math.max(p.browserAll, chromium.all);
  }

  /**
   * app.info every 100 ms (in the prober's thread): how long the serving thread keeps a request
   * waiting. A round trip counts in the phase it was sent in and in the phase it was answered in:
   * a stall that begins at the end of one step (the import's commit) would otherwise be blamed on
   * the next step alone.
   */
  #record(probe: Probe): void {
    const during = (p: Phase, t: number) => t >= p.startedAt && t < p.endedAt;
    const phases = [...this.phases, ...(this.#current ? [this.#current] : [])].filter(
      (p) => during(p, probe.sentAt) || during(p, probe.answeredAt),
    );
    if (probe.failure !== null) {
      // Counted, not fatal: e.g. a kept-alive connection the server closed as it was reused.
      log(`app.info failed: ${probe.failure}`);
      for (const p of phases) p.probeFailures++;
    } else {
      const elapsed = probe.answeredAt - probe.sentAt;
      for (const p of phases) {
        p.probeMs = Math.max(p.probeMs, elapsed);
        p.probes.push(elapsed);
      }
    }
    this.#onProbe?.(probe);
  }

  /** Every probe sent during a phase has been answered once one sent after it arrives (one is in flight at a time). */
  #probeSentAfter(at: number): Promise<void> {
    if (!this.#prober) return Promise.resolve();
    return new Promise((resolve) => {
      const timeout = setTimeout(finish, 60_000);
      function finish() {
        clearTimeout(timeout);
        resolve();
      }
      this.#onProbe = (probe) => {
        if (probe.sentAt < at) return;
        this.#onProbe = null;
        finish();
      };
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The LabApi over HTTP, and its events

/**
 * One LabApi call over HTTP with node:http: fetch gives up on an answer after 300 s (undici's
 * headers timeout) and reuses kept-alive connections the server may be closing; neither should
 * decide a benchmark.
 */
export function call<T = unknown>(server: Server, method: string, params: unknown): Promise<T> {
  const body = JSON.stringify({ id: 1, method, params });
  return new Promise((resolveCall, rejectCall) => {
    const request = httpRequest(
      `${server.origin}/api/call`,
      {
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: `Bearer ${server.token}` },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', rejectCall);
        response.on('end', () => {
          try {
            const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              ok: boolean;
              result?: T;
              error?: { code: string; message: string };
            };
            if (envelope.ok) resolveCall(envelope.result as T);
            else rejectCall(new Error(`${method}: ${envelope.error?.code}: ${envelope.error?.message}`));
          } catch (error) {
            rejectCall(error);
          }
        });
      },
    );
    request.on('error', rejectCall);
    request.end(body);
  });
}

export interface EventFeed {
  /** Resolves with the first event from now on that matches. */
  next(match: (event: LabEvent) => boolean): Promise<LabEvent>;
  /** Calls the listener for every event; returns the unsubscribe function. */
  on(listener: (event: LabEvent) => void): () => void;
  close(): void;
}

export async function events(server: Server): Promise<EventFeed> {
  const socket = new WebSocket(`${server.origin.replace('http', 'ws')}/api/events`, ['cellshift.v1', `token.${server.token}`]);
  const listeners = new Set<(event: LabEvent) => void>();
  socket.on('message', (data) => {
    const event = JSON.parse(String(data)) as LabEvent;
    for (const listener of [...listeners]) listener(event);
  });
  await new Promise((resolveOpen, rejectOpen) => {
    socket.once('open', resolveOpen);
    socket.once('error', rejectOpen);
  });
  const on = (listener: (event: LabEvent) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return {
    on,
    next: (match) =>
      new Promise((resolveEvent) => {
        const off = on((event) => {
          if (!match(event)) return;
          off();
          resolveEvent(event);
        });
      }),
    close: () => socket.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Browsing

/** LabApi calls the page has in flight (the views load their data through /api/call). */
function trackCalls(page: Page): () => number {
  let inFlight = 0;
  const isCall = (url: string) => url.includes('/api/call');
  page.on('request', (r) => {
    if (isCall(r.url())) inFlight++;
  });
  const done = (r: { url(): string }) => {
    if (isCall(r.url())) inFlight--;
  };
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  return () => inFlight;
}

/** Waits until the page has had no LabApi call in flight for 300 ms, then for two frames to be drawn. */
async function settled(page: Page, inFlight: () => number): Promise<void> {
  let quietSince = now();
  while (now() - quietSince < 300) {
    await delay(25);
    if (inFlight() > 0) quietSince = now();
  }
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

async function openView(page: Page, view: (typeof VIEWS)[number], inFlight: () => number): Promise<string> {
  await page.click(`nav a[data-view="${view}"]`);
  await page.waitForFunction((v) => window.location.hash === `#/${v}`, view);
  await page.locator('main h1').first().waitFor();
  await settled(page, inFlight);
  const points = view === 'latents' ? `${await waitForPoints(page)} points, ` : '';
  return `${points}${await domSize(page)}`;
}

async function domSize(page: Page): Promise<string> {
  const elements = await page.evaluate(() => document.getElementsByTagName('*').length);
  return `${elements.toLocaleString('en-US')} DOM elements`;
}

/** The latent scatter's point count (data-points, kept by the Chart.js and the WebGL scatter), once it differs from `not`. */
async function waitForPoints(page: Page, not = 0): Promise<number> {
  const handle = await page.waitForFunction(
    (previous) => {
      const n = Number(document.querySelector('main [data-points]')?.getAttribute('data-points') ?? 0);
      return n > 0 && n !== previous ? n : null;
    },
    not,
    { timeout: 600_000 },
  );
  return (await handle.jsonValue()) as number;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!existsSync(join(DIST, 'main', 'node', 'server', 'server.js')) || !existsSync(join(DIST, 'renderer', 'index.html'))) {
    fail('dist/ is missing or incomplete: run "npm run build" first');
  }
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'cellshift-load-'));
  mkdirSync(dir, { recursive: true });
  let server: Server | null = null;
  let browser: Browser | null = null;
  const cleanup = () => {
    server?.child.kill('SIGTERM');
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${o.samples} samples × ${LANDMARKS} genes, ${o.drugs} drugs, in ${dir}`);
    const t0 = now();
    const files = await writeDataset(dir, loadLayout(o));
    const generateMs = now() - t0;
    log(`wrote ${files.gctx} (${mb(statSync(files.gctx).size)}) and LINCS tables in ${seconds(generateMs)} s`);

    const startT = now();
    server = await startServerChild(dir);
    const startMs = now() - startT;
    const live = server;
    const recorder = new Recorder(live);
    recorder.start();
    const feed = await events(live);

    // The page never names paths: files are granted from the folder this launch allowed (--allow-dir).
    const { folders } = await call<{ folders: { folderId: string; path: string }[] }>(live, 'files.sources', {});
    const folderId = folders[0]?.folderId ?? '';
    const grant = async (path: string) =>
      (await call<{ grantId: string }>(live, 'files.grant', { folderId, path: relative(dir, path) })).grantId;
    const request = {
      files: {
        matrix: await grant(files.gctx),
        sigInfo: await grant(files.sigInfo),
        pertInfo: await grant(files.pertInfo),
        geneInfo: await grant(files.geneInfo),
      },
      environmentKey: 'drug+cell',
      name: `Load test: ${o.samples} L1000-shaped samples`,
    };
    const dataset = await recorder.phase(
      'import (preview + import)',
      async () => {
        const preview = await call<{ samples: number; environments: number }>(live, 'imports.preview', { request });
        const { jobId } = await call<{ jobId: string }>(live, 'imports.start', { request });
        const done = await feed.next((e) => (e.type === 'job.finished' || e.type === 'job.failed') && e.jobId === jobId);
        if (done.type === 'job.failed') throw new Error(`import failed: ${done.error.message}`);
        return { ...(done.type === 'job.finished' ? (done.result as { id: string }) : { id: '' }), preview };
      },
      (d) => `${d.preview.samples} samples, ${d.preview.environments} environments`,
    );

    const run = await recorder.phase(
      `train Environment VAE 978→500→200, ${o.epochs} epoch${o.epochs > 1 ? 's' : ''}`,
      async () => {
        let samplesPerSecond = 0;
        const off = feed.on((e) => {
          if (e.type === 'run.epoch') samplesPerSecond = e.samplesPerSecond;
        });
        const started = await call<{ id: string }>(live, 'runs.start', {
          datasetId: dataset.id,
          config: { model: { family: 'env-vae' }, epochs: o.epochs },
        });
        const final = await feed.next(
          (e) =>
            e.type === 'run.status' && e.run.id === started.id && ['completed', 'failed', 'diverged', 'cancelled'].includes(e.run.status),
        );
        off();
        if (final.type === 'run.status' && final.run.status !== 'completed')
          throw new Error(`training ${final.run.status}: ${final.run.message}`);
        const detail = await call<{ backend: string | null }>(live, 'runs.get', { id: started.id });
        return { id: started.id, samplesPerSecond, backend: detail.backend };
      },
      (r) => `${r.backend}, ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} samples/s`,
    );

    await recorder.phase(
      `projection: PCA of all ${o.samples} samples`,
      async () => {
        const t = now();
        const p = await call<{ points: number }>(live, 'analysis.projection', {
          runId: run.id,
          method: 'pca',
          maxPoints: Math.min(o.samples, 200_000),
        });
        return { points: p.points, ms: now() - t, bytes: JSON.stringify(p).length };
      },
      (p) => `${p.points} points, ${mb(p.bytes)} of JSON`,
    );
    if (o.umapPoints > 0) {
      await recorder.phase(
        `projection: UMAP of ${Math.min(o.umapPoints, o.samples)} samples`,
        async () => {
          const p = await call<{ points: number }>(live, 'analysis.projection', { runId: run.id, method: 'umap', maxPoints: o.umapPoints });
          return p.points;
        },
        (n) => `${n} points`,
      );
    }
    await recorder.phase(
      'prior shifts + top genes',
      async () => {
        const shift = await call<{ report: { environments: unknown[] } | null }>(live, 'analysis.priorShift', { runId: run.id });
        await call(live, 'analysis.topGenes', { runId: run.id, latent: 0, count: 25 });
        return shift.report?.environments.length ?? 0;
      },
      (n) => `${n} environments`,
    );
    if (o.evaluate) {
      await recorder.phase(
        'unseen-environment evaluation',
        async () => (await call<{ environments: string[] }>(live, 'evaluation.unseen', { runId: run.id })).environments.length,
        (n) => `${n} held-out environments`,
      );
    }

    if (o.browser) {
      const b = await launchBrowser();
      browser = b;
      const page = await b.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.setDefaultTimeout(600_000);
      const inFlight = trackCalls(page);
      await recorder.phase('browse: open the app', async () => {
        await page.goto(live.url);
        await page.getByTestId('dataset-row').first().waitFor();
        await settled(page, inFlight);
        return '';
      });
      for (const view of VIEWS) {
        await recorder.phase(
          `browse: ${view}`,
          () => openView(page, view, inFlight),
          (note) => note,
        );
      }
      await recorder.phase(
        'browse: latents → UMAP',
        async () => {
          const pca = await waitForPoints(page);
          await page.getByTestId('projection-method').selectOption('umap');
          // The UI asks for a UMAP of at most 3,000 points: with more samples, the count changes.
          const points = o.samples > 3000 ? await waitForPoints(page, pca) : 0;
          await settled(page, inFlight);
          return `${points || (await waitForPoints(page))} points, ${await domSize(page)}`;
        },
        (note) => note,
      );
      if (errors.length > 0) log(`page errors: ${errors.slice(0, 5).join(' | ')}`);
    }
    recorder.stop();
    feed.close();
    const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${live.child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    printTable(recorder.phases, { generateMs, startMs, hwm, o });
  } finally {
    await browser?.close();
    if (server) {
      const exited = new Promise((r) => server?.child.once('exit', r));
      server.child.kill('SIGTERM');
      await exited;
    }
    cleanup();
  }
}

function printTable(phases: Phase[], extra: { generateMs: number; startMs: number; hwm: number; o: Options }): void {
  const header = ['phase', 'duration', 'peak RSS main', 'analysis heap', 'renderer RSS (sum / largest)', 'app.info max', 'notes'];
  const rows = phases.map((p) => [
    p.name,
    `${seconds(p.ms)} s`,
    mb(p.serverRss),
    mb(p.analysisHeap),
    p.rendererSum > 0 ? `${mb(p.rendererSum)} / ${mb(p.rendererLargest)}` : '—',
    `${p.probeMs.toFixed(0)} ms${p.probeFailures > 0 ? ` (${p.probeFailures} failed)` : ''}`,
    p.note,
  ]);
  const total = phases.reduce((sum, p) => sum + p.ms, 0);
  const max = (f: (p: Phase) => number) => Math.max(0, ...phases.map(f));
  rows.push([
    'total (peaks over all phases)',
    `${seconds(total)} s`,
    mb(max((p) => p.serverRss)),
    mb(max((p) => p.analysisHeap)),
    max((p) => p.rendererSum) > 0 ? `${mb(max((p) => p.rendererSum))} / ${mb(max((p) => p.rendererLargest))}` : '—',
    `${max((p) => p.probeMs).toFixed(0)} ms`,
    `server VmHWM ${mb(extra.hwm)}; Chromium all processes ${mb(max((p) => p.browserAll))}`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c] as number)).join(' | ')} |`;
  console.log();
  console.log(
    `Load test: ${extra.o.samples} samples × ${LANDMARKS} genes; data written in ${seconds(extra.generateMs)} s (bench process), server started in ${seconds(extra.startMs)} s.`,
  );
  console.log('Peak RSS main = the server process (main thread + training and analysis workers: threads share it), polled every 100 ms.');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log(
    `main-thread heap peak ${mb(max((p) => p.mainHeap))}; machine load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

/** The 99th percentile of app.info round trips (ms), 0 without any. */
export function probeP99(phase: Phase): number {
  const sorted = [...phase.probes].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0;
}

// Run only as a script: bench/lincs.ts imports the machinery above.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
