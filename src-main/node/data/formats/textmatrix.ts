// Engine shared by the text matrix readers (GCT and CSV/TSV). A text matrix is a sequence of
// records (lines), each holding an id, some metadata fields and one value per column. Depending on
// the format a record is a gene (GCT, "genes in rows" CSV) or a sample ("samples in rows" CSV).
//
// Opening scans the whole file once, streaming: it checks every record (field count, numbers,
// duplicate ids), collects record ids and metadata, counts missing and infinite values, and keeps
// the parsed values only while they fit in `cacheBytes` (default 256 MiB). Reads are then served
// from that cache, or, for bigger files, by one more streaming pass per request that keeps only
// the requested cells. Memory stays bounded by the cache budget plus the request.

import { BatchedReader, checkIndices, findDuplicate, type GeneSelection, selectGenes, typeTextColumn } from './common.js';
import { FormatError } from './errors.js';
import { readRecords, type TextRecord } from './lines.js';
import { type ExpressionSource, type MetadataTable, outputArray, type ReadIntoOptions, type ReadOptions, throwIfAborted } from './types.js';

export type TextOrientation = 'genes-in-rows' | 'samples-in-rows';

export interface ValueStats {
  /** Cells that were empty, NA/NaN-like or the CMap missing marker -666 (read as NaN). */
  missing: number;
  /** Cells holding Inf/-Inf/Infinity (read as ±Infinity). */
  infinite: number;
  firstMissing: { line: number; column: number } | null;
  firstInfinite: { line: number; column: number } | null;
}

