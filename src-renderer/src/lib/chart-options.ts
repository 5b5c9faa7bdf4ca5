// What every chart in the lab shares: no animation (live updates stay cheap), sized by its
// container, data given as {x, y} points so Chart.js skips parsing; and the colours of text,
// grid and background for each theme, so charts follow the app's light or dark look.
// Exports always use the print palette: black on white, as journals expect.
import type { ChartConfiguration, ChartType } from 'chart.js';

export const baseChartOptions = {
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  parsing: false,
} as const;

export type ThemeName = 'light' | 'dark';

export interface ChartPalette {
  name: ThemeName | 'print';
  /** Titles, axis titles, legend labels. */
  text: string;
  /** Tick labels. */
  muted: string;
  grid: string;
  background: string;
  /** Stand-in for series beyond the named ones ("other"). */
  neutral: string;
}

export const chartPalettes: Record<ThemeName | 'print', ChartPalette> = {
  light: { name: 'light', text: '#1b1f24', muted: '#5b6470', grid: 'rgba(27, 31, 36, 0.1)', background: '#f1f3f6', neutral: '#b4b9c0' },
  dark: { name: 'dark', text: '#e5e8ec', muted: '#9aa3ae', grid: 'rgba(229, 232, 236, 0.12)', background: '#1c2026', neutral: '#5d646e' },
  print: { name: 'print', text: '#000000', muted: '#333333', grid: '#e3e3e3', background: '#ffffff', neutral: '#b0b0b0' },
};

/** Categorical series colours, readable on both light and dark backgrounds; as many as the scatter names (11) and one spare. */
export const seriesColours = [
  '#2f6fde',
  '#d9534f',
  '#1f8a4c',
  '#9b59b6',
  '#e67e22',
  '#16a085',
  '#c0392b',
  '#7f8c8d',
  '#f1c40f',
  '#34495e',
  '#e84393',
  '#00a8ff',
];

/** One axis: ticks, grid, border and its title, in the palette's colours. */
export function themedScale(palette: ChartPalette, title?: string) {
  return {
    ticks: { color: palette.muted },
    grid: { color: palette.grid },
    border: { color: palette.grid },
    title: { display: title !== undefined, text: title ?? '', color: palette.text },
  };
}

/** Title and legend in the palette's colours. */
export function themedPlugins(palette: ChartPalette, title: string, legend: 'bottom' | 'right' | 'top' | false = 'bottom') {
  return {
    title: { display: true, text: title, color: palette.text },
    legend: legend === false ? { display: false } : { position: legend, labels: { color: palette.text } },
  };
}

/** Fills the chart area's background, so exports are not transparent and match the theme. */
export const backgroundPlugin = {
  id: 'cellshiftBackground',
  beforeDraw(chart: { ctx: CanvasRenderingContext2D; width: number; height: number }, _args: unknown, options: { colour?: string }) {
    if (!options.colour) return;
    const { ctx } = chart;
    ctx.save();
    ctx.fillStyle = options.colour;
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export type AnyChartConfig = ChartConfiguration<ChartType, unknown[], unknown>;
