// The Chart.js configs the screen and the exports share: what a figure must carry to stand alone
// (title, axis titles, legend labels, whiskers) and data the axis ranges can trust.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartPalettes } from '../../src-renderer/src/lib/chart-options.js';
import { groupedBarsConfig } from '../../src-renderer/src/lib/charts/grouped-bars.js';
import { volcanoConfig } from '../../src-renderer/src/lib/charts/volcano.js';

describe('figure configs', () => {
  it('grouped bars: categories, one dataset per series, axis title, whiskers in the text colour', () => {
    const config = groupedBarsConfig(
      {
        title: 'R² per split',
        categories: ['random', 'held-out drugs', 'scaffold'],
        series: [
          { label: 'ridge', colour: '#111111', values: [0.85, 0.73, 0.66], errors: [{ low: 0.81, high: 0.89 }, null, null] },
          { label: 'cvae', colour: '#222222', values: [0.78, null, 0.67] },
        ],
        yLabel: 'R²',
      },
      chartPalettes.print,
    );
    assert.deepEqual(config.data.labels, ['random', 'held-out drugs', 'scaffold']);
    assert.deepEqual(
      config.data.datasets.map((d) => [d.label, d.data]),
      [
        ['ridge', [0.85, 0.73, 0.66]],
        ['cvae', [0.78, null, 0.67]],
      ],
    );
    assert.equal(config.options?.plugins?.title?.text, 'R² per split');
    assert.equal((config.options?.scales?.y as { title?: { text: string } } | undefined)?.title?.text, 'R²');
    assert.equal('parsing' in (config.options ?? {}), false, 'bars are plain numbers that Chart.js must parse');
    assert.deepEqual(
      config.plugins?.map((p) => p.id),
      ['whiskers'],
    );
  });

  it('volcano: each class sorted by effect, since Chart.js reads the range of unparsed data from its ends', () => {
    const points = [
      { x: 5, y: 9, label: 'a', class: 'up' as const },
      { x: -40, y: 16, label: 'b', class: 'down' as const },
      { x: 71, y: 14, label: 'c', class: 'up' as const },
      { x: 0.1, y: 0.2, label: 'd', class: 'ns' as const },
      { x: 30, y: 8, label: 'e', class: 'up' as const },
    ];
    const config = volcanoConfig({ title: 'A vs B', points, xLabel: 'log2 fold change' }, chartPalettes.light);
    const up = config.data.datasets[0]?.data.map((p) => p.x);
    assert.deepEqual(up, [5, 30, 71]);
    assert.equal(
      config.data.datasets.reduce((n, d) => n + d.data.length, 0),
      points.length,
    );
  });
});
