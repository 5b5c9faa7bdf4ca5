// Latents scatter at 100k points, in headless Chromium (WebGL through SwiftShader, i.e. on the
// CPU: a GPU only makes drawing faster):
//   node --import tsx bench/scatter.ts [--samples 100000] [--environments 24] [--latent 8] [--rounds 2] [--keep]
//   node --import tsx bench/scatter.ts --lab DIR [--open-only]      (an existing lab: DIR/lab.db, e.g. a copy of bench:lincs --keep-db's)
// --no-precompute leaves the Latents results unstored before the server starts (the previous
// cold open, for reference); --open-only stops after opening, opening again and reloading.
// 1. Stores the demo's synthetic design with --samples samples (200 genes, 24 environments, or
//    --environments drawn as the demo draws its own) and trains a small Environment VAE
//    (--latent latents) for one epoch, in-process, on a temporary database.
// 2. Serves that database with the built CLI (npm run build first), opens the Latents view (time
//    from the click to the scatter's first frame and both prior-shift heatmaps drawn, and the RSS
//    of Chromium's processes: renderers summed, the largest, and all Chromium processes), scrolls
//    the heatmap to its middle through the overview, then selects "up to 200,000 points", and
//    times: projection request to first frame; hover to tooltip
//    (first one builds the quadtree); frames while wheel-zooming and drag-panning (frame
//    intervals as the page sees them), and zoom steps dispatched inside the page, each once the
//    last is drawn, for the drawing's own frame rate — with frames that move the last exact frame
//    (the view's default), and as references in the same run the same with the frame asked for
//    by an effect (the previous code's pacing) and every frame exact, in alternating rounds —
//    and the time from the gesture's end to its exact frame; a lasso over
//    about half the points to its stored selection; differential expression between two such selections.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Rng } from '../src-main/node/data/random.js';
import { presetDemo, randomEnvironments } from '../src-main/node/data/synthetic.js';
import { importSyntheticConfig } from '../src-main/node/lab/import/synthetic.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { TrainingConfig } from '../src-main/shared/api/training.js';
import { launchBrowser } from '../test/e2e/harness.js';
import { rendererRss } from './load.js';
import { flagOptions, usageError } from './options.js';

const { args, int, value } = flagOptions('scatter');
const samples = int('--samples', 100_000);
const environmentCount = int('--environments', 24, 2);
const latentDim = int('--latent', 8);
const rounds = int('--rounds', 2);
/** UMAPs to time in the view, by their points (e.g. --umap 3000,10000,20000); none by default. */
const umapSizes = (args[args.indexOf('--umap') + 1] ?? '')
  .split(',')
  .filter(() => args.includes('--umap'))
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
/** An existing lab to open instead of generating one (its newest run with a checkpoint is inspected); never deleted. */
const labDir = value('--lab');
const precompute = !args.includes('--no-precompute');
const openOnly = args.includes('--open-only');
const keep = args.includes('--keep') || labDir !== undefined;
const dir = labDir ?? mkdtempSync(join(tmpdir(), 'cellshift-bench-scatter-'));
const databasePath = join(dir, 'lab.db');
if (labDir !== undefined && !existsSync(databasePath)) usageError('scatter', `--lab ${labDir}: there is no lab.db in it`);
const results: [string, string][] = [];
const note = (what: string, value: string) => {
  step = `after ${what}`;
  results.push([what, value]);
  console.log(`${what}: ${value}`);
};
const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;
const mb = (bytes: number) => `${Math.round(bytes / 1e6).toLocaleString()} MB`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`load average at the start: ${load()}`);
// A run that stops without finishing says so (an earlier run exited with code 0 and no word after
// one of its steps): where it was, and why when a promise failed with nobody awaiting it.
let step = 'starting';
let finished = false;
process.on('unhandledRejection', (reason) => {
  console.error(`bench:scatter: a promise failed unhandled during "${step}":`, reason);
  process.exitCode = 1;
});
process.on('exit', (code) => {
  if (!finished) console.error(`bench:scatter: exited (code ${code}) before finishing, during "${step}"`);
});

function printTable(): void {
  console.log('\n| step | result |\n| --- | --- |');
  for (const [what, value] of results) console.log(`| ${what} | ${value} |`);
  console.log(`load average at the end: ${load()}`);
}

