// CSV / TSV expression matrices and metadata tables, streaming.
//
// Matrix layout: the first line holds the ids of the matrix columns after an id header cell (and
// after the names of `metaColumns` inline metadata columns, if any); each following line is one
// record: id, inline metadata, values. The caller says what a record is:
//   orientation 'samples-in-rows' (default): each line is a sample, header ids are genes;
//   orientation 'genes-in-rows': each line is a gene, header ids are samples (GCT-like).
// Fields may be quoted (RFC 4180, including quoted line breaks). Values follow the same rules as
// GCT (see textmatrix.ts): NaN-like text, empty cells and -666 are NaN and counted.
//
// A metadata table (CSV/TSV, e.g. LINCS sig_info) can be joined to the samples by id: only rows
// whose id is a sample of the matrix are kept, so memory follows the matrix, not the table.

import { extname } from 'node:path';

import { findDuplicate, typeTextColumn } from './common.js';
import { detectFormat } from './detect.js';
import { FormatError } from './errors.js';
import { readRecords, type TextRecord } from './lines.js';
import {
  checkColumnIds,
  scanTextMatrix,
  type TextLayout,
  TextMatrixReader,
  type TextOrientation,
  type TextScan,
  type TextScanOptions,
  trimTrailingEmpty,
} from './textmatrix.js';
import type { MetadataTable, MetaValue, ReadOptions } from './types.js';

export type Delimiter = ',' | '\t';

export interface MetadataJoinOptions {
  path: string;
  /** Column holding the sample id; default: the first column. */
  idColumn?: string;
  delimiter?: Delimiter;
}

export interface CsvOpenOptions extends TextScanOptions {
  /** Default: guessed from the content (tabs vs commas on the first line). */
  delimiter?: Delimiter;
  /** Default 'samples-in-rows'. */
  orientation?: TextOrientation;
  /** Inline metadata columns between the id column and the values. Default 0. */
  metaColumns?: number;
  /** Sample metadata table joined by sample id. */
  metadata?: MetadataJoinOptions;
}

export interface JoinStats {
  /** Samples that found a metadata row. */
  matched: number;
  /** Samples without a metadata row (their joined columns are null). */
  samplesWithoutMetadata: number;
  /** First few sample ids without metadata, for messages. */
  exampleMissing: string[];
  /** Metadata rows whose id is not a sample of the matrix (ignored). */
  unusedRows: number;
}

export class CsvMatrixReader extends TextMatrixReader {
  readonly delimiter: Delimiter;
  /** Set when a metadata table was joined. */
  readonly join: JoinStats | null;
  private readonly joined: MetadataTable;

  constructor(layout: TextLayout, scan: TextScan, delimiter: Delimiter, joined: MetadataTable, join: JoinStats | null) {
    super(layout, scan);
    this.delimiter = delimiter;
    this.joined = joined;
    this.join = join;
  }

  /** Inline metadata (samples-in-rows) or none, followed by the joined table's columns. */
  override sampleMetadata(): MetadataTable {
    const own = super.sampleMetadata();
    if (this.joined.size === 0) return own;
    const merged: MetadataTable = new Map(own);
    for (const [name, values] of this.joined) merged.set(merged.has(name) ? `${name}_joined` : name, values);
    return merged;
  }
}

/** Guesses the delimiter from the content, falling back to the extension. */
export async function guessDelimiter(path: string): Promise<Delimiter> {
  const format = await detectFormat(path);
  if (format === 'tsv' || format === 'gct') return '\t';
  if (format === 'csv') return ',';
  const ext = extname(path.replace(/\.gz$/i, '')).toLowerCase();
  if (ext === '.tsv' || ext === '.txt' || ext === '.tab') return '\t';
  if (ext === '.csv') return ',';
  throw new FormatError('bad-header', path, 'cannot tell whether the file is comma- or tab-separated', { line: 1 });
}

async function readFirstRecord(path: string, delimiter: Delimiter, options: ReadOptions): Promise<TextRecord | null> {
  for await (const records of readRecords(path, delimiter, true, options)) {
    for (const record of records) {
      if (record.fields.length === 1 && record.fields[0] === '') continue; // leading blank lines
      return record;
    }
  }
  return null;
}

function trimAllTrailingEmpty(fields: string[]): string[] {
  let end = fields.length;
  while (end > 1 && fields[end - 1] === '') end--;
  return end === fields.length ? fields : fields.slice(0, end);
}

