// Tables as CSV with their provenance as leading `# key: value` lines.
import { toCsv } from '../csv.js';
import { csvCommentLines, type Provenance } from './provenance.js';

export type Cell = string | number | boolean | null;

export interface TableData {
  header: string[];
  rows: Cell[][];
}

export function csvWithProvenance(table: TableData, p: Provenance): string {
  const rows = table.rows.map((row) => row.map((cell) => (typeof cell === 'boolean' ? String(cell) : cell)));
  return `${[...csvCommentLines(p), toCsv(table.header, rows)].join('\r\n')}\r\n`;
}
