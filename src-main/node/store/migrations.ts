// Forward-only schema migrations. The database's PRAGMA user_version is the number of
// migrations applied; each migration runs in its own transaction together with the bump.
import type { Database } from 'better-sqlite3';
import { sampleIndicesBlob, samplePositions } from './sessions.js';

export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'datasets, genes, samples, perturbagens, environments, splits, runs, metrics, checkpoints, artifacts',
    up(db) {
      db.exec(`
        CREATE TABLE settings (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
        CREATE TABLE datasets (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          source TEXT NOT NULL,
          description TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL,
          n_samples INTEGER NOT NULL,
          n_genes INTEGER NOT NULL,
          metadata_columns TEXT NOT NULL,
          content_hash TEXT NOT NULL,
          provenance TEXT NOT NULL,
          ground_truth TEXT,
          representation_columns TEXT NOT NULL DEFAULT '[]'
        );
        CREATE TABLE genes (
          dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
          idx INTEGER NOT NULL,
          gene_id TEXT NOT NULL,
          symbol TEXT NOT NULL,
          landmark INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (dataset_id, idx),
          UNIQUE (dataset_id, gene_id)
        ) WITHOUT ROWID;
        CREATE TABLE perturbagens (
          id TEXT PRIMARY KEY,
          name TEXT,
          smiles TEXT,
          inchi_key TEXT,
          pert_type TEXT
        );
        CREATE TABLE environments (
          id TEXT PRIMARY KEY,
          dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
          idx INTEGER NOT NULL,
          key TEXT NOT NULL,
          label TEXT NOT NULL,
          is_control INTEGER NOT NULL DEFAULT 0,
          perturbagen_id TEXT REFERENCES perturbagens(id),
          cell_line TEXT,
          dose TEXT,
          time TEXT,
          representation BLOB,
          representation_kind TEXT NOT NULL DEFAULT 'none',
          UNIQUE (dataset_id, key),
          UNIQUE (dataset_id, idx)
        );
        CREATE TABLE samples (
          dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
          idx INTEGER NOT NULL,
          sample_id TEXT NOT NULL,
          environment_id TEXT REFERENCES environments(id) ON DELETE CASCADE,
          metadata TEXT NOT NULL,
          expression BLOB NOT NULL
        );
        CREATE UNIQUE INDEX samples_by_index ON samples (dataset_id, idx);
        CREATE UNIQUE INDEX samples_by_id ON samples (dataset_id, sample_id);
        CREATE INDEX samples_by_environment ON samples (environment_id);
        CREATE TABLE splits (
          id TEXT PRIMARY KEY,
          dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
          name TEXT NOT NULL,
          kind TEXT NOT NULL,
          seed INTEGER NOT NULL,
          assignment TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE runs (
          id TEXT PRIMARY KEY,
          dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE RESTRICT,
          split_id TEXT REFERENCES splits(id) ON DELETE RESTRICT,
          name TEXT NOT NULL,
          model TEXT NOT NULL,
          config TEXT NOT NULL,
          status TEXT NOT NULL,
          backend TEXT,
          threads INTEGER,
          seed INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          started_at TEXT,
          finished_at TEXT,
          epochs_done INTEGER NOT NULL DEFAULT 0,
          best_validation_loss REAL,
          message TEXT
        );
        CREATE INDEX runs_by_dataset ON runs (dataset_id);
        CREATE TABLE metrics (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          epoch INTEGER NOT NULL,
          step INTEGER NOT NULL,
          split TEXT NOT NULL,
          name TEXT NOT NULL,
          value REAL NOT NULL,
          recorded_at TEXT NOT NULL
        );
        CREATE INDEX metrics_by_run ON metrics (run_id, name, step);
        CREATE TABLE checkpoints (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          epoch INTEGER NOT NULL,
          step INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          weights BLOB NOT NULL,
          optimizer_state BLOB,
          rng_state TEXT,
          PRIMARY KEY (run_id, epoch)
        );
        CREATE TABLE artifacts (
          id TEXT PRIMARY KEY,
          run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
          dataset_id TEXT REFERENCES datasets(id) ON DELETE CASCADE,
          kind TEXT NOT NULL,
          name TEXT NOT NULL,
          media_type TEXT NOT NULL,
          content BLOB NOT NULL,
          provenance TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 2,
    description: 'runs.details (what training resolved from the config) and runs.owner_pid (which process trains it)',
    up(db) {
      db.exec('ALTER TABLE runs ADD COLUMN details TEXT; ALTER TABLE runs ADD COLUMN owner_pid INTEGER;');
    },
  },
  {
    version: 3,
    description: 'molecules (structure cache) and imports (a journal, so an interrupted import is reported)',
    up(db) {
      db.exec(`
        CREATE TABLE molecules (
          smiles TEXT NOT NULL,
          radius INTEGER NOT NULL,
          n_bits INTEGER NOT NULL,
          chirality INTEGER NOT NULL,
          ok INTEGER NOT NULL,
          canonical_smiles TEXT,
          inchi_key TEXT,
          scaffold_smiles TEXT,
          fingerprint BLOB,
          svg TEXT,
          error TEXT,
          PRIMARY KEY (smiles, radius, n_bits, chirality)
        ) WITHOUT ROWID;
        CREATE TABLE imports (
          id TEXT PRIMARY KEY,
          source TEXT NOT NULL,
          status TEXT NOT NULL,
          owner_pid INTEGER,
          started_at TEXT NOT NULL,
          finished_at TEXT,
          dataset_id TEXT,
          message TEXT
        );
      `);
    },
  },
  {
    version: 4,
    description: 'view_states (what each view showed, restored on the next start) and selections (named sample sets with notes)',
    up(db) {
      db.exec(`
        CREATE TABLE view_states (
          view TEXT PRIMARY KEY,
          state TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE TABLE selections (
          id TEXT PRIMARY KEY,
          dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
          name TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT '',
          sample_ids TEXT NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          UNIQUE (dataset_id, name)
        );
      `);
    },
  },
  {
    version: 5,
    description: 'gene_set_collections and gene_sets (GMT/GMX files imported into the lab, identifiers as written)',
    up(db) {
      db.exec(`
        CREATE TABLE gene_set_collections (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          source TEXT NOT NULL,
          format TEXT NOT NULL,
          n_sets INTEGER NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE gene_sets (
          collection_id TEXT NOT NULL REFERENCES gene_set_collections(id) ON DELETE CASCADE,
          idx INTEGER NOT NULL,
          name TEXT NOT NULL,
          description TEXT NOT NULL,
          genes TEXT NOT NULL,
          PRIMARY KEY (collection_id, idx)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 6,
    description:
      'compounds: the lab-wide compound library (pert_id → name, structure, targets, MoA) filled by every pert_info/compoundinfo table',
    up(db) {
      db.exec(`
        CREATE TABLE compounds (
          pert_id TEXT PRIMARY KEY,
          name TEXT,
          smiles TEXT,
          inchi_key TEXT,
          targets TEXT NOT NULL DEFAULT '[]',
          moa TEXT NOT NULL DEFAULT '[]',
          source TEXT NOT NULL,
          updated_at TEXT NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 7,
    description: 'plans (studies and sweeps as lists of independent runs, e.g. Slurm bundles) and the tasks collected from them',
    up(db) {
      db.exec(`
        CREATE TABLE plans (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          name TEXT NOT NULL,
          dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
          executor TEXT NOT NULL,
          bundle_path TEXT,
          tasks INTEGER NOT NULL,
          plan TEXT NOT NULL,
          report_artifact_id TEXT REFERENCES artifacts(id) ON DELETE SET NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE plan_tasks (
          plan_id TEXT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
          task_index INTEGER NOT NULL,
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          collected_at TEXT NOT NULL,
          PRIMARY KEY (plan_id, task_index)
        );
      `);
    },
  },
  {
    version: 8,
    description: 'drug features per canonical SMILES and representation (Morgan radii, RDKit descriptors), computed once',
    up(db) {
      db.exec(`
        CREATE TABLE drug_features (
          canonical_smiles TEXT NOT NULL,
          representation TEXT NOT NULL,
          rdkit_version TEXT NOT NULL,
          names TEXT NOT NULL,
          features BLOB,
          error TEXT,
          PRIMARY KEY (canonical_smiles, representation)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 9,
    description: 'molecules.engine: which chemistry engine and RDKit release computed a cached structure',
    up(db) {
      // NULL for rows cached before: they are recomputed on next use, as rows of another engine are.
      db.exec('ALTER TABLE molecules ADD COLUMN engine TEXT');
    },
  },
  {
    version: 10,
    description: 'latents_results: what the Latents view opens with (projections, ordered prior shifts), per run and checkpoint',
    up(db) {
      // A new (or replaced) checkpoint makes the run's stored results stale: the trigger drops them
      // in the transaction that records it, so no reader ever sees results of other weights.
      db.exec(`
        CREATE TABLE latents_results (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          epoch INTEGER NOT NULL,
          method TEXT NOT NULL,
          points INTEGER NOT NULL,
          facts TEXT NOT NULL,
          arrays BLOB NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (run_id, epoch, method, points)
        );
        CREATE TRIGGER latents_results_stale AFTER INSERT ON checkpoints
        BEGIN
          DELETE FROM latents_results WHERE run_id = NEW.run_id;
        END;
      `);
      // The view's per-sample columns (environment, id) from the index alone: each scan read every
      // sample's row with its expression (2.6 GB at 473,647 × 978), ~1 min apiece on a loaded machine.
      db.exec('CREATE INDEX samples_columns ON samples (dataset_id, idx, environment_id, sample_id)');
    },
  },
  {
    version: 11,
    description: "environments.n_samples and cell_lines: each environment's samples per cell line, stored at import",
    up(db) {
      // Listing a dataset's environments counted every sample's cell line from its metadata JSON on
      // each call (13 s at 473,647 samples on a loaded machine), and held the dataset-read worker
      // the Latents view reads from. The import knows the counts: it stores them; here they are
      // counted once for the datasets already stored, as that listing counted them.
      db.exec(`
        ALTER TABLE environments ADD COLUMN n_samples INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE environments ADD COLUMN cell_lines TEXT NOT NULL DEFAULT '[]';
      `);
      const counts = db
        .prepare(
          `SELECT environment_id,
                  COALESCE(json_extract(metadata, '$.cell_id'), json_extract(metadata, '$.cell_line'),
                           json_extract(metadata, '$.cell_iname'), '(unknown)') AS cell_line,
                  count(*) AS samples
           FROM samples WHERE environment_id IS NOT NULL GROUP BY environment_id, cell_line`,
        )
        .all() as { environment_id: string; cell_line: unknown; samples: number }[];
      const byEnvironment = new Map<string, { cellLine: string; samples: number }[]>();
      for (const c of counts) {
        const list = byEnvironment.get(c.environment_id) ?? [];
        list.push({ cellLine: String(c.cell_line), samples: c.samples });
        byEnvironment.set(c.environment_id, list);
      }
      const update = db.prepare('UPDATE environments SET n_samples = ?, cell_lines = ? WHERE id = ?');
      for (const [id, list] of byEnvironment) {
        list.sort((a, b) => b.samples - a.samples || (a.cellLine < b.cellLine ? -1 : a.cellLine > b.cellLine ? 1 : 0));
        update.run(
          list.reduce((sum, c) => sum + c.samples, 0),
          JSON.stringify(list),
          id,
        );
      }
    },
  },
  {
    version: 12,
    description: "selections.sample_indices: each selection's samples as Int32 positions in its dataset's sample order",
    up(db) {
      // selections.list sent every member's id (9.5 MB for a LINCS lab's five selections) and now
      // sends positions; stored with the selection, so listing reads no sample id. Given once here to
      // the selections already stored (their ids stay: differential expression reads them).
      db.exec('ALTER TABLE selections ADD COLUMN sample_indices BLOB');
      const rows = db.prepare('SELECT id, dataset_id, sample_ids FROM selections').all() as {
        id: string;
        dataset_id: string;
        sample_ids: string;
      }[];
      const positions = new Map<string, Map<string, number>>();
      const update = db.prepare('UPDATE selections SET sample_indices = ? WHERE id = ?');
      for (const row of rows) {
        let ofDataset = positions.get(row.dataset_id);
        if (!ofDataset) {
          ofDataset = samplePositions(db, row.dataset_id);
          positions.set(row.dataset_id, ofDataset);
        }
        update.run(sampleIndicesBlob(JSON.parse(row.sample_ids) as string[], ofDataset), row.id);
      }
    },
  },
  {
    version: 13,
    description: 'environments_listing and molecules_status: what a page of environments searches, sorts and counts, without the rows',
    up(db) {
      // An environment's row holds its representation (4 KB at 1,024 fingerprint bits), so
      // scanning 49,854 of them to count, search or sort a page read ~200 MB and took 2–9 s on a
      // loaded machine (bench/environments.ts). These indexes hold only the listed columns: a
      // page reads them, ordered by key, and the structure status from the molecule cache.
      db.exec(`
        CREATE INDEX environments_listing ON environments
          (dataset_id, key COLLATE NOCASE, idx, label, is_control, perturbagen_id, cell_line, n_samples, dose, time, id);
        CREATE INDEX molecules_status ON molecules (smiles, ok);
      `);
    },
  },
];

export const latestSchemaVersion = migrations.length;
