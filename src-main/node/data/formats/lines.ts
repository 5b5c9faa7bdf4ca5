// Streaming line and record reading for the text formats (GCT, CSV, TSV). Files are read in
// 1 MiB chunks; only the current chunk and the lines cut out of it are in memory.

import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

import { FormatError } from './errors.js';
import { type ReadOptions, throwIfAborted } from './types.js';

/**
 * Longest line accepted, in characters. The longest real ones are header lines: 473,647 LINCS
 * signature ids take about 14 M. A longer "line" is binary data or a file without line breaks, and
 * would otherwise be gathered in memory until V8's string limit breaks the read.
 */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;

/**
 * Longest field (cell) accepted, in characters. Ids, metadata and numbers are far shorter; a longer
 * field means a missing delimiter or line break (or an unclosed quote), and would end up as a
 * multi-megabyte sample id, environment key or error message.
 */
export const MAX_FIELD_CHARS = 65_536;

export interface LineBatch {
  /** Lines without their terminator ("\n", "\r\n" or "\r"). */
  lines: string[];
  /** 1-based line number of lines[0]. */
  firstLine: number;
}

export interface LineReadOptions extends ReadOptions {
  /** Called with bytes read so far, after each chunk. */
  onBytes?: (bytesRead: number) => void;
  highWaterMark?: number;
}

/** True when the file starts with the gzip magic bytes (GEO publishes every L1000 table gzipped). */
export async function isGzipFile(path: string): Promise<boolean> {
  const handle = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * The file's bytes, decompressed on the fly when it is gzip (several gzip members in a row, as
 * `cat a.gz b.gz` makes, read as one). `compressedBytes` counts what was read from disk, so progress
 * stays a fraction of the file's size.
 */
async function openByteStream(path: string, highWaterMark: number): Promise<{ stream: Readable; compressedBytes: () => number }> {
  const file = createReadStream(path, { highWaterMark });
  if (!(await isGzipFile(path))) return { stream: file, compressedBytes: () => file.bytesRead };
  const gunzip = createGunzip({ chunkSize: highWaterMark });
  file.on('error', (error) => gunzip.destroy(error));
  gunzip.on('close', () => file.destroy());
  file.pipe(gunzip);
  return { stream: gunzip, compressedBytes: () => file.bytesRead };
}

/** A zlib failure as the user's problem with the file: truncated download or damaged bytes. */
function gzipError(path: string, error: NodeJS.ErrnoException): FormatError | null {
  if (error.code === 'Z_BUF_ERROR' || error.message === 'unexpected end of file') {
    return new FormatError('truncated', path, 'the gzip stream ends early: the download is incomplete; fetch the file again');
  }
  if (typeof error.code === 'string' && error.code.startsWith('Z_')) {
    return new FormatError('unsupported', path, `damaged gzip data (${error.message}); fetch the file again`);
  }
  return null;
}

/**
 * Yields the lines of a UTF-8 text file (plain or gzip) in batches (one batch per chunk read). BOM
 * removed. Bytes that are not UTF-8 (Latin-1, UTF-16, binary) are an error naming the line, never
 * silently replaced: a Latin-1 "µM" would otherwise become "\ufffdM" and stop parsing as a dose.
 */
