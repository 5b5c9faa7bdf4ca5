// Predicted change from control of the most-moved genes, as horizontal bars (up in red, down in
// blue, matching the heatmaps). One Chart.js config for the screen and for export.
import type { ChartConfiguration } from 'chart.js';
import { baseChartOptions, type ChartPalette, themedPlugins, themedScale } from '../chart-options.js';

export interface GeneBarsSpec {
  title: string;
  /** Already ordered, most up first. */
  genes: { symbol: string; delta: number }[];
  valueLabel: string;
}

export function geneBarsConfig(spec: GeneBarsSpec, palette: ChartPalette): ChartConfiguration<'bar', (number | null)[], string> {
  // Two series (up, down) so the legend explains the colours; each gene has a value in one only,
  // and skipNull gives that bar the gene's whole row.
  const side = (up: boolean) => spec.genes.map((g) => (g.delta >= 0 === up ? g.delta : null));
  return {
    type: 'bar',
    data: {
      labels: spec.genes.map((g) => g.symbol),
      datasets: [
        { label: 'up', data: side(true), backgroundColor: '#d9534f', borderWidth: 0 },
        { label: 'down', data: side(false), backgroundColor: '#2f6fde', borderWidth: 0 },
      ],
    },
    options: {
      ...baseChartOptions,
      parsing: undefined,
      skipNull: true,
      indexAxis: 'y',
      plugins: themedPlugins(palette, spec.title, 'bottom'),
      scales: {
        x: themedScale(palette, spec.valueLabel),
        y: { ...themedScale(palette, 'gene'), ticks: { color: palette.text, autoSkip: false } },
      },
    },
  };
}
