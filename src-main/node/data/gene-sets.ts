// Gene set files: GMT (one set per line: name, description, genes…; MSigDB, KEGG, Enrichr) and GMX
// (one set per column: names on the first row, descriptions on the second, genes below).
// Identifiers are kept as written (symbols or Entrez ids); they are mapped to a dataset's genes
// when an enrichment runs, so one collection serves every dataset.
import { gunzipSync } from 'node:zlib';
import { CONTAINERS } from './formats/detect.js';

export interface GeneSet {
  name: string;
  description: string;
  genes: string[];
}

export type GeneSetFormat = 'gmt' | 'gmx';

export class GeneSetFileError extends Error {}

const MAX_SETS = 100_000;
/** Far above any real collection (MSigDB's whole set is ~40 MB): a bound against gzip bombs. */
const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;

function gunzipped(bytes: Uint8Array, fileName: string): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'unpacks to over 512 MiB' : 'is damaged or truncated';
    throw new GeneSetFileError(`${fileName} is gzip-compressed but ${reason}; unpack it and check the file`);
  }
}
const MAX_GENES_PER_SET = 50_000;

/** GMX when the name says so (the layouts cannot be told apart reliably from content), else GMT. */
export function geneSetFormatOf(fileName: string): GeneSetFormat {
  return /\.gmx(\.gz)?$/i.test(fileName) ? 'gmx' : 'gmt';
}

export function parseGeneSets(bytes: Uint8Array, fileName: string, format: GeneSetFormat = geneSetFormatOf(fileName)): GeneSet[] {
  // Collections are often shared gzipped (x.gmt.gz): read them as they come.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipped(bytes, fileName);
  for (const [magic, what] of CONTAINERS) {
    if (magic.every((b, i) => bytes[i] === b)) throw new GeneSetFileError(`${fileName} is ${what}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new GeneSetFileError(`${fileName} is not UTF-8 text; re-save it as UTF-8`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const sets = format === 'gmt' ? parseGmt(lines, fileName) : parseGmx(lines, fileName);
  if (sets.length === 0) throw new GeneSetFileError(`${fileName} holds no gene sets`);
  if (sets.length > MAX_SETS) throw new GeneSetFileError(`${fileName} holds ${sets.length} gene sets; at most ${MAX_SETS} are read`);
  const seen = new Set<string>();
  for (const set of sets) {
    if (seen.has(set.name)) throw new GeneSetFileError(`${fileName}: gene set "${set.name}" is defined twice`);
    seen.add(set.name);
    if (set.genes.length > MAX_GENES_PER_SET) {
      throw new GeneSetFileError(`${fileName}: gene set "${set.name}" lists ${set.genes.length} genes; at most ${MAX_GENES_PER_SET}`);
    }
  }
  return sets;
}

function cleanGenes(fields: string[]): string[] {
  return [...new Set(fields.map((g) => g.trim()).filter((g) => g !== ''))];
}

function parseGmt(lines: string[], fileName: string): GeneSet[] {
  const sets: GeneSet[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const fields = line.split('\t');
    const name = fields[0]?.trim() ?? '';
    if (fields.length < 3 || name === '') {
      throw new GeneSetFileError(
        `${fileName} line ${i + 1}: a GMT line is a set name, a description and genes, separated by tabs (found ${fields.length} field${fields.length === 1 ? '' : 's'})`,
      );
    }
    const genes = cleanGenes(fields.slice(2));
    if (genes.length === 0) throw new GeneSetFileError(`${fileName} line ${i + 1}: gene set "${name}" lists no genes`);
    sets.push({ name, description: fields[1]?.trim() ?? '', genes });
  });
  return sets;
}

function parseGmx(lines: string[], fileName: string): GeneSet[] {
  const rows = lines.filter((l) => l.trim() !== '').map((l) => l.split('\t'));
  if (rows.length < 3) throw new GeneSetFileError(`${fileName}: a GMX file has set names, descriptions and at least one row of genes`);
  const names = rows[0] as string[];
  return names.flatMap((raw, column) => {
    const name = raw.trim();
    if (name === '') return [];
    const genes = cleanGenes(rows.slice(2).map((r) => r[column] ?? ''));
    if (genes.length === 0) throw new GeneSetFileError(`${fileName}: gene set "${name}" (column ${column + 1}) lists no genes`);
    return [{ name, description: rows[1]?.[column]?.trim() ?? '', genes }];
  });
}

/**
 * Finds a gene of a dataset by an identifier from a list or gene set file: its gene id (Entrez ids
 * in LINCS), else its symbol (case-insensitive).
 */
export function geneLookup(genes: readonly { id: string; symbol: string }[]): (identifier: string) => number | undefined {
  const byId = new Map(genes.map((g, i) => [g.id, i]));
  const bySymbol = new Map<string, number>();
  genes.forEach((g, i) => {
    const key = g.symbol.toUpperCase();
    if (!bySymbol.has(key)) bySymbol.set(key, i);
  });
  return (identifier) => byId.get(identifier) ?? bySymbol.get(identifier.toUpperCase());
}
