/// <reference lib="dom" />
// Publication exports in Chromium against browser mode: a training curve as SVG, PNG at 300 dpi
// and PDF, each carrying the run's provenance; a table as CSV with provenance lines; the theme
// toggle (persisted across reloads) and the keyboard shortcuts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Download, Page } from 'playwright-core';
import { readPngDpi, readPngSize, readPngText } from '../../src-renderer/src/lib/export/png.js';
import { readSvgProvenance } from '../../src-renderer/src/lib/export/svg-metadata.js';
import { SMILES, writeLincsFixture } from '../fixtures/lincs.js';
import { type App, closeAppPage, openAppPage, openView as openViewOf, SPARSE_DEMO, screenshot, screenshotDir } from './harness.js';

/** Exported files are kept next to the screenshots, to look at. */
const exportDir = join(screenshotDir, '..', 'exports');

/** A PDF literal string from the document information dictionary, unescaped and decoded. */
function pdfInfo(pdf: Uint8Array, key: string): string {
  const text = new TextDecoder('latin1').decode(pdf);
  const start = text.indexOf(`/${key} (`);
  assert.ok(start >= 0, `PDF has no /${key}`);
  const bytes: number[] = [];
  for (let i = start + key.length + 3; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      bytes.push(text.charCodeAt(++i));
      continue;
    }
    if (c === 0x29) break;
    bytes.push(c);
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    let out = '';
    for (let i = 2; i + 1 < bytes.length; i += 2) out += String.fromCharCode(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
    return out;
  }
  return String.fromCharCode(...bytes);
}

