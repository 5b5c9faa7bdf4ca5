// The line chart (training curves, study figures, run comparisons) as one Chart.js config,
// built the same way for the screen (theme palette) and for export (print palette).
import type { ChartConfiguration } from 'chart.js';
import { baseChartOptions, type ChartPalette, themedPlugins, themedScale } from '../chart-options.js';

export interface CurvePoint {
  x: number;
  y: number;
}

export interface Series {
  label: string;
  points: CurvePoint[];
  colour: string;
  dashed?: boolean;
}

export interface LineChartSpec {
  title: string;
  series: Series[];
  xLabel: string;
  yLabel: string;
  logScale?: boolean;
}

export function lineChartConfig(spec: LineChartSpec, palette: ChartPalette): ChartConfiguration<'line', CurvePoint[]> {
  // Epochs and other counts get whole-number ticks (no "1.2 epochs").
  const integerX = spec.series.every((s) => s.points.every((p) => Number.isInteger(p.x)));
  const x = themedScale(palette, spec.xLabel);
  return {
    type: 'line',
    data: {
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: s.points.map((p) => ({ x: p.x, y: p.y })),
        borderColor: s.colour,
        backgroundColor: s.colour,
        borderDash: s.dashed ? [6, 4] : [],
        pointRadius: s.points.length > 60 ? 0 : 2,
        borderWidth: 2,
      })),
    },
    options: {
      ...baseChartOptions,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false },
      plugins: lineLegend(themedPlugins(palette, spec.title, 'bottom')),
      scales: {
        x: { type: 'linear', ...x, ticks: { ...x.ticks, ...(integerX ? { precision: 0 } : {}) } },
        y: { type: spec.logScale ? 'logarithmic' : 'linear', ...themedScale(palette, spec.yLabel) },
      },
    },
  };
}

/** Legend keys drawn as short lines, dashed like their series, instead of filled boxes. */
function lineLegend(plugins: ReturnType<typeof themedPlugins>) {
  const legend = plugins.legend as { labels?: Record<string, unknown> };
  return { ...plugins, legend: { ...legend, labels: { ...legend.labels, usePointStyle: true, pointStyle: 'line', pointStyleWidth: 28 } } };
}
