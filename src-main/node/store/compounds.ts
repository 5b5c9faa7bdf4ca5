// The lab-wide compound library: every pert_info / compoundinfo table the lab has read (with a
// dataset or on its own) adds what it says about each pert_id. Later imports without such a table
// take structures from here; mechanism analyses read targets and MoA.
import { Repository } from './repository.js';
import { camelFields, jsonList } from './rows.js';

export interface CompoundRecord {
  pertId: string;
  name: string | null;
  smiles: string | null;
  inchiKey: string | null;
  targets: string[];
  moa: string[];
}

/** A library entry: the record plus the file its structure (or, without one, its other fields) came from. */
export interface StoredCompound extends CompoundRecord {
  source: string;
}

interface Row {
  pert_id: string;
  name: string | null;
  smiles: string | null;
  inchi_key: string | null;
  targets: string;
  moa: string;
  source: string;
}

/** Lookups of more ids than this go through a temporary table instead of one IN (...) list. */
const IN_LIST_LIMIT = 500;

export class CompoundRepository extends Repository {
  /**
   * Adds or updates compounds, in one transaction. A field the new table leaves empty keeps what
   * the library knew; one it fills replaces it (the newest table wins). Returns how many were new.
   */
  upsert(records: Iterable<CompoundRecord>, source: string): { added: number; updated: number } {
    const exists = this.db.prepare('SELECT 1 FROM compounds WHERE pert_id = ?');
    const write = this.db.prepare(
      `INSERT INTO compounds (pert_id, name, smiles, inchi_key, targets, moa, source, updated_at)
       VALUES (@pertId, @name, @smiles, @inchiKey, @targets, @moa, @source, @now)
       ON CONFLICT (pert_id) DO UPDATE SET
         name = coalesce(excluded.name, name),
         smiles = coalesce(excluded.smiles, smiles),
         inchi_key = coalesce(excluded.inchi_key, inchi_key),
         targets = CASE WHEN excluded.targets = '[]' THEN targets ELSE excluded.targets END,
         moa = CASE WHEN excluded.moa = '[]' THEN moa ELSE excluded.moa END,
         source = CASE WHEN excluded.smiles IS NULL AND smiles IS NOT NULL THEN source ELSE excluded.source END,
         updated_at = excluded.updated_at`,
    );
    const now = new Date().toISOString();
    let added = 0;
    let updated = 0;
    this.db.transaction(() => {
      for (const r of records) {
        if (exists.get(r.pertId)) updated++;
        else added++;
        write.run({
          pertId: r.pertId,
          name: r.name,
          smiles: r.smiles,
          inchiKey: r.inchiKey,
          targets: JSON.stringify(r.targets),
          moa: JSON.stringify(r.moa),
          source,
          now,
        });
      }
    })();
    return { added, updated };
  }

  /** The library's entries for these pert_ids (unknown ids are absent from the map). */
  get(pertIds: Iterable<string>): Map<string, StoredCompound> {
    const ids = [...new Set(pertIds)];
    const out = new Map<string, StoredCompound>();
    for (let start = 0; start < ids.length; start += IN_LIST_LIMIT) {
      const chunk = ids.slice(start, start + IN_LIST_LIMIT);
      const rows = this.db
        .prepare(
          `SELECT pert_id, name, smiles, inchi_key, targets, moa, source FROM compounds WHERE pert_id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(...chunk) as Row[];
      for (const row of rows) out.set(row.pert_id, toRecord(row));
    }
    return out;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM compounds').get() as { n: number }).n;
  }
}

function toRecord(row: Row): StoredCompound {
  return {
    ...camelFields(row, ['pert_id', 'name', 'smiles', 'inchi_key']),
    targets: jsonList(row.targets),
    moa: jsonList(row.moa),
    source: row.source,
  };
}