export interface TextScanOptions extends ReadOptions {
  /** Keep parsed values in memory up to this many bytes (float32). Default 256 MiB; 0 disables. */
  cacheBytes?: number;
  /** Progress callback: bytes of the file read so far. */
  onBytes?: (bytesRead: number) => void;
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/** How to interpret the data records of a file whose header has been parsed already. */
export interface TextLayout {
  path: string;
  format: 'gct' | 'csv' | 'tsv';
  orientation: TextOrientation;
  delimiter: string;
  quotes: boolean;
  /** Records on lines before this are header lines (already parsed). */
  firstDataLine: number;
  /** Number of data records the header announces (GCT), or null. */
  expectedRecords: number | null;
  /** Names of the metadata fields that follow the id field in each record. */
  recordMetaNames: string[];
  /** Ids of the matrix columns (the other axis), from the header. */
  columnIds: string[];
  /** Metadata of the matrix columns (GCT 1.3 column-metadata lines), typed. */
  columnMeta: MetadataTable;
  /** What a record is called in messages ("row", "sample"...). */
  recordNoun: string;
}

const MISSING_TOKENS = new Set(['', 'NA', 'na', 'NaN', 'nan', 'NAN', '-nan', '-NaN', 'N/A', '#N/A', 'NULL', 'null', '#NA', '-666']);
const INFINITY_TOKENS = new Map<string, number>([
  ['Inf', Number.POSITIVE_INFINITY],
  ['inf', Number.POSITIVE_INFINITY],
  ['INF', Number.POSITIVE_INFINITY],
  ['+Inf', Number.POSITIVE_INFINITY],
  ['+inf', Number.POSITIVE_INFINITY],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['+Infinity', Number.POSITIVE_INFINITY],
  ['-Inf', Number.NEGATIVE_INFINITY],
  ['-inf', Number.NEGATIVE_INFINITY],
  ['-INF', Number.NEGATIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses a value cell: a number, NaN for missing, ±Infinity, or undefined if not numeric. */
export function parseValueCell(text: string): number | undefined {
  // Fast path: Number() on text that starts and ends like a decimal number. Number() alone would
  // also accept hex/binary/octal ("0x1f"), so those prefixes are excluded; what remains is checked
  // by the strict regular expression below only when this quick test fails.
  const n = text.length;
  if (n > 0) {
    const first = text.charCodeAt(0);
    const last = text.charCodeAt(n - 1);
    const second = n > 1 ? text.charCodeAt(1) | 32 : 0; // lower-cased
    const radixPrefix = first === 48 && (second === 98 || second === 111 || second === 120); // 0b 0o 0x
    const digitOrSign = (first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46;
    const endsLikeNumber = (last >= 48 && last <= 57) || last === 46;
    if (digitOrSign && endsLikeNumber && !radixPrefix) {
      const v = +text;
      if (!Number.isNaN(v)) return v === -666 ? Number.NaN : v;
    }
  }
  if (NUMBER_RE.test(text)) {
    const v = +text;
    return v === -666 ? Number.NaN : v;
  }
  const trimmed = text.trim();
  if (trimmed !== text) return parseValueCell(trimmed);
  if (MISSING_TOKENS.has(text)) return Number.NaN;
  return INFINITY_TOKENS.get(text);
}

function nonNumeric(layout: TextLayout, record: TextRecord, field: number, text: string): FormatError {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return new FormatError('non-numeric', layout.path, `value "${shown}" is not a number`, { line: record.line, column: field + 1 });
}

/** Drops empty fields beyond `expected` (trailing tabs/commas some tools add). */
export function trimTrailingEmpty(fields: string[], expected: number): string[] {
  if (fields.length <= expected) return fields;
  for (let i = expected; i < fields.length; i++) if (fields[i] !== '') return fields;
  return fields.slice(0, expected);
}

function isBlank(record: TextRecord): boolean {
  return record.fields.length === 1 && (record.fields[0] as string).trim() === '';
}

/** What one validating pass over the data records found. */
export interface TextScan {
  recordIds: string[];
  recordLines: Int32Array;
  recordMeta: MetadataTable;
  /** Parsed records (one Float32Array per record) when they fit the cache budget. */
  cache: Float32Array[] | null;
  stats: ValueStats;
}

export class TextMatrixReader extends BatchedReader implements ExpressionSource {
  readonly format: 'gct' | 'csv' | 'tsv';
  readonly path: string;
  readonly orientation: TextOrientation;
  readonly nGenes: number;
  readonly nSamples: number;
  /** Missing / infinite value counts over the whole matrix (the importer applies its NaN policy). */
  readonly valueStats: ValueStats;
  /** Whether values are held in memory (else each read streams the file again). */
  readonly cached: boolean;

  protected readonly layout: TextLayout;
  private readonly recordIds: string[];
  private readonly recordLines: Int32Array;
  private readonly recordMeta: MetadataTable;
  private readonly cache: Float32Array[] | null;
  private readonly nColumns: number;

  constructor(layout: TextLayout, scan: TextScan) {
    super();
    this.layout = layout;
    this.format = layout.format;
    this.path = layout.path;
    this.orientation = layout.orientation;
    this.recordIds = scan.recordIds;
    this.recordLines = scan.recordLines;
    this.recordMeta = scan.recordMeta;
    this.cache = scan.cache;
    this.cached = scan.cache !== null;
    this.valueStats = scan.stats;
    this.nColumns = layout.columnIds.length;
    if (layout.orientation === 'genes-in-rows') {
      this.nGenes = scan.recordIds.length;
      this.nSamples = this.nColumns;
    } else {
      this.nGenes = this.nColumns;
      this.nSamples = scan.recordIds.length;
    }
  }

  geneIds(): string[] {
    return this.orientation === 'genes-in-rows' ? this.recordIds : this.layout.columnIds;
  }
  sampleIds(): string[] {
    return this.orientation === 'genes-in-rows' ? this.layout.columnIds : this.recordIds;
  }
  geneMetadata(): MetadataTable {
    return this.orientation === 'genes-in-rows' ? this.recordMeta : this.layout.columnMeta;
  }
  sampleMetadata(): MetadataTable {
    return this.orientation === 'genes-in-rows' ? this.layout.columnMeta : this.recordMeta;
  }
  /** 1-based line of each record (gene for GCT), for messages. */
  recordLine(index: number): number {
    return this.recordLines[index] ?? 0;
  }

  override async readSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options: ReadIntoOptions = {},
  ): Promise<Float32Array> {
    const genes = this.checkRequest(sampleIndices, geneIndices);
    const count = genes.count;
    const out = outputArray(sampleIndices.length * count, options.into);
    if (out.length === 0) return out;
    const gidx = genes.indices;
    if (this.cache) {
      const cache = this.cache;
      if (this.orientation === 'samples-in-rows') {
        for (let i = 0; i < sampleIndices.length; i++) {
          const row = cache[sampleIndices[i] as number] as Float32Array;
          const o = i * count;
          if (genes.runStart !== null) out.set(row.subarray(genes.runStart, genes.runStart + count), o);
          else for (let j = 0; j < count; j++) out[o + j] = row[gidx[j] as number] as number;
        }
      } else {
        for (let j = 0; j < count; j++) {
          const row = cache[gidx[j] as number] as Float32Array;
          for (let i = 0; i < sampleIndices.length; i++) out[i * count + j] = row[sampleIndices[i] as number] as number;
        }
      }
      return out;
    }
    // Streaming pass keeping only the requested cells.
    const wantRecords = new Map<number, number[]>(); // record index → output slots
    const recordIsGene = this.orientation === 'genes-in-rows';
    const keys = recordIsGene ? gidx : sampleIndices;
    for (let k = 0; k < keys.length; k++) {
      const r = keys[k] as number;
      const slots = wantRecords.get(r);
      if (slots) slots.push(k);
      else wantRecords.set(r, [k]);
    }
    const valueOffset = 1 + this.layout.recordMetaNames.length;
    const expected = valueOffset + this.nColumns;
    let recordIndex = 0;
    let remaining = wantRecords.size;
    for await (const records of layoutRecords(this.layout, options)) {
      for (const record of records) {
        if (isBlank(record)) continue;
        const slots = wantRecords.get(recordIndex);
        recordIndex++;
        if (!slots) continue;
        const fields = trimTrailingEmpty(record.fields, expected);
        if (fields.length !== expected) throw this.ragged(record, fields.length, expected);
        const cell = (column: number): number => {
          const text = fields[valueOffset + column] as string;
          const v = parseValueCell(text);
          if (v === undefined) throw nonNumeric(this.layout, record, valueOffset + column, text);
          return v;
        };
        for (const slot of slots) {
          if (recordIsGene) {
            for (let i = 0; i < sampleIndices.length; i++) out[i * count + slot] = cell(sampleIndices[i] as number);
          } else {
            const o = slot * count;
            for (let j = 0; j < count; j++) out[o + j] = cell(gidx[j] as number);
          }
        }
        remaining--;
      }
      if (remaining === 0) break;
    }
    return out;
  }

  protected override checkRequest(sampleIndices: readonly number[], geneIndices: readonly number[] | null): GeneSelection {
    checkIndices(this.path, sampleIndices, this.nSamples, 'sample');
    return selectGenes(this.path, geneIndices, this.nGenes);
  }

  close(): void {
    // Nothing held open between reads.
  }

  protected ragged(record: TextRecord, found: number, expected: number): FormatError {
    return new FormatError('ragged-row', this.path, `${found} fields where the header implies ${expected}`, {
      line: record.line,
      column: Math.min(found, expected) + 1,
    });
  }
}

/** Scans all data records once (see the module comment). */
export async function scanTextMatrix(layout: TextLayout, options: TextScanOptions = {}): Promise<TextScan> {
  const nColumns = layout.columnIds.length;
  const nMeta = layout.recordMetaNames.length;
  const valueOffset = 1 + nMeta;
  const expected = valueOffset + nColumns;
  const cacheBudget = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  let cache: Float32Array[] | null = cacheBudget > 0 ? [] : null;
  let cachedBytes = 0;
  const recordIds: string[] = [];
  const lines: number[] = [];
  const metaText: string[][] = layout.recordMetaNames.map(() => []);
  const stats: ValueStats = { missing: 0, infinite: 0, firstMissing: null, firstInfinite: null };
  const firstSeen = new Map<string, number>();
  let blankLine: number | null = null;
  let row = new Float32Array(nColumns);

  for await (const records of layoutRecords(layout, options)) {
    for (const record of records) {
      if (isBlank(record)) {
        blankLine ??= record.line;
        continue;
      }
      if (blankLine !== null) {
        throw new FormatError(
          'ragged-row',
          layout.path,
          `empty line inside the data (the next ${layout.recordNoun} is on line ${record.line})`,
          {
            line: blankLine,
            column: 1,
          },
        );
      }
      if (layout.expectedRecords !== null && recordIds.length >= layout.expectedRecords) {
        throw new FormatError(
          'shape-mismatch',
          layout.path,
          `more data lines than the ${layout.expectedRecords} ${layout.recordNoun}s announced in the header`,
          { line: record.line },
        );
      }
      const fields = trimTrailingEmpty(record.fields, expected);
      if (fields.length !== expected) {
        throw new FormatError('ragged-row', layout.path, `${fields.length} fields where the header implies ${expected}`, {
          line: record.line,
          column: Math.min(fields.length, expected) + 1,
        });
      }
      const id = fields[0] as string;
      if (id.trim() === '')
        throw new FormatError('bad-header', layout.path, `empty ${layout.recordNoun} id`, { line: record.line, column: 1 });
      const before = firstSeen.get(id);
      if (before !== undefined) {
        throw new FormatError('duplicate-id', layout.path, `duplicate ${layout.recordNoun} id "${id}" (first on line ${before})`, {
          line: record.line,
          column: 1,
        });
      }
      firstSeen.set(id, record.line);
      for (let m = 0; m < nMeta; m++) (metaText[m] as string[]).push(fields[1 + m] as string);
      for (let c = 0; c < nColumns; c++) {
        const text = fields[valueOffset + c] as string;
        const v = parseValueCell(text);
        if (v === undefined) throw nonNumeric(layout, record, valueOffset + c, text);
        if (Number.isNaN(v)) {
          stats.missing++;
          stats.firstMissing ??= { line: record.line, column: valueOffset + c + 1 };
        } else if (!Number.isFinite(v)) {
          stats.infinite++;
          stats.firstInfinite ??= { line: record.line, column: valueOffset + c + 1 };
        }
        row[c] = v;
      }
      recordIds.push(id);
      lines.push(record.line);
      if (cache) {
        cachedBytes += nColumns * 4;
        if (cachedBytes > cacheBudget) {
          cache = null;
        } else {
          cache.push(row);
          row = new Float32Array(nColumns);
        }
      }
    }
  }
  if (layout.expectedRecords !== null && recordIds.length !== layout.expectedRecords) {
    throw new FormatError(
      recordIds.length < layout.expectedRecords ? 'truncated' : 'shape-mismatch',
      layout.path,
      `the header announces ${layout.expectedRecords} ${layout.recordNoun}s but the file has ${recordIds.length}`,
      { where: 'end of file' },
    );
  }
  const recordMeta: MetadataTable = new Map();
  layout.recordMetaNames.forEach((name, m) => {
    recordMeta.set(name, typeTextColumn(metaText[m] as string[]));
  });
  return { recordIds, recordLines: Int32Array.from(lines), recordMeta, cache, stats };
}

/** The data records of a file (header lines skipped), in batches. */
export async function* layoutRecords(
  layout: TextLayout,
  options: ReadOptions & { onBytes?: (n: number) => void } = {},
): AsyncGenerator<TextRecord[], void, undefined> {
  for await (const records of readRecords(layout.path, layout.delimiter, layout.quotes, options)) {
    throwIfAborted(options.signal);
    const first = records[0];
    if (!first) continue;
    if (first.line >= layout.firstDataLine) {
      yield records;
    } else {
      const data = records.filter((r) => r.line >= layout.firstDataLine);
      if (data.length > 0) yield data;
    }
  }
}

/** Throws 'duplicate-id' for a repeated column id in a header line. */
export function checkColumnIds(path: string, ids: string[], line: number, firstIdField: number, noun: string): void {
  const dup = findDuplicate(ids);
  if (dup) {
    throw new FormatError('duplicate-id', path, `duplicate ${noun} id "${ids[dup[0]]}" (also in column ${firstIdField + dup[0] + 1})`, {
      line,
      column: firstIdField + dup[1] + 1,
    });
  }
  const empty = ids.findIndex((id) => id.trim() === '');
  if (empty >= 0) throw new FormatError('bad-header', path, `empty ${noun} id`, { line, column: firstIdField + empty + 1 });
}
