// A dataset's environments as summaries: all at once (environments.list) or a page of a search,
// sorted in SQL (environments.page), so a view of a LINCS import's ~50k environments reads and
// sends only the rows it shows.
import type { Database } from 'better-sqlite3';
import type { EnvironmentSummary } from '../../shared/api/domain.js';
import {
  type DrugStructureCounts,
  type EnvironmentFacets,
  type EnvironmentPage,
  type EnvironmentPageRequest,
  EnvironmentPlace,
  type EnvironmentRow,
} from '../../shared/api/environments.js';
import { camelFields } from './rows.js';

/** What a page asks of the store: the request without its dataset and split (their places are given). */
export type EnvironmentPageQuery = Omit<EnvironmentPageRequest, 'datasetId' | 'split'>;

/** What every environment query reads: the environment and its drug's SMILES. */
export const ENVIRONMENT_CORE_COLUMNS = 'e.id, e.key, e.label, e.is_control, e.perturbagen_id, e.cell_line, p.smiles';
const ENVIRONMENTS_JOINED = 'FROM environments e LEFT JOIN perturbagens p ON p.id = e.perturbagen_id';
export const ENVIRONMENTS_OF_DATASET = `${ENVIRONMENTS_JOINED} WHERE e.dataset_id = ? ORDER BY e.idx`;
export const ENVIRONMENT_SUMMARY_COLUMNS = `${ENVIRONMENT_CORE_COLUMNS}, e.dose, e.time,
  length(e.representation) AS representation_bytes, e.representation_kind, e.n_samples, e.cell_lines, p.name AS drug_name`;

/**
 * The drug's structure status in SQL, as environmentSummary derives it: invalid when the structure
 * cache holds the SMILES only as failed (under every fingerprint setting), parsed otherwise.
 */
const STRUCTURE_SQL = `CASE WHEN e.is_control = 1 OR e.perturbagen_id IS NULL THEN NULL
  WHEN p.smiles IS NULL THEN 'missing'
  WHEN EXISTS (SELECT 1 FROM molecules m WHERE m.smiles = p.smiles AND m.ok = 0)
   AND NOT EXISTS (SELECT 1 FROM molecules m WHERE m.smiles = p.smiles AND m.ok = 1) THEN 'invalid'
  ELSE 'parsed' END`;

export type MoleculesBySmiles = Map<string, { ok: boolean; scaffold: string | null; canonical: string | null }>;

export interface EnvironmentCoreRow {
  id: string;
  key: string;
  label: string;
  is_control: number;
  perturbagen_id: string | null;
  cell_line: string | null;
  smiles: string | null;
}

export type EnvironmentSummaryRow = EnvironmentCoreRow & {
  dose: string | null;
  time: string | null;
  representation_bytes: number | null;
  representation_kind: string;
  n_samples: number;
  cell_lines: string;
  drug_name: string | null;
};

/**
 * What the structure cache knows of each SMILES (parsed by any fingerprint setting; scaffold and
 * canonical form of a parsed entry): of every one, or of the given ones (a page's). One scan of the
 * cache: a correlated lookup per environment took 4–8 s at 20k environments, the scan tens of ms.
 */
export function moleculesBySmiles(db: Database, only?: readonly string[]): MoleculesBySmiles {
  const bySmiles: MoleculesBySmiles = new Map();
  const columns = 'SELECT smiles, ok, scaffold_smiles, canonical_smiles FROM molecules';
  const rows = (
    only === undefined
      ? db.prepare(columns).iterate()
      : db.prepare(`${columns} WHERE smiles IN (SELECT value FROM json_each(?))`).iterate(JSON.stringify(only))
  ) as IterableIterator<{ smiles: string; ok: number; scaffold_smiles: string | null; canonical_smiles: string | null }>;
  for (const m of rows) {
    if (bySmiles.get(m.smiles)?.ok) continue;
    bySmiles.set(
      m.smiles,
      m.ok === 1
        ? { ok: true, scaffold: m.scaffold_smiles, canonical: m.canonical_smiles }
        : { ok: false, scaffold: null, canonical: null },
    );
  }
  return bySmiles;
}

