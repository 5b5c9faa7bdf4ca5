// What the lab remembers between starts: each view's last state (JSON of the view's own shape)
// and named selections of samples with a free-text note.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { LabError } from '../../shared/api/errors.js';
import type { Selection, StoredViewState } from '../../shared/api/sessions.js';
import { Repository } from './repository.js';
import { camelFields, jsonList } from './rows.js';

interface SelectionRow {
  id: string;
  dataset_id: string;
  name: string;
  note: string;
  sample_ids: string;
  /** Int32 positions in the dataset's sample order, ascending (migration 12); null in a row not yet given them. */
  sample_indices: Uint8Array | null;
  created_at: string;
  updated_at: string;
}

export interface SelectionInput {
  datasetId: string;
  id?: string | undefined;
  name: string;
  note: string;
  sampleIds: readonly string[];
}

/** A selection without its samples: its name, note and dates. */
export type SelectionHead = Omit<Selection, 'size' | 'sampleIndices'>;

/** A selection with its samples' ids (what differential expression reads). */
export interface SelectionWithIds extends SelectionHead {
  sampleIds: string[];
}

/**
 * A selection as listed: its samples as stored positions (Int32 bytes), or, for a row without them,
 * its ids as the JSON text written (a lasso's 100k are megabytes, read only then).
 */
export interface StoredSelection {
  selection: SelectionHead;
  sampleIndices: Uint8Array | null;
  sampleIdsJson: string | null;
}

/** What a listing reads of a selection: the ids' text only where no positions are stored. */
const LISTED_COLUMNS = `id, dataset_id, name, note, created_at, updated_at, sample_indices,
  CASE WHEN sample_indices IS NULL THEN sample_ids END AS sample_ids`;

/** Ids as Int32 positions in the dataset's sample order (ascending, each once; ids not in `positionOf` left out), as stored. */
export function sampleIndicesBlob(ids: readonly string[], positionOf: ReadonlyMap<string, number>): Buffer {
  const positions: number[] = [];
  for (const id of ids) {
    const position = positionOf.get(id);
    if (position !== undefined) positions.push(position);
  }
  const indices = Int32Array.from(new Set(positions)).sort();
  return Buffer.from(indices.buffer, indices.byteOffset, indices.byteLength);
}

/** Each sample id of a dataset with its position in sample order. */
export function samplePositions(db: Database, datasetId: string): Map<string, number> {
  const ids = db.prepare('SELECT sample_id FROM samples WHERE dataset_id = ? ORDER BY idx').pluck().all(datasetId) as string[];
  return new Map(ids.map((id, position) => [id, position]));
}

export class SessionRepository extends Repository {
  view(view: string): StoredViewState {
    const row = this.db.prepare('SELECT state, updated_at FROM view_states WHERE view = ?').get(view) as
      | { state: string; updated_at: string }
      | undefined;
    return { view, state: row ? JSON.parse(row.state) : null, updatedAt: row?.updated_at ?? null };
  }

  saveView(view: string, state: Record<string, unknown>): StoredViewState {
    const updatedAt = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO view_states (view, state, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (view) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      )
      .run(view, JSON.stringify(state), updatedAt);
    return this.view(view);
  }