export async function* readLineBatches(path: string, options: LineReadOptions = {}): AsyncGenerator<LineBatch, void, undefined> {
  // A folder, device or pipe is no table: /dev/zero would stream NULs forever, a FIFO block.
  try {
    if (!(await stat(path)).isFile()) throw new FormatError('io', path, 'not a regular file');
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError('io', path, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  const { stream, compressedBytes } = await openByteStream(path, options.highWaterMark ?? 1024 * 1024);
  const decoder = new StringDecoder('utf8');
  const check = new Utf8Check(path);
  // The unfinished last line, in pieces: joined once its end arrives, so a long line costs its
  // length once (not once per chunk).
  let pieces: string[] = [];
  let pendingChars = 0;
  let heldCR = false;
  let lineNo = 1;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(options.signal);
      check.chunk(chunk, lineNo, first);
      let text = (heldCR ? '\r' : '') + decoder.write(chunk);
      heldCR = false;
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      // Keep a trailing "\r" for the next chunk: it may be the first half of "\r\n".
      if (text.endsWith('\r')) {
        heldCR = true;
        text = text.slice(0, -1);
      }
      if (text.indexOf('\n') < 0 && text.indexOf('\r') < 0) {
        pieces.push(text);
        pendingChars += text.length;
        if (pendingChars > MAX_LINE_CHARS) throw tooLong(path, lineNo);
        options.onBytes?.(compressedBytes());
        continue;
      }
      const parts = (pieces.length > 0 ? pieces.join('') + text : text).split(/\r\n|\n|\r/);
      const rest = parts.pop() ?? '';
      pieces = rest === '' ? [] : [rest];
      pendingChars = rest.length;
      if ((parts[0] as string).length > MAX_LINE_CHARS) throw tooLong(path, lineNo);
      if (parts.length > 0) {
        yield { lines: parts, firstLine: lineNo };
        lineNo += parts.length;
      }
      options.onBytes?.(compressedBytes());
    }
    check.end(lineNo);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    if (options.signal?.aborted) throw error;
    const zlibProblem = gzipError(path, error as NodeJS.ErrnoException);
    if (zlibProblem) throw zlibProblem;
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new FormatError('io', path, `cannot read the file (${code})`, { cause: error });
    throw error;
  } finally {
    stream.destroy();
  }
  const rest = pieces.join('') + decoder.end() + (heldCR ? '\r' : '');
  if (rest.length > 0) {
    const parts = rest.split(/\r\n|\n|\r/);
    if (parts.at(-1) === '') parts.pop();
    if (parts.length > 0) yield { lines: parts, firstLine: lineNo };
  }
}

function tooLong(path: string, line: number): FormatError {
  return new FormatError(
    'unsupported',
    path,
    `longer than ${MAX_LINE_CHARS / 1024 / 1024} Mi characters without a line break; this is not a text table or matrix`,
    { line },
  );
}

/**
 * Validates UTF-8 chunk by chunk (node:buffer's isUtf8 runs at memory speed; a fatal TextDecoder was
 * 5× slower than the decoding itself). A character cut by a chunk boundary is completed with the next
 * chunk. NUL bytes are refused as well: they are valid UTF-8 but never text (UTF-16, binary files).
 */
class Utf8Check {
  #tail: Buffer = Buffer.alloc(0);

  constructor(private readonly path: string) {}

  chunk(chunk: Buffer, lineNo: number, first: boolean): void {
    if (first && chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))) {
      throw new FormatError('bad-encoding', this.path, 'UTF-16 text (byte-order mark); save the file as UTF-8', { line: 1 });
    }
    const whole = this.#tail.length > 0 ? Buffer.concat([this.#tail, chunk]) : chunk;
    const end = completeLength(whole);
    const body = whole.subarray(0, end);
    const nul = body.indexOf(0);
    if (nul >= 0) {
      throw new FormatError('bad-encoding', this.path, 'a NUL byte: binary data or UTF-16 text, not UTF-8 text', {
        line: lineNo + lineBreaks(body, nul),
      });
    }
    if (!isUtf8(body)) {
      const bad = firstInvalid(body);
      throw new FormatError(
        'bad-encoding',
        this.path,
        `not valid UTF-8 (byte 0x${(body[bad] ?? 0).toString(16).padStart(2, '0')}); save the file as UTF-8 (it may be Latin-1 or Windows-1252)`,
        { line: lineNo + lineBreaks(body, bad) },
      );
    }
    this.#tail = Buffer.from(whole.subarray(end));
  }

  end(lineNo: number): void {
    if (this.#tail.length > 0) {
      throw new FormatError('bad-encoding', this.path, 'not valid UTF-8: the file ends inside a multi-byte character', { line: lineNo });
    }
  }
}

/** Length of buf without a multi-byte UTF-8 character cut off at its end. */
function completeLength(buf: Buffer): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const byte = buf[buf.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back for the lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? buf.length - back : buf.length;
  }
  return buf.length;
}

