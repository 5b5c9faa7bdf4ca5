// The per-sample and per-gene facts an import needs, merged from the matrix file's own metadata
// and the LINCS tables (the tables win where both have a value).
import type { MetadataTable, TableValue } from './lincs-tables.js';
import type { MatrixSource, MetadataColumnValues } from './matrix-source.js';

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

function text(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value).trim();
  return s === '' || s === '-666' ? null : s;
}

function columnValue(columns: ReadonlyMap<string, MetadataColumnValues>, name: string, index: number): string | number | null {
  return columns.get(name)?.[index] ?? null;
}

export function sampleFacts(source: MatrixSource, sigInfo: MetadataTable | null, pertInfo: MetadataTable | null): SampleFacts[] {
  return source.sampleIds.map((id, index) => {
    const metadata: Record<string, string | number | null> = {};
    for (const [name, values] of source.sampleMetadata) {
      if (name === 'id') continue;
      const v = values[index] ?? null;
      metadata[name] = typeof v === 'string' ? text(v) : v;
    }
    const signature = sigInfo?.rows.get(id);
    if (signature) for (const [name, v] of Object.entries(signature)) if (v !== null) metadata[name] = v;
    const field = (...names: string[]): string | null => {
      for (const name of names) {
        const v = text(metadata[name] ?? columnValue(source.sampleMetadata, name, index));
        if (v !== null) return v;
      }
      return null;
    };
    const pertId = field('pert_id', 'perturbagen', 'drug', 'compound');
    const perturbagen: Record<string, TableValue> | undefined = pertId ? pertInfo?.rows.get(pertId) : undefined;
    return {
      id,
      pertId,
      pertName: field('pert_iname', 'pert_name') ?? text(perturbagen?.pert_iname),
      pertType: field('pert_type') ?? text(perturbagen?.pert_type),
      cellId: field('cell_id', 'cell_line', 'cell_iname'),
      dose: field('pert_idose', 'dose'),
      time: field('pert_itime', 'time'),
      smiles: text(perturbagen?.canonical_smiles) ?? field('canonical_smiles', 'smiles'),
      metadata,
    };
  });
}

export function geneFacts(source: MatrixSource, geneInfo: MetadataTable | null): GeneFacts[] {
  return source.geneIds.map((id, index) => {
    const info = geneInfo?.rows.get(id);
    const symbol =
      text(info?.pr_gene_symbol) ??
      text(columnValue(source.geneMetadata, 'pr_gene_symbol', index)) ??
      text(columnValue(source.geneMetadata, 'gene_symbol', index)) ??
      id;
    const flag = text(info?.pr_is_lm) ?? text(columnValue(source.geneMetadata, 'pr_is_lm', index));
    return { id, symbol, landmark: flag === null ? null : flag === '1' || flag.toLowerCase() === 'true' };
  });
}

/** Controls are the reference environment: vehicle or untreated wells. */
export function isControl(sample: SampleFacts): boolean {
  return sample.pertType?.startsWith('ctl_') ?? false;
}
