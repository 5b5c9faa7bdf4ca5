// Renders a figure off-screen for export, never touching the on-screen chart: PNG through an
// OffscreenCanvas scaled to the chosen DPI, SVG through svgcanvas (a 2-D context that records
// SVG), PDF by handing that SVG to svg2pdf.js on a jsPDF page with the font embedded. Every
// format gets the provenance in its metadata and, when asked, as a caption under the figure.
import { BasicPlatform, Chart } from 'chart.js';
import { Context as SvgContext } from 'svgcanvas';
import { type AnyChartConfig, backgroundPlugin, chartPalettes } from '../chart-options.js';
import type { FigureExportOptions, FigureSource, FigureSpec } from './figure.js';
import { EXPORT_FONT_FAMILY, EXPORT_FONT_NAME, loadExportFonts } from './fonts.js';
import { pdfTextString } from './pdf-strings.js';
import { withPngMetadata } from './png.js';
import { captionLines, exportFileName, type Provenance, pdfProperties, pngTextEntries, provenanceValue } from './provenance.js';
import { withSvgMetadata } from './svg-metadata.js';

export interface ExportFile {
  name: string;
  mediaType: string;
  bytes: Uint8Array;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const PRINT = chartPalettes.print;
const CAPTION = { font: 10, lineHeight: 14, padding: 10, margin: 12 } as const;

export async function exportFigure(spec: FigureSpec, provenance: Provenance, options: FigureExportOptions): Promise<ExportFile> {
  await loadExportFonts();
  const runId = provenanceValue(provenance, 'run_id')?.split(', ')[0];
  const name = exportFileName(spec.title, options.format, runId);
  const caption = options.caption ? wrapCaption(captionLines(provenance), spec.source.width - 2 * CAPTION.margin) : [];
  switch (options.format) {
    case 'png':
      return { name, mediaType: 'image/png', bytes: await renderPng(spec.source, caption, options.dpi, provenance) };
    case 'svg': {
      const svg = renderSvg(spec.source, caption);
      const markup = withSvgMetadata(new XMLSerializer().serializeToString(svg.element), provenance);
      return { name, mediaType: 'image/svg+xml', bytes: new TextEncoder().encode(markup) };
    }
    case 'pdf':
      return { name, mediaType: 'application/pdf', bytes: await renderPdf(spec.source, caption, provenance) };
  }
}

/** Chart.js config for an off-screen render: fixed size, no animation or events, print fonts, a background. */
function offscreenConfig(config: AnyChartConfig, scale: number, svg: boolean): AnyChartConfig {
  const options = (config.options ?? {}) as Record<string, unknown> & { plugins?: Record<string, unknown> };
  const title = (options.plugins?.title ?? {}) as Record<string, unknown>;
  return {
    ...config,
    ...(svg ? { platform: BasicPlatform } : {}),
    options: {
      ...options,
      animation: false,
      responsive: false,
      maintainAspectRatio: false,
      devicePixelRatio: scale,
      events: [],
      layout: { padding: { top: 4, right: 16, bottom: 4, left: 4 } },
      // svgcanvas cannot stroke a Path2D; per-segment options make Chart.js draw lines with plain path calls.
      ...(svg
        ? { datasets: { ...(options.datasets as object), line: { ...((options.datasets as { line?: object })?.line ?? {}), segment: {} } } }
        : {}),
      plugins: {
        ...options.plugins,
        title: { ...title, font: { size: 14, weight: 'bold' } },
        tooltip: { enabled: false },
        cellshiftBackground: { colour: PRINT.background },
      },
    },
    plugins: [...(config.plugins ?? []), backgroundPlugin],
  } as AnyChartConfig;
}

/** Chart.js draws synchronously with animation off, so the default font can be swapped around it. */
function withExportFont<T>(render: () => T): T {
  const saved = Chart.defaults.font.family;
  Chart.defaults.font.family = EXPORT_FONT_FAMILY;
  try {
    return render();
  } finally {
    Chart.defaults.font.family = saved;
  }
}

function drawFigureOnCanvas(source: FigureSource, scale: number, target: OffscreenCanvasRenderingContext2D): void {
  if (source.kind === 'chart') {
    const canvas = new OffscreenCanvas(source.width, source.height);
    withExportFont(() => {
      // Chart.js sizes from the canvas (CSS px) and scales it by devicePixelRatio itself.
      const chart = new Chart(canvas as unknown as HTMLCanvasElement, offscreenConfig(source.config(PRINT), scale, false));
      try {
        target.drawImage(canvas, 0, 0);
      } finally {
        chart.destroy();
      }
    });
    return;
  }
  target.save();
  target.scale(scale, scale);
  source.draw(target as unknown as CanvasRenderingContext2D, PRINT, EXPORT_FONT_FAMILY);
  target.restore();
}

async function renderPng(source: FigureSource, caption: string[], dpi: number, provenance: Provenance): Promise<Uint8Array> {
  const scale = dpi / 96;
  const height = source.height + captionHeight(caption);
  const canvas = new OffscreenCanvas(Math.round(source.width * scale), Math.round(height * scale));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw off-screen (no 2-D OffscreenCanvas)');
  ctx.fillStyle = PRINT.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  drawFigureOnCanvas(source, scale, ctx);
  if (caption.length > 0) {
    ctx.save();
    ctx.scale(scale, scale);
    drawCaption(ctx as unknown as CanvasRenderingContext2D, caption, source.height);
    ctx.restore();
  }
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return withPngMetadata(new Uint8Array(await blob.arrayBuffer()), { dpi, text: pngTextEntries(provenance) });
}

function renderSvg(source: FigureSource, caption: string[]): { element: SVGSVGElement; width: number; height: number } {
  const ctx = new SvgContext({ width: source.width, height: source.height, document });
  let figure: SVGSVGElement;
  if (source.kind === 'chart') {
    figure = withExportFont(() => {
      // svgcanvas's context points .canvas at itself, which is all Chart.js's basic platform needs.
      const chart = new Chart({ getContext: () => ctx } as unknown as HTMLCanvasElement, offscreenConfig(source.config(PRINT), 1, true));
      try {
        return ctx.getSvg().cloneNode(true) as SVGSVGElement;
      } finally {
        chart.destroy();
      }
    });
  } else {
    source.draw(ctx as unknown as CanvasRenderingContext2D, PRINT, EXPORT_FONT_FAMILY);
    figure = ctx.getSvg();
  }
  const width = source.width;
  const height = source.height + captionHeight(caption);
  // One flat <svg>: the figure's defs and groups moved in (nested <svg> trips some converters).
  const root = document.createElementNS(SVG_NS, 'svg');
  root.setAttribute('xmlns', SVG_NS);
  root.setAttribute('version', '1.1');
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const background = document.createElementNS(SVG_NS, 'rect');
  for (const [k, v] of Object.entries({ x: '0', y: '0', width: String(width), height: String(height), fill: PRINT.background })) {
    background.setAttribute(k, v);
  }
  root.append(background, ...Array.from(figure.childNodes));
  // svgcanvas writes text-decoration="undefined" when no decoration was set: drop such attributes.
  for (const element of root.querySelectorAll('[text-decoration="undefined"]')) element.removeAttribute('text-decoration');
  caption.forEach((line, i) => {
    const text = document.createElementNS(SVG_NS, 'text');
    text.setAttribute('x', String(CAPTION.margin));
    text.setAttribute('y', String(captionBaseline(source.height, i)));
    text.setAttribute('font-family', EXPORT_FONT_FAMILY);
    text.setAttribute('font-size', String(CAPTION.font));
    text.setAttribute('fill', PRINT.muted);
    text.textContent = line;
    root.append(text);
  });
  return { element: root, width, height };
}

async function renderPdf(source: FigureSource, caption: string[], provenance: Provenance): Promise<Uint8Array> {
  const [{ jsPDF }, fonts] = await Promise.all([import('jspdf'), loadExportFonts(), import('svg2pdf.js')]);
  const svg = renderSvg(source, caption);
  // svg2pdf reads alignment-baseline, svgcanvas writes dominant-baseline: translate.
  const baselines: Record<string, string> = {
    central: 'middle',
    'text-before-edge': 'top',
    'text-after-edge': 'bottom',
    hanging: 'hanging',
  };
  for (const text of svg.element.querySelectorAll('text[dominant-baseline]')) {
    const mapped = baselines[text.getAttribute('dominant-baseline') ?? ''];
    if (mapped) text.setAttribute('alignment-baseline', mapped);
  }
  const width = svg.width * 0.75;
  const height = svg.height * 0.75;
  const doc = new jsPDF({
    unit: 'pt',
    format: [width, height],
    orientation: width >= height ? 'landscape' : 'portrait',
    compress: true,
    putOnlyUsedFonts: true,
  });
  doc.addFileToVFS('DejaVuSans.ttf', fonts.regular);
  doc.addFont('DejaVuSans.ttf', EXPORT_FONT_NAME, 'normal');
  doc.addFileToVFS('DejaVuSans-Bold.ttf', fonts.bold);
  doc.addFont('DejaVuSans-Bold.ttf', EXPORT_FONT_NAME, 'bold');
  doc.setFont(EXPORT_FONT_NAME, 'normal');
  const properties = pdfProperties(provenance);
  doc.setProperties(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, pdfTextString(v)])));
  // svg2pdf measures text through the DOM, so the SVG is attached (out of sight) while it converts.
  const host = document.createElement('div');
  host.setAttribute('aria-hidden', 'true');
  Object.assign(host.style, { position: 'fixed', left: '-100000px', top: '0', visibility: 'hidden' });
  host.append(svg.element);
  document.body.append(host);
  try {
    await doc.svg(svg.element, { x: 0, y: 0, width, height });
  } finally {
    host.remove();
  }
  return new Uint8Array(doc.output('arraybuffer'));
}

