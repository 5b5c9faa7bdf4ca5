// Format detection from content, never from the file name: files named .gctx that hold GCT text
// exist in the wild, and an .h5 file may be a GCTX or an AnnData file.

import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';

import { findHdf5Signature, loadH5 } from './h5.js';
import { H5JsFile } from './h5js.js';

export type DetectedFormat = 'gctx' | 'gct' | 'h5ad' | 'csv' | 'tsv' | 'unknown';

export interface Detection {
  format: DetectedFormat;
  /** Offset of the HDF5 superblock (0 or a user-block size), null for text. */
  hdf5Offset: number | null;
  /** Why this answer (for logs and error messages). */
  reason: string;
  /** For a file recognised as something this app cannot read (compressed, UTF-16): what to do. */
  hint?: string;
  /**
   * The file is gzip-compressed. Text formats are read through a decompressor; an HDF5 format
   * (hdf5Offset set: the offset inside the decompressed bytes) must be unpacked to a file first,
   * because HDF5 needs random access.
   */
  gzip?: boolean;
}

/** Containers people save matrices in, recognised by their first bytes. */
export const CONTAINERS: [bytes: number[], what: string][] = [
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive; extract the file first'],
  [[0x42, 0x5a, 0x68], 'bzip2-compressed; decompress it first (bunzip2)'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz-compressed; decompress it first (unxz)'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd-compressed; decompress it first (unzstd)'],
];

const SNIFF_BYTES = 64 * 1024;

export async function detectFormat(path: string): Promise<DetectedFormat> {
  return (await detectFormatDetailed(path)).format;
}

export async function detectFormatDetailed(path: string): Promise<Detection> {
  const full = resolve(path);
  const hdf5Offset = await findHdf5Signature(full);
  if (hdf5Offset !== null) return classifyHdf5(full, hdf5Offset);
  const head = await readHead(full, SNIFF_BYTES);
  if (head[0] === 0x1f && head[1] === 0x8b) return classifyGzip(full);
  return { ...classifyText(head), hdf5Offset: null };
}

/** What a gzip file holds, from the start of its decompressed bytes. */
async function classifyGzip(path: string): Promise<Detection> {
  const inner = await readGunzippedHead(path, SNIFF_BYTES);
  if (inner.length >= 8 && inner.subarray(0, 8).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    // The layout (GCTX or AnnData) can only be told once unpacked; the name is the best guess now.
    const name = path.toLowerCase().replace(/\.gz$/, '');
    const format: DetectedFormat = name.endsWith('.h5ad') ? 'h5ad' : 'gctx';
    return { format, hdf5Offset: 0, gzip: true, reason: `gzip-compressed HDF5 (${format} by its name)` };
  }
  if (inner.length === 0) {
    const what = 'the gzip file is empty or damaged (nothing decompresses); fetch it again';
    return { format: 'unknown', hdf5Offset: null, gzip: true, reason: what, hint: what };
  }
  const text = classifyText(inner);
  return { ...text, hdf5Offset: null, gzip: true, reason: `gzip-compressed ${text.reason}` };
}

