// Compound tables as people have them: GEO's pert_info (pert_iname, canonical_smiles, inchi_key),
// CLUE's compoundinfo_beta (cmap_name, one row per target: targets and MoA are gathered per
// compound), or a two-column "pert_id, SMILES" list without a header (chemCPA's lincs_drugs_smiles).
import { basename } from 'node:path';
import { isMissingMetaToken } from '../../data/formats/common.js';
import { FormatError, guessDelimiter, type ReadOptions } from '../../data/formats/index.js';
import { readRecords } from '../../data/formats/lines.js';
import type { CompoundRecord } from '../../store/compounds.js';

/** A compound as one table describes it (pert_type only matters to the import, not the library). */
export interface CompoundInfo extends CompoundRecord {
  pertType: string | null;
}

const COLUMNS = {
  pertId: ['pert_id', 'broad_id', 'BRD id'],
  name: ['pert_iname', 'cmap_name', 'pert_name', 'name'],
  smiles: ['canonical_smiles', 'smiles', 'SMILES'],
  inchiKey: ['inchi_key', 'InChIKey'],
  targets: ['target', 'targets'],
  moa: ['moa', 'MOA'],
  pertType: ['pert_type'],
} as const;

/** Values LINCS writes where it has none: CMap's -666, and "restricted" for undisclosed structures. */
function cell(value: string | undefined): string | null {
  if (value === undefined) return null;
  const v = value.trim();
  return isMissingMetaToken(v) || v === 'restricted' || v === 'NA' || v === 'nan' ? null : v;
}

/** Several values in one cell (some tables write "EGFR|ERBB2"). */
function split(value: string | null): string[] {
  return value === null
    ? []
    : value
        .split('|')
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
}

/** The compounds of a table, keyed by pert_id, with the rows of one compound merged. */
export class CompoundTable {
  readonly path: string;
  readonly #compounds: Map<string, CompoundInfo>;

  constructor(path: string, compounds: Map<string, CompoundInfo>) {
    this.path = path;
    this.#compounds = compounds;
  }

  get size(): number {
    return this.#compounds.size;
  }

  has(pertId: string): boolean {
    return this.#compounds.has(pertId);
  }

  get(pertId: string): CompoundInfo | undefined {
    return this.#compounds.get(pertId);
  }

  keys(): Iterable<string> {
    return this.#compounds.keys();
  }

  values(): Iterable<CompoundInfo> {
    return this.#compounds.values();
  }

  /** How the library credits this table. */
  get source(): string {
    return basename(this.path);
  }
}

export async function readCompoundTable(path: string, options: ReadOptions = {}): Promise<CompoundTable> {
  const delimiter = await guessDelimiter(path);
  const compounds = new Map<string, CompoundInfo>();
  let index: ColumnIndex | null = null;
  let headerless = false;
  for await (const records of readRecords(path, delimiter, true, options)) {
    for (const record of records) {
      const fields = record.fields;
      if (fields.length === 1 && (fields[0] as string).trim() === '') continue;
      if (index === null) {
        const header = headerIndex(path, fields, record.line);
        index = header.index;
        headerless = header.headerless;
        // Without a header the first line is already a compound.
        if (!headerless) continue;
      }
      if (headerless) checkListedSmiles(path, fields, record.line);
      add(compounds, rowOf(fields, index));
    }
  }
  if (index === null) throw new FormatError('empty-file', path, 'the compound table is empty');
  return new CompoundTable(path, compounds);
}

type ColumnIndex = Partial<Record<keyof typeof COLUMNS, number>>;

function headerIndex(path: string, header: string[], line: number): { index: ColumnIndex; headerless: boolean } {
  const trimmed = header.map((h) => h.trim());
  const index: ColumnIndex = {};
  for (const [field, names] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, readonly string[]][]) {
    const at = trimmed.findIndex((h) => names.includes(h));
    if (at >= 0) index[field] = at;
  }
  if (index.pertId !== undefined) return { index, headerless: false };
  // No recognised header: a two-column list of ids and SMILES (chemCPA's lincs_drugs_smiles.csv),
  // but only when the second column reads as SMILES; any other two-column table is refused.
  if (trimmed.length === 2 && looksLikeSmiles(trimmed[1] as string)) return { index: { pertId: 0, smiles: 1 }, headerless: true };
  throw new FormatError(
    'bad-header',
    path,
    `no pert_id column (columns: ${trimmed.slice(0, 12).join(', ')}); a compound table needs pert_id and canonical_smiles (or cmap_name, target, moa)`,
    { line },
  );
}

/**
 * Whether a field has the shape of a SMILES string: SMILES characters only, outside brackets only
 * organic-subset atoms (B C N O P S F Cl Br I, aromatic b c n o p s), and at least one atom. Not
 * a parse (RDKit reads the structure later): it tells a list of SMILES from another two-column table.
 */
export function looksLikeSmiles(field: string): boolean {
  if (!/^[A-Za-z0-9@+\-[\]()=#$:/\\.%*]+$/.test(field)) return false;
  const outsideBrackets = field.replace(/\[[^\]]*\]/g, '');
  const atoms = outsideBrackets.replace(/Cl|Br/g, 'X').replace(/[^A-Za-z]/g, '');
  return /^[BCNOPSFIXbcnops]*$/.test(atoms) && (atoms.length > 0 || outsideBrackets !== field);
}

function checkListedSmiles(path: string, fields: string[], line: number): void {
  const smiles = (fields[1] ?? '').trim();
  if (smiles === '' || isMissingMetaToken(smiles) || looksLikeSmiles(smiles)) return;
  throw new FormatError(
    'bad-header',
    path,
    `a two-column table without a pert_id header is read as "pert_id, SMILES" pairs, but "${smiles.slice(0, 40)}" is not a SMILES; a compound table needs pert_id and canonical_smiles (or cmap_name, target, moa)`,
    { line },
  );
}

function rowOf(fields: string[], index: ColumnIndex): CompoundInfo | null {
  const at = (field: keyof typeof COLUMNS) => (index[field] === undefined ? null : cell(fields[index[field] as number]));
  const pertId = at('pertId');
  if (pertId === null) return null;
  return {
    pertId,
    name: at('name'),
    smiles: at('smiles'),
    inchiKey: at('inchiKey'),
    targets: split(at('targets')),
    moa: split(at('moa')),
    pertType: at('pertType'),
  };
}

/** Rows of one compound merge: the first value of a field stays, targets and MoA gather. */
function add(compounds: Map<string, CompoundInfo>, row: CompoundInfo | null): void {
  if (row === null) return;
  const known = compounds.get(row.pertId);
  if (!known) {
    compounds.set(row.pertId, row);
    return;
  }
  known.name ??= row.name;
  known.smiles ??= row.smiles;
  known.inchiKey ??= row.inchiKey;
  known.pertType ??= row.pertType;
  for (const t of row.targets) if (!known.targets.includes(t)) known.targets.push(t);
  for (const m of row.moa) if (!known.moa.includes(m)) known.moa.push(m);
}
