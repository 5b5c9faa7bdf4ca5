/// <reference lib="dom" />
// Mechanism in the browser: the pathway panel under Latents imports a GMT file, enriches a latent
// coordinate's gene program (BH-adjusted tables, CSV export), and the Query view scores every
// signature of the demo dataset against pasted up/down genes and exports the table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type App, launchBrowser, screenshot, startApp } from './harness.js';

const gmt = fileURLToPath(new URL('../fixtures/gene-sets/demo-programs.gmt', import.meta.url));

describe('Mechanism: pathway panel and Query view', () => {
  let app: App;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    app = await startApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(app.url);
    await page.getByTestId('dataset-row').first().waitFor();
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  async function openView(id: string): Promise<void> {
    await page.click(`nav a[data-view="${id}"]`);
    await page.waitForFunction((view) => window.location.hash === `#/${view}`, id);
  }

  async function downloadText(testid: string): Promise<string> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).first().click()]);
    return readFileSync((await download.path()) as string, 'utf8');
  }

  it('trains a small model on the demo dataset', async () => {
    await openView('train');
    await page.getByTestId('model-family').selectOption('env-vae');
    await page.getByTestId('hidden-units').fill('32');
    await page.getByTestId('latent-dim').fill('8');
    await page.getByTestId('epochs').fill('2');
    await page.getByTestId('start-training').click();
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 90_000 });
  });

  it('imports a GMT file and lists the pathways a latent coordinate drives, BH-adjusted and exportable', async () => {
    await openView('latents');
    const panel = page.getByTestId('top-genes').getByTestId('pathway-panel');
    await panel.waitFor();
    await panel.getByTestId('gene-set-file').setInputFiles(gmt);
    await panel.getByTestId('gene-set-collection').locator('option', { hasText: 'demo-programs (15)' }).waitFor({ state: 'attached' });
    await panel.getByTestId('run-enrichment').click();
    const gsea = panel.getByTestId('gsea-table');
    await gsea.locator('tbody tr').first().waitFor({ timeout: 60_000 });
    assert.equal(await gsea.locator('tbody tr').count(), 15);
    assert.equal(await panel.getByTestId('ora-table').locator('tbody tr').count(), 15);
    await screenshot(page, 'mechanism-1-pathways', { fromTop: false });
    const csv = await downloadText('export-pathways');
    assert.match(csv, /^# /m, 'provenance lines');
    assert.match(csv, /gene_sets: demo-programs/);
    assert.match(csv, /test,gene_set,size,es,nes,overlap,expected,p,fdr_bh,genes/);
    assert.equal(csv.split('\n').filter((l) => l.startsWith('GSEA preranked,')).length, 15);
    assert.equal(csv.split('\n').filter((l) => l.startsWith('hypergeometric,')).length, 15);
  });

  it('scores every signature of the demo dataset against pasted up and down genes', async () => {
    await openView('query');
    await page.getByTestId('query-up').fill('g0001 g0002 g0003 g0004 g0005 NOT_A_GENE');
    await page.getByTestId('query-down').fill('g0101\ng0102\ng0103');
    await page.getByTestId('query-random').fill('100');
    await page.getByTestId('run-query').click();
    const table = page.getByTestId('query-table');
    await table.locator('tbody tr').first().waitFor({ timeout: 60_000 });
    assert.equal(await table.locator('tbody tr').count(), 200, 'the first 200 rows are shown');
    const result = page.getByTestId('query-result');
    assert.match(await result.innerText(), /1920 signatures/);
    assert.match(await result.innerText(), /left out: NOT_A_GENE/);
    await screenshot(page, 'mechanism-2-query');
    const csv = await downloadText('export-query');
    assert.match(csv, /query_up: g0001 g0002 g0003 g0004 g0005/);
    assert.equal(csv.split('\n').filter((l) => /^[^#].*,/.test(l)).length, 1 + 1920, 'header and every signature');
  });

  it("lists a drug's neighbours by prior shift, measured change and fingerprint, and says when no MoA is known", async () => {
    const panel = page.getByTestId('mechanism-neighbours');
    await panel.getByTestId('run-neighbours').click();
    await panel.getByTestId('moa-retrieval').waitFor({ timeout: 60_000 });
    assert.match(await panel.innerText(), /nothing to retrieve/, 'the demo dataset carries no MoA');
    assert.equal(await panel.getByTestId('neighbours-delta').locator('tbody tr').count(), 10);
    assert.equal(await panel.getByTestId('neighbours-prior-shift').locator('tbody tr').count(), 10);
    await screenshot(page, 'mechanism-3-neighbours', { fromTop: false });
    assert.deepEqual(consoleErrors, []);
  });
});
