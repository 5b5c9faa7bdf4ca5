// PNG metadata without re-encoding: the browser encodes the pixels, this inserts a pHYs chunk
// (so viewers and journals see the chosen DPI) and text chunks (provenance) after IHDR.
// tEXt holds Latin-1 only; anything else goes in an uncompressed UTF-8 iTXt chunk.
import CRC32 from 'crc-32';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface PngChunk {
  type: string;
  data: Uint8Array;
}

export function readPngChunks(png: Uint8Array): PngChunk[] {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) throw new Error('Not a PNG file (bad signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: PngChunk[] = [];
  let offset = 8;
  while (offset + 12 <= png.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > png.length) throw new Error(`PNG chunk ${type} runs past the end of the file`);
    chunks.push({ type, data: png.slice(offset + 8, offset + 8 + length) });
    offset += 12 + length;
    if (type === 'IEND') break;
  }
  if (chunks[0]?.type !== 'IHDR') throw new Error('PNG does not start with IHDR');
  return chunks;
}

export function writePng(chunks: PngChunk[]): Uint8Array {
  const size = 8 + chunks.reduce((n, c) => n + 12 + c.data.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(SIGNATURE, 0);
  let offset = 8;
  for (const chunk of chunks) {
    const type = Uint8Array.from(chunk.type, (c) => c.charCodeAt(0));
    view.setUint32(offset, chunk.data.length);
    out.set(type, offset + 4);
    out.set(chunk.data, offset + 8);
    view.setUint32(offset + 8 + chunk.data.length, CRC32.buf(chunk.data, CRC32.buf(type)) >>> 0);
    offset += 12 + chunk.data.length;
  }
  return out;
}

/** Inserts pHYs (when dpi is given) and text chunks after IHDR; an existing pHYs is replaced. */
export function withPngMetadata(png: Uint8Array, metadata: { dpi?: number; text: [string, string][] }): Uint8Array {
  const chunks = readPngChunks(png).filter((c) => !(metadata.dpi && c.type === 'pHYs'));
  const added: PngChunk[] = [];
  if (metadata.dpi) added.push(physChunk(metadata.dpi));
  for (const [keyword, text] of metadata.text) added.push(textChunk(keyword, text));
  return writePng([chunks[0] as PngChunk, ...added, ...chunks.slice(1)]);
}

export function physChunk(dpi: number): PngChunk {
  const data = new Uint8Array(9);
  const view = new DataView(data.buffer);
  const perMetre = Math.round(dpi / 0.0254);
  view.setUint32(0, perMetre);
  view.setUint32(4, perMetre);
  data[8] = 1; // unit: metre
  return { type: 'pHYs', data };
}

export function textChunk(keyword: string, text: string): PngChunk {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(keyword) || /^ | $| {2}/.test(keyword)) {
    throw new Error(`Invalid PNG text keyword: ${JSON.stringify(keyword)}`);
  }
  const key = Uint8Array.from(keyword, (c) => c.charCodeAt(0));
  if ([...text].every((c) => c === '\n' || isLatin1Printable(c))) {
    return { type: 'tEXt', data: concat([key, [0], Uint8Array.from(text, (c) => c.charCodeAt(0))]) };
  }
  // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text.
  return { type: 'iTXt', data: concat([key, [0, 0, 0, 0, 0], new TextEncoder().encode(text)]) };
}

/** tEXt and iTXt chunks as keyword → text (the first of each keyword). */
export function readPngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const chunk of readPngChunks(png)) {
    if (chunk.type !== 'tEXt' && chunk.type !== 'iTXt') continue;
    const nul = chunk.data.indexOf(0);
    const keyword = String.fromCharCode(...chunk.data.subarray(0, nul));
    let text: string;
    if (chunk.type === 'tEXt') {
      text = String.fromCharCode(...chunk.data.subarray(nul + 1));
    } else {
      if (chunk.data[nul + 1] !== 0) continue; // compressed iTXt: not written by us
      const language = chunk.data.indexOf(0, nul + 3);
      const translated = chunk.data.indexOf(0, language + 1);
      text = new TextDecoder().decode(chunk.data.subarray(translated + 1));
    }
    if (!(keyword in out)) out[keyword] = text;
  }
  return out;
}

export function readPngSize(png: Uint8Array): { width: number; height: number } {
  const ihdr = readPngChunks(png)[0] as PngChunk;
  const view = new DataView(ihdr.data.buffer, ihdr.data.byteOffset, ihdr.data.byteLength);
  return { width: view.getUint32(0), height: view.getUint32(4) };
}

/** Dots per inch from pHYs, or null when the file does not say. */
export function readPngDpi(png: Uint8Array): number | null {
  const phys = readPngChunks(png).find((c) => c.type === 'pHYs');
  if (phys?.data[8] !== 1) return null;
  return new DataView(phys.data.buffer, phys.data.byteOffset, 9).getUint32(0) * 0.0254;
}

function isLatin1Printable(c: string): boolean {
  const code = c.charCodeAt(0);
  return (code >= 0x20 && code <= 0x7e) || (code >= 0xa1 && code <= 0xff);
}

function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
