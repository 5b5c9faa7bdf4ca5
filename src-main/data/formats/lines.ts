// Streaming line and record reading for the text formats (GCT, CSV, TSV). Files are read in
// 1 MiB chunks; only the current chunk and the lines cut out of it are in memory.

import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

import { FormatError } from './errors.js';
import { type ReadOptions, throwIfAborted } from './types.js';

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

/** Yields the lines of a UTF-8 text file in batches (one batch per chunk read). BOM removed. */
export async function* readLineBatches(path: string, options: LineReadOptions = {}): AsyncGenerator<LineBatch, void, undefined> {
  const stream = createReadStream(path, { highWaterMark: options.highWaterMark ?? 1024 * 1024 });
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 1;
  let bytes = 0;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(options.signal);
      bytes += chunk.length;
      let text = carry + decoder.write(chunk);
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      // Keep a trailing "\r" for the next chunk: it may be the first half of "\r\n".
      let held = '';
      if (text.endsWith('\r')) {
        held = '\r';
        text = text.slice(0, -1);
      }
      const parts = text.split(/\r\n|\n|\r/);
      carry = (parts.pop() ?? '') + held;
      if (parts.length > 0) {
        yield { lines: parts, firstLine: lineNo };
        lineNo += parts.length;
      }
      options.onBytes?.(bytes);
    }
  } catch (error) {
    if (error instanceof FormatError) throw error;
    if (options.signal?.aborted) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new FormatError('io', path, `cannot read the file (${code})`, { cause: error });
    throw error;
  } finally {
    stream.destroy();
  }
  const rest = carry + decoder.end();
  if (rest.length > 0) {
    const parts = rest.split(/\r\n|\n|\r/);
    if (parts.at(-1) === '') parts.pop();
    if (parts.length > 0) yield { lines: parts, firstLine: lineNo };
  }
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
        pending = { text, line: start };
        continue;
      }
      pending = null;
      out.push({ fields, line: start });
    }
    if (out.length > 0) yield out;
  }
  if (pending) {
    throw new FormatError('truncated', path, 'a quoted field is never closed before the end of the file', { line: pending.line });
  }
}
