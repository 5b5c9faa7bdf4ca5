// Grouped bars (one group per category, one bar per series) with ± error whiskers, as one Chart.js
// config for the screen (theme palette) and export (print palette).
import type { ChartConfiguration, Plugin } from 'chart.js';
import { baseChartOptions, type ChartPalette, themedPlugins, themedScale } from '../chart-options.js';

export interface BarSeries {
  label: string;
  colour: string;
  /** One value per category (null: no bar). */
  values: (number | null)[];
  /** Whisker from low to high per category, when known. */
  errors?: ({ low: number; high: number } | null)[];
}

export interface GroupedBarsSpec {
  title: string;
  categories: string[];
  series: BarSeries[];
  yLabel: string;
}

function whiskers(series: BarSeries[], colour: string): Plugin<'bar'> {
  return {
    id: 'whiskers',
    afterDatasetsDraw(c) {
      const { ctx } = c;
      const y = c.scales.y;
      if (!y) return;
      ctx.save();
      ctx.lineWidth = 1.2;
      ctx.strokeStyle = colour;
      series.forEach((s, i) => {
        const meta = c.getDatasetMeta(i);
        if (meta.hidden) return;
        meta.data.forEach((bar, j) => {
          const e = s.errors?.[j];
          if (!e || s.values[j] === null) return;
          const top = y.getPixelForValue(e.high);
          const bottom = y.getPixelForValue(e.low);
          const half = Math.min(6, ((bar as unknown as { width: number }).width ?? 8) / 3);
          ctx.beginPath();
          ctx.moveTo(bar.x, top);
          ctx.lineTo(bar.x, bottom);
          ctx.moveTo(bar.x - half, top);
          ctx.lineTo(bar.x + half, top);
          ctx.moveTo(bar.x - half, bottom);
          ctx.lineTo(bar.x + half, bottom);
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };
}

export function groupedBarsConfig(spec: GroupedBarsSpec, palette: ChartPalette): ChartConfiguration<'bar', (number | null)[], string> {
  // Bars take plain numbers per category, so Chart.js parses them (unlike the line charts).
  const { parsing: _parsing, ...options } = baseChartOptions;
  return {
    type: 'bar',
    data: {
      labels: [...spec.categories],
      datasets: spec.series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.colour, borderColor: s.colour })),
    },
    options: {
      ...options,
      plugins: themedPlugins(palette, spec.title),
      scales: { x: themedScale(palette), y: themedScale(palette, spec.yLabel) },
    },
    plugins: [whiskers(spec.series, palette.text)],
  };
}
