// Drug features (Morgan bits at other radii, RDKit descriptors) per canonical SMILES and
// representation: computed once by data/drug-features.ts, read synchronously by training.
import { blobToFloat32 } from './datasets.js';
import { Repository } from './repository.js';

export type DrugFeatureRecord = { ok: true; names: string[]; features: Float32Array } | { ok: false; reason: string };

interface Row {
  names: string;
  features: Buffer | null;
  error: string | null;
}

export class DrugFeatureRepository extends Repository {
  get(canonicalSmiles: string, representation: string): DrugFeatureRecord | null {
    const row = this.firstRow<Row>(
      'SELECT names, features, error FROM drug_features WHERE canonical_smiles = ? AND representation = ?',
      canonicalSmiles,
      representation,
    );
    if (!row) return null;
    if (!row.features) return { ok: false, reason: row.error ?? 'no features' };
    return { ok: true, names: JSON.parse(row.names) as string[], features: blobToFloat32(row.features) };
  }

  put(canonicalSmiles: string, representation: string, rdkitVersion: string, record: DrugFeatureRecord): void {
    const features = record.ok ? Buffer.from(record.features.buffer, record.features.byteOffset, record.features.byteLength) : null;
    this.db
      .prepare(
        `INSERT OR REPLACE INTO drug_features (canonical_smiles, representation, rdkit_version, names, features, error)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        canonicalSmiles,
        representation,
        rdkitVersion,
        JSON.stringify(record.ok ? record.names : []),
        features,
        record.ok ? null : record.reason,
      );
  }
}
