// Structure facts per SMILES and fingerprint settings, computed once by chem/ and reused by
// every later import and prediction.
import { Repository } from './repository.js';

export interface FingerprintKey {
  radius: number;
  nBits: number;
  chirality: boolean;
}

export type MoleculeRecord =
  | {
      ok: true;
      canonicalSmiles: string;
      inchiKey: string | null;
      scaffoldSmiles: string | null;
      fingerprint: Uint8Array;
      svg: string | null;
    }
  | { ok: false; reason: string };

interface Row {
  ok: number;
  canonical_smiles: string | null;
  inchi_key: string | null;
  scaffold_smiles: string | null;
  fingerprint: Buffer | null;
  svg: string | null;
  error: string | null;
}

export class MoleculeRepository extends Repository {
  /**
   * The cached facts of `smiles`, if computed by `engine` (the chemistry engine and RDKit release,
   * e.g. "native 2022.09.3"): two releases write some canonical SMILES and scaffolds differently,
   * so a machine that switched engines recomputes rather than mixing the two.
   */
  get(smiles: string, key: FingerprintKey, engine: string): MoleculeRecord | null {
    const sql = 'SELECT * FROM molecules WHERE smiles = ? AND radius = ? AND n_bits = ? AND chirality = ? AND engine = ?';
    const row = this.firstRow<Row>(sql, smiles, key.radius, key.nBits, key.chirality ? 1 : 0, engine);
    if (!row) return null;
    if (row.ok !== 1) return { ok: false, reason: row.error ?? 'invalid structure' };
    return {
      ok: true,
      canonicalSmiles: row.canonical_smiles ?? smiles,
      inchiKey: row.inchi_key,
      scaffoldSmiles: row.scaffold_smiles,
      fingerprint: new Uint8Array(row.fingerprint ?? new Uint8Array(key.nBits)),
      svg: row.svg,
    };
  }

  put(smiles: string, key: FingerprintKey, record: MoleculeRecord, engine: string): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO molecules (smiles, radius, n_bits, chirality, ok, canonical_smiles, inchi_key, scaffold_smiles, fingerprint, svg, error, engine)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        smiles,
        key.radius,
        key.nBits,
        key.chirality ? 1 : 0,
        record.ok ? 1 : 0,
        record.ok ? record.canonicalSmiles : null,
        record.ok ? record.inchiKey : null,
        record.ok ? record.scaffoldSmiles : null,
        record.ok ? Buffer.from(record.fingerprint) : null,
        record.ok ? record.svg : null,
        record.ok ? null : record.reason,
        engine,
      );
  }

  /**
   * Keeps a depiction and InChIKey computed after the fact (imports skip both) for every cached
   * entry of `smiles`; an InChIKey already stored stays.
   */
  setDepiction(smiles: string, svg: string, inchiKey: string | null = null): void {
    this.db
      .prepare('UPDATE molecules SET svg = ?, inchi_key = coalesce(inchi_key, ?) WHERE smiles = ? AND ok = 1')
      .run(svg, inchiKey, smiles);
  }
}
