/// <reference lib="dom" />
// Mechanism in the browser: the pathway panel under Latents imports a GMT file, enriches a latent
// coordinate's gene program (BH-adjusted tables, CSV export), and the Query view scores every
// signature of the demo dataset against pasted up/down genes (or the genes of a DE result, sent
// there with "Use as connectivity query") and exports the table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type App, closeAppPage, openAppPage, openView as openViewOf, SPARSE_DEMO, screenshot } from './harness.js';

const gmt = fileURLToPath(new URL('../fixtures/gene-sets/demo-programs.gmt', import.meta.url));

describe('Mechanism: pathway panel and Query view', () => {
  let app: App;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    // Written against the structure-free demo (its sample counts, columns and environments).
    ({ app, browser, page } = await openAppPage(
      consoleErrors,
      { viewport: { width: 1400, height: 1000 }, acceptDownloads: true },
      { args: SPARSE_DEMO },
    ));
  });

  after(async () => {
    await closeAppPage({ app, browser });
  });

  const openView = (id: string) => openViewOf(page, id);

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

  it('turns a DE result into a connectivity query and runs it from the Query view', async () => {
    await openView('latents');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="group-a"] option[value^="env:"]').length >= 2);
    const envs = await page
      .getByTestId('group-a')
      .locator('option[value^="env:"]')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    await page.getByTestId('group-a').selectOption(envs[0] as string);
    await page.getByTestId('group-b').selectOption(envs[1] as string);
    await page.getByTestId('run-differential').click();
    const action = page.getByTestId('de-query');
    await action.waitFor({ timeout: 30_000 });
    await page.getByTestId('de-query-top').fill('10');
    await page.getByTestId('de-query-fdr').fill('0.5');
    const [, upCount, downCount] = (await page.getByTestId('de-query-counts').innerText()).match(/(\d+) up, (\d+) down/) ?? [];
    assert.ok(Number(upCount) + Number(downCount) > 0, 'some genes pass the thresholds');
    assert.ok(Number(upCount) <= 10 && Number(downCount) <= 10, 'at most N per direction');
    await page.getByTestId('use-as-query').click();
    await page.waitForFunction(() => window.location.hash === '#/query');
    const up = (await page.getByTestId('query-up').inputValue()).split('\n').filter((g) => g !== '');
    const down = (await page.getByTestId('query-down').inputValue()).split('\n').filter((g) => g !== '');
    assert.equal(up.length, Number(upCount));
    assert.equal(down.length, Number(downCount));
    for (const g of [...up, ...down]) assert.match(g, /^g\d{4}$/);
    const note = await page.getByTestId('query-source').innerText();
    assert.ok(note.includes(`${envs[0]?.slice(4)} vs ${envs[1]?.slice(4)}`), note);
    assert.match(note, /top 10 genes by Welch t with BH-adjusted p < 0\.5/);
    await page.getByTestId('query-random').fill('100');
    await page.getByTestId('run-query').click();
    await page.getByTestId('query-table').locator('tbody tr').first().waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('query-result').innerText(), new RegExp(`Query: ${up.length} up, ${down.length} down genes`));
  });

  it("lists a drug's neighbours by prior shift, measured change and fingerprint, and says when no MoA is known", async () => {
    const panel = page.getByTestId('mechanism-neighbours');
    await panel.getByTestId('run-neighbours').click();
    await panel.getByTestId('moa-retrieval').waitFor({ timeout: 60_000 });
    assert.match(await panel.innerText(), /nothing to retrieve/, 'the demo dataset carries no MoA');
    // The neighbours arrive after the retrieval.
    await panel.getByTestId('neighbours-delta').locator('tbody tr').first().waitFor({ timeout: 60_000 });
    assert.equal(await panel.getByTestId('neighbours-delta').locator('tbody tr').count(), 10);
    assert.equal(await panel.getByTestId('neighbours-prior-shift').locator('tbody tr').count(), 10);
    await screenshot(page, 'mechanism-3-neighbours', { fromTop: false });
    assert.deepEqual(consoleErrors, []);
  });
});