export function environmentCore(row: EnvironmentCoreRow, molecules: MoleculesBySmiles) {
  return {
    ...camelFields(row, ['id', 'key', 'label']),
    isControl: row.is_control === 1,
    perturbagen: row.perturbagen_id,
    cellLine: row.cell_line,
    scaffold: row.smiles === null ? null : (molecules.get(row.smiles)?.scaffold ?? null),
  };
}

export function environmentSummary(r: EnvironmentSummaryRow, molecules: MoleculesBySmiles): EnvironmentSummary {
  return {
    ...environmentCore(r, molecules),
    dose: r.dose,
    time: r.time,
    nSamples: r.n_samples,
    representationLength: (r.representation_bytes ?? 0) / Float32Array.BYTES_PER_ELEMENT,
    representationKind: r.representation_kind,
    drugName: r.drug_name,
    smiles: r.smiles,
    structure:
      r.is_control === 1 || r.perturbagen_id === null
        ? null
        : r.smiles === null
          ? 'missing'
          : molecules.get(r.smiles)?.ok === false
            ? 'invalid'
            : 'parsed',
    // Counted at import (DatasetWriter), not from every sample's metadata on each call.
    cellLines: JSON.parse(r.cell_lines) as { cellLine: string; samples: number }[],
  };
}

const SORT_SQL = {
  key: 'e.key COLLATE NOCASE',
  drug: "coalesce(p.name, e.perturbagen_id, '') COLLATE NOCASE",
  structure: `coalesce(${STRUCTURE_SQL}, '')`,
  nSamples: 'e.n_samples',
} as const;

// SQLite's lower() folds ASCII only, so the query is folded the same way (not with toLowerCase).
const SEARCHED_SQL = ['e.key', 'e.label', 'e.perturbagen_id', 'p.name', 'e.cell_line', 'p.smiles']
  .map((column) => `instr(lower(coalesce(${column}, '')), @query) > 0`)
  .join(' OR ');

function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/**
 * One page of the environments a query keeps, in the order asked (ties by import order, so pages
 * never overlap). Sorting by split orders the matched ids by their place in JavaScript: the places
 * come from a split preview, not from a column.
 */
export function environmentsPage(
  db: Database,
  datasetId: string,
  { query, treatedOnly, sort, offset, limit }: EnvironmentPageQuery,
  places: ReadonlyMap<string, EnvironmentPlace> | null,
): EnvironmentPage {
  const needle = asciiLower(query.trim());
  const where = ['e.dataset_id = @datasetId', ...(treatedOnly ? ['e.is_control = 0'] : []), ...(needle ? [`(${SEARCHED_SQL})`] : [])].join(
    ' AND ',
  );
  const bind = { datasetId, query: needle };
  const total = db.prepare('SELECT count(*) FROM environments WHERE dataset_id = ?').pluck().get(datasetId) as number;
  const matched =
    needle || treatedOnly ? (db.prepare(`SELECT count(*) ${ENVIRONMENTS_JOINED} WHERE ${where}`).pluck().get(bind) as number) : total;
  const direction = sort.descending ? 'DESC' : 'ASC';
  let ids: string[];
  if (sort.key === 'split') {
    // Every matching id, from the listing index (it holds every column the search reads of an
    // environment): SQLite's own choice walked the environments' fat rows, ~3× the time.
    const all = db
      .prepare(
        `SELECT e.id FROM environments e INDEXED BY environments_listing LEFT JOIN perturbagens p ON p.id = e.perturbagen_id
         WHERE ${where} ORDER BY e.idx`,
      )
      .pluck()
      .all(bind) as string[];
    // Grouped by place, in the places' alphabetical order (or its reverse), each group in import
    // order: a comparison sort with localeCompare took ~0.3 s over 49,854 ids.
    const order = [...EnvironmentPlace.options].sort();
    if (sort.descending) order.reverse();
    const grouped = new Map<EnvironmentPlace, string[]>(order.map((place) => [place, []]));
    for (const id of all) grouped.get(places?.get(id) ?? 'train')?.push(id);
    ids = [...grouped.values()].flat().slice(offset, offset + limit);
  } else {
    ids = db
      .prepare(
        `SELECT e.id ${ENVIRONMENTS_JOINED} WHERE ${where} ORDER BY ${SORT_SQL[sort.key]} ${direction}, e.idx LIMIT @limit OFFSET @offset`,
      )
      .pluck()
      .all({ ...bind, limit, offset }) as string[];
  }
  // The counts scan every drug (~0.2 s at 20k): with the first page only, which is where a view starts.
  const drugStructures = offset === 0 ? drugStructureCounts(db, datasetId) : null;
  return { total, matched, offset, rows: rowsOf(db, datasetId, ids, places), drugStructures };
}