/** Offset of the first byte that is not UTF-8 (binary search on valid prefixes; error path only). */
function firstInvalid(buf: Buffer): number {
  let lo = 0; // buf[0, lo) is valid
  let hi = buf.length; // buf[0, hi) is not
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const prefix = buf.subarray(0, mid);
    if (isUtf8(prefix.subarray(0, completeLength(prefix)))) lo = mid;
    else hi = mid;
  }
  // The culprit may be the lead byte of a sequence that byte `lo` failed to continue (Latin-1 é).
  for (let k = lo - 1; k >= Math.max(0, lo - 3); k--) {
    const byte = buf[k] as number;
    if (byte >= 0xc0) return k;
    if ((byte & 0xc0) !== 0x80) break;
  }
  return lo;
}

/** Line breaks (\n, \r\n, lone \r) in buf before offset `end`. */
function lineBreaks(buf: Buffer, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) {
    const byte = buf[i];
    if (byte === 0x0a || (byte === 0x0d && buf[i + 1] !== 0x0a)) n++;
  }
  return n;
}

/** Splits one delimited line; quote handling only when the line contains a quote. */
export function splitFields(line: string, delimiter: string, quotes: boolean): string[] | null {
  if (!quotes || !line.includes('"')) return line.split(delimiter);
  return splitQuoted(line, delimiter);
}

/**
 * RFC 4180 field splitting: fields may be wrapped in double quotes, with "" for a literal quote.
 * Returns null when a quoted field is still open at the end of the line (it continues on the next).
 */
export function splitQuoted(line: string, delimiter: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (i < n && line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      // Text after the closing quote up to the delimiter is kept verbatim (lenient).
      const d = line.indexOf(delimiter, i);
      if (d < 0) {
        fields.push(value + line.slice(i));
        return fields;
      }
      fields.push(value + line.slice(i, d));
      i = d + delimiter.length;
    } else {
      const d = line.indexOf(delimiter, i);
      if (d < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, d));
      i = d + delimiter.length;
    }
  }
}

export interface TextRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

/**
 * Yields delimited records. With quotes on, a quoted field may span lines (RFC 4180); blank lines
 * are yielded as records with a single empty field so callers can report them.
 */
export async function* readRecords(
  path: string,
  delimiter: string,
  quotes: boolean,
  options: LineReadOptions = {},
): AsyncGenerator<TextRecord[], void, undefined> {
  let pending: { text: string; line: number } | null = null;
  for await (const batch of readLineBatches(path, options)) {
    const out: TextRecord[] = [];
    for (let k = 0; k < batch.lines.length; k++) {
      const lineNo = batch.firstLine + k;
      const raw = batch.lines[k] as string;
      const text: string = pending ? `${pending.text}\n${raw}` : raw;
      const start: number = pending ? pending.line : lineNo;
      const fields = splitFields(text, delimiter, quotes);
      if (fields === null) {
        // Without this bound, one stray quote would glue the rest of the file into one record,
        // re-split at every line (quadratic).
        if (text.length > MAX_FIELD_CHARS) {
          throw new FormatError(
            'unsupported',
            path,
            `a quoted field opened on this line is still open after ${MAX_FIELD_CHARS.toLocaleString('en-US')} characters; a closing quote is probably missing`,
            { line: start },
          );
        }
        pending = { text, line: start };
        continue;
      }
      pending = null;
      if (text.length > MAX_FIELD_CHARS) checkFieldLengths(path, fields, start);
      out.push({ fields, line: start });
    }
    if (out.length > 0) yield out;
  }
  if (pending) {
    throw new FormatError('truncated', path, 'a quoted field is never closed before the end of the file', { line: pending.line });
  }
}

function checkFieldLengths(path: string, fields: readonly string[], line: number): void {
  for (let c = 0; c < fields.length; c++) {
    const length = (fields[c] as string).length;
    if (length > MAX_FIELD_CHARS) {
      throw new FormatError(
        'unsupported',
        path,
        `a field of ${length.toLocaleString('en-US')} characters (the limit is ${MAX_FIELD_CHARS.toLocaleString('en-US')}); a delimiter or line break is probably missing`,
        { line, column: c + 1 },
      );
    }
  }
}
