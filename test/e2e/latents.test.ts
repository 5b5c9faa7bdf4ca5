/// <reference lib="dom" />
// The Latents view as a person uses it, in Chromium (WebGL through SwiftShader): the WebGL
// scatter draws, hovering names a sample, two lassos make groups A and B, differential
// expression fills a table and a volcano plot and exports as CSV, and after a reload the view
// comes back as it was left (colouring, named selections, their notes, the compared groups).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Browser, Download, Page } from 'playwright-core';
import { type App, closeAppPage, openAppPage, openView as openViewOf, SPARSE_DEMO, screenshot } from './harness.js';

/** A canvas's pixels (WebGL or 2-D, read back through a 2-D copy): how many are painted, and a checksum to compare two frames. */
async function canvasPixels(page: Page, selector: string): Promise<{ painted: number; checksum: number }> {
  return page.evaluate((sel) => {
    const source = document.querySelector(sel) as HTMLCanvasElement | null;
    if (!source || source.width === 0) return { painted: 0, checksum: 0 };
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const context = copy.getContext('2d') as CanvasRenderingContext2D;
    context.drawImage(source, 0, 0);
    const data = context.getImageData(0, 0, copy.width, copy.height).data;
    let checksum = 0;
    let painted = 0;
    for (let i = 0; i < data.length; i++) {
      checksum = (Math.imul(checksum, 31) + (data[i] as number)) | 0;
      if (i % 4 === 3 && (data[i] as number) > 0) painted++;
    }
    return { painted, checksum };
  }, selector);
}

const paintedPixels = async (page: Page, selector: string) => (await canvasPixels(page, selector)).painted;

/** Page coordinates of painted pixels of the scatter canvas inside a region given as fractions of the canvas. */
async function paintedPointIn(
  page: Page,
  region: { x0: number; x1: number; y0: number; y1: number },
): Promise<{ x: number; y: number } | null> {
  return page.evaluate((r) => {
    const source = document.querySelector('[data-testid="scatter-canvas"]') as HTMLCanvasElement;
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const context = copy.getContext('2d') as CanvasRenderingContext2D;
    context.drawImage(source, 0, 0);
    const data = context.getImageData(0, 0, copy.width, copy.height).data;
    const rect = source.getBoundingClientRect();
    const scale = source.width / rect.width;
    for (let py = Math.floor(r.y0 * copy.height); py < r.y1 * copy.height; py++) {
      for (let px = Math.floor(r.x0 * copy.width); px < r.x1 * copy.width; px++) {
        // An opaque pixel is the middle of a point, not its anti-aliased rim.
        if ((data[(py * copy.width + px) * 4 + 3] as number) > 200) return { x: rect.left + px / scale, y: rect.top + py / scale };
      }
    }
    return null;
  }, region);
}

async function drag(page: Page, polygon: [number, number][]): Promise<void> {
  const [first, ...rest] = polygon;
  if (!first) return;
  await page.mouse.move(first[0], first[1]);
  await page.mouse.down();
  for (const [x, y] of rest) await page.mouse.move(x, y, { steps: 4 });
  await page.mouse.move(first[0], first[1], { steps: 4 });
  await page.mouse.up();
}