function captionHeight(lines: string[]): number {
  return lines.length === 0 ? 0 : CAPTION.padding * 2 + lines.length * CAPTION.lineHeight;
}

function captionBaseline(figureHeight: number, line: number): number {
  return figureHeight + CAPTION.padding + (line + 1) * CAPTION.lineHeight - 3;
}

function drawCaption(ctx: CanvasRenderingContext2D, lines: string[], figureHeight: number): void {
  ctx.fillStyle = PRINT.muted;
  ctx.font = `${CAPTION.font}px ${EXPORT_FONT_FAMILY}`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  lines.forEach((line, i) => {
    ctx.fillText(line, CAPTION.margin, captionBaseline(figureHeight, i));
  });
}

/** Greedy word wrap at the caption's font, breaking inside a word only when it alone is too wide. */
export function wrapCaption(lines: string[], maxWidth: number): string[] {
  const ctx = new OffscreenCanvas(1, 1).getContext('2d');
  if (!ctx) return lines;
  ctx.font = `${CAPTION.font}px ${EXPORT_FONT_FAMILY}`;
  const fits = (s: string) => ctx.measureText(s).width <= maxWidth;
  const out: string[] = [];
  for (const line of lines) {
    let current = '';
    for (const word of line.split(' ')) {
      const candidate = current ? `${current} ${word}` : word;
      if (fits(candidate)) {
        current = candidate;
        continue;
      }
      if (current) out.push(current);
      current = word;
      while (!fits(current) && current.length > 1) {
        let cut = current.length - 1;
        while (cut > 1 && !fits(current.slice(0, cut))) cut--;
        out.push(current.slice(0, cut));
        current = current.slice(cut);
      }
    }
    if (current) out.push(current);
  }
  return out;
}
