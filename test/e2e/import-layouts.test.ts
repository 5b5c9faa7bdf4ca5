/// <reference lib="dom" />
// The layouts biologists download, imported through the page as a person would (one app for all,
// no training): GEO GSE92742 with every file gzipped, GSE70138's dated gzipped tables, PRnet's real
// AnnData read in place from a folder allowed at launch, and a GCT without column metadata taken as
// one environment per sample. Each checks what the preview shows and what was stored.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { writeUnlabelledGct } from '../fixtures/formats/writers.js';
import { CELLS, COMPOUNDS, type GeoFiles, gzipTwin, LANDMARKS, writeGeoL1000 } from '../fixtures/lincs2020.js';
import { REAL_L1000_DIR, sharedSkip } from '../fixtures/shared.js';
import { type AppPage, closeAppPage, openAppPage, screenshot } from './harness.js';

const PRNET_H5AD = 'PRnet_demo_HT115_6H_level3_n681x978.h5ad';
const realSkip = sharedSkip(REAL_L1000_DIR);

describe('importing the downloaded layouts in the browser', () => {
  let opened: AppPage;
  let page: Page;
  let dir: string;
  const consoleErrors: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-e2e-layouts-'));
    // The real files are only read in place, never copied: the folder is allowed, not uploaded.
    const args = realSkip ? [] : ['--allow-dir', REAL_L1000_DIR];
    opened = await openAppPage(consoleErrors, { viewport: { width: 1400, height: 1000 } }, { waitForDemo: false, args });
    page = opened.page;
    await page.getByTestId('import-panel').waitFor();
  });

  after(async () => {
    await closeAppPage(opened ?? {});
    rmSync(dir, { recursive: true, force: true });
  });

  async function roles(): Promise<Record<string, string>> {
    const result: Record<string, string> = {};
    for (const row of await page.getByTestId('import-file').all()) {
      result[(await row.locator('td.name').innerText()).trim()] = await row.getByTestId('file-role').inputValue();
    }
    return result;
  }

  /** A fresh import panel (the previous import's summary gone). */
  async function freshPanel(): Promise<void> {
    await page.reload();
    await page.getByTestId('import-panel').waitFor();
  }

  async function uploadAndWait(paths: string[]): Promise<void> {
    await page.getByTestId('import-file-input').setInputFiles(paths);
    await page
      .locator('[data-testid="import-file"][data-status="ready"]')
      .nth(paths.length - 1)
      .waitFor({ timeout: 60_000 });
  }

  async function previewText(name: string): Promise<string> {
    await page.getByTestId('import-name').fill(name);
    await page.getByTestId('import-preview').click();
    const preview = page.getByTestId('import-summary');
    await preview.waitFor({ timeout: 60_000 });
    return preview.innerText();
  }

  interface Stored {
    samples: string;
    genes: string;
    environments: string;
    cellLines: string;
    doses: string;
    row: string;
  }

  async function importAndRead(name: string): Promise<Stored> {
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-result').waitFor({ timeout: 60_000 });
    const text = (id: string) => page.getByTestId(id).innerText();
    return {
      samples: await text('result-samples'),
      genes: await text('result-genes'),
      environments: await text('result-environments'),
      cellLines: await text('result-cell-lines'),
      doses: await text('result-doses'),
      row: await page.getByTestId('dataset-row').filter({ hasText: name }).innerText(),
    };
  }

  /** GEO's files, each gzipped as GEO publishes them, uploaded together: roles come from content. */
  async function importGeo(series: 'GSE92742' | 'GSE70138'): Promise<{ files: GeoFiles; preview: string; stored: Stored }> {
    await freshPanel();
    const files = await writeGeoL1000(mkdtempSync(join(dir, `${series}-`)), series);
    const gz = {
      matrix: await gzipTwin(files.gctx),
      sig_info: await gzipTwin(files.sigInfo),
      pert_info: await gzipTwin(files.pertInfo),
      gene_info: await gzipTwin(files.geneInfo),
    };
    await uploadAndWait(Object.values(gz));
    assert.deepEqual(await roles(), Object.fromEntries(Object.entries(gz).map(([role, path]) => [basename(path), role])));
    const preview = await previewText(`${series} gz`);
    const stored = await importAndRead(`${series} gz`);
    return { files, preview, stored };
  }

  function assertGeoImport({ files, preview, stored }: { files: GeoFiles; preview: string; stored: Stored }): void {
    const treated = CELLS.length * COMPOUNDS.length * 2;
    const controls = CELLS.length * 3;
    assert.match(preview, new RegExp(`${treated + controls} of ${treated + controls} samples · ${LANDMARKS} of \\d+ genes`));
    assert.match(preview, new RegExp(`\\(${COMPOUNDS.length} drugs, ${controls} control samples\\) · GCTX`));
    assert.match(preview, /Doses: 10 uM \(12\)/);
    assert.match(preview, /Times: 24 h \(18\)/);
    assert.match(
      preview,
      new RegExp(`Structures from: ${basename(files.pertInfo).replaceAll('.', '\\.')}\\.gz \\(${COMPOUNDS.length} drugs\\)`),
    );
    assert.equal(stored.samples, String(treated + controls));
    assert.equal(stored.genes, String(LANDMARKS));
    assert.match(stored.cellLines, new RegExp(`^${CELLS.length}\\s+${CELLS.join(', ')}$`));
    assert.match(stored.doses, /^1\s+10 uM$/);
    assert.match(stored.row, new RegExp(`gctx\\s+${treated + controls}\\s+${LANDMARKS}\\s+${stored.environments}`));
  }

  it('imports GEO GSE92742 with every file gzipped (.gctx.gz and .txt.gz tables)', async () => {
    const imported = await importGeo('GSE92742');
    assertGeoImport(imported);
    await screenshot(page, 'import-layouts-gse92742', { fromTop: false });
  });

  it("imports GEO GSE70138's dated, gzipped table names", async () => {
    assertGeoImport(await importGeo('GSE70138'));
  });

  it("imports PRnet's real AnnData in place from an allowed folder: dose and time with units, its own SMILES", {
    skip: realSkip,
  }, async () => {
    await freshPanel();
    const browserPanel = page.getByTestId('folder-browser');
    await browserPanel.locator('summary').click();
    const entry = browserPanel.getByTestId('folder-entry').filter({ hasText: PRNET_H5AD });
    await entry.getByRole('button', { name: 'Add' }).click();
    const row = page.getByTestId('import-file').filter({ hasText: PRNET_H5AD });
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'ready');
    assert.doesNotMatch(await row.innerText(), /uploaded/, 'read in place, not uploaded');
    assert.equal(await row.getByTestId('file-role').inputValue(), 'matrix');
    await page.getByTestId('import-key').selectOption('drug+cell+dose+time');
    const preview = await previewText('PRnet demo');
    assert.match(preview, /of 681 samples · \d+ of 978 genes .* · H5AD/);
    assert.match(preview, /Times: 6(\.0)? h \(\d+\)/);
    assert.doesNotMatch(preview, /\(missing\)/);
    assert.match(preview, /Doses: \d+(\.\d+)? \S+ \(\d+\)/);
    assert.match(await page.getByTestId('import-structure-sources').innerText(), /the matrix file's (canonical_smiles|SMILES) column/);
    const [, samples] = preview.match(/^(\d[\d,]*) of 681 samples/m) ?? [];
    const stored = await importAndRead('PRnet demo');
    assert.equal(stored.samples, samples);
    assert.match(stored.doses, /^\d+\s+\d+(\.\d+)? \S+/);
    assert.match(stored.row, /h5ad/);
  });

  it('imports a GCT without column metadata as one environment per sample', async () => {
    await freshPanel();
    const gct = join(dir, 'unlabelled_n3x4.gct');
    writeUnlabelledGct(gct, ['g1', 'g2', 'g3', 'g4'], ['plateA_1', 'plateA_2', 'plateA_3']);
    await uploadAndWait([gct]);
    await page.getByTestId('import-unlabelled').selectOption('each-sample');
    await page.getByLabel('978 landmark genes only').uncheck();
    const preview = await previewText('unlabelled GCT');
    assert.match(preview, /3 of 3 samples · 4 of 4 genes · 3 environments \(0 drugs, 0 control samples\) · GCT/);
    assert.match(preview, /No sample metadata/);
    const stored = await importAndRead('unlabelled GCT');
    assert.deepEqual([stored.samples, stored.genes, stored.environments], ['3', '4', '3']);
    assert.match(stored.row, /gct\s+3\s+4\s+3/);
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
