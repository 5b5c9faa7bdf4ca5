// The lab's persistent state: one SQLite database and a repository per kind of record.
import type { Database } from 'better-sqlite3';
import { ArtifactRepository } from './artifacts.js';
import { CompoundRepository } from './compounds.js';
import { type OpenOptions, openDatabase, schemaVersion } from './database.js';
import { DatasetRepository } from './datasets.js';
import { DrugFeatureRepository } from './drug-features.js';
import { GeneSetRepository } from './gene-sets.js';
import { ImportJournal } from './imports.js';
import { LatentsResultRepository } from './latents-results.js';
import { MoleculeRepository } from './molecules.js';
import { PlanRepository } from './plans.js';
import { RunRepository } from './runs.js';
import { SessionRepository } from './sessions.js';

export class Store {
  readonly path: string;
  readonly db: Database;
  readonly datasets: DatasetRepository;
  readonly runs: RunRepository;
  readonly molecules: MoleculeRepository;
  readonly artifacts: ArtifactRepository;
  readonly imports: ImportJournal;
  readonly sessions: SessionRepository;
  readonly geneSets: GeneSetRepository;
  readonly plans: PlanRepository;
  /** The lab-wide compound library (pert_id → name, SMILES, InChIKey, targets, MoA). */
  readonly compounds: CompoundRepository;
  /** Drug features per canonical SMILES and representation (see data/drug-features.ts). */
  readonly drugFeatures: DrugFeatureRepository;
  /** What the Latents view opens with, per run and checkpoint (see latents-results.ts). */
  readonly latentsResults: LatentsResultRepository;

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
    this.datasets = new DatasetRepository(db);
    this.runs = new RunRepository(db);
    this.molecules = new MoleculeRepository(db);
    this.artifacts = new ArtifactRepository(db);
    this.imports = new ImportJournal(db);
    this.sessions = new SessionRepository(db);
    this.geneSets = new GeneSetRepository(db);
    this.plans = new PlanRepository(db);
    this.compounds = new CompoundRepository(db);
    this.drugFeatures = new DrugFeatureRepository(db);
    this.latentsResults = new LatentsResultRepository(db);
  }

  static open(path: string, options?: OpenOptions): Store {
    return new Store(path, openDatabase(path, options));
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  getSetting(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