describe('figure and table export, theme, shortcuts', () => {
  let app: App;
  let browser: Browser;
  let page: Page;
  let runId = '';
  let contentHash = '';
  const consoleErrors: string[] = [];
  const fixtureDir = mkdtempSync(join(tmpdir(), 'cellshift-e2e-export-'));

  /** A LabApi call from the page, with the launch token the page keeps. */
  async function api<T>(method: string, params: unknown): Promise<T> {
    const response = await page.evaluate(
      async ([m, p]) => {
        const token = sessionStorage.getItem('cellshift.token') ?? '';
        const r = await fetch('/api/call', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({ id: 1, method: m, params: p }),
        });
        return r.json();
      },
      [method, params] as const,
    );
    const envelope = response as { ok: boolean; result?: T; error?: { message: string } };
    if (!envelope.ok) throw new Error(`${method}: ${envelope.error?.message}`);
    return envelope.result as T;
  }

  /** Uploads a file the way the page does (the lab opens no path the page names) and returns its grant id. */
  async function uploadFromPage(path: string): Promise<string> {
    const reply = await page.evaluate(
      async ([name, bytes]) => {
        const token = sessionStorage.getItem('cellshift.token') ?? '';
        const r = await fetch(`/api/files/upload?name=${encodeURIComponent(name)}`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/octet-stream', Authorization: `Bearer ${token}` },
          body: new Uint8Array(bytes),
        });
        return r.json();
      },
      [basename(path), [...readFileSync(path)]] as const,
    );
    const envelope = reply as { ok: boolean; result?: { grantId: string }; error?: { message: string } };
    if (!envelope.ok || !envelope.result) throw new Error(`upload of ${path}: ${envelope.error?.message}`);
    return envelope.result.grantId;
  }

  async function until<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value) return value;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`Timed out waiting for ${what}`);
  }

  before(async () => {
    // Written against the structure-free demo (its sample counts, columns and environments).
    ({ app, browser, page } = await openAppPage(
      consoleErrors,
      { viewport: { width: 1400, height: 900 }, colorScheme: 'light' },
      { args: SPARSE_DEMO },
    ));
  });

  after(async () => {
    await closeAppPage({ app, browser });
    rmSync(fixtureDir, { recursive: true, force: true });
  });

  const openView = (id: string) => openViewOf(page, id);

  async function bytesOf(download: Download): Promise<Uint8Array> {
    const path = await download.path();
    assert.ok(path, 'download was saved');
    return new Uint8Array(readFileSync(path));
  }

  /** Opens the export menu of the loss chart, picks a format, saves, returns the file. */
  async function exportLossChart(format: 'svg' | 'png' | 'pdf', options: { dpi?: number; caption?: boolean } = {}) {
    const chart = page.getByTestId('training-monitor').getByTestId('line-chart').first();
    await chart.getByTestId('export-button').click();
    const menu = chart.getByTestId('export-menu');
    await menu.waitFor();
    await menu.getByTestId(`export-format-${format}`).check();
    if (options.dpi) await menu.getByTestId('export-dpi').selectOption(String(options.dpi));
    await menu.getByTestId('export-caption').setChecked(options.caption ?? false);
    const [download] = await Promise.all([page.waitForEvent('download'), menu.getByTestId('export-save').click()]);
    await menu.waitFor({ state: 'detached' });
    const bytes = await bytesOf(download);
    mkdirSync(exportDir, { recursive: true });
    writeFileSync(join(exportDir, `${options.caption ? 'captioned-' : ''}${download.suggestedFilename()}`), bytes);
    return { name: download.suggestedFilename(), bytes };
  }

  it('trains a small model whose curves can be exported', async () => {
    contentHash = (await api<{ contentHash: string }[]>('datasets.list', {}))[0]?.contentHash ?? '';
    assert.match(contentHash, /^[0-9a-f]{64}$/);
    await openView('train');
    await page.getByTestId('model-family').selectOption('env-vae');
    await page.getByTestId('hidden-units').fill('16');
    await page.getByTestId('latent-dim').fill('4');
    await page.getByTestId('epochs').fill('3');
    await page.getByTestId('start-training').click();
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="training-monitor"] [data-testid="line-chart"]')?.getAttribute('data-points') === '6',
    );
    runId = (await api<{ id: string }[]>('runs.list', {}))[0]?.id ?? '';
    assert.match(runId, /^run_/);
  });

  it('exports the loss curve as SVG with title, axis labels, legend and provenance metadata', async () => {
    const { name, bytes } = await exportLossChart('svg');
    assert.equal(name, `loss-held-out-unseen-environments-${runId}.svg`);
    const svg = new TextDecoder().decode(bytes);
    assert.match(svg, /^<\?xml [^>]*\?>\n<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /width="720" height="432"/);
    for (const text of ['Loss (held-out = unseen environments)', '>epoch<', '>loss<', '>train loss<', '>held-out loss<']) {
      assert.ok(svg.includes(text), `SVG lacks ${text}`);
    }
    assert.ok((svg.match(/<path /g) ?? []).length > 5, 'curves and grid are vector paths');
    const provenance = readSvgProvenance(svg);
    assert.equal(provenance.run_id, runId);
    assert.equal(provenance.model_family, 'env-vae');
    assert.equal(provenance.dataset_content_hash, contentHash);
    assert.match(provenance.backend ?? '', /^(tensorflow|native-blas|wasm|cpu)/);
    assert.equal(provenance.seed, '0');
    assert.equal(provenance.app_version, '0.1.0');
    assert.ok(Date.now() - Date.parse(provenance.exported_at ?? '') < 120_000);
  });

  it('exports it as PNG at 300 dpi: 2250 × 1350 pixels, pHYs and provenance text chunks', async () => {
    const { name, bytes } = await exportLossChart('png', { dpi: 300 });
    assert.ok(name.endsWith('.png'));
    assert.deepEqual(readPngSize(bytes), { width: 2250, height: 1350 });
    assert.ok(Math.abs((readPngDpi(bytes) ?? 0) - 300) < 0.1);
    const text = readPngText(bytes);
    assert.equal(text['cellshift.run_id'], runId);
    assert.equal(text['cellshift.dataset_content_hash'], contentHash);
    assert.equal(text.Title, 'Loss (held-out = unseen environments)');
    assert.equal(text.Software, 'CellShift 0.1.0');
    assert.ok(bytes.length > 20_000, `a real picture, not an empty canvas (${bytes.length} bytes)`);
  });

  it('adds a visible provenance caption when asked, growing the figure', async () => {
    const { bytes } = await exportLossChart('png', { dpi: 150, caption: true });
    const { width, height } = readPngSize(bytes);
    assert.equal(width, 1125);
    assert.ok(height > 675 + 40, `caption adds height (${height})`);
    const svg = new TextDecoder().decode((await exportLossChart('svg', { caption: true })).bytes);
    assert.ok(svg.includes(`sha256 ${contentHash}`), 'caption shows the dataset hash');
    assert.match(svg, new RegExp(`>Run ${runId} \\(`));
  });

  it('exports it as PDF with the run in its subject and keywords', async () => {
    const { name, bytes } = await exportLossChart('pdf');
    assert.ok(name.endsWith('.pdf'));
    const text = new TextDecoder('latin1').decode(bytes);
    assert.ok(text.startsWith('%PDF-'), 'PDF header');
    assert.ok(text.trimEnd().endsWith('%%EOF'));
    assert.match(
      pdfInfo(bytes, 'Subject'),
      new RegExp(`^run ${runId} \\(env-vae, seed 0, backend [\\w-]+\\); dataset .* sha256 ${contentHash}$`),
    );
    assert.match(pdfInfo(bytes, 'Keywords'), new RegExp(`(^|; )run_id=${runId}; `));
    assert.match(pdfInfo(bytes, 'Keywords'), new RegExp(`; dataset_content_hash=${contentHash}; `));
    assert.equal(pdfInfo(bytes, 'Title'), 'Loss (held-out = unseen environments)');
    assert.match(text, /\/Producer \(jsPDF/);
    assert.match(text, /\/Creator \(CellShift 0\.1\.0\)/);
    assert.match(text, /\/BaseFont \/DejaVu#20Sans/, 'text is set in DejaVu Sans');
    assert.match(text, /\/FontFile2 \d+ 0 R/, 'the font is embedded');
    assert.doesNotMatch(text, /\/BaseFont \/Courier/, 'unused standard fonts are left out');
    assert.match(text, /\/MediaBox \[0 0 540\.?0* 324\.?0*\]/);
    await screenshot(page, 'export-1-train-charts');
  });

  it('Ctrl+E opens the export menu of the figure last pointed at; Escape closes it', async () => {
    const throughput = page.getByTestId('training-monitor').getByTestId('line-chart').nth(3);
    await throughput.hover();
    await page.keyboard.press('Control+e');
    const menu = throughput.getByTestId('export-menu');
    await menu.waitFor();
    assert.equal(await page.getByTestId('export-menu').count(), 1);
    await screenshot(page, 'export-2-menu', { fromTop: false });
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
  });

  it('exports a heatmap (drawn, not Chart.js) with its colour bar, in every format', async () => {
    await openView('latents');
    const heatmap = page.getByTestId('prior-shift').locator('[role="figure"]').first();
    await heatmap.getByTestId('heatmap').waitFor();
    const files: Record<string, Uint8Array> = {};
    for (const format of ['svg', 'png', 'pdf'] as const) {
      await heatmap.getByTestId('export-button').click();
      const menu = heatmap.getByTestId('export-menu');
      await menu.getByTestId(`export-format-${format}`).check();
      if (format === 'png') await menu.getByTestId('export-dpi').selectOption('600');
      await menu.getByTestId('export-caption').setChecked(format === 'pdf');
      const [download] = await Promise.all([page.waitForEvent('download'), menu.getByTestId('export-save').click()]);
      files[format] = await bytesOf(download);
      writeFileSync(join(exportDir, download.suggestedFilename()), files[format]);
    }
    const svg = new TextDecoder().decode(files.svg);
    assert.ok(svg.includes('>μ̄ₑ: mean shift<'), 'title');
    // 24 environments × 4 latents, the colour bar's 64 steps and its outline, two backgrounds
    assert.equal((svg.match(/<rect /g) ?? []).length, 24 * 4 + 64 + 1 + 2);
    assert.equal(readSvgProvenance(svg).checkpoint_epoch, '3');
    const png = files.png as Uint8Array;
    assert.deepEqual(readPngSize(png), { width: 2250, height: Math.round(((28 + 90 + 24 * 18 + 10) * 600) / 96) });
    assert.equal(readPngText(png)['cellshift.run_id'], runId);
    assert.equal(pdfInfo(files.pdf as Uint8Array, 'Title'), 'μ̄ₑ: mean shift');
  });

  it('exports a table as CSV with # provenance lines first', async () => {
    await openView('environments');
    await page.getByTestId('environment-row').first().waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-environments').click()]);
    const csv = new TextDecoder().decode(await bytesOf(download));
    const lines = csv.split('\r\n');
    assert.equal(lines[0], '# title: Environments');
    assert.ok(lines.includes(`# dataset_content_hash: ${contentHash}`));
    assert.ok(lines.some((l) => /^# app_version: 0\.1\.0$/.test(l)));
    assert.ok(lines.some((l) => /^# exported_at: \d{4}-\d\d-\d\dT/.test(l)));
    const header = lines.find((l) => !l.startsWith('#'));
    assert.match(header ?? '', /^environment,label,is_control,drug,drug_name,smiles,structure,scaffold,cell_lines/);
    const body = lines.filter((l) => l && !l.startsWith('#'));
    assert.equal(body.length, 1 + 24);
  });

  it('Predict: the predicted response exports as a bar chart and a CSV, both naming the drug and run', async () => {
    const fixture = await writeLincsFixture(fixtureDir);
    const files = {
      matrix: await uploadFromPage(fixture.gctx),
      sigInfo: await uploadFromPage(fixture.sigInfo),
      pertInfo: await uploadFromPage(fixture.pertInfo),
      geneInfo: await uploadFromPage(fixture.geneInfo),
    };
    await api('imports.start', { request: { files, environmentKey: 'drug+cell' } });
    const dataset = await until('the L1000 import', async () =>
      (await api<{ id: string; source: string }[]>('datasets.list', {})).find((d) => d.source === 'gctx'),
    );
    const run = await api<{ id: string }>('runs.start', {
      datasetId: dataset.id,
      name: 'predictor',
      config: { model: { family: 'env-vae', hiddenUnits: 8, latentDim: 2 }, epochs: 2 },
    });
    await until('training on L1000', async () => (await api<{ status: string }>('runs.get', { id: run.id })).status === 'completed');
    await openView('predict');
    await page.getByTestId('predict-run').selectOption(run.id);
    await page.getByTestId('predict-smiles').fill(SMILES['BRD-ASPIRIN'] as string);
    await page.getByTestId('predict-button').click();
    const bars = page.getByTestId('gene-bars');
    await bars.waitFor({ timeout: 30_000 });
    await bars.getByTestId('export-button').click();
    await bars.getByTestId('export-format-svg').check();
    const [download] = await Promise.all([page.waitForEvent('download'), bars.getByTestId('export-save').click()]);
    const svg = new TextDecoder().decode(await bytesOf(download));
    writeFileSync(join(exportDir, download.suggestedFilename()), svg);
    const provenance = readSvgProvenance(svg);
    assert.equal(provenance.run_id, run.id);
    assert.equal(provenance.smiles, 'CC(=O)Oc1ccccc1C(=O)O');
    assert.equal(provenance.seen_in_training, 'true');
    assert.ok(svg.includes('>Δ expression vs control<'), 'axis title');
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-prediction').click()]);
    assert.equal(csvDownload.suggestedFilename(), `prediction-${run.id}.csv`);
    const lines = new TextDecoder().decode(await bytesOf(csvDownload)).split('\r\n');
    assert.ok(lines.includes(`# run_id: ${run.id}`));
    assert.ok(lines.includes('# checkpoint_epoch: 2'));
    assert.equal(lines.filter((l) => l.startsWith('run_')).length, 8, 'one row per gene');
    await bars.scrollIntoViewIfNeeded();
    await screenshot(page, 'export-6-predict', { fromTop: false });
  });

  it('follows the system colour scheme until the user chooses', async () => {
    // A fresh browser context: no stored choice.
    const dark = await browser.newPage({ viewport: { width: 1000, height: 700 }, colorScheme: 'dark' });
    try {
      // The address names the view: otherwise the lab reopens the view this lab was last left on.
      await dark.goto(`${app.url}#/datasets`);
      await dark.getByTestId('dataset-row').first().waitFor();
      assert.equal(await dark.evaluate(() => document.documentElement.dataset.theme), 'dark');
      assert.equal(await dark.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(21, 24, 28)');
      await dark.emulateMedia({ colorScheme: 'light' });
      await dark.waitForFunction(() => document.documentElement.dataset.theme === 'light');
      assert.equal(await dark.evaluate(() => localStorage.getItem('cellshift.theme')), null);
    } finally {
      await dark.close();
    }
  });

  it('toggles the theme with Ctrl+Shift+L, keeps it across a reload, and charts follow', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await openView('runs');
    await page.getByTestId('run-row').last().click();
    const chart = page.getByTestId('run-detail').getByTestId('line-chart').first();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="run-detail"] [data-testid="line-chart"]')?.getAttribute('data-theme') === 'light',
    );
    const light = await background();
    assert.equal(light, 'rgb(251, 251, 252)');
    await screenshot(page, 'export-3-light');
    await page.keyboard.press('Control+Shift+L');
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    assert.equal(await background(), 'rgb(21, 24, 28)');
    assert.equal(await chart.getAttribute('data-theme'), 'dark');
    assert.equal(await page.getByTestId('theme-toggle').getAttribute('aria-pressed'), 'true');
    await screenshot(page, 'export-4-dark');
    await page.reload();
    await page.getByTestId('run-row').first().waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    assert.equal(await background(), 'rgb(21, 24, 28)');
    assert.equal(await page.evaluate(() => localStorage.getItem('cellshift.theme')), 'dark');
    await page.getByTestId('theme-toggle').click();
    assert.equal(await background(), light);
  });

  it('? shows the shortcut table, which lists the export and theme shortcuts', async () => {
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('?');
    const help = page.getByTestId('shortcut-help');
    await help.waitFor();
    const text = await help.innerText();
    for (const entry of ['Alt+1', 'Alt+6', 'Ctrl/⌘+E', 'Ctrl/⌘+Shift+L', '?']) assert.ok(text.includes(entry), `help lacks ${entry}`);
    await screenshot(page, 'export-5-shortcuts', { fromTop: false });
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
    // Typing ? in a field types it, and opens nothing.
    await openView('predict');
    const smiles = page.getByTestId('predict-smiles');
    await smiles.fill('');
    await smiles.press('?');
    assert.equal(await smiles.inputValue(), '?');
    assert.equal(await page.getByTestId('shortcut-help').count(), 0);
    assert.deepEqual(consoleErrors, []);
  });
});
