// Full-LINCS bench (issue 13): every step a user takes, at GSE92742 size, through the running server.
//   npm run build && npm run bench:lincs -- [--signatures 473647] [--compounds 20000] [--umap-points 20000]
//                                           [--cache DIR] [--keep-db] [--reuse-lab DIR [--retrain]]
//   --signatures 720216 for LINCS 2020's level5_beta_trt_cp; a small N (e.g. 20000) for a quick run.
//   --reuse-lab DIR starts the server on DIR/lab.db (a lab an earlier --keep-db run left, or a copy
//   of one) and skips the import when it holds the bench's dataset, and training when it also holds
//   a completed Env-VAE run of it (--retrain trains a new run anyway); DIR is kept.
//
// Data: a LINCS-layout Level-5 GCTX of N signatures × 978 landmark genes (float32, written with
// bench/load.ts's writer), 71 cell lines, `--compounds` compounds whose structures are the real
// ones in ../shared/fixtures/real-l1000/chemCPA_lincs_drugs_smiles.csv (read at run time; beyond
// its 17,775 rows, homologues of them), each compound profiled in 1–4 cell lines as in LINCS, so
// environments keyed by drug × cell line number ~2.5 per compound (≥ 40k at 20k compounds).
// Only the landmark rows are written (the 23 GB full 12,328-row matrix is not): import reads the
// landmarks either way. The files are written once into the cache folder (default
// ~/.cache/cellshift-bench/lincs-n<N>-c<C>, outside the repository) and reused on later runs.
//
// Steps (LabApi over HTTP, as the renderer calls it): import with structures (preview + job), split
// preview, one Env-VAE epoch, unseen-environment evaluation with every baseline, PCA and UMAP
// projections, the Latents view's data as it asks on opening (the heatmaps' first rows, packed
// sample columns, selections, top genes), a lasso of 100k points saved as a selection (sample
// indices, as the renderer sends them) with differential expression, predict for a new SMILES, and
// export of each figure's data as CSV (the whole prior shift fetched as the heatmap's export does;
// the renderer's toCsv). Per step: time, server RSS (and its anonymous and file-backed parts, and
// the thread count, at the peak), analysis worker heap, app.info round trips sampled every 100 ms
// (max and p99; target < 50 ms), and the serving thread's longest stretch without turning its
// event loop by its own CPU time (load does not stretch it) with its longest named task. No
// browser: the renderer's figures are bench:load's and bench:scatter's.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { decodeFloat32Rows, decodeProjection, type PriorShiftResult, type ProjectionResult } from '../src-main/shared/api/analysis.js';
import {
  type CodedColumn,
  decodeCodedColumn,
  decodePackedStrings,
  encodeSampleIndices,
  type SampleColumnsResult,
  type SampleIdsAtResult,
} from '../src-main/shared/api/packed.js';
import { toCsv } from '../src-renderer/src/lib/csv.js';
import { REAL_L1000_DIR } from '../test/fixtures/shared.js';
import { LANDMARKS } from './lincs-layout.js';
import {
  call,
  type DatasetLayout,
  DIST,
  describeHeldTurn,
  describeServingTask,
  events,
  type Files,
  log,
  mb,
  mix,
  now,
  type Phase,
  probeP99,
  Recorder,
  type Server,
  sampleWith,
  seconds,
  startServerChild,
  writeDataset,
} from './load.js';
import { integerOption, usageError } from './options.js';

const GSE92742_SIGNATURES = 473_647;
const CELL_LINES = 71;
const LASSO_POINTS = 100_000;
const SMILES_FILE = join(REAL_L1000_DIR, 'chemCPA_lincs_drugs_smiles.csv');
// A molecule absent from the compound table (gefitinib): the "new SMILES" a user predicts for.
const NEW_SMILES = 'COc1cc2ncnc(Nc3ccc(F)c(Cl)c3)c2cc1OCCCN1CCOCC1';

interface Options {
  signatures: number;
  compounds: number;
  umapPoints: number;
  cache: string | null;
  keepDb: boolean;
  reuseLab: string | null;
  retrain: boolean;
}

