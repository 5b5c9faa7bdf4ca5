// Provenance inside an SVG file: <title>, a <desc> with `key: value` lines, and a <metadata>
// block with one element per entry (namespaced, so other tools ignore it cleanly).
import { type Provenance, provenanceText } from './provenance.js';

export const PROVENANCE_NAMESPACE = 'urn:cellshift:provenance:1';

export function escapeXml(text: string): string {
  // XML 1.0 forbids most control characters even as references: drop them.
  return [...text]
    .filter((c) => c.charCodeAt(0) >= 0x20 || c === '\t' || c === '\n' || c === '\r')
    .join('')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

export function svgMetadataMarkup(p: Provenance): string {
  const entries = p.entries.map(([k, v]) => `<cs:entry key="${escapeXml(k)}">${escapeXml(v)}</cs:entry>`).join('');
  return (
    `<title>${escapeXml(p.title)}</title>` +
    `<desc>${escapeXml(provenanceText(p))}</desc>` +
    `<metadata><cs:provenance xmlns:cs="${PROVENANCE_NAMESPACE}">${entries}</cs:provenance></metadata>`
  );
}

/** Inserts the metadata as the first children of the root <svg> element. */
export function withSvgMetadata(svg: string, p: Provenance): string {
  const open = /<svg\b[^>]*>/.exec(svg);
  if (!open) throw new Error('Not an SVG document: no <svg> element');
  const end = open.index + open[0].length;
  const declaration = svg.startsWith('<?xml') ? '' : '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n';
  return `${declaration}${svg.slice(0, end)}${svgMetadataMarkup(p)}${svg.slice(end)}`;
}

/** Reads the entries back (for tests and for anyone checking an exported file). */
export function readSvgProvenance(svg: string): Record<string, string> {
  const out: Record<string, string> = {};
  const unescapeXml = (s: string) => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&amp;', '&');
  for (const match of svg.matchAll(/<cs:entry key="([^"]*)">([^<]*)<\/cs:entry>/g)) {
    out[unescapeXml(match[1] ?? '')] = unescapeXml(match[2] ?? '');
  }
  return out;
}