let server: ChildProcess | null = null;
try {
  // 1. data and a model (or those of --lab)
  let t0 = performance.now();
  const service = await openLab({ databasePath, carrier: 'browser', seedDemo: false });
  let nSamples: number;
  let nGenes: number;
  if (labDir === undefined) {
    const perEnvironment = Math.ceil(samples / environmentCount);
    const demo = presetDemo(0);
    // More environments drawn as the demo draws its 23 (a random latent each, offsets and noise).
    const environments =
      environmentCount === 24
        ? demo.environments
        : [
            { name: 'control', interventions: [] },
            ...randomEnvironments(new Rng(0).fork('bench-environments'), environmentCount - 1, demo.nLatents, {
              offsetStd: 5,
              noiseFraction: 0.35,
              noiseStdRange: [0.25, 4],
              noiseMeanStd: 1,
              namePrefix: 'drug',
            }),
          ];
    const dataset = importSyntheticConfig(
      service.store,
      { ...demo, environments, samplesPerEnvironment: perEnvironment },
      { name: `Bench: ${perEnvironment * environmentCount} samples`, description: 'bench/scatter.ts', preset: 'demo' },
    );
    note('dataset', `${dataset.nSamples.toLocaleString()} samples × ${dataset.nGenes} genes, stored in ${ms(t0)}`);
    t0 = performance.now();
    const run = service.training.start(
      dataset.id,
      TrainingConfig.parse({ model: { family: 'env-vae', hiddenUnits: 32, latentDim }, epochs: 1, batchSize: 1024 }),
      'bench',
    );
    while (!['completed', 'failed', 'diverged', 'cancelled'].includes(service.store.runs.get(run.id).status)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    note(`training (Environment VAE, ${latentDim} latents, 1 epoch)`, `${service.store.runs.get(run.id).status} in ${ms(t0)}`);
    nSamples = dataset.nSamples;
    nGenes = dataset.nGenes;
  } else {
    const run = service.store.runs.list().find((r) => r.epochsDone > 0);
    if (!run) usageError('scatter', `--lab ${labDir}: its lab has no run with a checkpoint to inspect`);
    const dataset = service.store.datasets.get(run.datasetId);
    nSamples = dataset.nSamples;
    nGenes = dataset.nGenes;
    const config = service.store.runs.config(run.id) as { model?: { latentDim?: number } };
    const environments = service.store.db.prepare('SELECT count(*) FROM environments WHERE dataset_id = ?').pluck().get(dataset.id);
    note(
      'lab',
      `${databasePath}: ${nSamples.toLocaleString()} samples × ${nGenes} genes, ${Number(environments).toLocaleString()} environments; run "${run.name}" (${run.model}, ${config.model?.latentDim ?? '?'} latents, ${run.epochsDone} epochs)`,
    );
  }
  // What the Latents view opens with, computed as a served lab does in the background once a run
  // completes (so the open below is cold: a new server, the model never loaded, the results stored).
  if (precompute) {
    t0 = performance.now();
    service.latents.start();
    await service.latents.idle();
    const stored = service.store.db.prepare('SELECT method, points, length(arrays) AS bytes FROM latents_results').all() as {
      method: string;
      points: number;
      bytes: number;
    }[];
    note(
      'precompute of the Latents opening (in-process, as the served lab does in the background)',
      `${ms(t0)}; stored ${stored.map((r) => `${r.method}${r.points ? ` ${r.points}` : ''} ${mb(r.bytes)}`).join(', ') || 'nothing'}`,
    );
  } else {
    service.store.db.exec('DELETE FROM latents_results');
    note('precompute', 'skipped (--no-precompute): the served lab computes the opening in the background as the view asks');
  }
  await closeLab(service);

  // 2. the app in Chromium
  const cli = join(process.cwd(), 'dist', 'main', 'node', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error('dist/ is missing: run "npm run build" first');
  server = spawn(process.execPath, [cli, 'serve', '--json', '--port', '0', '--db', databasePath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let json = '';
    createInterface({ input: server?.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      json += line;
      try {
        resolve((JSON.parse(json) as { url: string }).url);
      } catch {
        // more lines to come
      }
    });
    server?.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // On Datasets whatever view the lab remembers (a lab kept by an earlier run was left on Latents).
  await page.goto(`${url.replace(/#.*$/, '')}#/datasets`);
  await page.getByTestId('dataset-row').first().waitFor();

  // Opening the Latents view: the scatter's first frame and both heatmaps with rows drawn.
  let peak = rendererRss();
  const poll = setInterval(() => {
    const now = rendererRss();
    peak = { sum: Math.max(peak.sum, now.sum), largest: Math.max(peak.largest, now.largest), all: Math.max(peak.all, now.all) };
  }, 200);
  const devtools = await page.context().newCDPSession(page);
  const memory = async (label: string) => {
    const now = rendererRss();
    // The page's JavaScript heap, live and reserved: what of the renderer's RSS is the view's objects.
    const heap = (await devtools.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number };
    // Then what of it is live: a full collection (after the RSS was read; later peaks may be lower for it).
    await devtools.send('HeapProfiler.collectGarbage');
    const live = (await devtools.send('Runtime.getHeapUsage')) as { usedSize: number };
    note(
      label,
      `renderers ${mb(now.sum)} (largest ${mb(now.largest)}), all Chromium ${mb(now.all)}; peak so far ${mb(peak.sum)} (largest ${mb(peak.largest)}), all ${mb(peak.all)}; page JS heap ${mb(heap.usedSize)} used of ${mb(heap.totalSize)}, ${mb(live.usedSize)} live after a collection`,
    );
  };
  await memory('Chromium RSS before opening Latents');
  /** The scatter's first frame and both prior-shift heatmaps with rows. */
  const latentsDrawn = () =>
    page.waitForFunction(
      () => {
        const frames = Number(document.querySelector('[data-testid="latent-scatter"]')?.getAttribute('data-frames') ?? 0);
        const maps = Array.from(document.querySelectorAll('[data-testid="prior-shift"] [data-testid="heatmap"]')) as HTMLElement[];
        return frames > 0 && maps.length === 2 && maps.every((m) => Number(m.dataset.heldRows) > 0);
      },
      null,
      { timeout: 300_000 },
    );
  // Each LabApi call the view makes while opening: method, when it was sent and how long it took,
  // and the bytes of its answer; calls still unanswered when a step's calls are listed are waited
  // for (60 s at most), so a bulk download that outlives the first frame is counted in its step.
  let calls: { method: string; sent: number; ms: number; bytes: number }[] = [];
  const started = new Map<unknown, { at: number; t0: number }>();
  let unanswered = 0;
  page.on('request', (request) => {
    if (!request.url().includes('/api/call')) return;
    started.set(request, { at: performance.now(), t0 });
    unanswered++;
  });
  const answered = (request: { postData(): string | null; response(): Promise<{ body(): Promise<Buffer> } | null> }, failed: boolean) => {
    const sent = started.get(request);
    if (sent === undefined) return;
    started.delete(request);
    const method = (/"method":"([^"]+)"/.exec(request.postData() ?? '') ?? [])[1] ?? '?';
    const ms = performance.now() - sent.at;
    void (failed ? Promise.resolve(null) : request.response().then((response) => response?.body().catch(() => null) ?? null)).then(
      (body) => {
        calls.push({ method: failed ? `${method} (failed)` : method, sent: sent.at - sent.t0, ms, bytes: body?.length ?? 0 });
        unanswered--;
      },
    );
  };
  page.on('requestfinished', (request) => answered(request, false));
  page.on('requestfailed', (request) => answered(request, true));
  const noteCalls = async () => {
    const waitFrom = performance.now();
    while (unanswered > 0 && performance.now() - waitFrom < 60_000) await new Promise((resolve) => setTimeout(resolve, 50));
    let bytes = 0;
    for (const c of calls.sort((a, b) => a.sent - b.sent)) {
      bytes += c.bytes;
      note(`  call ${c.method}`, `sent at ${Math.round(c.sent)} ms, answered in ${Math.round(c.ms)} ms, ${(c.bytes / 1e6).toFixed(2)} MB`);
    }
    note(
      '  calls of the step',
      `${calls.length} calls, ${(bytes / 1e6).toFixed(2)} MB answered${unanswered > 0 ? `, ${unanswered} unanswered after 60 s` : ''}`,
    );
    calls = [];
  };
  t0 = performance.now();
  await page.click('nav a[data-view="latents"]');
  const heatmapsDrawn = page
    .waitForFunction(
      () => {
        const maps = Array.from(document.querySelectorAll('[data-testid="prior-shift"] [data-testid="heatmap"]')) as HTMLElement[];
        return maps.length === 2 && maps.every((m) => Number(m.dataset.heldRows) > 0);
      },
      null,
      { timeout: 300_000 },
    )
    .then(() => performance.now() - t0);
  const scatterDrawn = page
    .waitForFunction(() => Number(document.querySelector('[data-testid="latent-scatter"]')?.getAttribute('data-frames') ?? 0) > 0, null, {
      timeout: 300_000,
    })
    .then(() => performance.now() - t0);
  await latentsDrawn();
  const heatmap = page.getByTestId('prior-shift').getByTestId('heatmap').first();
  note(
    `open Latents cold: a new server, the model not loaded, ${precompute ? 'the opening stored' : 'nothing stored'} (PCA of up to 20,000 points, ${await heatmap.getAttribute('data-rows')} heatmap rows, ${await heatmap.getAttribute('data-held-rows')} held)`,
    `${ms(t0)} (heatmaps with rows ${Math.round(await heatmapsDrawn)} ms, scatter's first frame ${Math.round(await scatterDrawn)} ms)`,
  );
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="heatmap-overview"]')?.getAttribute('data-block') ?? 0) > 0,
    null,
    {
      timeout: 300_000,
    },
  );
  note('… and the heatmap overview drawn', ms(t0));
  await noteCalls();
  await memory('Chromium RSS with Latents open');
  // Back from another view, as a user comes back: each other view's own calls are made (and
  // answered, or not) first, so they are in the lab's queues when Latents opens again.
  const backFrom = async (view: string, label: string, shown: () => Promise<unknown>) => {
    t0 = performance.now();
    await page.click(`nav a[data-view="${view}"]`);
    await shown();
    note(`${label} shown`, ms(t0));
    t0 = performance.now();
    await page.click('nav a[data-view="latents"]');
    await latentsDrawn();
    note(`back from ${label} to Latents: scatter and heatmaps drawn`, ms(t0));
    await noteCalls();
  };
  await backFrom('datasets', 'Datasets', () => page.getByTestId('dataset-row').first().waitFor());
  await backFrom('runs', 'Runs', () => page.getByTestId('run-row').first().waitFor());
  await backFrom('environments', 'Environments (its list of every environment)', () =>
    page.getByTestId('environments-table').waitFor({ timeout: 300_000 }),
  );
  await memory('Chromium RSS with Latents open again');
  // Switching the dataset (and the run, when the lab has two runs of it) and back, in the view.
  /** A picker's shown value and another of its options (undefined when it has one). */
  const pickerChoices = async (testId: string) => {
    const picker = page.getByTestId(testId);
    const shown = await picker.inputValue();
    const values = await picker.locator('option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    return { picker, shown, other: values.find((v) => v !== shown) };
  };
  const { picker: datasetPicker, shown: shownDataset, other: otherDataset } = await pickerChoices('dataset-picker');
  if (otherDataset) {
    await datasetPicker.selectOption(otherDataset);
    await page.waitForTimeout(1000);
    t0 = performance.now();
    await datasetPicker.selectOption(shownDataset);
    await latentsDrawn();
    note('switch to another dataset (1 s) and back: scatter and heatmaps drawn', ms(t0));
    await noteCalls();
  } else note('switch dataset and back', 'not measured: the lab has one dataset');
  const { picker: runPicker, shown: shownRun, other: otherRun } = await pickerChoices('latents-run');
  if (otherRun) {
    t0 = performance.now();
    await runPicker.selectOption(otherRun);
    await latentsDrawn();
    note('switch to another run: scatter and heatmaps drawn', ms(t0));
    t0 = performance.now();
    await runPicker.selectOption(shownRun);
    await latentsDrawn();
    note('… and back', ms(t0));
    await noteCalls();
  } else note('switch run and back', 'not measured: the dataset has one run with a checkpoint');
  // Again after a reload of the page, which comes back to Latents: the model still cached in the
  // worker, but no projection kept in the page (the open above drew the one kept from the first).
  t0 = performance.now();
  await page.reload();
  await latentsDrawn();
  note('reload the page on Latents (no projection kept in the page: read from the store, or computed again)', ms(t0));
  await noteCalls();
  page.removeAllListeners('request');
  page.removeAllListeners('requestfinished');
  page.removeAllListeners('requestfailed');
  if (openOnly) {
    await memory('Chromium RSS at the end (--open-only)');
    clearInterval(poll);
    await browser.close();
    printTable();
    finished = true;
    cleanUp();
    process.exit(0);
  }
  const overview = page.getByTestId('heatmap-overview').first();
  if ((await overview.count()) > 0) {
    const bounds = await overview.boundingBox();
    if (bounds) {
      t0 = performance.now();
      await overview.click({ position: { x: 4, y: bounds.height / 2 } });
      await page.waitForFunction(
        () => {
          const m = document.querySelector('[data-testid="prior-shift"] [data-testid="heatmap"]') as HTMLElement;
          const first = Number(m.dataset.firstRow);
          const from = Number(m.dataset.heldFrom);
          return first > 0 && from <= first && first < from + Number(m.dataset.heldRows);
        },
        null,
        { timeout: 60_000 },
      );
      note(`heatmap jump to row ${await heatmap.getAttribute('data-first-row')} → its rows fetched and drawn`, ms(t0));
    }
  }
  // UMAPs in the view (analysis worker, C kNN and layout through the addon when built): request to first frame.
  for (const size of umapSizes) {
    t0 = performance.now();
    await page.getByTestId('projection-method').selectOption('umap');
    await page.getByTestId('umap-points').selectOption(String(size));
    const points = Math.min(size, nSamples);
    await page.waitForFunction(
      (n) => {
        const el = document.querySelector('[data-testid="latent-scatter"]') as HTMLElement | null;
        return el?.dataset.points === String(n) && Number(el.dataset.frames ?? 0) > 0 && !document.body.textContent?.includes('Computing…');
      },
      points,
      { timeout: 600_000 },
    );
    note(`UMAP of ${points.toLocaleString()} points (${latentDim} latents) to first frame`, ms(t0));
  }
  if (umapSizes.length > 0) await page.getByTestId('projection-method').selectOption('pca');
  const expected = Math.min(200_000, nSamples);
  t0 = performance.now();
  await page.getByTestId('projection-points').selectOption('200000');
  await page.waitForFunction(
    (n) => {
      const el = document.querySelector('[data-testid="latent-scatter"]') as HTMLElement | null;
      return el?.dataset.points === String(n) && Number(el.dataset.frames ?? 0) > 0;
    },
    expected,
    { timeout: 300_000 },
  );
  note(`projection of ${expected.toLocaleString()} points to first frame`, ms(t0));
  await memory('Chromium RSS with 200,000 points');

  // Back to the scatter (the heatmap's overview scrolled the page).
  await page.evaluate('window.scrollTo(0, 0)');
  await page.getByTestId('scatter-canvas').scrollIntoViewIfNeeded();
  const box = await page.getByTestId('scatter-canvas').boundingBox();
  if (!box) throw new Error('no canvas');
  const centre = { x: box.x + box.width * 0.3, y: box.y + box.height * 0.5 };

  // Hover: the first builds the quadtree. Page functions are passed as strings: tsx would wrap
  // named functions in a helper the page does not have.
  const point = (await page.evaluate(`(() => {
    const source = document.querySelector('[data-testid="scatter-canvas"]');
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const context = copy.getContext('2d');
    context.drawImage(source, 0, 0);
    const data = context.getImageData(0, 0, copy.width, copy.height).data;
    const rect = source.getBoundingClientRect();
    const scale = source.width / rect.width;
    for (let py = Math.floor(copy.height * 0.3); py < copy.height * 0.7; py++)
      for (let px = Math.floor(copy.width * 0.1); px < copy.width * 0.9; px++)
        if (data[(py * copy.width + px) * 4 + 3] > 200) return { x: rect.left + px / scale, y: rect.top + py / scale };
    return null;
  })()`)) as { x: number; y: number } | null;
  if (!point) throw new Error('no painted point found');
  for (const label of ['hover → tooltip (first, builds the index)', 'hover → tooltip (next)']) {
    await page.mouse.move(box.x + 2, box.y + 2);
    await page.waitForFunction(() => !document.querySelector('[data-testid="scatter-tooltip"]'));
    const start = performance.now();
    await page.mouse.move(point.x, point.y);
    await page.getByTestId('scatter-tooltip').waitFor();
    note(label, ms(start));
  }

  // Frames while zooming and panning, as requestAnimationFrame sees them.
  const frameStats = async (label: string, act: () => Promise<void>) => {
    await page.evaluate(`(() => {
      window.__frames = [];
      window.__stop = false;
      const tick = (t) => {
        window.__frames.push(t);
        if (!window.__stop) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    })()`);
    const drawnBefore = Number(await page.getByTestId('latent-scatter').getAttribute('data-frames'));
    const start = performance.now();
    await act();
    const elapsed = performance.now() - start;
    const frames = (await page.evaluate('window.__stop = true, window.__frames')) as number[];
    const drawn = Number(await page.getByTestId('latent-scatter').getAttribute('data-frames')) - drawnBefore;
    const gaps = frames
      .slice(1)
      .map((t, i) => t - (frames[i] as number))
      .sort((a, b) => a - b);
    const q = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))]?.toFixed(1) ?? '?';
    note(label, `${drawn} redraws in ${Math.round(elapsed)} ms; frame interval median ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms`);
  };
  await frameStats('wheel zoom (40 steps)', async () => {
    await page.mouse.move(centre.x, centre.y);
    for (let i = 0; i < 40; i++) await page.mouse.wheel(0, i < 20 ? -120 : 120);
  });
  await frameStats('drag pan (60 moves)', async () => {
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down();
    for (let i = 0; i < 60; i++) await page.mouse.move(centre.x + 3 * i, centre.y + i);
    await page.mouse.up();
  });
  // The drawing's own rate: wheel events dispatched inside the page, each once the last is drawn,
  // for 3 s (above, Playwright's input round trips pace the events, not the drawing), without
  // marks; then the time from the gesture's end (d3-zoom ends a wheel gesture 150 ms after its
  // last event) to the exact frame. Moved snapshots (the default) and every frame exact (the
  // reference), alternating.
  const sustained = async (exact: boolean, pacing: 'event' | 'effect') => {
    await page.getByTestId('scatter-exact-frames').setChecked(exact);
    await page.getByTestId('latent-scatter').evaluate((el, p) => {
      (el as HTMLElement).dataset.pacing = p;
    }, pacing);
    await page.getByTestId('scatter-reset').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid="latent-scatter"]') as HTMLElement).dataset.exact === 'true');
    return (await page.evaluate(`(async () => {
      const canvas = document.querySelector('[data-testid="scatter-canvas"]');
      const plot = document.querySelector('[data-testid="latent-scatter"]');
      const rect = canvas.getBoundingClientRect();
      const before = Number(plot.dataset.frames);
      const exactBefore = Number(plot.dataset.exactFrames);
      const start = performance.now();
      let steps = 0;
      let lastEvent = start;
      let exactAtLastEvent = exactBefore;
      while (performance.now() - start < 3000) {
        const deltaY = steps++ % 20 < 10 ? -60 : 60;
        const drawn = Number(plot.dataset.frames);
        lastEvent = performance.now();
        exactAtLastEvent = Number(plot.dataset.exactFrames);
        canvas.dispatchEvent(new WheelEvent('wheel', { deltaY, clientX: rect.x + rect.width / 2, clientY: rect.y + rect.height / 2, bubbles: true, cancelable: true }));
        // The next event only once this one is drawn (an earlier one would cancel its frame).
        while (Number(plot.dataset.frames) === drawn && performance.now() - start < 10000) await new Promise((resolve) => requestAnimationFrame(resolve));
      }
      const elapsed = performance.now() - start;
      const frames = Number(plot.dataset.frames) - before;
      const exactFrames = Number(plot.dataset.exactFrames) - exactBefore;
      // The first exact frame after the last event: the gesture's closing one with moved snapshots,
      // the event's own when every frame is exact (there the closing frame can merge with it when a
      // frame takes longer than d3-zoom's 150 ms wheel end, and waiting for another timed out).
      const closing = exactAtLastEvent + 1;
      while (!(plot.dataset.exact === 'true' && Number(plot.dataset.exactFrames) >= closing) && performance.now() - lastEvent < 10000)
        await new Promise((resolve) => requestAnimationFrame(resolve));
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return { frames, exactFrames, elapsed, steps, settle: performance.now() - lastEvent };
    })()`)) as { frames: number; exactFrames: number; elapsed: number; steps: number; settle: number };
  };
  // Frames asked for by the zoom event itself (the view's default) and, as the previous code's
  // reference, by an effect a microtask later (data-pacing="effect").
  const configurations = [
    { name: 'moved', exact: false, pacing: 'event', label: 'snapshot moved while zooming' },
    { name: 'moved, previous pacing', exact: false, pacing: 'effect', label: 'snapshot moved, frame asked by an effect (previous code)' },
    { name: 'exact', exact: true, pacing: 'event', label: 'every frame exact (reference)' },
  ] as const;
  const rates = new Map<string, number[]>(configurations.map((c) => [c.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const c of configurations) {
      const r = await sustained(c.exact, c.pacing);
      const fps = (1000 * r.frames) / r.elapsed;
      rates.get(c.name)?.push(fps);
      note(
        `zoom driven inside the page (3 s), ${c.label}, round ${round}`,
        `${r.frames} frames (${r.exactFrames} exact) in ${Math.round(r.elapsed)} ms = ${fps.toFixed(1)} fps (${r.steps} wheel events); last event → exact frame ${Math.round(r.settle)} ms`,
      );
    }
  }
  const best = (name: string) => Math.max(...(rates.get(name) ?? []));
  note(
    'zoom fps, best round: moved snapshot / previous pacing / every frame exact',
    `${best('moved').toFixed(1)} / ${best('moved, previous pacing').toFixed(1)} / ${best('exact').toFixed(1)} = ${(best('moved') / best('moved, previous pacing')).toFixed(1)}× and ${(best('moved') / best('exact')).toFixed(1)}×`,
  );
  await page.getByTestId('latent-scatter').evaluate((el) => {
    delete (el as HTMLElement).dataset.pacing;
  });
  await page.getByTestId('scatter-exact-frames').setChecked(false);
  await page.getByTestId('scatter-reset').click();

  // Lassos over the left and right halves of the plot.
  await page.getByTestId('scatter-mode-lasso').click();
  // A kept lab (--lab) may hold named selections already: each lasso is the next one listed.
  const lasso = async (x0: number, x1: number) => {
    const before = await page.getByTestId('selection').count();
    const start = performance.now();
    const corners: [number, number][] = [
      [box.x + box.width * x0, box.y + 5],
      [box.x + box.width * x1, box.y + 5],
      [box.x + box.width * x1, box.y + box.height - 5],
      [box.x + box.width * x0, box.y + box.height - 5],
      [box.x + box.width * x0, box.y + 6],
    ];
    await page.mouse.move(...(corners[0] as [number, number]));
    await page.mouse.down();
    for (const c of corners.slice(1)) await page.mouse.move(c[0], c[1], { steps: 5 });
    await page.mouse.up();
    const selection = page.getByTestId('selection').nth(before);
    await selection.waitFor({ timeout: 120_000 });
    const name = await selection.getAttribute('data-name');
    // biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, not a DOM node
    note(`lasso → stored selection (${name})`, `${(await selection.innerText()).match(/[\d,]+ samples/)?.[0]} in ${ms(start)}`);
  };
  await lasso(0.01, 0.25);
  await lasso(0.25, 0.99);
  t0 = performance.now();
  await page.getByTestId('run-differential').click();
  await page.getByTestId('de-row').first().waitFor({ timeout: 300_000 });
  note(`differential expression (two selections, ${nGenes} genes)`, ms(t0));
  await memory('Chromium RSS at the end');
  clearInterval(poll);
  await browser.close();

  printTable();
  finished = true;
} finally {
  cleanUp();
}

function cleanUp(): void {
  server?.kill('SIGTERM');
  server = null;
  if (!keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
