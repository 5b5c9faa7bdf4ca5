// Latents scatter at 100k points, in headless Chromium (WebGL through SwiftShader, i.e. on the
// CPU: a GPU only makes drawing faster):
//   node --import tsx bench/scatter.ts [--samples 100000] [--keep]
// 1. Stores the demo's synthetic design with --samples samples (200 genes, 24 environments) and
//    trains a small VAE for one epoch, in-process, on a temporary database.
// 2. Serves that database with the built CLI (npm run build first), opens the Latents view with
//    "up to 200,000 points", and times: projection request to first frame; hover to tooltip
//    (first one builds the quadtree); frames while wheel-zooming and drag-panning (frame
//    intervals as the page sees them); a lasso over about half the points to its stored
//    selection; differential expression between two such selections.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { presetDemo } from '../src-main/node/data/synthetic.js';
import { importSyntheticConfig } from '../src-main/node/lab/import/synthetic.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { TrainingConfig } from '../src-main/shared/api/training.js';
import { launchBrowser } from '../test/e2e/harness.js';

const args = process.argv.slice(2);
const samples = Number(args[args.indexOf('--samples') + 1] || 100_000) || 100_000;
const keep = args.includes('--keep');
const dir = mkdtempSync(join(tmpdir(), 'cellshift-bench-scatter-'));
const databasePath = join(dir, 'lab.db');
const results: [string, string][] = [];
const note = (what: string, value: string) => {
  results.push([what, value]);
  console.log(`${what}: ${value}`);
};
const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;

let server: ChildProcess | null = null;
try {
  // 1. data and a model
  let t0 = performance.now();
  const service = await openLab({ databasePath, carrier: 'browser', seedDemo: false });
  const perEnvironment = Math.ceil(samples / 24);
  const dataset = importSyntheticConfig(
    service.store,
    { ...presetDemo(0), samplesPerEnvironment: perEnvironment },
    { name: `Bench: ${perEnvironment * 24} samples`, description: 'bench/scatter.ts', preset: 'demo' },
  );
  note('dataset', `${dataset.nSamples.toLocaleString()} samples × ${dataset.nGenes} genes, stored in ${ms(t0)}`);
  t0 = performance.now();
  const run = service.training.start(
    dataset.id,
    TrainingConfig.parse({ model: { family: 'vae', hiddenUnits: 32, latentDim: 8 }, epochs: 1, batchSize: 1024 }),
    'bench',
  );
  while (!['completed', 'failed', 'diverged', 'cancelled'].includes(service.store.runs.get(run.id).status)) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  note('training (1 epoch)', `${service.store.runs.get(run.id).status} in ${ms(t0)}`);
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
  await page.goto(url);
  await page.getByTestId('dataset-row').first().waitFor();
  await page.click('nav a[data-view="latents"]');
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="latent-scatter"]')?.getAttribute('data-frames') ?? 0) > 0,
    null,
    {
      timeout: 120_000,
    },
  );
  const expected = Math.min(200_000, perEnvironment * 24);
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
  await page.getByTestId('scatter-reset').click();

  // Lassos over the left and right halves of the plot.
  await page.getByTestId('scatter-mode-lasso').click();
  const lasso = async (x0: number, x1: number, name: string) => {
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
    const selection = page.locator(`[data-testid="selection"][data-name="${name}"]`);
    await selection.waitFor({ timeout: 120_000 });
    // biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, not a DOM node
    note(`lasso → stored selection (${name})`, `${(await selection.innerText()).match(/[\d,]+ samples/)?.[0]} in ${ms(start)}`);
  };
  await lasso(0.01, 0.25, 'Selection 1');
  await lasso(0.25, 0.99, 'Selection 2');
  t0 = performance.now();
  await page.getByTestId('run-differential').click();
  await page.getByTestId('de-row').first().waitFor({ timeout: 300_000 });
  note('differential expression (two selections, 200 genes)', ms(t0));
  await browser.close();

  console.log('\n| step | result |\n| --- | --- |');
  for (const [what, value] of results) console.log(`| ${what} | ${value} |`);
} finally {
  server?.kill('SIGTERM');
  if (!keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
