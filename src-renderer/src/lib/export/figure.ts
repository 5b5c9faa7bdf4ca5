// What a figure hands to the export menu: its title, how to draw it, and whose data it shows.
// Two ways to draw, so any plot can join: a Chart.js config (re-rendered off-screen), or a
// function that draws on a 2-D context (the same code then yields canvas pixels and SVG).
import type { AnyChartConfig, ChartPalette } from '../chart-options.js';
import type { ProvenanceScope } from './scope.js';

export type FigureSource =
  | {
      kind: 'chart';
      /** Size in CSS pixels (1/96 inch); the PNG is this times dpi/96. */
      width: number;
      height: number;
      config: (palette: ChartPalette) => AnyChartConfig;
    }
  | {
      kind: 'draw';
      width: number;
      height: number;
      draw: (ctx: CanvasRenderingContext2D, palette: ChartPalette, fontFamily: string) => void;
    };

export interface FigureSpec {
  title: string;
  source: FigureSource;
  provenance: ProvenanceScope;
}

export type FigureFormat = 'svg' | 'png' | 'pdf';

export interface FigureExportOptions {
  format: FigureFormat;
  /** PNG only. */
  dpi: number;
  /** A visible provenance caption under the figure (metadata is always written). */
  caption: boolean;
}

export const DPI_CHOICES = [150, 300, 600] as const;

/** Default export size of charts: 7.5 × 4.5 inches, a multiple of 16 px so 150/300/600 dpi give whole pixels. */
export const CHART_EXPORT_SIZE = { width: 720, height: 432 } as const;
