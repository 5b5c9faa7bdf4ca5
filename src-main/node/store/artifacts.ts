// Results worth keeping beyond a run: study reports, exported figures and tables, with provenance.
import { randomUUID } from 'node:crypto';
import { LabError } from '../../shared/api/errors.js';
import { Repository } from './repository.js';
import { camelFields } from './rows.js';

export interface ArtifactSummary {
  id: string;
  kind: string;
  name: string;
  mediaType: string;
  createdAt: string;
  runId: string | null;
  datasetId: string | null;
}

export class ArtifactRepository extends Repository {
  put(artifact: {
    kind: string;
    name: string;
    mediaType: string;
    content: string | Buffer;
    provenance: unknown;
    runId?: string;
    datasetId?: string;
  }): ArtifactSummary {
    const id = `art_${randomUUID().slice(0, 8)}`;
    this.db
      .prepare(
        `INSERT INTO artifacts (id, run_id, dataset_id, kind, name, media_type, content, provenance, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        artifact.runId ?? null,
        artifact.datasetId ?? null,
        artifact.kind,
        artifact.name,
        artifact.mediaType,
        typeof artifact.content === 'string' ? Buffer.from(artifact.content, 'utf8') : artifact.content,
        JSON.stringify(artifact.provenance),
        new Date().toISOString(),
      );
    return this.get(id);
  }

  get(id: string): ArtifactSummary {
    const row = this.db.prepare('SELECT id, kind, name, media_type, created_at, run_id, dataset_id FROM artifacts WHERE id = ?').get(id) as
      | Row
      | undefined;
    if (!row) throw new LabError('not_found', `No artifact with id "${id}"`);
    return toSummary(row);
  }

  content(id: string): Buffer {
    const row = this.db.prepare('SELECT content FROM artifacts WHERE id = ?').get(id) as { content: Buffer } | undefined;
    if (!row) throw new LabError('not_found', `No artifact with id "${id}"`);
    return row.content;
  }

  list(kind?: string): ArtifactSummary[] {
    const rows = (
      kind
        ? this.db
            .prepare(
              'SELECT id, kind, name, media_type, created_at, run_id, dataset_id FROM artifacts WHERE kind = ? ORDER BY created_at DESC',
            )
            .all(kind)
        : this.db.prepare('SELECT id, kind, name, media_type, created_at, run_id, dataset_id FROM artifacts ORDER BY created_at DESC').all()
    ) as Row[];
    return rows.map(toSummary);
  }
}

interface Row {
  id: string;
  kind: string;
  name: string;
  media_type: string;
  created_at: string;
  run_id: string | null;
  dataset_id: string | null;
}

function toSummary(row: Row): ArtifactSummary {
  return camelFields(row, ['id', 'kind', 'name', 'media_type', 'created_at', 'run_id', 'dataset_id']);
}
