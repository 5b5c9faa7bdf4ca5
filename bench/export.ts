// Figure export timings in Chromium (browser mode, the built app): trains a small model on the
// demo dataset (1,920 samples), then exports the loss chart (Chart.js line), the latent scatter
// (Chart.js, one point per sample) and the prior-shift heatmap (drawn) in every format, and prints
// the wall time from "Save" to the finished download, with the file size.
//   npm run build && node --import tsx bench/export.ts [--repeat 3]
import { statSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { launchBrowser, startApp } from '../test/e2e/harness.js';

const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1]) || 3;

async function exportOnce(page: Page, figure: Locator, format: string, dpi: number): Promise<{ ms: number; bytes: number }> {
  await figure.getByTestId('export-button').click();
  const menu = figure.getByTestId('export-menu');
  await menu.getByTestId(`export-format-${format}`).check();
  if (format === 'png') await menu.getByTestId('export-dpi').selectOption(String(dpi));
  await menu.getByTestId('export-caption').setChecked(true);
  const started = performance.now();
  const [download] = await Promise.all([page.waitForEvent('download'), menu.getByTestId('export-save').click()]);
  const path = await download.path();
  const ms = performance.now() - started;
  return { ms, bytes: path ? statSync(path).size : 0 };
}

const app = await startApp();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(app.url);
  await page.click('nav a[data-view="train"]');
  await page.getByTestId('hidden-units').fill('32');
  await page.getByTestId('latent-dim').fill('8');
  await page.getByTestId('epochs').fill('2');
  await page.getByTestId('start-training').click();
  await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 120_000 });
  const loss = page.getByTestId('training-monitor').getByTestId('line-chart').first();
  const figures: [string, () => Promise<Locator>][] = [
    ['loss chart (line, 2 series)', async () => loss],
    [
      'latent scatter (1,920 points)',
      async () => {
        await page.click('nav a[data-view="latents"]');
        await page.waitForFunction(() => document.querySelector('[data-testid="latent-scatter"]')?.getAttribute('data-points') === '1920');
        return page.getByTestId('scatter-figure');
      },
    ],
    [
      'prior-shift heatmap (24 × 8)',
      async () => {
        const heatmap = page.getByTestId('prior-shift').locator('[role="figure"]').first();
        await heatmap.waitFor();
        return heatmap;
      },
    ],
  ];
  console.log(`best of ${repeat} (first export of the session also loads fonts and jsPDF)`);
  console.log('figure'.padEnd(32), 'format'.padEnd(12), 'ms'.padStart(8), 'KiB'.padStart(9));
  for (const [name, locate] of figures) {
    const figure = await locate();
    for (const [format, dpi] of [
      ['svg', 0],
      ['png', 300],
      ['png', 600],
      ['pdf', 0],
    ] as const) {
      const runs = [];
      for (let i = 0; i < repeat; i++) runs.push(await exportOnce(page, figure, format, dpi));
      const best = runs.reduce((a, b) => (a.ms < b.ms ? a : b));
      const label = format === 'png' ? `png ${dpi}dpi` : format;
      console.log(name.padEnd(32), label.padEnd(12), best.ms.toFixed(0).padStart(8), (best.bytes / 1024).toFixed(0).padStart(9));
    }
  }
} finally {
  await browser.close();
  await app.stop();
}
