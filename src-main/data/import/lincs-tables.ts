// LINCS metadata tables (sig_info, pert_info, gene_info, cell_info): tab-separated, one header
// row, "-666" or empty for missing. Read as a stream so a 470k-row sig_info stays cheap, keeping
// only the columns the import uses.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { LabError } from '../../api/errors.js';

export type TableValue = string | null;

export interface MetadataTable {
  path: string;
  /** Column names as in the file. */
  columns: string[];
  /** key column value → row (only the kept columns). */
  rows: Map<string, Record<string, TableValue>>;
}

export interface ReadTableOptions {
  /** The column rows are keyed by (e.g. sig_id, pert_id, pr_gene_id). */
  key: string;
  /** Columns to keep (default all). Missing ones are an error only if `required` lists them. */
  keep?: readonly string[];
  required?: readonly string[];
  /** Keys of interest: other rows are skipped (e.g. only the signatures in the matrix). */
  only?: ReadonlySet<string>;
}

export function isMissingText(value: string | undefined): boolean {
  return value === undefined || value === '' || value === '-666' || value === 'NA' || value === 'nan';
}

export async function readMetadataTable(path: string, options: ReadTableOptions): Promise<MetadataTable> {
  let stream: ReturnType<typeof createReadStream>;
  try {
    stream = createReadStream(path, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (error) {
    throw new LabError('bad_input', `Cannot read ${path}: ${(error as Error).message}`);
  }
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let columns: string[] | null = null;
  let keyIndex = -1;
  let kept: { name: string; index: number }[] = [];
  const rows = new Map<string, Record<string, TableValue>>();
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.length === 0) continue;
    const cells = line.split('\t');
    if (columns === null) {
      columns = cells.map((c) => c.trim());
      keyIndex = columns.indexOf(options.key);
      if (keyIndex < 0) {
        throw new LabError('bad_input', `${path}: no "${options.key}" column (columns: ${columns.slice(0, 12).join(', ')}…)`);
      }
      for (const name of options.required ?? []) {
        if (!columns.includes(name)) throw new LabError('bad_input', `${path}: required column "${name}" is missing`);
      }
      const wanted = options.keep ?? columns;
      kept = wanted.map((name) => ({ name, index: (columns as string[]).indexOf(name) })).filter((c) => c.index >= 0);
      continue;
    }
    if (cells.length !== columns.length) {
      throw new LabError('bad_input', `${path}, line ${lineNumber}: ${cells.length} fields, expected ${columns.length} as in the header`);
    }
    const key = cells[keyIndex] as string;
    if (isMissingText(key)) throw new LabError('bad_input', `${path}, line ${lineNumber}: empty "${options.key}"`);
    if (options.only && !options.only.has(key)) continue;
    if (rows.has(key)) throw new LabError('bad_input', `${path}, line ${lineNumber}: duplicate ${options.key} "${key}"`);
    const row: Record<string, TableValue> = {};
    for (const { name, index } of kept) {
      const value = cells[index];
      row[name] = isMissingText(value) ? null : (value as string);
    }
    rows.set(key, row);
  }
  if (columns === null) throw new LabError('bad_input', `${path} is empty`);
  return { path, columns, rows };
}
