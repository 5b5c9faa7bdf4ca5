/// <reference lib="dom" />
// First start in Chromium: the Datasets view offers a "Get real data" guide naming the exact GEO and
// CLUE files to download and drop, and the import panel reads them gzip-compressed.
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
