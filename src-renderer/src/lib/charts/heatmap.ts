// A diverging heatmap (blue < 0 < red) of a rows × columns matrix. One layout and one drawing feed
// both the on-screen canvas (Heatmap.svelte, which draws only the rows scrolled into view) and the
// export, so what is saved is what is shown.
// Colour saturates at ±limit (default: the largest |value|).
import type { ChartPalette } from '../chart-options.js';

export interface HeatmapSpec {
  title: string;
  rows: string[];
  columns: string[];
  values: number[][];
  limit?: number;
}

export interface HeatmapLayout {
  width: number;
  height: number;
  cell: number;
  left: number;
  top: number;
  extent: number;
  /** Colour bar (the legend): position, size, and its stops. */
  bar: { x: number; y: number; width: number; height: number; steps: string[] };
}

const CELL = 18;
const LEFT = 220;
const TITLE_HEIGHT = 28;
const COLUMN_LABELS = 90;
const BAR_STEPS = 64;

export function heatmapLayout(spec: HeatmapSpec): HeatmapLayout {
  // A loop, not Math.max(...): 2,000 environments × 200 latents overflow the call stack as arguments.
  let largest = 1e-9;
  for (const row of spec.values) for (const v of row) if (Number.isFinite(v) && Math.abs(v) > largest) largest = Math.abs(v);
  const extent = spec.limit ?? largest;
  const top = TITLE_HEIGHT + COLUMN_LABELS;
  const steps = Array.from({ length: BAR_STEPS }, (_, i) => divergingColour(((i + 0.5) / BAR_STEPS) * 2 - 1));
  return {
    width: Math.max(LEFT + spec.columns.length * CELL + 10, 360),
    height: top + spec.rows.length * CELL + 10,
    cell: CELL,
    left: LEFT,
    top,
    extent,
    bar: { x: 16, y: TITLE_HEIGHT + 14, width: 150, height: 10, steps },
  };
}

/** t in [-1, 1] → white-to-blue below 0, white-to-red above, as [r, g, b] in 0..255. */
export function divergingRgb(t: number): [number, number, number] {
  const clamped = Math.max(-1, Math.min(1, t));
  const fade = Math.round(255 * (1 - Math.abs(clamped)));
  return clamped >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

export function divergingColour(t: number): string {
  return `rgb(${divergingRgb(t).join(', ')})`;
}

export function cellColour(layout: HeatmapLayout, value: number): string {
  return Number.isFinite(value) ? divergingColour(value / layout.extent) : 'rgb(200, 200, 200)';
}

export function formatLimit(value: number): string {
  return Math.abs(value) >= 100 || Math.abs(value) < 0.01 ? value.toExponential(1) : value.toPrecision(2);
}

/** Rows of a heatmap as a window asks for them: labels and values of rows [first, first + count). */
export interface HeatmapRows {
  /** Rows matching the search. */
  matching: number;
  labels: string[];
  values: number[][];
}

/**
 * Where a heatmap's rows come from: at 40k+ environments the server holds them and the view asks
 * for the rows it draws (charts below only ever see a window).
 */
export interface HeatmapSource {
  /** Every row, before the search. */
  total: number;
  /** The colour scale of every window (the largest |value| of the whole matrix). */
  extent: number;
  /**
   * Rows [first, first + count) of those whose label contains `query` (case-insensitive); with
   * block > 1, each row the mean of `block` consecutive rows (the zoomed-out overview).
   */
  rows(query: string, first: number, count: number, block: number): Promise<HeatmapRows>;
}

/** A source over rows already in memory (small matrices: the synthetic ground truth). */
export function localHeatmapSource(labels: string[], values: number[][]): HeatmapSource {
  const extent = heatmapLayout({ title: '', rows: labels, columns: [], values }).extent;
  return {
    total: labels.length,
    extent,
    rows: async (query, first, count, block) => {
      const q = query.trim().toLowerCase();
      const shown = labels.flatMap((label, i) => (!q || label.toLowerCase().includes(q) ? [i] : []));
      const picked = { matching: shown.length, labels: [] as string[], values: [] as number[][] };
      for (let start = first * block; start < Math.min(shown.length, (first + count) * block); start += block) {
        const members = shown.slice(start, start + block);
        picked.labels.push(labels[members[0] as number] as string);
        picked.values.push(
          (values[members[0] as number] ?? []).map((_, j) => members.reduce((sum, i) => sum + (values[i]?.[j] ?? 0), 0) / members.length),
        );
      }
      return picked;
    },
  };
}

/** Rows [first, first + count) of the matrix, drawn right under the header. */
export interface RowWindow {
  first: number;
  count: number;
}

/** The layout's height when only `rows` rows are drawn (the on-screen window). */
export function windowHeight(layout: HeatmapLayout, rows: number): number {
  return layout.top + rows * layout.cell + 10;
}

/**
 * Draws the heatmap with its title, colour bar and column labels on any 2-D context (canvas or
 * SVG): every row, or only a window of them under the same header.
 */
export function drawHeatmap(
  ctx: CanvasRenderingContext2D,
  spec: HeatmapSpec,
  palette: ChartPalette,
  fontFamily: string,
  rows: RowWindow = { first: 0, count: spec.rows.length },
  layout: HeatmapLayout = heatmapLayout(spec),
): void {
  const { cell, left, top, bar } = layout;
  ctx.fillStyle = palette.background;
  ctx.fillRect(0, 0, layout.width, windowHeight(layout, rows.count));

  ctx.fillStyle = palette.text;
  ctx.font = `bold 14px ${fontFamily}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(spec.title, layout.width / 2, TITLE_HEIGHT / 2 + 2);

  // Legend: the colour bar with its limits.
  const stepWidth = bar.width / bar.steps.length;
  bar.steps.forEach((colour, i) => {
    ctx.fillStyle = colour;
    ctx.fillRect(bar.x + i * stepWidth, bar.y, stepWidth + 0.5, bar.height);
  });
  ctx.strokeStyle = palette.grid;
  ctx.strokeRect(bar.x, bar.y, bar.width, bar.height);
  ctx.fillStyle = palette.muted;
  ctx.font = `10px ${fontFamily}`;
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText(`−${formatLimit(layout.extent)}`, bar.x, bar.y + bar.height + 3);
  ctx.textAlign = 'center';
  ctx.fillText('0', bar.x + bar.width / 2, bar.y + bar.height + 3);
  ctx.textAlign = 'right';
  ctx.fillText(`+${formatLimit(layout.extent)}`, bar.x + bar.width, bar.y + bar.height + 3);

  ctx.fillStyle = palette.text;
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  spec.columns.forEach((column, j) => {
    const x = left + j * cell + cell / 2;
    ctx.save();
    ctx.translate(x, top - 6);
    ctx.rotate((-60 * Math.PI) / 180);
    ctx.fillText(column, 0, 0);
    ctx.restore();
  });
  ctx.font = `11px ${fontFamily}`;
  ctx.textAlign = 'right';
  const end = Math.min(spec.rows.length, rows.first + rows.count);
  for (let i = rows.first; i < end; i++) {
    const y = top + (i - rows.first) * cell;
    ctx.fillStyle = palette.text;
    ctx.fillText(spec.rows[i] as string, left - 6, y + cell * 0.7);
    (spec.values[i] ?? []).forEach((value, j) => {
      ctx.fillStyle = cellColour(layout, value);
      ctx.fillRect(left + j * cell, y, cell - 1, cell - 1);
    });
  }
}