function fail(message: string): never {
  return usageError('lincs', message);
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    signatures: GSE92742_SIGNATURES,
    compounds: 20_000,
    umapPoints: 20_000,
    cache: null,
    keepDb: false,
    reuseLab: null,
    retrain: false,
  };
  const integer = (flag: string, value: string | undefined, min: number) => integerOption('lincs', flag, value, min);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--signatures') o.signatures = integer(flag, argv[++i], 1000);
    else if (flag === '--compounds') o.compounds = integer(flag, argv[++i], 10);
    else if (flag === '--umap-points') o.umapPoints = integer(flag, argv[++i], 0);
    else if (flag === '--cache') o.cache = resolve(argv[++i] ?? fail('--cache needs a path'));
    else if (flag === '--keep-db') o.keepDb = true;
    else if (flag === '--reuse-lab') o.reuseLab = resolve(argv[++i] ?? fail('--reuse-lab needs the folder of a lab.db'));
    else if (flag === '--retrain') o.retrain = true;
    else fail(`unknown option ${flag}`);
  }
  if (o.reuseLab && !existsSync(join(o.reuseLab, 'lab.db'))) fail(`${join(o.reuseLab, 'lab.db')} does not exist`);
  if (o.retrain && !o.reuseLab) fail('--retrain goes with --reuse-lab');
  return o;
}

/** The chemCPA LINCS compounds ("BRD id, SMILES" per line), then homologues of them up to `count`. */
function readCompounds(count: number): { id: string; smiles: string }[] {
  if (!existsSync(SMILES_FILE)) fail(`${SMILES_FILE} is missing: this bench needs ../shared beside the repository`);
  const real = readFileSync(SMILES_FILE, 'utf8')
    .split('\n')
    .map((line) => line.split(',').map((cell) => cell.trim()))
    .filter((cells): cells is [string, string] => cells.length === 2 && cells[0] !== '' && cells[1] !== '')
    .map(([id, smiles]) => ({ id, smiles }));
  return Array.from({ length: count }, (_, d) => {
    const base = real[d % real.length] as { id: string; smiles: string };
    const extra = Math.floor(d / real.length);
    return extra === 0 ? base : { id: `${base.id}-H${extra}`, smiles: 'C'.repeat(extra) + base.smiles };
  });
}

function lincsLayout(o: Options): DatasetLayout {
  const compounds = readCompounds(o.compounds);
  const cells = Array.from({ length: CELL_LINES }, (_, c) => `CL${String(c + 1).padStart(2, '0')}`);
  // Compound d is profiled in 1–4 cell lines starting at a hashed one.
  const cellCount = (d: number) => 1 + (mix(7 * d + 3) % 4);
  const cellOf = (d: number, j: number) => (mix(7 * d + 5) + 17 * j) % CELL_LINES;
  return {
    samples: o.signatures,
    cells,
    compounds,
    gctxName: `lincs-n${o.signatures}.gctx`,
    sampleOf: (s) => {
      const h = mix(2 * s + 1);
      if ((h >>> 8) % 10 === 0) return sampleWith(s, h % CELL_LINES, null, compounds, cells);
      const drug = (h >>> 12) % compounds.length;
      return sampleWith(s, cellOf(drug, (h >>> 4) % cellCount(drug)), drug, compounds, cells);
    },
  };
}

/** The cached data set, written on first use; a `complete` marker says a previous write finished. */
async function cachedDataset(o: Options): Promise<{ dir: string; files: Files; writtenMs: number | null }> {
  const dir = o.cache ?? join(homedir(), '.cache', 'cellshift-bench', `lincs-n${o.signatures}-c${o.compounds}`);
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, 'complete');
  const layout = lincsLayout(o);
  const files: Files = {
    gctx: join(dir, layout.gctxName),
    sigInfo: join(dir, 'sig_info.txt'),
    pertInfo: join(dir, 'pert_info.txt'),
    geneInfo: join(dir, 'gene_info.txt'),
  };
  if (existsSync(marker)) return { dir, files, writtenMs: null };
  const t0 = now();
  const written = await writeDataset(dir, layout);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return { dir, files: written, writtenMs: now() - t0 };
}

