// A first guess at what a chosen file is for — the expression matrix, or one of the LINCS tables —
// from its content (format, header columns), with its name only as a tie-breaker. The user decides.
import { open } from 'node:fs/promises';
import type { FileFormat, FileRole } from '../../../shared/api/files.js';
import { detectFormatDetailed } from '../../data/formats/index.js';

export interface Classification {
  format: FileFormat | null;
  suggestedRole: FileRole | null;
  reason: string;
}

const HEAD_BYTES = 64 * 1024;

export async function classifyFile(path: string, name: string): Promise<Classification> {
  let detection: Awaited<ReturnType<typeof detectFormatDetailed>>;
  try {
    detection = await detectFormatDetailed(path);
  } catch (error) {
    return { format: 'unknown', suggestedRole: null, reason: `could not be read: ${(error as Error).message}` };
  }
  const format = detection.format;
  if (format === 'gctx' || format === 'gct' || format === 'h5ad') {
    return { format, suggestedRole: 'matrix', reason: detection.reason };
  }
  if (format === 'unknown') return { format, suggestedRole: null, reason: detection.reason };
  const [header, firstRow] = await headLines(path, format === 'tsv' ? '\t' : ',');
  return { format, ...classifyTable(header ?? [], firstRow ?? [], name) };
}

/** Columns of the first two lines of a delimited text file (the header and one data row). */
async function headLines(path: string, delimiter: string): Promise<string[][]> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    const text = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    return text
      .split(/\r?\n/)
      .filter((line) => line.length > 0)
      .slice(0, 2)
      .map((line) => line.split(delimiter).map((cell) => cell.trim().replace(/^"(.*)"$/, '$1')));
  } finally {
    await handle.close();
  }
}

export function classifyTable(header: string[], firstRow: string[], name: string): Omit<Classification, 'format'> {
  const columns = new Set(header.map((h) => h.toLowerCase()));
  const lowerName = name.toLowerCase();
  if (columns.has('sig_id')) return { suggestedRole: 'sig_info', reason: 'a table with a sig_id column (LINCS sig_info)' };
  if (columns.has('pr_gene_id')) return { suggestedRole: 'gene_info', reason: 'a table with a pr_gene_id column (LINCS gene_info)' };
  if (columns.has('pert_id') && ['canonical_smiles', 'pert_iname', 'inchi_key'].some((c) => columns.has(c))) {
    return { suggestedRole: 'pert_info', reason: 'a table of perturbagens (pert_id with names or SMILES: LINCS pert_info)' };
  }
  const cells = firstRow.slice(1);
  const numeric = cells.filter((c) => c !== '' && Number.isFinite(Number(c))).length;
  if (cells.length >= 2 && numeric / cells.length >= 0.9) {
    return { suggestedRole: 'matrix', reason: `a numeric table (${header.length - 1} columns): an expression matrix` };
  }
  for (const [pattern, role] of [
    [/sig_?info/, 'sig_info'],
    [/pert_?info/, 'pert_info'],
    [/gene_?info/, 'gene_info'],
  ] as const) {
    if (pattern.test(lowerName)) return { suggestedRole: role, reason: `named like LINCS ${role}` };
  }
  if (header.length >= 2) {
    return { suggestedRole: 'sample_metadata', reason: `a table of text columns (${header.slice(0, 4).join(', ')}…): sample metadata` };
  }
  return { suggestedRole: null, reason: 'a text file with a single column' };
}
