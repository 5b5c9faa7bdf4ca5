// The per-sample and per-gene facts an import needs, merged from the matrix file's own metadata
// and the LINCS tables (the tables win where both have a value).
import { basename } from 'node:path';
import { CELL_LINE_COLUMNS } from '../../../shared/api/domain.js';
import type { DelimitedTable, ExpressionSource, MetadataTable, MetaValue } from '../../data/formats/index.js';
import type { CompoundRecord } from '../../store/compounds.js';
import type { CompoundTable } from './compound-table.js';

/** The LINCS fields the import understands about one sample. */
export interface SampleFacts {
  id: string;
  pertId: string | null;
  pertName: string | null;
  pertType: string | null;
  cellId: string | null;
  dose: string | null;
  time: string | null;
  smiles: string | null;
  /** Where the structure came from: the compound table given, the matrix's own column, or the library. */
  structureSource: string | null;
}

type FactField = Exclude<keyof SampleFacts, 'id'>;
const FACT_FIELDS: readonly FactField[] = ['pertId', 'pertName', 'pertType', 'cellId', 'dose', 'time', 'smiles', 'structureSource'];

/** What the lab knows about compounds beyond the import's own files (the compound library). */
export interface CompoundLibrary {
  get(pertIds: Iterable<string>): Map<string, CompoundRecord & { source: string }>;
}

/** "10" + "uM" → "10 uM"; a value without its unit stays as it is. */
function withUnit(value: string | null, unit: string | null): string | null {
  if (value === null) return null;
  return unit === null ? value : `${value} ${unit}`;
}

/** One column of repeated strings, stored once each: drugs, cell lines, doses repeat a lot. */
class CodedColumn {
  readonly codes: Int32Array;
  readonly #values: string[] = [];
  readonly #index = new Map<string, number>();

  constructor(length: number) {
    this.codes = new Int32Array(length).fill(-1);
  }

  set(row: number, value: string | null): void {
    if (value === null) return;
    let code = this.#index.get(value);
    if (code === undefined) {
      code = this.#values.length;
      this.#values.push(value);
      this.#index.set(value, code);
    }
    this.codes[row] = code;
  }

  get(row: number): string | null {
    const code = this.codes[row] as number;
    return code < 0 ? null : (this.#values[code] as string);
  }

  /** The distinct values, in order of first appearance. */
  distinct(): readonly string[] {
    return this.#values;
  }
}

/**
 * Every sample's facts, column-wise: a 470k-signature file would otherwise hold an object per
 * sample (about a kilobyte each). Metadata records are built per sample only when written.
 */
export class SampleTable {
  readonly length: number;
  readonly #ids: readonly string[];
  readonly #facts: Record<FactField, CodedColumn>;
  readonly #columns: MetadataTable;
  readonly #sigInfo: TableLookup | null;
  readonly #pertInfo: CompoundTable | null;
  /** The library's entry for a pert_id (looked up once per drug), or null. */
  readonly #known: (pertId: string) => CompoundRecord | null;

