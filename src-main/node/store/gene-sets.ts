// Gene set collections imported into the lab (GMT/GMX), shared by every dataset: identifiers are
// stored as the file wrote them and mapped to a dataset's genes when an enrichment runs.
import { randomUUID } from 'node:crypto';
import { LabError } from '../../shared/api/errors.js';
import type { GeneSetCollection } from '../../shared/api/mechanism.js';
import { Repository } from './repository.js';

export interface StoredGeneSet {
  name: string;
  description: string;
  genes: string[];
}

interface CollectionRow {
  id: string;
  name: string;
  source: string;
  format: 'gmt' | 'gmx';
  n_sets: number;
  created_at: string;
}

const toCollection = (r: CollectionRow): GeneSetCollection => ({
  id: r.id,
  name: r.name,
  source: r.source,
  format: r.format,
  nSets: r.n_sets,
  createdAt: r.created_at,
});

export class GeneSetRepository extends Repository {
  list(): GeneSetCollection[] {
    return (this.db.prepare('SELECT * FROM gene_set_collections ORDER BY created_at, name').all() as CollectionRow[]).map(toCollection);
  }

  get(id: string): GeneSetCollection {
    const row = this.db.prepare('SELECT * FROM gene_set_collections WHERE id = ?').get(id) as CollectionRow | undefined;
    if (!row) throw new LabError('not_found', `No gene set collection with id "${id}"`);
    return toCollection(row);
  }

  sets(id: string): StoredGeneSet[] {
    this.get(id);
    return (
      this.db.prepare('SELECT name, description, genes FROM gene_sets WHERE collection_id = ? ORDER BY idx').all(id) as {
        name: string;
        description: string;
        genes: string;
      }[]
    ).map((r) => ({ name: r.name, description: r.description, genes: JSON.parse(r.genes) as string[] }));
  }

  /** Stores a whole collection in one transaction; a name already taken changes nothing. */
  add(input: { name: string; source: string; format: 'gmt' | 'gmx'; sets: readonly StoredGeneSet[] }): GeneSetCollection {
    const id = `gs_${randomUUID().slice(0, 8)}`;
    this.db
      .transaction(() => {
        if (this.db.prepare('SELECT 1 FROM gene_set_collections WHERE name = ?').get(input.name)) {
          throw new LabError(
            'bad_input',
            `A gene set collection named "${input.name}" already exists; choose another name or delete it first`,
          );
        }
        this.db
          .prepare('INSERT INTO gene_set_collections (id, name, source, format, n_sets, created_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(id, input.name, input.source, input.format, input.sets.length, new Date().toISOString());
        const insert = this.db.prepare('INSERT INTO gene_sets (collection_id, idx, name, description, genes) VALUES (?, ?, ?, ?, ?)');
        input.sets.forEach((s, i) => {
          insert.run(id, i, s.name, s.description, JSON.stringify(s.genes));
        });
      })
      .immediate();
    return this.get(id);
  }

  delete(id: string): void {
    if (this.db.prepare('DELETE FROM gene_set_collections WHERE id = ?').run(id).changes === 0) {
      throw new LabError('not_found', `No gene set collection with id "${id}"`);
    }
  }
}
