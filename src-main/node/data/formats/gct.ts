// GCT 1.2 and 1.3 text reader (the Broad's tab-separated expression format), streaming.
//
// 1.2:  #1.2
//       <n_rows> <n_cols>
//       Name  Description  <sample ids...>
//       <gene id>  <description>  <values...>           × n_rows
// 1.3:  #1.3
//       <n_rows> <n_cols> <n_row_meta> <n_col_meta>
//       id  <row meta names...>  <sample ids...>
//       <col meta name>  <filler × n_row_meta>  <values × n_cols>   × n_col_meta
//       <gene id>  <row meta values...>  <values...>          × n_rows
//
// Rows are genes, columns are samples. Values are read as float32; empty cells, NA/NaN-like text
// and the CMap marker -666 become NaN and are counted in valueStats (the importer applies the NaN
// policy); Inf/-Inf become ±Infinity and are counted too. Metadata columns are typed like cmapPy
// does: numeric when every non-missing value is a number, text otherwise; "-666" and "" are null.
// Trailing empty fields (some tools pad header lines with tabs) are ignored.

import { findDuplicate, typeTextColumn } from './common.js';
import { FormatError } from './errors.js';
import { readRecords, type TextRecord } from './lines.js';
import {
  checkColumnIds,
  layoutRecords,
  parseValueCell,
  scanTextMatrix,
  type TextLayout,
  TextMatrixReader,
  type TextScan,
  type TextScanOptions,
  trimTrailingEmpty,
} from './textmatrix.js';
import type { MetadataTable, ReadIntoOptions, ReadOptions } from './types.js';

export type GctVersion = '1.2' | '1.3';

export interface GctHeader {
  version: GctVersion;
  nRows: number;
  nCols: number;
  rowMetaNames: string[];
  colMetaNames: string[];
  columnIds: string[];
  columnMeta: MetadataTable;
  /** 1-based line of the first data row. */
  firstDataLine: number;
}

export class GctReader extends TextMatrixReader {
  readonly header: GctHeader;
  readonly version: GctVersion;

  constructor(header: GctHeader, layout: TextLayout, scan: TextScan) {
    super(layout, scan);
    this.header = header;
    this.version = header.version;
  }

  /** Same as readSamples: values of GCT columns, sample-major. */
  readColumns(sampleIndices: readonly number[], geneIndices: readonly number[] | null, options?: ReadIntoOptions): Promise<Float32Array> {
    return this.readSamples(sampleIndices, geneIndices, options);
  }

  /** Streams the data rows (genes) in file order, one parsed row at a time. */
  async *rows(
    options: ReadOptions = {},
  ): AsyncGenerator<{ index: number; id: string; line: number; values: Float32Array }, void, undefined> {
    const layout = this.layout;
    const valueOffset = 1 + layout.recordMetaNames.length;
    const expected = valueOffset + layout.columnIds.length;
    let index = 0;
    for await (const records of layoutRecords(layout, options)) {
      for (const record of records) {
        if (record.fields.length === 1 && record.fields[0] === '') continue;
        const fields = trimTrailingEmpty(record.fields, expected);
        if (fields.length !== expected) throw this.ragged(record, fields.length, expected);
        const values = new Float32Array(layout.columnIds.length);
        for (let c = 0; c < values.length; c++) {
          const text = fields[valueOffset + c] as string;
          const v = parseValueCell(text);
          if (v === undefined) {
            throw new FormatError('non-numeric', this.path, `value "${text.slice(0, 40)}" is not a number`, {
              line: record.line,
              column: valueOffset + c + 1,
            });
          }
          values[c] = v;
        }
        yield { index: index++, id: fields[0] as string, line: record.line, values };
      }
    }
  }
}