describe('Latents: WebGL scatter, selections, differential expression, sessions', () => {
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

  it('trains a small model on the demo dataset', async () => {
    await openView('train');
    await page.getByTestId('model-family').selectOption('env-vae');
    await page.getByTestId('hidden-units').fill('32');
    await page.getByTestId('latent-dim').fill('8');
    await page.getByTestId('epochs').fill('3');
    await page.getByTestId('start-training').click();
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 90_000 });
  });

  it('draws the projection with WebGL and names the sample under the mouse', async () => {
    await openView('latents');
    const plot = page.getByTestId('latent-scatter');
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="latent-scatter"]') as HTMLElement | null;
      return el?.dataset.points === '1920' && el.dataset.renderer === 'webgl' && Number(el.dataset.frames ?? 0) > 0;
    });
    const painted = await paintedPixels(page, '[data-testid="scatter-canvas"]');
    const box = await plot.boundingBox();
    assert.ok(box);
    // 1920 round points of ≥ 4 px: thousands of painted pixels, far from all of the plot.
    assert.ok(painted > 2000, `only ${painted} painted pixels`);
    assert.ok(painted < box.width * box.height * 0.9, `${painted} painted pixels: the plot is flooded`);
    assert.equal(await page.getByTestId('scatter-legend').getAttribute('data-kind'), 'categorical');

    const point = await paintedPointIn(page, { x0: 0, x1: 1, y0: 0, y1: 1 });
    assert.ok(point, 'a painted point');
    await page.mouse.move(point.x, point.y);
    const tooltip = page.getByTestId('scatter-tooltip');
    await tooltip.waitFor();
    // The colouring column is the environment key; the point is named by its sample id (asked for the
    // drawn points once they are drawn), not by its position.
    assert.match(await tooltip.innerText(), /\S+\s+environment key: \S+/);
    await page.waitForFunction(
      () => !/^point \d/.test(document.querySelector('[data-testid="scatter-tooltip"]')?.textContent?.trim() ?? ''),
    );
    await screenshot(page, 'latents-1-webgl-hover');

    // Wheel zoom redraws (more frames) and keeps points on screen.
    const frames = Number(await plot.getAttribute('data-frames'));
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(
      (before) => Number(document.querySelector('[data-testid="latent-scatter"]')?.getAttribute('data-frames')) > before,
      frames,
    );
    assert.ok((await paintedPixels(page, '[data-testid="scatter-canvas"]')) > 500);
    await page.getByTestId('scatter-reset').click();

    // While zooming, frames move the last exact one; once the gesture ends, the frame is exact: the
    // same pixels as with every frame exact.
    const zoomedFrame = async () => {
      await page.getByTestId('scatter-reset').click();
      await page.waitForFunction(() => (document.querySelector('[data-testid="latent-scatter"]') as HTMLElement).dataset.exact === 'true');
      const before = await plot.evaluate((el) => ({ frames: Number(el.dataset.frames), exact: Number(el.dataset.exactFrames) }));
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.6);
      await page.mouse.wheel(0, -300);
      await page.waitForFunction((n) => {
        const el = document.querySelector('[data-testid="latent-scatter"]') as HTMLElement;
        return el.dataset.exact === 'true' && Number(el.dataset.exactFrames) > n;
      }, before.exact);
      const after = await plot.evaluate((el) => ({ frames: Number(el.dataset.frames), exact: Number(el.dataset.exactFrames) }));
      return {
        moved: after.frames - after.exact - (before.frames - before.exact),
        pixels: await canvasPixels(page, '[data-testid="scatter-canvas"]'),
      };
    };
    const fast = await zoomedFrame();
    assert.ok(fast.moved > 0, 'no frame moved the snapshot during the gesture');
    await page.getByTestId('scatter-exact-frames').check();
    const exact = await zoomedFrame();
    assert.equal(exact.moved, 0);
    assert.deepEqual(fast.pixels, exact.pixels, 'the frame after the gesture differs from an exact one');
    await page.getByTestId('scatter-exact-frames').uncheck();
    await page.getByTestId('scatter-reset').click();
  });

  it('pages the prior-shift heatmap from the lab: scroll, overview, search, every row as CSV', async () => {
    // A short window so that the 24 environments need scrolling (the view shows at most 60 % of its height).
    await page.setViewportSize({ width: 1400, height: 400 });
    try {
      const shifts = page.getByTestId('prior-shift');
      const map = shifts.getByTestId('heatmap').first();
      // Waits for the layout of the smaller window too: the rows drawn before it are all 24.
      await page.waitForFunction(() => {
        const el = document.querySelector('[data-testid="prior-shift"] [data-testid="heatmap"]') as HTMLElement | null;
        const drawnRows = Number(el?.dataset.drawnRows);
        return el?.dataset.rows === '24' && Number(el.dataset.heldRows) > 0 && drawnRows > 0 && drawnRows < 24;
      });
      const drawn = Number(await map.getAttribute('data-drawn-rows'));
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="heatmap-overview"]')?.getAttribute('data-block')) >= 1);
      const readRow = async (offset: number) => {
        await map.hover({ position: { x: 220 + 9, y: 118 + 18 * offset + 9 } });
        const text = await shifts.getByTestId('heatmap-readout').first().innerText();
        return (text.split(' · ')[0] as string).replace(/^◌ /, '');
      };
      const top = await readRow(0);
      // Scrolled to the end, the last rows are drawn (fetched from the lab as they come into view).
      await shifts
        .getByTestId('heatmap-viewport')
        .first()
        .evaluate((el) => {
          el.scrollTop = el.scrollHeight;
        });
      await page.waitForFunction(
        (first) =>
          document.querySelector('[data-testid="prior-shift"] [data-testid="heatmap"]')?.getAttribute('data-first-row') === String(first),
        24 - drawn,
      );
      const last = await readRow(drawn - 1);
      // The overview jumps back to the top.
      const overview = shifts.getByTestId('heatmap-overview').first();
      await overview.click({ position: { x: 4, y: 1 } });
      await page.waitForFunction(
        () => document.querySelector('[data-testid="prior-shift"] [data-testid="heatmap"]')?.getAttribute('data-first-row') === '0',
      );
      assert.equal(await readRow(0), top);

      // Every row, in the heatmap's order, as CSV.
      const [download] = await Promise.all([page.waitForEvent('download'), shifts.getByTestId('export-prior-shifts').click()]);
      const rows = (await downloadText(download)).split(/\r\n/).filter((line) => line && !line.startsWith('#'));
      assert.equal(rows.length, 25, 'a header and 24 environments');
      assert.match(rows[0] as string, /^environment,held_out,mean_z0,.*,log_std_z7$/);
      const keys = rows.slice(1).map((line) => line.split(',')[0]);
      assert.equal(keys[0], top);
      assert.equal(keys[23], last);

      // The search runs in the lab and pages through its matches.
      await shifts.getByTestId('heatmap-search').first().fill(last);
      await page.waitForFunction(
        () => document.querySelector('[data-testid="prior-shift"] [data-testid="heatmap"]')?.getAttribute('data-rows') === '1',
      );
      assert.match(await shifts.getByTestId('heatmap-count').first().innerText(), /^1 of 24 rows/);
      assert.equal(await readRow(0), last);
      await shifts.getByTestId('heatmap-search').first().fill('');
      await page.waitForFunction(
        () => document.querySelector('[data-testid="prior-shift"] [data-testid="heatmap"]')?.getAttribute('data-rows') === '24',
      );
    } finally {
      await page.setViewportSize({ width: 1400, height: 1000 });
    }
  });

  it('colours by another metadata column, with its legend', async () => {
    // The demo's columns are all categorical; numeric colouring is covered by test/unit/scatter.test.ts.
    await page.getByTestId('colour-by').selectOption('target_latent');
    await page.waitForFunction(() =>
      /^target_latent/.test(document.querySelector('[data-testid="scatter-legend"]')?.textContent?.trim() ?? ''),
    );
    const legend = await page.getByTestId('scatter-legend').innerText();
    assert.match(legend, /C0\s+\d+/);
    assert.doesNotMatch(legend, /drug01/);
  });

  it('exports the scatter as a vector figure with axes, legend, every point and its provenance', async () => {
    const figure = page.getByTestId('scatter-figure');
    await figure.getByTestId('export-button').click();
    const menu = figure.getByTestId('export-menu');
    await menu.getByTestId('export-format-svg').check();
    const [download] = await Promise.all([page.waitForEvent('download'), menu.getByTestId('export-save').click()]);
    const svg = await downloadText(download);
    assert.match(download.suggestedFilename(), /\.svg$/);
    for (const text of ['Posterior means, PCA', '>target_latent<', 'PC1 (', 'PC2 ('])
      assert.ok(svg.includes(text), `the SVG shows ${text}`);
    const points = Number(await page.getByTestId('latent-scatter').getAttribute('data-points'));
    const rects = svg.match(/<rect /g)?.length ?? 0;
    assert.ok(rects >= points, `${rects} rects for ${points} points`);
    assert.match(svg, /cellshift\.run_id|run_id/);
  });

  it('lassoes two groups and compares them: table, volcano, CSV', async () => {
    const box = await page.getByTestId('latent-scatter').boundingBox();
    assert.ok(box);
    await page.getByTestId('scatter-mode-lasso').click();
    const left = await paintedPointIn(page, { x0: 0.1, x1: 0.4, y0: 0.3, y1: 0.7 });
    const right = await paintedPointIn(page, { x0: 0.6, x1: 0.9, y0: 0.3, y1: 0.7 });
    assert.ok(left && right, 'points on both sides of the plot');
    // A lasso starts on the plot: the square around a point stays inside the canvas.
    const around = (p: { x: number; y: number }, r: number): [number, number][] => [
      [p.x - r, p.y - r],
      [p.x + r, p.y - r],
      [p.x + r, p.y + r],
      [p.x - r, p.y + r],
    ];
    await drag(page, around(left, 60));
    await page.locator('[data-testid="selection"][data-name="Selection 1"]').waitFor();
    await drag(page, around(right, 60));
    await page.locator('[data-testid="selection"][data-name="Selection 2"]').waitFor();
    assert.match(await page.getByTestId('group-a').inputValue(), /^sel:/);
    assert.match(await page.getByTestId('group-b').inputValue(), /^sel:/);
    // Both groups drawn with their rings on top.
    assert.ok((await paintedPixels(page, '[data-testid="scatter-canvas"]')) > 2000);

    await page.getByTestId('selection-note').first().fill('Left cluster: candidate responders');
    await page.getByTestId('selection-note').first().blur();

    await page.getByTestId('run-differential').click();
    await page.getByTestId('de-row').first().waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('de-row').count(), 100, 'first 100 of 200 genes');
    assert.match(await page.getByTestId('de-summary').innerText(), /Selection 1 \(\d+ samples\) vs Selection 2 \(\d+\)/);
    for (const row of (await page.getByTestId('de-row').all()).slice(0, 10)) {
      const cells = await row.locator('td').allInnerTexts();
      const [difference, t, p, adjusted] = cells.slice(2).map((c) => Number(c.replace('< ', '')));
      for (const v of [difference, t, p, adjusted]) assert.ok(Number.isFinite(v), `non-finite cell in ${cells.join(' | ')}`);
      assert.ok((p as number) <= (adjusted as number) + 1e-12, 'adjusted p is never below p');
    }
    const volcano = page.getByTestId('volcano');
    assert.equal(await volcano.getAttribute('data-points'), '200');
    assert.ok((await paintedPixels(page, '[data-testid="volcano"] canvas')) > 500, 'the volcano plot drew');

    // Sorting by adjusted p keeps the column ascending.
    await page.getByRole('button', { name: /^adj\. p/ }).click();
    const adjusted = (await page.locator('[data-testid="de-row"] td:nth-child(6)').allInnerTexts()).map((c) => Number(c.replace('< ', '')));
    assert.deepEqual(
      adjusted,
      [...adjusted].sort((a, b) => a - b),
    );

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-differential').click()]);
    const csv = await downloadText(download);
    assert.match(download.suggestedFilename(), /^de-Selection_1-vs-Selection_2\.csv$/);
    assert.match(csv, /^# title: Differential expression Selection 1 vs Selection 2\r\n/);
    assert.match(csv, /\r\n# test: Welch t, Benjamini–Hochberg\r\n/);
    const lines = csv
      .trim()
      .split(/\r\n/)
      .filter((l) => !l.startsWith('#'));
    assert.equal(lines[0], 'gene_id,symbol,mean_Selection 1,mean_Selection 2,mean_difference,welch_t,df,p,adj_p_bh');
    assert.equal(lines.length, 201);
    for (const line of lines.slice(1)) {
      const values = line.split(',').slice(2).map(Number);
      assert.ok(
        values.every((v) => Number.isFinite(v)),
        line,
      );
    }

    const [members] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-selections').click()]);
    const memberLines = (await downloadText(members))
      .trim()
      .split(/\r\n/)
      .filter((l) => !l.startsWith('#'));
    assert.equal(memberLines[0], 'selection,sample_id');
    assert.ok(memberLines.some((l) => l.startsWith('Selection 1,')) && memberLines.some((l) => l.startsWith('Selection 2,')));
    const [notes] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-notes').click()]);
    assert.match(await downloadText(notes), /Selection 1,\d+,Left cluster: candidate responders,/);

    await page.getByTestId('compare').scrollIntoViewIfNeeded();
    await screenshot(page, 'latents-2-differential', { fromTop: false });
  });

  it('comes back as it was after a reload', async () => {
    // Let the debounced save land before leaving.
    await page.waitForTimeout(1000);
    await page.reload();
    await page.waitForFunction(() => window.location.hash === '#/latents');
    await page.locator('[data-testid="selection"][data-name="Selection 2"]').waitFor();
    assert.equal(await page.getByTestId('colour-by').inputValue(), 'target_latent');
    await page.waitForFunction(() =>
      /^target_latent/.test(document.querySelector('[data-testid="scatter-legend"]')?.textContent?.trim() ?? ''),
    );
    assert.deepEqual(await page.getByTestId('selection').evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))), [
      'Selection 1',
      'Selection 2',
    ]);
    assert.equal(await page.getByTestId('selection-note').first().inputValue(), 'Left cluster: candidate responders');
    assert.match(await page.getByTestId('group-a').locator('option:checked').innerText(), /Selection 1/);
    assert.match(await page.getByTestId('group-b').locator('option:checked').innerText(), /Selection 2/);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="latent-scatter"]')?.getAttribute('data-frames') ?? 0) > 0,
    );
    await screenshot(page, 'latents-3-restored');
  });

  it('compares two environments picked from the list', async () => {
    const environments = await page
      .getByTestId('group-b')
      .locator('option[value^="env:"]')
      .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    assert.ok(environments.includes('env:control'));
    await page.getByTestId('group-a').selectOption('env:control');
    await page.getByTestId('group-b').selectOption(environments.find((v) => v !== 'env:control') as string);
    await page.getByTestId('run-differential').click();
    await page.waitForFunction(() =>
      /^control \(\d+ samples\)/.test(document.querySelector('[data-testid="de-summary"]')?.textContent?.trim() ?? ''),
    );
    assert.ok((await page.getByTestId('de-row').count()) > 0);
  });

  it('comes back from another view at once, asking the lab for nothing it showed before', async () => {
    const drawn = () =>
      page.waitForFunction(() => {
        const plot = document.querySelector('[data-testid="latent-scatter"]') as HTMLElement | null;
        const maps = Array.from(document.querySelectorAll('[data-testid="prior-shift"] [data-testid="heatmap"]')) as HTMLElement[];
        return Number(plot?.dataset.frames ?? 0) > 0 && maps.length === 2 && maps.every((m) => Number(m.dataset.heldRows) > 0);
      });
    await drawn();
    await page.waitForTimeout(500); // answers of this visit still arriving
    const asked: string[] = [];
    const onRequest = (request: { url(): string; postData(): string | null }) => {
      if (request.url().includes('/api/call')) asked.push(/"method":"([^"]+)"/.exec(request.postData() ?? '')?.[1] ?? '?');
    };
    page.on('request', onRequest);
    try {
      for (const other of ['datasets', 'runs']) {
        await openView(other);
        await openView('latents');
        await drawn();
        await page.locator('[data-testid="selection"][data-name="Selection 1"]').waitFor();
      }
      await page.waitForTimeout(500);
    } finally {
      page.off('request', onRequest);
    }
    const latentsCalls = asked.filter((m) => /^(analysis\.|datasets\.sample|selections\.list|sessions\.get)/.test(m));
    assert.deepEqual(latentsCalls, [], `asked again: ${asked.join(', ')}`);
  });

  it('says so instead of drawing when the browser has no WebGL', async () => {
    const { chromium } = await import('playwright-core');
    const { chromiumPath } = await import('./harness.js');
    const noGl = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-webgl', '--disable-3d-apis'],
    });
    try {
      const other = await noGl.newPage({ viewport: { width: 1200, height: 900 } });
      await other.goto(app.url.replace(/#.*$/, ''));
      await other.click('nav a[data-view="latents"]');
      const fallback = other.getByTestId('scatter-fallback');
      await fallback.waitFor({ timeout: 30_000 });
      assert.match(await fallback.innerText(), /needs WebGL/);
      // The rest of the view still works.
      await other.locator('[data-testid="selection"][data-name="Selection 1"]').waitFor();
    } finally {
      await noGl.close();
    }
  });

  it('logged no errors in the browser', () => {
    assert.deepEqual(consoleErrors, []);
  });

  it('opens from the results stored when the run completed, on a new server that cannot load the model', async () => {
    const { dbPath } = app;
    await closeAppPage({ browser });
    await app.stop({ keepDatabase: true });
    const db = new Database(dbPath);
    try {
      const stored = db.prepare('SELECT method, points FROM latents_results ORDER BY method, points').all();
      assert.ok(
        stored.some((r) => JSON.stringify(r) === '{"method":"prior-shifts","points":0}') &&
          stored.some((r) => JSON.stringify(r) === '{"method":"pca","points":20000}'),
        `stored: ${JSON.stringify(stored)}`,
      );
      // Unreadable weights (an UPDATE, which leaves the stored results in place): whatever the
      // view draws now comes from the store, not from a model.
      db.prepare("UPDATE checkpoints SET weights = x'00'").run();
    } finally {
      db.close();
    }
    ({ app, browser, page } = await openAppPage([], { viewport: { width: 1400, height: 1000 } }, { args: SPARSE_DEMO, dbPath }));
    await openView('latents');
    await page.waitForFunction(() => {
      const plot = document.querySelector('[data-testid="latent-scatter"]') as HTMLElement | null;
      const maps = Array.from(document.querySelectorAll('[data-testid="prior-shift"] [data-testid="heatmap"]')) as HTMLElement[];
      return (
        plot?.dataset.points === '1920' &&
        Number(plot.dataset.frames ?? 0) > 0 &&
        maps.length === 2 &&
        maps.every((m) => Number(m.dataset.heldRows) > 0)
      );
    });
    assert.ok((await paintedPixels(page, '[data-testid="scatter-canvas"]')) > 2000);
  });
});

async function downloadText(download: Download): Promise<string> {
  const path = await download.path();
  return readFileSync(path, 'utf8');
}