/** Up to `bytes` decompressed bytes from the start of a gzip file (damaged data: what came before). */
async function readGunzippedHead(path: string, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const file = createReadStream(path, { highWaterMark: 64 * 1024 });
  const gunzip = createGunzip();
  file.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) break;
    }
  } catch {
    // A truncated or damaged stream: classify what decompressed; reading it will name the problem.
  } finally {
    gunzip.destroy();
    file.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await openFile(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The layout's verdict from which paths exist (h5js or h5wasm answers). */
function classifyLayout(has: (path: string) => boolean, hdf5Offset: number): Detection {
  if (has('/0/DATA/0/matrix') || has('/0/META') || has('/0/DATA')) {
    return { format: 'gctx', hdf5Offset, reason: 'HDF5 with the GCTX layout (/0/DATA, /0/META)' };
  }
  if (has('/X') && (has('/obs') || has('/var'))) {
    return { format: 'h5ad', hdf5Offset, reason: 'HDF5 with the AnnData layout (/X, /obs, /var)' };
  }
  return { format: 'unknown', hdf5Offset, reason: 'HDF5 without a GCTX (/0/DATA) or AnnData (/X, /obs) layout' };
}

/** The layout by h5js (no wasm to load), or null when h5js does not read the file's structure. */
function classifyHdf5Js(path: string, hdf5Offset: number): Detection | null {
  let file: H5JsFile | null = null;
  try {
    file = H5JsFile.open(path, hdf5Offset);
    const opened = file;
    return classifyLayout((p) => opened.resolve(p) !== null, hdf5Offset);
  } catch {
    return null;
  } finally {
    file?.close();
  }
}

async function classifyHdf5(path: string, hdf5Offset: number): Promise<Detection> {
  const fast = classifyHdf5Js(path, hdf5Offset);
  if (fast) return fast;
  const lib = await loadH5();
  let file: InstanceType<typeof lib.File> | null = null;
  try {
    file = new lib.File(path, 'r');
    const has = (p: string): boolean => {
      try {
        return file?.get(p) != null;
      } catch {
        return false;
      }
    };
    return classifyLayout(has, hdf5Offset);
  } catch {
    // Truncated or corrupt: let the reader matching the name report the specific problem.
    const ext = extname(path).toLowerCase();
    const format: DetectedFormat = ext === '.h5ad' ? 'h5ad' : 'gctx';
    return { format, hdf5Offset, reason: `HDF5 signature found but the file does not open; guessing ${format} from the name` };
  } finally {
    try {
      file?.close();
    } catch {
      // already invalid
    }
  }
}

function classifyText(head: Buffer): Omit<Detection, 'hdf5Offset'> {
  if (head.length === 0) return { format: 'unknown', reason: 'empty file' };
  for (const [bytes, what] of CONTAINERS) {
    if (bytes.every((b, i) => head[i] === b)) return { format: 'unknown', reason: `the file is ${what}`, hint: `the file is ${what}` };
  }
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff) || looksLikeUtf16(head)) {
    const what = 'the file is UTF-16 text; save it as UTF-8';
    return { format: 'unknown', reason: what, hint: what };
  }
  let start = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) start = 3; // UTF-8 BOM
  if (head.includes(0, start)) return { format: 'unknown', reason: 'binary content (NUL bytes) without an HDF5 signature' };
  const text = head.subarray(start).toString('utf8');
  if (/^#1\.[23][\t ]*(?:\r|\n|$)/.test(text)) {
    return { format: 'gct', reason: `GCT text (${text.slice(0, 4)})` };
  }
  const lines = text.split(/\r?\n|\r/).filter((line) => line.length > 0);
  // The last line may be cut by the sniff window.
  if (lines.length > 1 && head.length === SNIFF_BYTES) lines.pop();
  const first = lines[0];
  if (first === undefined) return { format: 'unknown', reason: 'no text lines' };
  const tabs = countOutsideQuotes(first, '\t');
  const commas = countOutsideQuotes(first, ',');
  if (tabs === 0 && commas === 0) {
    // European spreadsheet exports: ';' between fields, ',' as the decimal mark.
    if (countOutsideQuotes(first, ';') > 0) {
      const what = 'the file is semicolon-separated text; save it as CSV (commas, decimal points) or as tab-separated text';
      return { format: 'unknown', reason: what, hint: what };
    }
    return { format: 'unknown', reason: 'text without tab or comma separators' };
  }
  const delimiter = tabs >= commas ? '\t' : ',';
  return delimiter === '\t' ? { format: 'tsv', reason: 'tab-separated text' } : { format: 'csv', reason: 'comma-separated text' };
}

/** ASCII written as UTF-16 without a byte-order mark: every other byte of the start is NUL. */
function looksLikeUtf16(head: Buffer): boolean {
  const n = Math.min(head.length, 64) & ~1;
  if (n < 8) return false;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) even++;
    if (head[i + 1] === 0) odd++;
  }
  return (even === n / 2 && odd === 0) || (odd === n / 2 && even === 0);
}

function countOutsideQuotes(line: string, char: string): number {
  let count = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === char && !quoted) count++;
  }
  return count;
}