/** CSV of a list of flat objects (header = the first object's keys): the figure data a user exports. */
function objectsCsv(rows: Record<string, unknown>[]): string {
  const header = Object.keys(rows[0] ?? {});
  return toCsv(
    header,
    rows.map((r) => header.map((k) => (typeof r[k] === 'number' || typeof r[k] === 'string' ? (r[k] as string | number) : null))),
  );
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!existsSync(join(DIST, 'main', 'node', 'server', 'server.js')) || !existsSync(join(DIST, 'renderer', 'index.html'))) {
    fail('dist/ is missing or incomplete: run "npm run build" first');
  }
  log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${o.signatures} signatures × ${LANDMARKS} landmarks, ${o.compounds} compounds`);
  const data = await cachedDataset(o);
  log(
    `${data.writtenMs === null ? 'reused' : `wrote (${seconds(data.writtenMs)} s)`} ${data.files.gctx} (${mb(statSync(data.files.gctx).size)})`,
  );
  const labDir = o.reuseLab ?? mkdtempSync(join(tmpdir(), 'cellshift-lincs-'));
  let server: Server | null = null;
  let recorder: Recorder | null = null;
  let memory: MemoryWatch | null = null;
  try {
    server = await startServerChild(labDir, data.dir);
    const live = server;
    recorder = new Recorder(live);
    memory = new MemoryWatch(live.child.pid as number);
    const watch = memory;
    const recorded = recorder;
    // Each step's memory is watched alongside the recorder's figures.
    const rec = {
      phase: <T>(name: string, work: () => Promise<T>, note?: (result: T) => string) =>
        watch.during(name, () => recorded.phase(name, work, note)),
    };
    recorded.start();
    watch.start();
    const feed = await events(live);
    const job = async <T>(jobId: string): Promise<T> => {
      const done = await feed.next((e) => (e.type === 'job.finished' || e.type === 'job.failed') && e.jobId === jobId);
      if (done.type === 'job.failed') throw new Error(done.error.message);
      return (done.type === 'job.finished' ? done.result : null) as T;
    };

    const { folders } = await call<{ folders: { folderId: string }[] }>(live, 'files.sources', {});
    const folderId = folders[0]?.folderId ?? '';
    const grant = async (path: string) =>
      (await call<{ grantId: string }>(live, 'files.grant', { folderId, path: relative(data.dir, path) })).grantId;
    const request = {
      files: {
        matrix: await grant(data.files.gctx),
        sigInfo: await grant(data.files.sigInfo),
        pertInfo: await grant(data.files.pertInfo),
        geneInfo: await grant(data.files.geneInfo),
      },
      environmentKey: 'drug+cell',
      name: `LINCS-size bench: ${o.signatures} signatures`,
    };
    const reused = await reusedDataset(live, request.name);
    if (reused) log(`reusing dataset ${reused.id} (${reused.nSamples} samples) of ${join(labDir, 'lab.db')}: no import`);
    const dataset =
      reused ??
      (await rec.phase(
        'import with structures (preview + import)',
        async () => {
          const preview = await call<{ samples: number; environments: number }>(live, 'imports.preview', { request });
          const { jobId } = await call<{ jobId: string }>(live, 'imports.start', { request });
          return { ...(await job<{ id: string }>(jobId)), preview };
        },
        (d) => `${d.preview.samples} samples, ${d.preview.environments} environments`,
      ));
    await rec.phase(
      'split preview (held-out drugs)',
      async () =>
        call<{ trainSamples: number; heldOutSamples: number }>(live, 'splits.preview', {
          datasetId: dataset.id,
          split: { kind: 'held-out-drugs', fraction: 0.2, seed: 0 },
        }),
      (p) => `${p.trainSamples} train, ${p.heldOutSamples} held out; ${JSON.stringify(p).length.toLocaleString()} bytes of JSON`,
    );
    const trained = o.retrain ? null : await reusedRun(live, dataset.id);
    if (trained) log(`reusing run ${trained.id}: no training`);
    const run =
      trained ??
      (await rec.phase(
        'train Env-VAE 978→500→200, 1 epoch',
        async () => {
          const started = await call<{ id: string }>(live, 'runs.start', {
            datasetId: dataset.id,
            config: { model: { family: 'env-vae' }, epochs: 1 },
          });
          const final = await feed.next(
            (e) =>
              e.type === 'run.status' && e.run.id === started.id && ['completed', 'failed', 'diverged', 'cancelled'].includes(e.run.status),
          );
          if (final.type === 'run.status' && final.run.status !== 'completed')
            throw new Error(`training ${final.run.status}: ${final.run.message}`);
          return (await call<{ id: string; backend: string | null }>(live, 'runs.get', { id: started.id })) ?? { id: started.id };
        },
        (r) => `${r.backend}`,
      ));
    const evaluation = await rec.phase(
      'unseen-environment evaluation, all baselines',
      async () => call<{ environments: string[]; scores: Record<string, unknown>[] }>(live, 'evaluation.unseen', { runId: run.id }),
      (e) => `${e.environments.length} held-out environments`,
    );
    const pca = await rec.phase(
      'projection: PCA',
      async () =>
        decodeProjection(
          await call<ProjectionResult>(live, 'analysis.projection', {
            runId: run.id,
            method: 'pca',
            maxPoints: Math.min(o.signatures, 200_000),
          }),
        ),
      (p) => `${p.points} points`,
    );
    if (o.umapPoints > 0) {
      await rec.phase(
        `projection: UMAP of ${Math.min(o.umapPoints, o.signatures)}`,
        async () => call<ProjectionResult>(live, 'analysis.projection', { runId: run.id, method: 'umap', maxPoints: o.umapPoints }),
        (p) => `${p.points} points`,
      );
    }
    // What the Latents view asks for as it opens (besides the projection, timed above): the heatmaps'
    // first rows, each sample's environment as a packed column, the named selections, the top genes
    // of a latent, and the ids of the drawn points only (here the PCA's, packed). The whole prior shift is asked for only when its heatmap is exported (below).
    const latents = await rec.phase(
      'Latents data (first heatmap rows, sample columns, selections, top genes)',
      async () => {
        const [rows, columns, ids, selections, top] = await Promise.all([
          call<unknown>(live, 'analysis.priorShiftRows', { runId: run.id, query: '', first: 0, count: 400, block: 1 }),
          call<SampleColumnsResult>(live, 'datasets.sampleColumns', { datasetId: dataset.id, columns: ['environment key'] }),
          call<SampleIdsAtResult>(live, 'datasets.sampleIdsAt', { datasetId: dataset.id, sampleIndices: pca.packedSample }),
          call<unknown[]>(live, 'selections.list', { datasetId: dataset.id }),
          call<unknown>(live, 'analysis.topGenes', { runId: run.id, latent: 0, count: 25 }),
        ]);
        const environments = decodeCodedColumn(columns.columns[0] as CodedColumn, columns.nSamples).levels.length;
        const bytes = JSON.stringify([rows, columns, ids, selections, top]).length;
        const pointIds = decodePackedStrings(ids.ids, 'sample ids');
        return { ids: new Map(Array.from(pca.sample, (s, i) => [s, pointIds[i] as string])), bytes, environments };
      },
      (l) => `${l.environments} environments, ${mb(l.bytes)} of JSON`,
    );
    // The lasso: the 100k points leftmost on the PCA scatter against every other projected point,
    // as the Latents view does it: each lasso saved as a named selection (its points' sample
    // indices, packed), then the two selections compared.
    const byX = Array.from(pca.sample, (s, i) => ({ s, x: pca.x[i] as number })).sort((a, b) => a.x - b.x);
    const lassoCount = Math.min(LASSO_POINTS, Math.floor(byX.length / 2));
    const idOf = (s: number) => latents.ids.get(s) ?? String(s);
    const differential = await rec.phase(
      `lasso of ${lassoCount} points → differential expression`,
      async () => {
        const lasso = async (name: string, points: { s: number }[]) =>
          call<{ id: string }>(live, 'selections.save', {
            datasetId: dataset.id,
            name,
            sampleIndices: encodeSampleIndices(points.map((p) => p.s)),
          });
        // A reused lab keeps the selections of earlier runs, and names are unique per dataset.
        const suffix = o.reuseLab ? ` ${new Date().toISOString()}` : '';
        const a = await lasso(`lasso${suffix}`, byX.slice(0, lassoCount));
        const b = await lasso(`rest${suffix}`, byX.slice(lassoCount));
        return call<{ genes: Record<string, unknown>[] }>(live, 'analysis.differential', {
          datasetId: dataset.id,
          groupA: { selectionId: a.id },
          groupB: { selectionId: b.id },
        });
      },
      (d) => `${d.genes.length} genes`,
    );
    await rec.phase('predict for a new SMILES', async () =>
      call(live, 'predict.drug', { runId: run.id, smiles: NEW_SMILES, cellLine: 'CL01' }),
    );
    await rec.phase(
      'export each figure’s data (CSV)',
      async () => {
        const report = (await call<PriorShiftResult>(live, 'analysis.priorShift', { runId: run.id })).report;
        const mean = report ? decodeFloat32Rows(report.mean, report.latentDim) : [];
        const csv = [
          report
            ? toCsv(
                ['environment', ...Array.from({ length: report.latentDim }, (_, k) => `z${k}`)],
                report.environments.map((e, i) => [e.key, ...(mean[i] ?? [])]),
              )
            : '',
          toCsv(
            ['sample', 'x', 'y'],
            Array.from(pca.sample, (s, i) => [idOf(s), pca.x[i] as number, pca.y[i] as number]),
          ),
          objectsCsv(differential.genes),
          objectsCsv(evaluation.scores),
        ];
        return csv.reduce((sum, text) => sum + text.length, 0);
      },
      (bytes) => `${mb(bytes)} of CSV (prior-shift heatmap with its data, PCA scatter, DE table, evaluation scores)`,
    );
    recorded.stop();
    watch.stop();
    feed.close();
    const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${live.child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    printTable(recorded.phases, o, data.dir, hwm);
    watch.print();
  } catch (error) {
    // What ran before the failure is still worth seeing.
    if (recorder) printTable(recorder.phases, o, data.dir, 0);
    memory?.print();
    throw error;
  } finally {
    recorder?.stop();
    memory?.stop();
    if (server) {
      const child = server.child;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (!o.keepDb && !o.reuseLab) rmSync(labDir, { recursive: true, force: true });
  }
}

/** The bench's dataset in a reused lab (by its name), if there. */
async function reusedDataset(server: Server, name: string): Promise<{ id: string; nSamples: number } | null> {
  const datasets = await call<{ id: string; name: string; nSamples: number }[]>(server, 'datasets.list', {});
  return datasets.find((d) => d.name === name) ?? null;
}

/** A completed Env-VAE run of the dataset in a reused lab, if there. */
async function reusedRun(server: Server, datasetId: string): Promise<{ id: string } | null> {
  const runs = await call<{ id: string; model: string; status: string }[]>(server, 'runs.list', { datasetId });
  return runs.find((r) => r.model === 'env-vae' && r.status === 'completed') ?? null;
}

interface StepMemory {
  name: string;
  /** At the step's highest RSS: the anonymous and file-backed parts and the number of threads (MB, MB, count). */
  rss: number;
  anon: number;
  file: number;
  threads: number;
  /** The process's VmHWM when the step ended. */
  hwmAfter: number;
}

/**
 * /proc/<pid>/status every 100 ms: where the server's memory is at each step's peak. Anonymous is
 * heap (JS, ArrayBuffers, malloc, SQLite's page cache); file-backed is code and mapped files (SQLite
 * maps nothing: mmap_size is 0).
 */
class MemoryWatch {
  readonly steps: StepMemory[] = [];
  readonly #pid: number;
  #current: StepMemory | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(pid: number) {
    this.#pid = pid;
  }

  start(): void {
    this.#timer = setInterval(() => this.#sample(), 100);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async during<T>(name: string, work: () => Promise<T>): Promise<T> {
    const step: StepMemory = { name, rss: 0, anon: 0, file: 0, threads: 0, hwmAfter: 0 };
    this.#current = step;
    this.#sample();
    try {
      return await work();
    } finally {
      this.#sample();
      step.hwmAfter = this.#status().VmHWM ?? 0;
      this.#current = null;
      this.steps.push(step);
    }
  }

  print(): void {
    if (this.steps.length === 0) return;
    console.log();
    console.log('Server memory at each step’s RSS peak (anonymous = heaps, buffers, malloc; file = code, mapped files):');
    console.log('| step | RSS peak | anonymous | file-backed | threads | VmHWM after |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const s of this.steps) {
      console.log(`| ${s.name} | ${mb(s.rss)} | ${mb(s.anon)} | ${mb(s.file)} | ${s.threads} | ${mb(s.hwmAfter)} |`);
    }
  }

  #status(): Record<string, number> {
    const fields: Record<string, number> = {};
    try {
      for (const line of readFileSync(`/proc/${this.#pid}/status`, 'utf8').split('\n')) {
        const m = /^(\w+):\s+(\d+)( kB)?$/.exec(line);
        if (m) fields[m[1] as string] = Number(m[2]) * (m[3] ? 1024 : 1);
      }
    } catch {
      // the server has exited
    }
    return fields;
  }

  #sample(): void {
    const step = this.#current;
    if (!step) return;
    const s = this.#status();
    if ((s.VmRSS ?? 0) <= step.rss) return;
    step.rss = s.VmRSS ?? 0;
    step.anon = s.RssAnon ?? 0;
    step.file = s.RssFile ?? 0;
    step.threads = s.Threads ?? 0;
  }
}

