// Types for imports that ship none: Vite's ?inline assets (the export fonts) and svgcanvas.
declare module '*.ttf?inline' {
  const dataUrl: string;
  export default dataUrl;
}

declare module 'svgcanvas' {
  /** A CanvasRenderingContext2D look-alike that records drawing as SVG. */
  export class Context {
    constructor(options: { width: number; height: number; document?: Document; ctx?: CanvasRenderingContext2D });
    readonly width: number;
    readonly height: number;
    getSvg(): SVGSVGElement;
    getSerializedSvg(fixNamedEntities?: boolean): string;
  }
}