/** Opens a CSV/TSV matrix (one validating streaming pass) and joins sample metadata if asked. */
export async function openCsvMatrix(path: string, options: CsvOpenOptions = {}): Promise<CsvMatrixReader> {
  const delimiter = options.delimiter ?? (await guessDelimiter(path));
  const orientation = options.orientation ?? 'samples-in-rows';
  const metaColumns = options.metaColumns ?? 0;
  const header = await readFirstRecord(path, delimiter, options);
  if (!header) throw new FormatError('empty-file', path, 'the file has no header line');
  const fields = trimAllTrailingEmpty(header.fields);
  const lead = 1 + metaColumns;
  if (fields.length <= lead) {
    throw new FormatError(
      'bad-header',
      path,
      `the header has ${fields.length} fields: no ${orientation === 'samples-in-rows' ? 'gene' : 'sample'} columns`,
      {
        line: header.line,
      },
    );
  }
  const columnIds = fields.slice(lead);
  const noun = orientation === 'samples-in-rows' ? 'gene' : 'sample';
  checkColumnIds(path, columnIds, header.line, lead, noun);
  const layout: TextLayout = {
    path,
    format: delimiter === ',' ? 'csv' : 'tsv',
    orientation,
    delimiter,
    quotes: true,
    firstDataLine: header.line + 1,
    expectedRecords: null,
    recordMetaNames: fields.slice(1, lead),
    columnIds,
    columnMeta: new Map(),
    recordNoun: orientation === 'samples-in-rows' ? 'sample' : 'gene',
  };
  const scan = await scanTextMatrix(layout, options);
  if (scan.recordIds.length === 0)
    throw new FormatError('empty-file', path, 'the file has a header but no data lines', { line: header.line + 1 });
  let joined: MetadataTable = new Map();
  let join: JoinStats | null = null;
  if (options.metadata) {
    const sampleIds = orientation === 'samples-in-rows' ? scan.recordIds : columnIds;
    ({ joined, join } = await joinMetadata(sampleIds, options.metadata, options));
  }
  return new CsvMatrixReader(layout, scan, delimiter, joined, join);
}

