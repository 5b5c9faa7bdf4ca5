// The volcano plot (effect against −log10 p, coloured by direction where the adjusted p passes)
// as one Chart.js config, for the screen (theme palette) and export (print palette).
import type { ChartConfiguration } from 'chart.js';
import { baseChartOptions, type ChartPalette, themedPlugins, themedScale } from '../chart-options.js';

export interface VolcanoPoint {
  x: number;
  /** −log10 p */
  y: number;
  label: string;
  class: 'up' | 'down' | 'ns';
}

export interface VolcanoSpec {
  title: string;
  points: VolcanoPoint[];
  xLabel: string;
}

const classes = [
  { key: 'up', label: 'higher in A', colour: '#d9534f' },
  { key: 'down', label: 'higher in B', colour: '#2f6fde' },
  { key: 'ns', label: 'not significant', colour: '#b5b5b5' },
] as const;

export function volcanoConfig(spec: VolcanoSpec, palette: ChartPalette): ChartConfiguration<'scatter', VolcanoPoint[]> {
  const y = themedScale(palette, '−log10 p');
  return {
    type: 'scatter',
    data: {
      datasets: classes.map((c) => ({
        label: c.label,
        // With parsing off Chart.js takes the data as sorted by x and reads the range from its ends.
        data: spec.points.filter((p) => p.class === c.key).sort((a, b) => a.x - b.x),
        backgroundColor: c.key === 'ns' ? palette.neutral : c.colour,
        pointRadius: spec.points.length > 3000 ? 1.5 : 2.5,
        borderWidth: 0,
      })),
    },
    options: {
      ...baseChartOptions,
      plugins: {
        ...themedPlugins(palette, spec.title),
        tooltip: {
          callbacks: {
            label: (item) => `${(item.raw as VolcanoPoint).label}: ${item.parsed.x?.toFixed(3)}, −log10 p ${item.parsed.y?.toFixed(2)}`,
          },
        },
      },
      scales: { x: themedScale(palette, spec.xLabel), y: { ...y, min: 0 } },
    },
  };
}