  constructor(
    source: ExpressionSource,
    sigInfo: TableLookup | null,
    pertInfo: CompoundTable | null,
    library: CompoundLibrary | null = null,
  ) {
    this.#ids = source.sampleIds();
    this.#columns = source.sampleMetadata();
    this.#sigInfo = sigInfo;
    this.#pertInfo = pertInfo;
    this.length = this.#ids.length;
    this.#facts = Object.fromEntries(FACT_FIELDS.map((f) => [f, new CodedColumn(this.length)])) as Record<FactField, CodedColumn>;
    // One library look-up per distinct pert_id.
    const fromLibrary = new Map<string, (CompoundRecord & { source: string }) | null>();
    const libraryEntry = (pertId: string) => {
      if (!library) return null;
      if (!fromLibrary.has(pertId)) fromLibrary.set(pertId, library.get([pertId]).get(pertId) ?? null);
      return fromLibrary.get(pertId) ?? null;
    };
    this.#known = libraryEntry;
    for (let i = 0; i < this.length; i++) {
      const id = this.#ids[i] as string;
      // sig_info wins over the file's own column metadata, as in the metadata records.
      const field = (...names: string[]): string | null => {
        for (const name of names) {
          const v = (sigInfo?.has(id) ? text(sigInfo.get(id, name)) : null) ?? text(column(this.#columns, name, i));
          if (v !== null) return v;
        }
        return null;
      };
      const pertId = field('pert_id', 'perturbagen', 'drug', 'compound');
      const given = pertId && pertInfo ? (pertInfo.get(pertId) ?? null) : null;
      const known = pertId ? libraryEntry(pertId) : null;
      const f = this.#facts;
      f.pertId.set(i, pertId);
      f.pertName.set(i, field('pert_iname', 'pert_name', 'cmap_name') ?? given?.name ?? known?.name ?? null);
      f.pertType.set(i, field('pert_type') ?? given?.pertType ?? null);
      f.cellId.set(i, field(...CELL_LINE_COLUMNS));
      // LINCS 2020 and AnnData exports give value and unit apart; GEO's tables give "10 uM" in pert_idose.
      f.dose.set(i, field('pert_idose') ?? withUnit(field('pert_dose'), field('pert_dose_unit')) ?? field('dose'));
      f.time.set(i, field('pert_itime') ?? withUnit(field('pert_time'), field('pert_time_unit')) ?? field('time'));
      // The table given with the import wins, then the matrix's own column, then the library.
      const ownColumn = ['canonical_smiles', 'smiles', 'SMILES'].find((name) => text(column(this.#columns, name, i)) !== null);
      if (given?.smiles) {
        f.smiles.set(i, given.smiles);
        f.structureSource.set(i, basename(pertInfo?.path ?? ''));
      } else if (ownColumn) {
        f.smiles.set(i, text(column(this.#columns, ownColumn, i)));
        f.structureSource.set(i, `the matrix file's ${ownColumn} column`);
      } else if (known?.smiles) {
        f.smiles.set(i, known.smiles);
        f.structureSource.set(i, `the compound library (from ${known.source})`);
      }
    }
  }

  fact(i: number): SampleFacts {
    const f = this.#facts;
    return {
      id: this.#ids[i] as string,
      pertId: f.pertId.get(i),
      pertName: f.pertName.get(i),
      pertType: f.pertType.get(i),
      cellId: f.cellId.get(i),
      dose: f.dose.get(i),
      time: f.time.get(i),
      smiles: f.smiles.get(i),
      structureSource: f.structureSource.get(i),
    };
  }

  has(field: FactField): boolean {
    return this.#facts[field].codes.some((c) => c >= 0);
  }

  /** Distinct values of a field over all samples (missing ones left out). */
  distinct(field: FactField): readonly string[] {
    return this.#facts[field].distinct();
  }

  /** Every metadata column of the sample (file and sig_info), for the samples table. */
  metadata(i: number): Record<string, string | number | null> {
    const metadata: Record<string, string | number | null> = {};
    for (const [name, values] of this.#columns) {
      if (name === 'id') continue;
      const v = values[i] ?? null;
      metadata[name] = typeof v === 'string' ? text(v) : v;
    }
    const id = this.#ids[i] as string;
    if (this.#sigInfo?.has(id)) for (const [name, v] of Object.entries(this.#sigInfo.row(id))) if (v !== null) metadata[name] = v;
    // A drug's known biology (`moa`, `target` from the table given, else the compound library)
    // travels with its samples, where the mechanism analyses read it; the sample's own columns win.
    const pertId = this.#facts.pertId.get(i);
    const known = pertId ? (this.#pertInfo?.get(pertId) ?? this.#known(pertId)) : null;
    if (known) {
      const biology: Record<(typeof DRUG_BIOLOGY_COLUMNS)[number], string[]> = { moa: known.moa, target: known.targets };
      for (const name of DRUG_BIOLOGY_COLUMNS) {
        const v = biology[name].join('|');
        if (v !== '' && (metadata[name] ?? null) === null) metadata[name] = v;
      }
    }
    return metadata;
  }
}

/** pert_info / compoundinfo columns copied into each sample's metadata. */
export const DRUG_BIOLOGY_COLUMNS = ['moa', 'target'] as const;

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

  /** Number of rows. */
  get size(): number {
    return this.#rowOf.size;
  }

  /** Keys in file order. */
  keys(): Iterable<string> {
    return this.#rowOf.keys();
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

export function geneFacts(source: ExpressionSource, geneInfo: TableLookup | null): GeneFacts[] {
  const columns = source.geneMetadata();
  return source.geneIds().map((id, index) => {
    const info = (name: string) => (geneInfo ? text(geneInfo.get(id, name)) : null);
    const own = (name: string) => text(column(columns, name, index));
    const symbol = info('pr_gene_symbol') ?? info('gene_symbol') ?? own('pr_gene_symbol') ?? own('gene_symbol') ?? id;
    const flag = info('pr_is_lm') ?? own('pr_is_lm');
    if (flag !== null) return { id, symbol, landmark: flag === '1' || flag.toLowerCase() === 'true' };
    // LINCS 2020 (geneinfo_beta): feature_space is landmark, best inferred or inferred.
    const space = info('feature_space') ?? own('feature_space');
    return { id, symbol, landmark: space === null ? null : space === 'landmark' };
  });
}

/** Controls are the reference environment: vehicle or untreated wells. */
export function isControl(sample: SampleFacts): boolean {
  return sample.pertType?.startsWith('ctl_') ?? false;
}
