/// <reference lib="dom" />
// First start in Chromium: the demo is the synthetic drug panel with real structures, so the
// Environments view shows structures and scaffold splits at once; the Datasets view offers a "Get
// real data" guide naming the exact GEO and CLUE files to download and drop, and the import panel
// reads them gzip-compressed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type App, launchBrowser, screenshot, screenshotDir, startApp } from './harness.js';

describe('first start: the way to real data', () => {
  let app: App;
  let browser: Browser;
  let page: Page;

  before(async () => {
    app = await startApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(app.url);
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('the demo shows drug structures, a depiction and a held-out scaffold preview in Environments', async () => {
    await page.getByTestId('dataset-row').first().waitFor();
    assert.equal(await page.getByTestId('dataset-row').count(), 1);
    assert.match(await page.getByTestId('dataset-row').first().innerText(), /Demo: drug panel with real structures/);
    await page.click('nav a[data-view="environments"]');
    const rows = page.getByTestId('environment-row');
    await rows.first().waitFor();
    const drugRows = rows.filter({ hasNotText: 'control' });
    const drugs = await drugRows.count();
    assert.ok(drugs > 0, 'the demo has drug environments');
    assert.equal(await drugRows.filter({ has: page.getByTestId('structure-status').getByText('parsed', { exact: true }) }).count(), drugs);
    assert.equal(await page.getByTestId('structure-summary').count(), 0, 'no drug lacks a structure');
    await page.getByTestId('split-kind').selectOption('scaffold');
    const summary = page.getByTestId('split-summary');
    await summary.filter({ hasText: /held-out scaffolds/ }).waitFor();
    await drugRows.first().click();
    const depiction = page.getByTestId('environment-detail').getByTestId('structure-depiction');
    await depiction.waitFor();
    assert.ok(await depiction.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the RDKit depiction rendered');
    await screenshot(page, 'first-start-environments');
    await page.click('nav a[data-view="datasets"]');
  });

  it('the Datasets view names the GEO and LINCS 2020 files to download, and says gzip needs no unpacking', async () => {
    await page.getByTestId('dataset-row').first().waitFor();
    const guide = page.getByTestId('real-data-guide');
    await guide.locator('summary').click();
    const text = await guide.innerText();
    for (const file of [
      'GSE92742_Broad_LINCS_Level5_COMPZ.MODZ_n473647x12328.gctx.gz',
      'GSE92742_Broad_LINCS_pert_info.txt.gz',
      'GSE70138_Broad_LINCS_sig_info_2017-03-06.txt.gz',
      'level5_beta_trt_cp_n720216x12328.gctx',
      'compoundinfo_beta.txt',
      'geneinfo_beta.txt',
    ]) {
      assert.ok(text.includes(file), `the guide names ${file}`);
    }
    assert.match(text, /need no unpacking/);
    assert.match(await page.getByTestId('import-panel').innerText(), /gzip-compressed as downloaded or not/);
    await screenshot(page, 'first-start-datasets');
    await guide.screenshot({ path: join(screenshotDir, 'first-start-real-data-guide.png') });
  });
});