/**
 * The summaries of the given environments, in the order given. By id (`+` keeps SQLite off the
 * dataset index, which walked every fat row of the dataset: 150 ms a page at 49,854, 4 ms by id).
 */
function rowsOf(
  db: Database,
  datasetId: string,
  ids: readonly string[],
  places: ReadonlyMap<string, EnvironmentPlace> | null,
): EnvironmentRow[] {
  if (ids.length === 0) return [];
  const rows = db
    .prepare(
      `SELECT ${ENVIRONMENT_SUMMARY_COLUMNS} ${ENVIRONMENTS_JOINED} WHERE +e.dataset_id = ? AND e.id IN (SELECT value FROM json_each(?))`,
    )
    .all(datasetId, JSON.stringify(ids)) as EnvironmentSummaryRow[];
  const molecules = moleculesBySmiles(
    db,
    rows.flatMap((r) => (r.smiles === null ? [] : [r.smiles])),
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [{ ...environmentSummary(row, molecules), place: places ? (places.get(id) ?? 'train') : null }] : [];
  });
}

/** Drugs of the dataset by structure status, each drug once (it has an environment per cell line). */
function drugStructureCounts(db: Database, datasetId: string): DrugStructureCounts {
  const rows = db
    .prepare(
      `SELECT structure, count(*) AS n FROM (
         SELECT ${STRUCTURE_SQL} AS structure
         FROM (SELECT DISTINCT perturbagen_id, 0 AS is_control FROM environments
               WHERE dataset_id = ? AND is_control = 0 AND perturbagen_id IS NOT NULL) e
         JOIN perturbagens p ON p.id = e.perturbagen_id)
       GROUP BY structure`,
    )
    .all(datasetId) as { structure: keyof DrugStructureCounts; n: number }[];
  const counts: DrugStructureCounts = { parsed: 0, invalid: 0, missing: 0 };
  for (const { structure, n } of rows) counts[structure] = n;
  return counts;
}

export function environmentFacets(db: Database, datasetId: string): EnvironmentFacets {
  const distinct = (column: 'cell_line' | 'dose' | 'time', treatedOnly: boolean) =>
    db
      .prepare(
        `SELECT DISTINCT ${column} FROM environments WHERE dataset_id = ? AND ${column} IS NOT NULL${treatedOnly ? ' AND is_control = 0' : ''} ORDER BY ${column}`,
      )
      .pluck()
      .all(datasetId) as string[];
  const keyedByDoseAndTime = db
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM environments WHERE dataset_id = ? AND is_control = 0
         AND dose IS NOT NULL AND time IS NOT NULL AND instr(key, dose) > 0)`,
    )
    .pluck()
    .get(datasetId) as number;
  return {
    cellLines: distinct('cell_line', false),
    doses: distinct('dose', true),
    times: distinct('time', true),
    keyedByDoseAndTime: keyedByDoseAndTime === 1,
  };
}
