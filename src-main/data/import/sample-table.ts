// The per-sample and per-gene facts an import needs, merged from the matrix file's own metadata
// and the LINCS tables (the tables win where both have a value).
import type { DelimitedTable, ExpressionSource, MetadataTable, MetaValue } from '../formats/index.js';

/** The LINCS fields the import understands; everything else is carried along as metadata. */
export interface SampleFacts {
  id: string;
  pertId: string | null;
  pertName: string | null;
  pertType: string | null;
  cellId: string | null;
  dose: string | null;
  time: string | null;
  smiles: string | null;
  /** Every metadata column of the sample (file and sig_info), for the metadata table. */
  metadata: Record<string, string | number | null>;
}

export interface GeneFacts {
  id: string;
  symbol: string;
  landmark: boolean | null;
}

/** Row access by key into a table read column-wise. */
export class TableLookup {
  readonly #table: DelimitedTable;
  readonly #rowOf: Map<string, number>;

  constructor(table: DelimitedTable) {
    this.#table = table;
    this.#rowOf = new Map(table.ids.map((id, i) => [id, i]));
  }

  has(key: string): boolean {
    return this.#rowOf.has(key);
  }

  get(key: string, column: string): MetaValue {
    const row = this.#rowOf.get(key);
    return row === undefined ? null : (this.#table.values.get(column)?.[row] ?? null);
  }

  /** All non-key columns of a row. */
  row(key: string): Record<string, MetaValue> {
    const out: Record<string, MetaValue> = {};
    const row = this.#rowOf.get(key);
    if (row === undefined) return out;
    for (const [column, values] of this.#table.values) out[column] = values[row] ?? null;
    return out;
  }
}

function text(value: MetaValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value).trim();
  return s === '' || s === '-666' ? null : s;
}

function column(columns: MetadataTable, name: string, index: number): MetaValue {
  return columns.get(name)?.[index] ?? null;
}

export function sampleFacts(source: ExpressionSource, sigInfo: TableLookup | null, pertInfo: TableLookup | null): SampleFacts[] {
  const ids = source.sampleIds();
  const columns = source.sampleMetadata();
  return ids.map((id, index) => {
    const metadata: Record<string, string | number | null> = {};
    for (const [name, values] of columns) {
      if (name === 'id') continue;
      const v = values[index] ?? null;
      metadata[name] = typeof v === 'string' ? text(v) : v;
    }
    if (sigInfo?.has(id)) for (const [name, v] of Object.entries(sigInfo.row(id))) if (v !== null) metadata[name] = v;
    const field = (...names: string[]): string | null => {
      for (const name of names) {
        const v = text(metadata[name] ?? column(columns, name, index));
        if (v !== null) return v;
      }
      return null;
    };
    const pertId = field('pert_id', 'perturbagen', 'drug', 'compound');
    const fromPertInfo = (name: string) => (pertId && pertInfo ? text(pertInfo.get(pertId, name)) : null);
    return {
      id,
      pertId,
      pertName: field('pert_iname', 'pert_name') ?? fromPertInfo('pert_iname'),
      pertType: field('pert_type') ?? fromPertInfo('pert_type'),
      cellId: field('cell_id', 'cell_line', 'cell_iname'),
      dose: field('pert_idose', 'dose'),
      time: field('pert_itime', 'time'),
      smiles: fromPertInfo('canonical_smiles') ?? field('canonical_smiles', 'smiles'),
      metadata,
    };
  });
}

export function geneFacts(source: ExpressionSource, geneInfo: TableLookup | null): GeneFacts[] {
  const columns = source.geneMetadata();
  return source.geneIds().map((id, index) => {
    const info = (name: string) => (geneInfo ? text(geneInfo.get(id, name)) : null);
    const symbol =
      info('pr_gene_symbol') ?? text(column(columns, 'pr_gene_symbol', index)) ?? text(column(columns, 'gene_symbol', index)) ?? id;
    const flag = info('pr_is_lm') ?? text(column(columns, 'pr_is_lm', index));
    return { id, symbol, landmark: flag === null ? null : flag === '1' || flag.toLowerCase() === 'true' };
  });
}

/** Controls are the reference environment: vehicle or untreated wells. */
export function isControl(sample: SampleFacts): boolean {
  return sample.pertType?.startsWith('ctl_') ?? false;
}