/** Parses the header lines (version, dimensions, column ids, 1.3 column metadata). */
export async function readGctHeader(path: string, options: ReadOptions = {}): Promise<GctHeader> {
  const headerRecords: TextRecord[] = [];
  let needed = 3;
  let version: GctVersion | null = null;
  let dims: number[] = [];
  for await (const records of readRecords(path, '\t', false, options)) {
    for (const record of records) {
      headerRecords.push(record);
      if (headerRecords.length === 1) version = parseVersion(path, record);
      if (headerRecords.length === 2) {
        dims = parseDims(path, record, version === '1.3' ? 4 : 2);
        if (version === '1.3') needed = 3 + (dims[3] as number);
      }
      if (headerRecords.length >= needed) break;
    }
    if (headerRecords.length >= needed) break;
  }
  if (headerRecords.length === 0) throw new FormatError('empty-file', path, 'the file is empty');
  if (headerRecords.length < needed) {
    throw new FormatError('truncated', path, `the file ends inside the GCT header (${headerRecords.length} of ${needed} header lines)`, {
      line: headerRecords.length + 1,
    });
  }
  const v = version as GctVersion;
  const [nRows, nCols, nRowMeta = 1, nColMeta = 0] = dims as [number, number, number?, number?];
  const headerLine = headerRecords[2] as TextRecord;
  const lead = 1 + nRowMeta;
  const headerFields = trimTrailingEmpty(headerLine.fields, lead + nCols);
  if (headerFields.length !== lead + nCols) {
    throw new FormatError(
      'shape-mismatch',
      path,
      `the header line has ${headerFields.length - lead} sample ids but line 2 announces ${nCols} columns` +
        (v === '1.3' ? ` (and ${nRowMeta} row metadata fields)` : ''),
      { line: headerLine.line, column: Math.min(headerFields.length, lead + nCols) + 1 },
    );
  }
  const rowMetaNames = v === '1.2' ? ['Description'] : headerFields.slice(1, lead);
  const columnIds = headerFields.slice(lead);
  checkColumnIds(path, columnIds, headerLine.line, lead, 'column');
  const dupMeta = findDuplicate(rowMetaNames);
  if (dupMeta) {
    throw new FormatError('duplicate-id', path, `duplicate row metadata name "${rowMetaNames[dupMeta[0]]}"`, {
      line: headerLine.line,
      column: dupMeta[1] + 2,
    });
  }
  const colMetaNames: string[] = [];
  const columnMeta: MetadataTable = new Map();
  for (let m = 0; m < nColMeta; m++) {
    const record = headerRecords[3 + m] as TextRecord;
    const fields = trimTrailingEmpty(record.fields, lead + nCols);
    if (fields.length !== lead + nCols) {
      throw new FormatError(
        'ragged-row',
        path,
        `column metadata line has ${fields.length} fields where the header implies ${lead + nCols}`,
        {
          line: record.line,
          column: Math.min(fields.length, lead + nCols) + 1,
        },
      );
    }
    const name = fields[0] as string;
    if (name === '') throw new FormatError('bad-header', path, 'empty column metadata name', { line: record.line, column: 1 });
    if (columnMeta.has(name)) {
      throw new FormatError('duplicate-id', path, `duplicate column metadata name "${name}"`, { line: record.line, column: 1 });
    }
    colMetaNames.push(name);
    columnMeta.set(name, typeTextColumn(fields.slice(lead)));
  }
  return {
    version: v,
    nRows,
    nCols,
    rowMetaNames,
    colMetaNames,
    columnIds,
    columnMeta,
    firstDataLine: (headerRecords[needed - 1] as TextRecord).line + 1,
  };
}

function parseVersion(path: string, record: TextRecord): GctVersion {
  const first = (record.fields[0] ?? '').trim();
  const rest = record.fields.slice(1).every((f) => f.trim() === '');
  if ((first === '#1.2' || first === '#1.3') && rest) return first.slice(1) as GctVersion;
  if (first === '' && record.fields.length === 1)
    throw new FormatError('bad-header', path, 'the first line is empty (expected #1.2 or #1.3)', { line: 1 });
  throw new FormatError('bad-header', path, `not a GCT file: the first line is "${first.slice(0, 20)}" (expected #1.2 or #1.3)`, {
    line: record.line,
    column: 1,
  });
}

function parseDims(path: string, record: TextRecord, count: number): number[] {
  const fields = trimTrailingEmpty(record.fields, count);
  if (fields.length !== count) {
    throw new FormatError('bad-header', path, `the dimension line must hold ${count} numbers, found ${fields.length} fields`, {
      line: record.line,
      column: Math.min(fields.length, count) + 1,
    });
  }
  return fields.map((text, i) => {
    const t = text.trim();
    if (!/^\d+$/.test(t)) {
      throw new FormatError('bad-header', path, `dimension "${text.slice(0, 20)}" is not a non-negative integer`, {
        line: record.line,
        column: i + 1,
      });
    }
    return Number(t);
  });
}

/**
 * Opens a GCT file: parses the header, then scans every data row once (streaming) to validate it
 * and collect row ids and metadata. Values stay in memory only up to options.cacheBytes.
 */
export async function openGct(path: string, options: TextScanOptions = {}): Promise<GctReader> {
  const header = await readGctHeader(path, options);
  const layout: TextLayout = {
    path,
    format: 'gct',
    orientation: 'genes-in-rows',
    delimiter: '\t',
    quotes: false,
    firstDataLine: header.firstDataLine,
    expectedRecords: header.nRows,
    recordMetaNames: header.rowMetaNames,
    columnIds: header.columnIds,
    columnMeta: header.columnMeta,
    recordNoun: 'row',
  };
  return new GctReader(header, layout, await scanTextMatrix(layout, options));
}
