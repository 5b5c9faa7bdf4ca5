// The latent projection scatter as one Chart.js config (screen and export): one dataset per
// category so the legend explains the colours; the rarest categories share "other".
import type { ChartConfiguration } from 'chart.js';
import { baseChartOptions, type ChartPalette, seriesColours, themedPlugins, themedScale } from '../chart-options.js';

export interface ScatterSpec {
  title: string;
  x: number[];
  y: number[];
  categories: (string | null)[];
  xLabel: string;
  yLabel: string;
}

const MAX_LEGEND = 12;

export function scatterConfig(spec: ScatterSpec, palette: ChartPalette): ChartConfiguration<'scatter', { x: number; y: number }[]> {
  const counts = new Map<string, number>();
  for (const c of spec.categories) counts.set(c ?? '(missing)', (counts.get(c ?? '(missing)') ?? 0) + 1);
  const named = new Set(
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, MAX_LEGEND - 1)
      .map(([k]) => k),
  );
  const groups = new Map<string, { x: number; y: number }[]>();
  spec.x.forEach((xi, i) => {
    const raw = spec.categories[i] ?? '(missing)';
    const key = named.has(raw) ? raw : 'other';
    const points = groups.get(key) ?? [];
    if (points.length === 0) groups.set(key, points);
    points.push({ x: xi, y: spec.y[i] as number });
  });
  return {
    type: 'scatter',
    data: {
      datasets: [...groups].map(([label, data], i) => ({
        label,
        data,
        pointRadius: spec.x.length > 5000 ? 1.5 : 2.5,
        backgroundColor: label === 'other' ? palette.neutral : (seriesColours[i % seriesColours.length] as string),
        borderWidth: 0,
      })),
    },
    options: {
      ...baseChartOptions,
      plugins: themedPlugins(palette, spec.title, 'right'),
      scales: { x: themedScale(palette, spec.xLabel), y: themedScale(palette, spec.yLabel) },
    },
  };
}
