// Compact wire forms of per-sample columns: at 200,000 samples a JSON array of strings (one per
// sample) cost seconds to validate, stringify, parse and validate again; a dictionary of the
// distinct values packed into one string, and an Int32 code per sample as base64, cost milliseconds.
// Typed arrays travel little-endian, as on every platform the app runs on.
import { z } from 'zod';
import { Id } from './domain.js';

export const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/**
 * One column of every sample, dictionary-encoded: the distinct values joined in `levels`, each
 * one's end offset (UTF-16 units) in `levelEnds` (Uint32), and per sample the index of its value
 * (Int32; −1 where the sample has none) in `codes`.
 */
export const CodedColumn = z.object({
  column: z.string(),
  levels: z.string(),
  levelEnds: Base64,
  codes: Base64,
});
export type CodedColumn = z.infer<typeof CodedColumn>;

export interface DecodedColumn {
  column: string;
  levels: string[];
  /** Per sample, an index into `levels`, or −1 for a missing value. */
  codes: Int32Array;
}

export function bytesOfBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Bytes as base64, without Node's Buffer (the renderer uses it too); in pieces, as btoa takes a string. */
export function base64OfBytes(bytes: Uint8Array): string {
  const PIECE = 0x8000;
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += PIECE) parts.push(String.fromCharCode(...bytes.subarray(i, i + PIECE)));
  return btoa(parts.join(''));
}

/** Sample indices (positions in a dataset's sample order) as a group's `sampleIndices`. */
export function encodeSampleIndices(indices: ArrayLike<number>): string {
  const words = Int32Array.from(indices);
  return base64OfBytes(new Uint8Array(words.buffer));
}

/** A group's `sampleIndices` as numbers (unchecked against any dataset: the reader does that). */
export function decodeSampleIndices(base64: string): Int32Array {
  return new Int32Array(wordsOf(base64, 'sampleIndices'));
}

/** Float32 values as base64 (a projection's coordinates), checked to be whole values. */
export function decodeFloat32(base64: string, what: string): Float32Array {
  return new Float32Array(wordsOf(base64, what));
}

/**
 * What is wrong when `base64` does not hold `count` 32-bit values, told from its length alone (a
 * schema checks megabytes of them without decoding); null when it fits.
 */
export function wordCountIssue(base64: string, count: number, what: string): string | null {
  if (base64.length % 4 !== 0) return `${what}: ${base64.length} base64 characters are not whole groups of 4 (cut short?)`;
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  const bytes = (base64.length / 4) * 3 - padding;
  return bytes === count * 4 ? null : `${what}: ${bytes} bytes for ${count} 32-bit values (${count * 4} bytes)`;
}

function wordsOf(base64: string, what: string): ArrayBuffer {
  const bytes = bytesOfBase64(base64);
  if (bytes.length % 4 !== 0) throw new RangeError(`${what}: ${bytes.length} bytes are not whole 32-bit values`);
  return bytes.buffer as ArrayBuffer;
}

/**
 * The column's values, checked: every end within the text and in order, one code per sample, every
 * code a level or −1. Throws a RangeError saying what is wrong (the schema reports it as an issue).
 */
export function decodeCodedColumn(packed: CodedColumn, nSamples: number): DecodedColumn {
  const levels = decodePackedStrings({ values: packed.levels, ends: packed.levelEnds }, `levels of "${packed.column}"`, 'level');
  const codes = new Int32Array(wordsOf(packed.codes, `codes of "${packed.column}"`));
  if (codes.length !== nSamples) throw new RangeError(`codes of "${packed.column}": ${codes.length} codes for ${nSamples} samples`);
  for (let s = 0; s < codes.length; s++) {
    const code = codes[s] as number;
    if (code < -1 || code >= levels.length)
      throw new RangeError(`codes of "${packed.column}": sample ${s} has code ${code}, not −1..${levels.length - 1}`);
  }
  return { column: packed.column, levels, codes };
}

/** Each sample's value of a decoded column (null where missing). */
export function valuesOf(column: DecodedColumn): (string | null)[] {
  return Array.from(column.codes, (code) => (code < 0 ? null : (column.levels[code] as string)));
}

/**
 * Strings in order, packed: joined in `values`, each one's end offset (UTF-16 units) in `ends`
 * (Uint32, base64). 20,000 sample ids are one string and 80 KB of offsets, not 20,000 JSON strings.
 */
export const PackedStrings = z.object({ values: z.string(), ends: Base64 });
export type PackedStrings = z.infer<typeof PackedStrings>;

export function encodePackedStrings(strings: readonly string[]): PackedStrings {
  const ends = new Uint32Array(strings.length);
  let end = 0;
  for (const [i, value] of strings.entries()) {
    end += value.length;
    ends[i] = end;
  }
  return { values: strings.join(''), ends: base64OfBytes(new Uint8Array(ends.buffer)) };
}

/**
 * The strings back, checked: every end within `values` and in order, nothing after the last. Throws
 * a RangeError naming `what` and the `item` at fault (the schemas report it as an issue).
 */
export function decodePackedStrings(packed: PackedStrings, what: string, item = 'string'): string[] {
  const ends = new Uint32Array(wordsOf(packed.ends, `ends of ${what}`));
  const strings = new Array<string>(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i] as number;
    if (end < start || end > packed.values.length) {
      throw new RangeError(`${what}: end ${end} of ${item} ${i} is outside ${start}..${packed.values.length}`);
    }
    strings[i] = packed.values.slice(start, end);
    start = end;
  }
  if (start !== packed.values.length) throw new RangeError(`${what}: ${packed.values.length - start} characters after the last ${item}`);
  return strings;
}

/** Ids of the samples at given positions (a projection's points), in the order asked, for tooltips. */
export const SampleIdsAtParams = z.strictObject({
  datasetId: Id,
  /** Int32 sample indices as base64 (encodeSampleIndices). */
  sampleIndices: Base64,
});
export type SampleIdsAtParams = z.infer<typeof SampleIdsAtParams>;

export const SampleIdsAtResult = z.object({ datasetId: Id, ids: PackedStrings }).superRefine((result, context) => {
  try {
    decodePackedStrings(result.ids, 'sample ids');
  } catch (error) {
    context.addIssue({ code: 'custom', path: ['ids'], message: error instanceof Error ? error.message : String(error) });
  }
});
export type SampleIdsAtResult = z.infer<typeof SampleIdsAtResult>;

export const SampleColumnsParams = z.strictObject({
  datasetId: Id,
  /** Metadata columns, or 'sample id' / 'environment key'; each once. */
  columns: z
    .array(z.string().min(1).max(200))
    .min(1)
    .max(8)
    .refine((c) => new Set(c).size === c.length, 'each column at most once'),
});
export type SampleColumnsParams = z.infer<typeof SampleColumnsParams>;

export const SampleColumnsResult = z
  .object({
    datasetId: Id,
    nSamples: z.number().int().nonnegative(),
    columns: z.array(CodedColumn),
  })
  .superRefine((result, context) => {
    for (const [i, column] of result.columns.entries()) {
      try {
        decodeCodedColumn(column, result.nSamples);
      } catch (error) {
        context.addIssue({ code: 'custom', path: ['columns', i], message: error instanceof Error ? error.message : String(error) });
      }
    }
  });
export type SampleColumnsResult = z.infer<typeof SampleColumnsResult>;
