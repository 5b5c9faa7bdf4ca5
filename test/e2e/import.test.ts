/// <reference lib="dom" />
// Importing data in Chromium against browser mode, as a person would: drop the cmapPy GCTX and
// its LINCS tables on the page, watch them upload, check the roles the lab guessed, preview,
// import with progress, and read the summary. Cancelling an upload or an import leaves nothing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { writeGctxH5wasm } from '../fixtures/formats/writers.js';
import { CELLS, COMPOUNDS, gzipTwin, LANDMARKS, writeLincs2020 } from '../fixtures/lincs2020.js';
import { CMAPPY_DIR, sharedSkip } from '../fixtures/shared.js';
import { type App, launchBrowser, screenshot, screenshotDir, startApp } from './harness.js';

const fixtures = new URL('../fixtures/', import.meta.url).pathname;
const GCTX = join(CMAPPY_DIR, 'mini_gctoo_for_testing.gctx');
const TABLES = ['sig_info.txt', 'pert_info.txt', 'gene_info.txt'].map((name) => join(fixtures, 'cmapPy-tables', name));

describe('importing data in the browser', { skip: sharedSkip(CMAPPY_DIR) }, () => {
  let app: App;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let allowed: string;
  const consoleErrors: string[] = [];

  before(async () => {
    allowed = mkdtempSync(join(tmpdir(), 'cellshift-e2e-allowed-'));
    app = await startApp({ args: ['--allow-dir', allowed] });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await page.goto(app.url);
    await page.getByTestId('import-panel').waitFor();
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(allowed, { recursive: true, force: true });
  });

  /** Slows uploads down (bytes/s) so that progress can be seen; -1 lifts the limit. */
  async function throttleUploads(bytesPerSecond: number): Promise<void> {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: bytesPerSecond,
    });
  }

  function inboxFiles(): string[] {
    const root = join(dirname(app.dbPath), 'inbox');
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  }

  // A cancelled upload is removed when the server sees the connection end, which Chromium's
  // upload throttling can hold back for seconds on a busy machine (one CI run waited more than 6 s).
  async function waitForEmptyInbox(): Promise<void> {
    for (let i = 0; i < 300 && inboxFiles().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(inboxFiles(), [], 'no uploaded copy is left in the inbox');
  }

  async function roles(): Promise<Record<string, string>> {
    const rows = page.getByTestId('import-file');
    const result: Record<string, string> = {};
    for (const row of await rows.all()) {
      const name = (await row.locator('td.name').innerText()).trim();
      result[name] = await row.getByTestId('file-role').inputValue();
    }
    return result;
  }

  it('drops the GCTX and its tables, shows upload progress, and guesses each role', async () => {
    await throttleUploads(24 * 1024);
    // Playwright's way of dropping files: a DataTransfer built in the page, dispatched as a drop.
    const files = [GCTX, ...TABLES].map((path) => ({ name: basename(path), base64: readFileSync(path).toString('base64') }));
    const dataTransfer = await page.evaluateHandle((list) => {
      const transfer = new DataTransfer();
      for (const { name, base64 } of list) {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], name));
      }
      return transfer;
    }, files);
    await page.getByTestId('import-drop').dispatchEvent('drop', { dataTransfer });

    const progress = page.getByTestId('upload-progress').first();
    await progress.waitFor();
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('[data-testid="upload-progress"]');
      return bar !== null && bar.value > 0 && bar.value < bar.max;
    });
    await page.getByTestId('import-files').scrollIntoViewIfNeeded();
    await screenshot(page, 'import-1-uploading', { fromTop: false });
    assert.equal(await page.getByTestId('import-file').count(), 4);
    assert.ok(await page.getByTestId('import-preview').isDisabled(), 'no preview while files are still uploading');

    await page.locator('[data-testid="import-file"][data-status="ready"]').nth(3).waitFor({ timeout: 30_000 });
    await throttleUploads(-1);
    assert.deepEqual(await roles(), {
      'mini_gctoo_for_testing.gctx': 'matrix',
      'sig_info.txt': 'sig_info',
      'pert_info.txt': 'pert_info',
      'gene_info.txt': 'gene_info',
    });
    assert.match(await page.getByTestId('import-files').innerText(), /GCTX · uploaded/);
  });

  it('lets the user reassign roles, one file per role', async () => {
    const sigRow = page.getByTestId('import-file').filter({ hasText: 'sig_info.txt' });
    await sigRow.getByTestId('file-role').selectOption('matrix');
    const moved = await roles();
    assert.equal(moved['sig_info.txt'], 'matrix');
    assert.equal(moved['mini_gctoo_for_testing.gctx'], 'ignore', 'the matrix role moved away from the GCTX');
    await page.getByTestId('import-file').filter({ hasText: 'mini_gctoo' }).getByTestId('file-role').selectOption('matrix');
    await sigRow.getByTestId('file-role').selectOption('sig_info');
    assert.equal((await roles())['mini_gctoo_for_testing.gctx'], 'matrix');
    assert.equal(await page.getByTestId('import-problem').count(), 0);
  });

  it('previews, imports with progress, and summarises what was stored', async () => {
    await page.getByTestId('import-name').fill('cmapPy mini');
    await page.getByTestId('import-preview').click();
    const preview = page.getByTestId('import-summary');
    await preview.waitFor({ timeout: 30_000 });
    assert.match(await preview.innerText(), /4 of 6 samples · 4 of 6 genes · 3 environments \(2 drugs, 1 control samples\) · GCTX/);
    assert.match(await preview.innerText(), /Left out: 2 — pert_type trt_poscon not selected/);
    await preview.scrollIntoViewIfNeeded();
    await screenshot(page, 'import-2-preview', { fromTop: false });

    await page.getByTestId('import-start').click();
    const result = page.getByTestId('import-result');
    await result.waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('result-samples').innerText(), '4');
    assert.equal(await page.getByTestId('result-genes').innerText(), '4');
    assert.equal(await page.getByTestId('result-environments').innerText(), '3');
    assert.match(await page.getByTestId('result-cell-lines').innerText(), /^3\s+MCF7, A375, MCF10A$/);
    assert.match(await page.getByTestId('result-doses').innerText(), /^2\s+3\.33 um, 10 um$/);
    assert.match(await result.innerText(), /Imported “cmapPy mini”/);
    await result.scrollIntoViewIfNeeded();
    await screenshot(page, 'import-3-summary', { fromTop: false });

    const row = page.getByTestId('dataset-row').filter({ hasText: 'cmapPy mini' });
    assert.match(await row.innerText(), /gctx\s+4\s+4\s+3/);
    assert.match(await page.getByTestId('dataset-detail').innerText(), /cmapPy mini/);
    await waitForEmptyInbox();
  });

  it('cancelling an upload removes it, here and in the lab', async () => {
    await page.getByTestId('import-another').click();
    await throttleUploads(32 * 1024);
    await page.getByTestId('import-file-input').setInputFiles({
      name: 'large.gctx',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(2 * 1024 * 1024, 1),
    });
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('[data-testid="upload-progress"]');
      return bar !== null && bar.value > 0;
    });
    assert.ok(inboxFiles().includes('large.gctx'), 'the upload is streaming into the inbox');
    await page.getByTestId('file-remove').click();
    await page.getByTestId('import-file').waitFor({ state: 'detached' });
    await throttleUploads(-1);
    await waitForEmptyInbox();
  });

  it('picks a file inside a folder allowed at launch, without uploading it', async () => {
    mkdirSync(join(allowed, 'lincs'));
    for (const path of [GCTX, ...TABLES]) {
      const target = join(allowed, 'lincs', basename(path));
      await import('node:fs/promises').then((fs) => fs.copyFile(path, target));
    }
    await page.reload();
    const browserPanel = page.getByTestId('folder-browser');
    await browserPanel.locator('summary').click();
    await browserPanel.getByRole('button', { name: 'lincs/' }).click();
    const entries = browserPanel.getByTestId('folder-entry');
    await entries.filter({ hasText: 'mini_gctoo_for_testing.gctx' }).waitFor();
    assert.equal(await entries.count(), 4);
    for (const name of ['mini_gctoo_for_testing.gctx', 'sig_info.txt', 'pert_info.txt', 'gene_info.txt']) {
      await entries.filter({ hasText: name }).getByRole('button', { name: 'Add' }).click();
      await page.getByTestId('import-file').filter({ hasText: name }).waitFor();
    }
    const row = page.getByTestId('import-file').filter({ hasText: 'mini_gctoo_for_testing.gctx' });
    assert.equal(await row.getAttribute('data-status'), 'ready');
    assert.doesNotMatch(await row.innerText(), /uploaded/);
    assert.deepEqual(await roles(), {
      'mini_gctoo_for_testing.gctx': 'matrix',
      'sig_info.txt': 'sig_info',
      'pert_info.txt': 'pert_info',
      'gene_info.txt': 'gene_info',
    });
    assert.deepEqual(inboxFiles(), [], 'nothing was copied');
    await page.getByTestId('import-preview').click();
    await page.getByTestId('import-summary').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('import-summary').innerText(), /4 of 6 samples · 4 of 6 genes/);
    await screenshot(page, 'import-5-allowed-folder', { fromTop: false });
  });

  it('cancelling an import stores nothing', async () => {
    await page.reload();
    const dir = mkdtempSync(join(tmpdir(), 'cellshift-e2e-big-'));
    try {
      const genes = Array.from({ length: 978 }, (_, g) => String(g));
      const n = 40_000;
      const path = join(dir, 'big.gctx');
      await writeGctxH5wasm(path, {
        rowIds: genes,
        colIds: Array.from({ length: n }, (_, i) => `s${i}`),
        values: new Float32Array(n * genes.length).map((_, i) => (i % 97) / 10),
        colMeta: { pert_id: { kind: 'text', values: Array.from({ length: n }, (_, i) => `BRD-${i % 50}`) } },
        chunks: [1000, 978],
      });
      const datasetsBefore = await page.getByTestId('dataset-row').count();
      await page.getByTestId('import-file-input').setInputFiles(path);
      await page.locator('[data-testid="import-file"][data-status="ready"]').waitFor({ timeout: 60_000 });
      await page.getByTestId('import-preview').click();
      await page.getByTestId('import-summary').waitFor({ timeout: 60_000 });
      await page.getByTestId('import-start').click();
      await page.getByTestId('import-cancel').click({ timeout: 30_000 });
      const progress = page.getByTestId('import-progress');
      await progress.filter({ hasText: 'Cancelled: nothing was stored.' }).waitFor({ timeout: 30_000 });
      await screenshot(page, 'import-4-cancelled', { fromTop: false });
      assert.equal(await page.getByTestId('dataset-row').count(), datasetsBefore);
      assert.equal(await page.getByTestId('import-result').count(), 0);
      assert.equal(await page.getByTestId('import-file').count(), 1, 'the file stays, ready for another try');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports the LINCS 2020 release gzipped as the page gets it: dose and time from value + unit, structures from compoundinfo_beta', async () => {
    await page.reload();
    const dir = mkdtempSync(join(tmpdir(), 'cellshift-e2e-lincs2020-'));
    try {
      const f = await writeLincs2020(dir);
      const files = { matrix: f.gctx, sig_info: f.siginfo, pert_info: f.compoundinfo, gene_info: f.geneinfo };
      const gzipped: Record<string, string> = Object.fromEntries(
        await Promise.all(Object.entries(files).map(async ([role, path]): Promise<[string, string]> => [role, await gzipTwin(path)])),
      );
      await page.getByTestId('import-file-input').setInputFiles(Object.values(gzipped));
      await page.locator('[data-testid="import-file"][data-status="ready"]').nth(3).waitFor({ timeout: 60_000 });
      for (const [role, path] of Object.entries(gzipped)) {
        await page
          .getByTestId('import-file')
          .filter({ hasText: basename(path) })
          .getByTestId('file-role')
          .selectOption(role);
      }
      await page.getByTestId('import-name').fill('LINCS 2020 gz');
      await page.getByTestId('import-preview').click();
      const preview = page.getByTestId('import-summary');
      await preview.waitFor({ timeout: 60_000 });
      const text = await preview.innerText();
      assert.match(text, /Doses: 10 uM/);
      assert.match(text, /Times: 24 h/);
      assert.match(text, new RegExp(`Structures from: compoundinfo_beta\\.txt(\\.gz)? \\(${COMPOUNDS.length} drugs\\)`));
      await page.getByTestId('import-start').click();
      await page.getByTestId('import-result').waitFor({ timeout: 60_000 });
      assert.equal(await page.getByTestId('result-genes').innerText(), String(LANDMARKS));
      assert.match(await page.getByTestId('result-cell-lines').innerText(), new RegExp(`^${CELLS.length}\\s`));
      // The uploaded copies went once stored (the cancelled test's file may still be there).
      const uploaded = Object.values(gzipped).map((path) => basename(path));
      assert.deepEqual(
        inboxFiles().filter((name) => uploaded.includes(name)),
        [],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adds a compound table to the library from the Datasets view; a table without compounds is refused and changes nothing', async () => {
    const pertInfo = TABLES[1] as string;
    const rows = readFileSync(pertInfo, 'utf8').trim().split('\n').slice(1);
    const withSmiles = rows.filter((row) => (row.split('\t')[2] ?? '') !== '').length;
    const panel = page.getByTestId('compound-library');
    await panel.getByTestId('compound-file').setInputFiles(pertInfo);
    const result = panel.getByTestId('compound-import-result');
    await result.waitFor();
    const text = await result.innerText();
    assert.match(text, /pert_info\.txt/);
    assert.ok(text.includes(`${rows.length} (${withSmiles} with a structure`), text);
    const [, added, total] = text.match(/(\d+) new, \d+ updated; (\d+) compounds in all/) ?? [];
    assert.ok(Number(added) <= rows.length && Number(total) >= rows.length, text);

    const dir = mkdtempSync(join(tmpdir(), 'cellshift-e2e-compounds-'));
    try {
      const bad = join(dir, 'not_compounds.txt');
      writeFileSync(bad, 'pert_id\tpert_iname\tcanonical_smiles\n');
      await panel.getByTestId('compound-file').setInputFiles(bad);
      const problem = panel.getByTestId('compound-import-problem');
      await problem.waitFor();
      assert.match(await problem.innerText(), /not_compounds\.txt/);
      await panel.screenshot({ path: join(screenshotDir, 'import-compound-library-refused.png') });
      // The same table again: every compound already known, the library no bigger.
      await panel.getByTestId('compound-file').setInputFiles(pertInfo);
      await result.waitFor();
      assert.match(await result.innerText(), new RegExp(`0 new, ${rows.length} updated; ${total} compounds in all`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Skipped: it timed out waiting for the result in a clean-clone CI run after the LINCS 2020 fixture
  // writers were merged into one (test/fixtures/lincs2020.ts), and there was no time left to find
  // out why. The attach flow itself is covered through the LabApi and the CLI by
  // test/integration/attach-samples.test.ts, which passed in that run.
  it('attaches a sample table to a matrix imported without one: a new dataset grouped by drug', async () => {
    await page.reload();
    const dir = mkdtempSync(join(tmpdir(), 'cellshift-e2e-attach-'));
    try {
      const f = await writeLincs2020(dir);
      await page.getByTestId('import-file-input').setInputFiles(f.gctx);
      await page.locator('[data-testid="import-file"][data-status="ready"]').first().waitFor({ timeout: 60_000 });
      await page.getByTestId('import-name').fill('GCTX without sample metadata');
      await page.getByTestId('import-preview').click();
      await page.getByTestId('import-summary').waitFor({ timeout: 60_000 });
      await page.getByTestId('import-start').click();
      await page.getByTestId('import-result').waitFor({ timeout: 60_000 });
      const panel = page.getByTestId('attach-samples');
      await panel.getByTestId('attach-file').setInputFiles(f.siginfo);
      const result = panel.getByTestId('attach-result');
      // Either outcome ends the wait, so a refusal fails with its own words rather than a timeout.
      await panel.locator('[data-testid="attach-result"], [data-testid="attach-problem"]').first().waitFor({ timeout: 60_000 });
      assert.equal(await panel.getByTestId('attach-problem').count(), 0, await panel.innerText());
      assert.match(await result.innerText(), new RegExp(`${f.sampleIds.length} samples, ${COMPOUNDS.length + 1} environments`));
      await panel.screenshot({ path: join(screenshotDir, 'import-attach-sample-table.png') });
      // The new dataset joins the list, which reloads the shown dataset's detail: the result must stay
      // (it once vanished here), and "Open it" shows the new dataset.
      const made = (await result.innerText()).match(/Made “([^”]+)”/)?.[1] ?? '';
      await page.getByTestId('dataset-row').filter({ hasText: made }).waitFor();
      await panel.getByTestId('attach-open').click();
      await page.getByTestId('dataset-detail').locator('h2', { hasText: made }).waitFor();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
