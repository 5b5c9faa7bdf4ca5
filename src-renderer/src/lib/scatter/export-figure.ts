// The latent scatter as an exportable figure: the same points and colours as the WebGL view, drawn
// on a 2-D context (which the exporter records as SVG/PDF vectors or rasterises at the chosen dpi),
// with title, axes, tick values and the legend. Pure drawing, no DOM lookups.
import { interpolateViridis } from 'd3-scale-chromatic';
import type { ChartPalette } from '../chart-options.js';
import type { ColourEncoding } from './colour.js';
import { finiteExtent } from './layout.js';

export interface ScatterFigureSpec {
  title: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  colours: ColourEncoding;
  colourName: string;
  xLabel: string;
  yLabel: string;
}

export const SCATTER_EXPORT_SIZE = { width: 720, height: 528 } as const;
const PLOT = { left: 64, top: 40, right: 200, bottom: 52 };

function ticks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const step = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / nice) * nice; v <= max + nice * 1e-9; v += nice) out.push(Math.abs(v) < nice * 1e-9 ? 0 : v);
  return out;
}

const label = (v: number) =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4)));

export function drawScatterFigure(ctx: CanvasRenderingContext2D, palette: ChartPalette, font: string, spec: ScatterFigureSpec): void {
  const { width, height } = SCATTER_EXPORT_SIZE;
  const plotW = width - PLOT.left - PLOT.right;
  const plotH = height - PLOT.top - PLOT.bottom;
  const range = (values: ArrayLike<number>) => {
    let { min: lo, max: hi } = finiteExtent(values);
    if (lo > hi) [lo, hi] = [0, 1];
    const m = (hi - lo || 1) * 0.04;
    return [lo - m, hi + m] as const;
  };
  const [x0, x1] = range(spec.x);
  const [y0, y1] = range(spec.y);
  const px = (v: number) => PLOT.left + ((v - x0) / (x1 - x0)) * plotW;
  const py = (v: number) => PLOT.top + plotH - ((v - y0) / (y1 - y0)) * plotH;

  ctx.fillStyle = palette.background;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = palette.text;
  ctx.font = `bold 14px ${font}`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(spec.title, PLOT.left, 24);

  ctx.font = `11px ${font}`;
  ctx.strokeStyle = palette.grid;
  ctx.lineWidth = 1;
  ctx.fillStyle = palette.muted;
  ctx.textAlign = 'center';
  for (const t of ticks(x0, x1)) {
    ctx.beginPath();
    ctx.moveTo(px(t), PLOT.top);
    ctx.lineTo(px(t), PLOT.top + plotH);
    ctx.stroke();
    ctx.fillText(label(t), px(t), PLOT.top + plotH + 16);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks(y0, y1)) {
    ctx.beginPath();
    ctx.moveTo(PLOT.left, py(t));
    ctx.lineTo(PLOT.left + plotW, py(t));
    ctx.stroke();
    ctx.fillText(label(t), PLOT.left - 6, py(t));
  }
  ctx.strokeStyle = palette.muted;
  ctx.strokeRect(PLOT.left, PLOT.top, plotW, plotH);

  ctx.fillStyle = palette.text;
  ctx.font = `12px ${font}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(spec.xLabel, PLOT.left + plotW / 2, height - 12);
  ctx.save();
  ctx.translate(16, PLOT.top + plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(spec.yLabel, 0, 0);
  ctx.restore();

  // Points: small squares (cheaper than arcs in SVG/PDF), one fill per run of equal colour.
  const n = spec.x.length;
  const r = n > 50_000 ? 0.9 : n > 10_000 ? 1.3 : n > 2_000 ? 1.8 : 2.6;
  const rgba = spec.colours.rgba;
  let current = '';
  for (let i = 0; i < n; i++) {
    const x = spec.x[i] as number;
    const y = spec.y[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const colour = `rgba(${rgba[i * 4]},${rgba[i * 4 + 1]},${rgba[i * 4 + 2]},0.8)`;
    if (colour !== current) {
      ctx.fillStyle = colour;
      current = colour;
    }
    ctx.fillRect(px(x) - r, py(y) - r, 2 * r, 2 * r);
  }

  drawLegend(ctx, palette, font, spec, PLOT.left + plotW + 16, PLOT.top);
}

function drawLegend(
  ctx: CanvasRenderingContext2D,
  palette: ChartPalette,
  font: string,
  spec: ScatterFigureSpec,
  left: number,
  top: number,
) {
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = palette.text;
  ctx.font = `bold 12px ${font}`;
  ctx.fillText(spec.colourName, left, top + 6);
  ctx.font = `11px ${font}`;
  const legend = spec.colours.legend;
  if (legend.kind === 'categorical') {
    legend.items.slice(0, 24).forEach((item, k) => {
      const y = top + 26 + k * 17;
      ctx.fillStyle = item.colour;
      ctx.fillRect(left, y - 5, 10, 10);
      ctx.fillStyle = palette.text;
      const text = `${item.label} (${item.count.toLocaleString('en-US')})`;
      ctx.fillText(text.length > 26 ? `${text.slice(0, 25)}…` : text, left + 16, y);
    });
    return;
  }
  const barTop = top + 22;
  const barHeight = 160;
  const steps = 40;
  for (let s = 0; s < steps; s++) {
    ctx.fillStyle = interpolateViridis(1 - (s + 0.5) / steps);
    ctx.fillRect(left, barTop + (s * barHeight) / steps, 14, barHeight / steps + 0.5);
  }
  ctx.fillStyle = palette.text;
  ctx.fillText(label(legend.max), left + 20, barTop + 4);
  ctx.fillText(label(legend.min), left + 20, barTop + barHeight - 4);
  if (legend.missing > 0) {
    ctx.fillStyle = legend.missingColour;
    ctx.fillRect(left, barTop + barHeight + 14, 10, 10);
    ctx.fillStyle = palette.text;
    ctx.fillText(`(missing) (${legend.missing.toLocaleString('en-US')})`, left + 16, barTop + barHeight + 19);
  }
}