  #selectionRows(datasetId: string): SelectionRow[] {
    if (!this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(datasetId)) {
      throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    }
    return this.db
      .prepare(`SELECT ${LISTED_COLUMNS} FROM selections WHERE dataset_id = ? ORDER BY created_at, rowid`)
      .all(datasetId) as SelectionRow[];
  }

  selection(id: string): SelectionWithIds {
    const row = this.db.prepare('SELECT * FROM selections WHERE id = ?').get(id) as SelectionRow | undefined;
    if (!row) throw new LabError('not_found', `No selection with id "${id}"`);
    return toSelection(row);
  }

  /**
   * Creates or updates a selection. Its samples must all belong to the dataset and its name must
   * be unused by another selection of the dataset; otherwise nothing is written.
   */
  saveSelection(input: SelectionInput): SelectionHead {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(input.datasetId)) {
        throw new LabError('not_found', `No dataset with id "${input.datasetId}"`);
      }
      const sampleIds = [...new Set(input.sampleIds)];
      const known = samplePositions(this.db, input.datasetId);
      const unknown = sampleIds.filter((id) => !known.has(id));
      if (unknown.length > 0) {
        throw new LabError(
          'bad_input',
          `${unknown.length} sample id${unknown.length === 1 ? ' is' : 's are'} not in this dataset: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`,
        );
      }
      return this.#selectionWithoutIds(this.#writeSelection(input, JSON.stringify(sampleIds), sampleIndicesBlob(sampleIds, known)));
    })();
  }

  /**
   * saveSelection for samples already checked by a reader of the dataset (their ids as JSON text,
   * each once), or, with null, an update that keeps the selection's samples: nothing here reads
   * every sample of the dataset or parses the ids.
   */
  saveCheckedSelection(input: Omit<SelectionInput, 'sampleIds'>, samples: { idsJson: string; indices: Uint8Array } | null): SelectionHead {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(input.datasetId)) {
        throw new LabError('not_found', `No dataset with id "${input.datasetId}"`);
      }
      if (samples === null && input.id === undefined) throw new LabError('bad_input', 'A new selection needs its samples');
      // The ids are not read back: 100k of them are ~1.5 MB of text.
      return this.#selectionWithoutIds(this.#writeSelection(input, samples?.idsJson ?? null, samples?.indices ?? null));
    })();
  }

  /** The selection with its ids as stored text. */
  storedSelection(id: string): StoredSelection {
    const row = this.db.prepare(`SELECT ${LISTED_COLUMNS} FROM selections WHERE id = ?`).get(id) as SelectionRow | undefined;
    if (!row) throw new LabError('not_found', `No selection with id "${id}"`);
    return storedOf(row);
  }

  #selectionWithoutIds(id: string): SelectionHead {
    const row = this.db.prepare('SELECT id, dataset_id, name, note, created_at, updated_at FROM selections WHERE id = ?').get(id) as
      | Omit<SelectionRow, 'sample_ids' | 'sample_indices'>
      | undefined;
    if (!row) throw new LabError('not_found', `No selection with id "${id}"`);
    return camelFields(row, ['id', 'dataset_id', 'name', 'note', 'created_at', 'updated_at']);
  }

  /** Every selection of a dataset with its ids as stored text. */
  storedSelections(datasetId: string): StoredSelection[] {
    return this.#selectionRows(datasetId).map(storedOf);
  }

  /** Inserts or updates (null ids: keeps the samples); returns the selection's id. Runs inside the caller's transaction. */
  #writeSelection(input: Omit<SelectionInput, 'sampleIds'>, sampleIdsJson: string | null, sampleIndices: Uint8Array | null): string {
    const clash = this.db.prepare('SELECT id FROM selections WHERE dataset_id = ? AND name = ?').pluck().get(input.datasetId, input.name) as
      | string
      | undefined;
    if (clash !== undefined && clash !== input.id) {
      throw new LabError('conflict', `This dataset already has a selection named "${input.name}"`);
    }
    const now = new Date().toISOString();
    if (input.id !== undefined) {
      const existing = this.#selectionWithoutIds(input.id);
      if (existing.datasetId !== input.datasetId) {
        throw new LabError('bad_input', `Selection "${existing.name}" belongs to another dataset`);
      }
      this.db
        .prepare(
          `UPDATE selections SET name = ?, note = ?, sample_ids = coalesce(?, sample_ids),
             sample_indices = coalesce(?, sample_indices), updated_at = ? WHERE id = ?`,
        )
        .run(input.name, input.note, sampleIdsJson, sampleIndices, now, input.id);
      return input.id;
    }
    const id = `sel_${randomUUID().slice(0, 8)}`;
    this.db
      .prepare(
        'INSERT INTO selections (id, dataset_id, name, note, sample_ids, sample_indices, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, input.datasetId, input.name, input.note, sampleIdsJson, sampleIndices, now, now);
    return id;
  }

  deleteSelection(id: string): void {
    if (this.db.prepare('DELETE FROM selections WHERE id = ?').run(id).changes === 0) {
      throw new LabError('not_found', `No selection with id "${id}"`);
    }
  }
}

function storedOf(row: SelectionRow): StoredSelection {
  return {
    selection: camelFields(row, ['id', 'dataset_id', 'name', 'note', 'created_at', 'updated_at']),
    sampleIndices: row.sample_indices,
    sampleIdsJson: row.sample_indices === null ? row.sample_ids : null,
  };
}

function toSelection(row: SelectionRow): SelectionWithIds {
  return { ...camelFields(row, ['id', 'dataset_id', 'name', 'note', 'created_at', 'updated_at']), sampleIds: jsonList(row.sample_ids) };
}