function printTable(phases: Phase[], o: Options, cache: string, hwm: number): void {
  const header = [
    'step',
    'time',
    'server RSS peak',
    'analysis heap peak',
    'app.info max / p99',
    'serving loop delay / GC max / heap',
    'serving thread held: CPU / with blocking; longest named task',
    'notes',
  ];
  const over = (p: Phase) => (p.probeMs > 50 ? ' (over 50 ms)' : '');
  const rows = phases.map((p) => [
    p.name,
    `${seconds(p.ms)} s`,
    mb(p.serverRss),
    mb(p.analysisHeap),
    `${p.probeMs.toFixed(0)} / ${probeP99(p).toFixed(0)} ms${over(p)}${p.probeFailures > 0 ? `, ${p.probeFailures} failed` : ''}`,
    `${p.loopDelayMs.toFixed(0)} / ${p.gcPauseMs.toFixed(0)} ms / ${mb(p.mainHeap)}`,
    `${p.cpuTaskMs.toFixed(0)} / ${p.heldMs.toFixed(0)} ms${Math.max(p.cpuTaskMs, p.heldMs) > 50 ? ' (over 50 ms)' : ''}${p.heldTurn ? ` (${describeHeldTurn(p.heldTurn)})` : ''}; ${describeServingTask(p.longestTask)}`,
    p.note,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c] as number)).join(' | ')} |`;
  console.log();
  console.log(
    `bench:lincs: ${o.signatures} signatures × ${LANDMARKS} landmarks, ${o.compounds} compounds, ${CELL_LINES} cell lines; data in ${cache}`,
  );
  console.log('Server RSS = the server process (main thread + its worker threads, which share it), polled every 100 ms.');
  console.log(
    "Serving loop delay / GC max = the server main thread's longest event-loop delay (perf_hooks, 10 ms resolution), GC pause and JS heap peak.",
  );
  console.log(
    "Serving thread held = its most CPU time (schedstat) between two turns of its event loop, and the same stretch's wall time less its wait for a core (CPU plus blocking calls): what load does not stretch (target < 50 ms); longest named task = the dispatcher's or a carrier's synchronous part that took the most CPU.",
  );
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log(
    `total ${seconds(phases.reduce((sum, p) => sum + p.ms, 0))} s; server VmHWM ${mb(hwm)}; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

await main();