async function joinMetadata(
  sampleIds: string[],
  meta: MetadataJoinOptions,
  options: ReadOptions,
): Promise<{ joined: MetadataTable; join: JoinStats }> {
  const wanted = new Set(sampleIds);
  let unusedRows = 0;
  const unusedExamples: string[] = [];
  const table = await readDelimitedTable(meta.path, {
    ...(meta.idColumn !== undefined ? { keyColumn: meta.idColumn } : {}),
    ...(meta.delimiter !== undefined ? { delimiter: meta.delimiter } : {}),
    keep: (id) => {
      if (wanted.has(id)) return true;
      unusedRows++;
      if (unusedExamples.length < 3) unusedExamples.push(id);
      return false;
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const rowOf = new Map<string, number>();
  table.ids.forEach((id, i) => {
    rowOf.set(id, i);
  });
  const joined: MetadataTable = new Map();
  const exampleMissing: string[] = [];
  let matched = 0;
  const positions = sampleIds.map((id) => {
    const row = rowOf.get(id);
    if (row === undefined) {
      if (exampleMissing.length < 5) exampleMissing.push(id);
    } else matched++;
    return row;
  });
  if (matched === 0 && sampleIds.length > 0) {
    const theirs = table.ids.length > 0 || unusedExamples.length > 0 ? `its ids look like ${quoteSome(unusedExamples)}` : 'it has no rows';
    throw new FormatError(
      'no-overlap',
      meta.path,
      `no row for any of the ${sampleIds.length} samples (${theirs}; the samples are ${quoteSome(sampleIds)})`,
      { where: table.keyColumn },
    );
  }
  for (const [name, values] of table.values) {
    joined.set(
      name,
      positions.map((row) => (row === undefined ? null : (values[row] as MetaValue))),
    );
  }
  return { joined, join: { matched, samplesWithoutMetadata: sampleIds.length - matched, exampleMissing, unusedRows } };
}

/**
 * Most columns a metadata table may have. LINCS tables have a few dozen; a table with many more is a
 * matrix or a transposed table, and would put that many fields into every sample's record.
 */
export const MAX_TABLE_COLUMNS = 10_000;

/** Up to three values, quoted and shortened, for messages. */
function quoteSome(values: readonly string[]): string {
  return values
    .slice(0, 3)
    .map((v) => `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`)
    .join(', ');
}

export interface DelimitedTable {
  path: string;
  delimiter: Delimiter;
  keyColumn: string;
  /** Non-key columns in file order. */
  columns: string[];
  /** Key of each kept row, in file order. */
  ids: string[];
  /** 1-based line of each kept row. */
  lines: number[];
  /** Typed values per non-key column ("-666" and "" → null; numeric if every value is a number). */
  values: MetadataTable;
}

export interface TableReadOptions extends ReadOptions {
  /** Key column name, or the names it goes by (the first present is used); default the first column. */
  keyColumn?: string | readonly string[];
  delimiter?: Delimiter;
  /** Keep only rows whose key passes (the others are not stored). */
  keep?: (id: string) => boolean;
  /** Reject repeated keys among kept rows (default true). */
  uniqueKeys?: boolean;
}

/**
 * Reads a CSV/TSV table with a header line (e.g. LINCS sig_info, pert_info, gene_info), streaming,
 * keeping only the rows the caller wants. Ragged rows and (by default) duplicate keys are errors.
 */
export async function readDelimitedTable(path: string, options: TableReadOptions = {}): Promise<DelimitedTable> {
  const delimiter = options.delimiter ?? (await guessDelimiter(path));
  let header: string[] | null = null;
  let keyIndex = 0;
  const ids: string[] = [];
  const lines: number[] = [];
  let text: string[][] = [];
  const seen = new Map<string, number>();
  const unique = options.uniqueKeys ?? true;
  for await (const records of readRecords(path, delimiter, true, options)) {
    for (const record of records) {
      if (record.fields.length === 1 && (record.fields[0] as string).trim() === '') continue;
      if (header === null) {
        header = trimAllTrailingEmpty(record.fields);
        if (header.length > MAX_TABLE_COLUMNS) {
          throw new FormatError(
            'unsupported',
            path,
            `the header has ${header.length.toLocaleString('en-US')} columns; a metadata table may have at most ` +
              `${MAX_TABLE_COLUMNS.toLocaleString('en-US')} (is this an expression matrix, or a transposed table?)`,
            { line: record.line },
          );
        }
        const dup = findDuplicate(header);
        if (dup) {
          throw new FormatError('duplicate-id', path, `duplicate column name "${header[dup[0]]}"`, {
            line: record.line,
            column: dup[1] + 1,
          });
        }
        if (options.keyColumn !== undefined) {
          const names = typeof options.keyColumn === 'string' ? [options.keyColumn] : options.keyColumn;
          const found = names.find((name) => header?.includes(name));
          keyIndex = found === undefined ? -1 : header.indexOf(found);
          if (keyIndex < 0) {
            throw new FormatError(
              'bad-header',
              path,
              `no column named ${names.map((n) => `"${n}"`).join(' or ')} (columns: ${header.slice(0, 12).join(', ')})`,
              {
                line: record.line,
              },
            );
          }
        }
        text = header.map(() => []);
        continue;
      }
      const fields = trimTrailingEmpty(record.fields, header.length);
      if (fields.length !== header.length) {
        throw new FormatError('ragged-row', path, `${fields.length} fields where the header has ${header.length}`, {
          line: record.line,
          column: Math.min(fields.length, header.length) + 1,
        });
      }
      const id = fields[keyIndex] as string;
      if (options.keep && !options.keep(id)) continue;
      if (unique) {
        const before = seen.get(id);
        if (before !== undefined) {
          throw new FormatError('duplicate-id', path, `duplicate key "${id}" in column ${header[keyIndex]} (first on line ${before})`, {
            line: record.line,
            column: keyIndex + 1,
          });
        }
        seen.set(id, record.line);
      }
      ids.push(id);
      lines.push(record.line);
      for (let c = 0; c < fields.length; c++) if (c !== keyIndex) (text[c] as string[]).push(fields[c] as string);
    }
  }
  if (header === null) throw new FormatError('empty-file', path, 'the file is empty');
  const values: MetadataTable = new Map();
  const columns: string[] = [];
  header.forEach((name, c) => {
    if (c === keyIndex) return;
    columns.push(name);
    values.set(name, typeTextColumn(text[c] as string[]));
  });
  return { path, delimiter, keyColumn: header[keyIndex] as string, columns, ids, lines, values };
}
