// Where points sit on screen, shared by the WebGL shader (which repeats basePosition's formula),
// hover lookup and lasso selection. Three spaces: data; normalised [0, 1]² (what the GPU gets,
// so float32 keeps precision whatever the data's offset); base pixels (the plot area at zoom 1,
// y down); screen pixels = base · k + (tx, ty), the d3-zoom transform.
import { polygonContains } from 'd3-polygon';

export const PLOT_PADDING = 16;

export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** Smallest and largest finite value, by a loop (Math.min(...values) overflows the stack at 100k points); min > max when none is finite. */
export function finiteExtent(values: ArrayLike<number>): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

export function boundsOf(x: ArrayLike<number>, y: ArrayLike<number>): Bounds {
  let minX = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    if (!Number.isFinite(xi) || !Number.isFinite(yi)) continue;
    if (xi < minX) minX = xi;
    if (xi > maxX) maxX = xi;
    if (yi < minY) minY = yi;
    if (yi > maxY) maxY = yi;
  }
  if (minX > maxX) return { minX: 0, maxX: 1, minY: 0, maxY: 1 };
  // A flat axis (one latent, identical points) still gets a visible extent.
  if (maxX === minX) [minX, maxX] = [minX - 0.5, maxX + 0.5];
  if (maxY === minY) [minY, maxY] = [minY - 0.5, maxY + 0.5];
  return { minX, maxX, minY, maxY };
}

/** Interleaved (x, y) in [0, 1]², ready for a vertex buffer. Non-finite points go off-plot. */
export function normalise(x: ArrayLike<number>, y: ArrayLike<number>, b: Bounds): Float32Array {
  const out = new Float32Array(x.length * 2);
  const sx = 1 / (b.maxX - b.minX);
  const sy = 1 / (b.maxY - b.minY);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    const ok = Number.isFinite(xi) && Number.isFinite(yi);
    out[2 * i] = ok ? (xi - b.minX) * sx : -10;
    out[2 * i + 1] = ok ? (yi - b.minY) * sy : -10;
  }
  return out;
}

/** Base pixel position of a normalised point in a plot of width × height CSS pixels. */
export function basePosition(nx: number, ny: number, width: number, height: number): [number, number] {
  return [PLOT_PADDING + nx * (width - 2 * PLOT_PADDING), PLOT_PADDING + (1 - ny) * (height - 2 * PLOT_PADDING)];
}

export function basePositions(normalised: Float32Array, width: number, height: number): { bx: Float32Array; by: Float32Array } {
  const n = normalised.length / 2;
  const bx = new Float32Array(n);
  const by = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [px, py] = basePosition(normalised[2 * i] as number, normalised[2 * i + 1] as number, width, height);
    bx[i] = px;
    by[i] = py;
  }
  return { bx, by };
}

/** Indices of the points inside a polygon (base pixels), bounding box first so big plots stay fast. */
export function pointsInPolygon(bx: Float32Array, by: Float32Array, polygon: readonly [number, number][]): number[] {
  if (polygon.length < 3) return [];
  let x0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (const [px, py] of polygon) {
    x0 = Math.min(x0, px);
    x1 = Math.max(x1, px);
    y0 = Math.min(y0, py);
    y1 = Math.max(y1, py);
  }
  const inside: number[] = [];
  const poly = polygon as [number, number][];
  for (let i = 0; i < bx.length; i++) {
    const px = bx[i] as number;
    const py = by[i] as number;
    if (px < x0 || px > x1 || py < y0 || py > y1) continue;
    if (polygonContains(poly, [px, py])) inside.push(i);
  }
  return inside;
}
