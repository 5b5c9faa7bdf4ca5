// Point colours for a metadata column: categories get a qualitative palette (most frequent
// first, the long tail shares "other"), numbers a continuous viridis scale. Pure, so it is
// tested in Node and reused by any scatter.
import { interpolateViridis, schemeSet3, schemeTableau10 } from 'd3-scale-chromatic';
import { finiteExtent } from './layout.js';

export type ColumnKind = 'categorical' | 'numeric';

export interface CategoryItem {
  label: string;
  colour: string;
  count: number;
}

export type Legend =
  | { kind: 'categorical'; items: CategoryItem[] }
  | { kind: 'numeric'; min: number; max: number; gradient: string; missing: number; missingColour: string };

export interface ColourEncoding {
  /** RGBA per point, 0–255. */
  rgba: Uint8Array;
  legend: Legend;
}

export const PALETTE: readonly string[] = [...schemeTableau10, ...schemeSet3];
export const OTHER_COLOUR = '#9a9a9a';
export const MISSING_COLOUR = '#d0d0d0';
export const MISSING_LABEL = '(missing)';
export const OTHER_LABEL = 'other';

/**
 * One collator for every comparison: localeCompare with options builds one per call, and ordering
 * 20,000 environment keys (the Latents view's default colouring at LINCS size) took 2.2 s of the
 * renderer's main thread that way.
 */
const NATURAL_ORDER = new Intl.Collator(undefined, { numeric: true });

export function encodeColours(values: readonly (string | null)[], kind: ColumnKind): ColourEncoding {
  return kind === 'numeric' ? encodeNumeric(values) : encodeCategorical(values);
}

function encodeCategorical(values: readonly (string | null)[]): ColourEncoding {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const v of values) {
    if (v === null) missing++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const ordered = [...counts].sort((a, b) => b[1] - a[1] || NATURAL_ORDER.compare(a[0], b[0]));
  // Every category gets its own colour when they fit; otherwise the last colour slot becomes "other".
  const named = ordered.length <= PALETTE.length ? ordered : ordered.slice(0, PALETTE.length - 1);
  const colourOf = new Map(named.map(([label], i) => [label, PALETTE[i] as string]));
  const rgba = new Uint8Array(values.length * 4);
  const cache = new Map<string, [number, number, number]>();
  values.forEach((v, i) => {
    const hex = v === null ? MISSING_COLOUR : (colourOf.get(v) ?? OTHER_COLOUR);
    let rgb = cache.get(hex);
    if (!rgb) {
      rgb = hexToRgb(hex);
      cache.set(hex, rgb);
    }
    rgba.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  });
  const items: CategoryItem[] = named.map(([label, count]) => ({ label, count, colour: colourOf.get(label) as string }));
  const otherCount = ordered.slice(named.length).reduce((sum, [, c]) => sum + c, 0);
  if (otherCount > 0)
    items.push({ label: `${OTHER_LABEL} (${ordered.length - named.length} categories)`, count: otherCount, colour: OTHER_COLOUR });
  if (missing > 0) items.push({ label: MISSING_LABEL, count: missing, colour: MISSING_COLOUR });
  return { rgba, legend: { kind: 'categorical', items } };
}

function encodeNumeric(values: readonly (string | null)[]): ColourEncoding {
  const numbers = values.map((v) => (v === null || v.trim() === '' ? Number.NaN : Number(v)));
  const { min, max } = finiteExtent(numbers);
  const span = max > min ? max - min : 1;
  const rgba = new Uint8Array(values.length * 4);
  const missingRgb = hexToRgb(MISSING_COLOUR);
  let missing = 0;
  numbers.forEach((n, i) => {
    const rgb = Number.isFinite(n) ? cssToRgb(interpolateViridis((n - min) / span)) : missingRgb;
    if (!Number.isFinite(n)) missing++;
    rgba.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  });
  const stops = Array.from({ length: 11 }, (_, i) => `${interpolateViridis(i / 10)} ${i * 10}%`).join(', ');
  return {
    rgba,
    legend: {
      kind: 'numeric',
      min: Number.isFinite(min) ? min : 0,
      max: Number.isFinite(max) ? max : 0,
      gradient: `linear-gradient(to right, ${stops})`,
      missing,
      missingColour: MISSING_COLOUR,
    },
  };
}

export function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
  const n = Number.parseInt(full, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** d3 interpolators return "rgb(r, g, b)" or "#rrggbb". */
export function cssToRgb(css: string): [number, number, number] {
  if (css.startsWith('#')) return hexToRgb(css);
  const parts = css.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0];
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
}
