/// <reference lib="dom" />
// A person's first minutes with the lab, in Chromium against browser mode: the demo dataset is
// there, every view shows real content from the store, errors are shown, long work reports.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { modelFamilyIds } from '../../src-main/shared/api/model-families.js';
import { writeLincsFixture } from '../fixtures/lincs.js';
import { type App, closeAppPage, openAppPage, openView as openViewOf, SPARSE_DEMO, screenshot } from './harness.js';

describe('the lab in a browser', () => {
  let app: App;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  let fixtureDir: string;

  before(async () => {
    fixtureDir = mkdtempSync(join(tmpdir(), 'cellshift-e2e-data-'));
    // Written against the structure-free demo (its sample counts, columns and environments).
    ({ app, browser, page } = await openAppPage(
      consoleErrors,
      { viewport: { width: 1400, height: 900 } },
      { waitForDemo: false, args: SPARSE_DEMO },
    ));
  });

  after(async () => {
    await closeAppPage({ app, browser });
    rmSync(fixtureDir, { recursive: true, force: true });
  });

  const openView = (id: string) => openViewOf(page, id);

  it('removes the token from the address bar and shows the demo dataset on first start', async () => {
    await page.getByTestId('dataset-row').first().waitFor();
    assert.ok(!page.url().includes('token='), `token still in the URL: ${page.url()}`);
    const rows = page.getByTestId('dataset-row');
    assert.equal(await rows.count(), 1);
    const text = await rows.first().innerText();
    assert.match(text, /Demo: synthetic sparse drug effects/);
    assert.match(text, /1,920/);
    assert.match(text, /200/);
    assert.match(text, /24/);
    const meta = await page.getByTestId('app-meta').innerText();
    assert.match(meta, /browser mode/);
  });

  it('Datasets: shows the selected dataset with its metadata columns', async () => {
    const detail = page.getByTestId('dataset-detail');
    await detail.waitFor();
    const columns = await page.getByTestId('metadata-columns').innerText();
    for (const name of ['environment', 'target_latent', 'intervention', 'split']) assert.match(columns, new RegExp(name));
    assert.match(await detail.innerText(), /g0001, g0002/);
    const shot = await screenshot(page, '1-datasets');
    assert.ok(statSync(shot).size > 10_000);
  });

  it('Datasets: generating a synthetic dataset reports progress and lists it', async () => {
    await page.getByTestId('synthetic-preset').selectOption('linear-independent-2');
    await page.getByTestId('create-synthetic').click();
    await page.getByTestId('job').filter({ hasText: 'Done' }).waitFor({ timeout: 20_000 });
    await page.getByTestId('dataset-row').nth(1).waitFor();
    assert.match(
      await page.getByTestId('dataset-row').nth(1).innerText(),
      /Linear, 2 independent latents \(seed 1\)\s+synthetic\s+1,000\s+10/,
    );
    await page.getByTestId('dataset-row').first().click();
  });

  it('Datasets: imports an L1000 file with its LINCS tables after a preview', async () => {
    const fixture = await writeLincsFixture(fixtureDir);
    // Picked in the page and uploaded: the page never hands the lab a path.
    await page.getByTestId('import-file-input').setInputFiles([fixture.gctx, fixture.sigInfo, fixture.pertInfo, fixture.geneInfo]);
    await page.locator('[data-testid="import-file"][data-status="ready"]').nth(3).waitFor({ timeout: 30_000 });
    await page.getByTestId('import-key').selectOption('drug+cell');
    assert.ok(await page.getByTestId('import-start').isDisabled(), 'import waits for a preview');
    await page.getByTestId('import-preview').click();
    const summary = page.getByTestId('import-summary');
    await summary.waitFor({ timeout: 30_000 });
    assert.match(await summary.innerText(), /32 of 36 samples · 8 of 12 genes · 10 environments \(4 drugs, 8 control samples\) · GCTX/);
    assert.match(await page.getByTestId('import-no-structure').innerText(), /BRD-BROKEN/);
    await summary.scrollIntoViewIfNeeded();
    await screenshot(page, '1b-import-preview', { fromTop: false });
    await page.getByTestId('import-start').click();
    await page.getByTestId('dataset-row').filter({ hasText: 'level5.gctx' }).waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('dataset-row').filter({ hasText: 'level5.gctx' }).innerText(), /gctx\s+32\s+8\s+10/);
    // The finished import selects its dataset; only then go back to the demo for the views that follow.
    await page.locator('[data-testid="dataset-row"].selected').filter({ hasText: 'level5.gctx' }).waitFor();
    await page.getByTestId('dataset-row').first().click();
  });

  it('shows a specific error when an action is refused', async () => {
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('   ');
    await page.getByRole('button', { name: 'Save' }).click();
    const notice = page.getByTestId('notice');
    await notice.waitFor();
    assert.match(await notice.innerText(), /Could not rename the dataset[\s\S]*Invalid params for datasets\.rename: params\.name/);
    await page.getByRole('button', { name: 'Dismiss' }).first().click();
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('Environments: lists, searches and sorts the environments of the dataset', async () => {
    await openView('environments');
    await page.getByTestId('environment-row').first().waitFor();
    assert.equal(await page.getByTestId('environment-row').count(), 24);
    assert.match(await page.getByTestId('environment-row').first().innerText(), /control/);
    await page.getByTestId('environment-search').fill('noise');
    // Sent once typing pauses, then answered by the lab.
    await page
      .getByTestId('environment-count')
      .filter({ hasText: /^\s*\d+ of 24 environments/ })
      .filter({ hasNotText: /^\s*24 of/ })
      .waitFor();
    const noisy = await page.getByTestId('environment-row').count();
    assert.ok(noisy > 0 && noisy < 24, `search for "noise" kept ${noisy} rows`);
    for (const row of await page.getByTestId('environment-row').all()) assert.match(await row.innerText(), /noise/i);
    await page.getByTestId('environment-search').fill('');
    await page.getByRole('button', { name: /^Samples/ }).click();
    await page.getByRole('button', { name: /^Samples/ }).click();
    assert.match(await page.locator('th[aria-sort="descending"]').innerText(), /Samples/);
    await screenshot(page, '2-environments');
    assert.match(await page.getByTestId('environment-count').innerText(), /24 of 24 environments/);

    // Only the rows in sight (and a few beyond) are laid out; scrolling brings the rest.
    await page.getByRole('button', { name: /^Environment/ }).click();
    await page.setViewportSize({ width: 1400, height: 400 });
    const rows = page.getByTestId('environment-row');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="environment-row"]').length < 24);
    assert.equal(await rows.first().getAttribute('data-index'), '0');
    await page.getByTestId('environments-scroller').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await rows.and(page.locator('[data-index="23"]')).waitFor();
    assert.ok((await rows.count()) < 24, 'still only the rows in sight');
    assert.notEqual(await rows.first().getAttribute('data-index'), '0', 'the first rows left the table');
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.getByTestId('environments-scroller').evaluate((el) => el.scrollTo(0, 0));
  });

  it('Environments: shows drug structures and cell lines, and previews held-out drug, scaffold and cell-line splits', async () => {
    const picker = page.getByTestId('dataset-picker');
    const demo = await picker.inputValue();
    await picker.selectOption({ label: 'level5.gctx' });
    await page.getByTestId('environment-row').filter({ hasText: 'BRD-BROKEN' }).first().waitFor();
    const broken = page.getByTestId('environment-row').filter({ hasText: 'BRD-BROKEN | A375' });
    assert.match(await broken.getByTestId('structure-status').innerText(), /invalid/);
    assert.match(await page.getByTestId('structure-summary').innerText(), /1 with a SMILES RDKit could not read/);
    const aspirin = page.getByTestId('environment-row').filter({ hasText: 'BRD-ASPIRIN | MCF7' });
    assert.match(await aspirin.innerText(), /aspirin[\s\S]*parsed[\s\S]*MCF7 3/);
    await aspirin.click();
    const detail = page.getByTestId('environment-detail');
    await detail.getByTestId('structure-depiction').waitFor();
    assert.match(await detail.innerText(), /BSYNRYMUTXBXSQ-UHFFFAOYSA-N/);
    const drawn = await detail.getByTestId('structure-depiction').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0);
    assert.ok(drawn, 'the RDKit depiction rendered');
    await screenshot(page, '2b-environment-structure');
    await broken.click();
    assert.match(await detail.getByTestId('structure-problem').innerText(), /RDKit could not read the SMILES/);

    const summary = page.getByTestId('split-summary');
    await page.getByTestId('split-kind').selectOption('held-out-drugs');
    await page.getByTestId('split-fraction').fill('0.5');
    await page.getByTestId('split-fraction').blur();
    await summary.filter({ hasText: /hold out 12\b/ }).waitFor();
    assert.match(await summary.innerText(), /Train on 20 samples, hold out 12\s+\(4 of \d+ environments\)\s+— 2 held-out drugs: BRD-/);
    const heldRows = page
      .getByTestId('environment-row')
      .filter({ has: page.getByTestId('split-status').getByText('held out', { exact: true }) });
    await heldRows.nth(3).waitFor();
    assert.equal(await heldRows.count(), 4, '2 drugs × 2 cell lines');
    await page.getByTestId('split-kind').selectOption('scaffold');
    await summary.filter({ hasText: /held-out scaffolds/ }).waitFor();
    await page.getByTestId('split-kind').selectOption('held-out-cell-lines');
    await summary.filter({ hasText: /hold out 16\b/ }).waitFor();
    assert.match(await summary.innerText(), /1 held-out cell lines: A375/);
    await screenshot(page, '2c-environment-split');

    // Leave the default split and the demo dataset for the views that follow.
    await page.getByTestId('split-kind').selectOption('random-environments');
    await page.getByTestId('split-fraction').fill('0.2');
    await page.getByTestId('split-fraction').blur();
    await picker.selectOption(demo);
    await page.getByTestId('environment-row').nth(23).waitFor();
  });

  it('Train: validates the form inline, then trains with live curves', async () => {
    await openView('train');
    assert.match(await page.getByTestId('train-dataset').innerText(), /1,920 samples × 200 genes in 24 environments/);
    await page.getByTestId('latent-dim').fill('0');
    assert.match(await page.getByTestId('config-problems').innerText(), /model\.latentDim/);
    assert.ok(await page.getByTestId('start-training').isDisabled());
    await page.getByTestId('model-family').selectOption('env-vae');
    await page.getByTestId('hidden-units').fill('32');
    await page.getByTestId('latent-dim').fill('8');
    await page.getByTestId('epochs').fill('4');
    await page.getByTestId('start-training').click();
    await page.getByTestId('training-monitor').waitFor();
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('run-backend').innerText(), /^(tensorflow|native-blas|wasm|cpu)\b/);
    assert.match(await page.getByTestId('epoch-progress').innerText(), /epoch 4 of 4/);
    // 4 epochs of train and held-out loss on the loss chart
    assert.equal(await page.getByTestId('line-chart').first().getAttribute('data-points'), '8');
    await screenshot(page, '3-train');
  });

  it('Runs: lists the run from the store with its history', async () => {
    await openView('runs');
    const row = page.getByTestId('run-row').first();
    await row.waitFor();
    assert.match(await row.innerText(), /env-vae[\s\S]*completed[\s\S]*4 \/ 4/);
    await row.click();
    const detail = page.getByTestId('run-detail');
    await detail.waitFor();
    await detail.getByText(/checkpoints at epochs 3, 4/).waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="run-detail"] [data-testid="line-chart"]')?.getAttribute('data-points') === '8',
    );
    await screenshot(page, '4-runs');
  });

  it('Runs: runs a seed study in one click and shows its report next to the seed', async () => {
    // A study that is a plan of independent runs offers the sweep's "Where" control; a bundle
    // needs an allowed folder (none here), so it cannot start; the other studies train here.
    await page.getByTestId('study-id').selectOption('split-comparison');
    await page.getByTestId('study-executor').selectOption('slurm');
    await page.getByTestId('study-no-folder').waitFor();
    assert.equal(await page.getByTestId('study-start').isDisabled(), true);
    await page.getByTestId('study-executor').selectOption('local');
    await page.getByTestId('study-id').selectOption('linear-independent');
    assert.equal(await page.getByTestId('study-executor').count(), 0);
    assert.equal(await page.getByTestId('study-start').isDisabled(), false);
    await page.getByTestId('study-start').click();
    const table = page.getByTestId('study-table');
    await table.waitFor({ timeout: 60_000 });
    assert.match(await table.innerText(), /best alignment of M̃ with M[\s\S]*0\.4π with a sign flip[\s\S]*matches up to a rotation/);
    assert.equal(await page.getByTestId('studies').getByTestId('line-chart').count(), 3);
    await page.getByTestId('study-table').scrollIntoViewIfNeeded();
    await screenshot(page, '4b-study', { fromTop: false });
  });

  it('Latents: projects the trained model, shows sparse prior shifts, top genes and the ground truth', async () => {
    await openView('latents');
    await page.getByTestId('latent-scatter').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="latent-scatter"]')?.getAttribute('data-points') === '1920');
    // learned μ̄ₑ and log σ̄ₑ: 24 environments × 8 latents each
    const learned = page.getByTestId('prior-shift').getByTestId('heatmap');
    assert.equal(await learned.count(), 2);
    const map = learned.first();
    assert.deepEqual([await map.getAttribute('data-rows'), await map.getAttribute('data-columns')], ['24', '8']);
    // One canvas, not a node per cell; hovering reads a cell out, and search narrows the rows.
    assert.equal(await page.getByTestId('prior-shift').locator('rect').count(), 0);
    // Cell (row 3, column 2), past the 220 px of row labels and the 118 px header (charts/heatmap.ts).
    await map.hover({ position: { x: 220 + 18 * 2 + 9, y: 118 + 18 * 3 + 9 } });
    assert.match(await page.getByTestId('prior-shift').getByTestId('heatmap-readout').first().innerText(), /^.+ · .+: -?\d+\.\d{3}$/);
    const firstKey = (await page.getByTestId('prior-shift').getByTestId('heatmap-readout').first().innerText()).split(' · ')[0] as string;
    await page.getByTestId('prior-shift').getByTestId('heatmap-search').first().fill(firstKey);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="prior-shift"] [data-testid="heatmap"]')?.getAttribute('data-rows')) < 24,
    );
    assert.match(await page.getByTestId('prior-shift').getByTestId('heatmap-count').first().innerText(), / of 24 rows$/);
    await page.getByTestId('prior-shift').getByTestId('heatmap-search').first().fill('');
    const genes = page.getByTestId('top-genes').locator('tbody tr');
    await genes.first().waitFor();
    assert.equal(await genes.count(), 25);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-genes').click()]);
    assert.match(download.suggestedFilename(), /^latent-0-top-genes-run_.*\.csv$/);
    const truth = page.getByTestId('true-shift').getByTestId('heatmap');
    const truthRows = Number(await truth.first().getAttribute('data-rows'));
    assert.equal(truthRows * Number(await truth.first().getAttribute('data-columns')), 240);
    await page.getByTestId('colour-by').selectOption('target_latent');
    await screenshot(page, '5-latents');
  });

  it('Predict: offers the trained model and explains why a synthetic dataset cannot take a SMILES', async () => {
    await openView('predict');
    assert.match(await page.getByTestId('predict-run').innerText(), /env-vae/);
    await page.getByTestId('predict-button').click();
    const notice = page.getByTestId('notice');
    await notice.waitFor();
    assert.match(await notice.innerText(), /Could not predict[\s\S]*describes its environments by synthetic-shift, not drug structures/);
    await screenshot(page, '6-predict');
    await page.getByRole('button', { name: 'Dismiss' }).first().click();
  });

  it('keyboard shortcuts switch views, and nothing logged an error', async () => {
    await page.keyboard.press('Alt+1');
    await page.waitForFunction(() => window.location.hash === '#/datasets');
    assert.deepEqual(consoleErrors, []);
  });

  it('a new start comes back to the dataset, view and split in use', async () => {
    await openView('environments');
    await page.getByTestId('dataset-picker').selectOption({ label: 'level5.gctx' });
    await page.getByTestId('split-kind').selectOption('scaffold');
    await page
      .getByTestId('split-summary')
      .filter({ hasText: /held-out scaffolds/ })
      .waitFor();
    // Saved a moment after the last change; then open the lab's address afresh (no view in it).
    await page.waitForTimeout(1000);
    await page.goto(new URL('/', app.url).href);
    await page.waitForFunction(() => window.location.hash === '#/environments');
    await page
      .getByTestId('split-summary')
      .filter({ hasText: /held-out scaffolds/ })
      .waitFor();
    assert.equal(await page.getByTestId('split-kind').inputValue(), 'scaffold');
    assert.equal(await page.getByTestId('dataset-picker').locator('option:checked').innerText(), 'level5.gctx');
    assert.deepEqual(consoleErrors, []);
  });

  it('Runs: the sweep form offers the registry settings and trains a 2-point grid here', async () => {
    await openView('runs');
    const sweep = page.getByTestId('sweep');
    await sweep.scrollIntoViewIfNeeded();
    // The grid axes are the registry's number settings, by their CLI flags.
    for (const flag of ['lr', 'latent', 'hidden', 'beta', 'temperature', 'warmup', 'epochs', 'batch-size', 'seed']) {
      await sweep.getByTestId(`sweep-axis-${flag}`).waitFor();
    }
    assert.equal(await sweep.getByTestId('sweep-family').locator('option').count(), modelFamilyIds().length);
    // On the demo dataset (24 environments, so held-out losses), last so the views above saw the env-vae run.
    await page.getByTestId('sweep-dataset').selectOption({ index: 0 });
    await page.getByTestId('sweep-family').selectOption('vae');
    await page.getByTestId('sweep-epochs').fill('1');
    await page.getByTestId('sweep-axis-hidden').check();
    await page.getByTestId('sweep-values-hidden').fill('8');
    await page.getByTestId('sweep-axis-latent').check();
    await page.getByTestId('sweep-values-latent').fill('2,3');
    assert.equal(await page.getByTestId('sweep-executor').inputValue(), 'local');
    await page.getByTestId('sweep-start').filter({ hasText: '2 runs' }).click();
    const outcome = page.getByTestId('sweep-outcome');
    await outcome.waitFor({ timeout: 60_000 });
    assert.match(await outcome.innerText(), /^2 runs trained; lowest final held-out loss: latent=[23] hidden=8\./);
  });
});
