// Datasets, their genes, environments and samples. A dataset is written by a DatasetWriter
// inside one transaction: it lands whole (commit) or not at all (abort, crash, kill).
import { createHash, randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import {
  CELL_LINE_COLUMNS,
  type DatasetDetail,
  type DatasetSource,
  type DatasetSummary,
  type EnvironmentRepresentations,
  type EnvironmentStructure,
  type EnvironmentSummary,
  type MetadataColumn,
} from '../../shared/api/domain.js';
import type { EnvironmentPlace } from '../../shared/api/environments.js';
import { LabError } from '../../shared/api/errors.js';
import {
  ENVIRONMENT_CORE_COLUMNS,
  ENVIRONMENT_SUMMARY_COLUMNS,
  ENVIRONMENTS_OF_DATASET,
  type EnvironmentCoreRow,
  type EnvironmentPageQuery,
  type EnvironmentSummaryRow,
  environmentCore,
  environmentFacets,
  environmentSummary,
  environmentsPage,
  moleculesBySmiles,
} from './environment-pages.js';
import { MetadataProfiler, type SampleMetadata } from './metadata-profile.js';
import { Repository } from './repository.js';
import { camelFields, jsonList } from './rows.js';

export interface GeneRecord {
  id: string;
  symbol: string;
  landmark: boolean;
}

export interface EnvironmentRecord {
  key: string;
  label: string;
  isControl: boolean;
  perturbagen?: { id: string; name?: string; smiles?: string; inchiKey?: string; pertType?: string };
  cellLine?: string;
  dose?: string;
  time?: string;
  representation?: Float32Array;
  representationKind: string;
}

export interface SampleRecord {
  id: string;
  /** Index into the environments given to the writer. */
  environment: number;
  metadata: SampleMetadata;
  expression: Float32Array;
}

/**
 * What a validation split reads of a dataset, with no sample read: each environment's facts in
 * environment order, its sample count as stored at import (migration 11), and the dataset's
 * content hash (a kept split of it is keyed by that).
 */
export interface SplitFacts {
  nSamples: number;
  contentHash: string;
  environments: {
    id: string;
    key: string;
    isControl: boolean;
    perturbagen: string | null;
    cellLine: string | null;
    /** Bemis–Murcko scaffold of the drug; read only when asked for (a scaffold split), null otherwise. */
    scaffold: string | null;
    nSamples: number;
  }[];
}

/** Which environment every sample belongs to — enough to compute a split without loading expression. */
export interface EnvironmentView {
  nSamples: number;
  /** Index into `environments` of every sample. */
  environmentIndex: Int32Array;
  environments: {
    id: string;
    key: string;
    label: string;
    isControl: boolean;
    representation: Float32Array | null;
    perturbagen: string | null;
    cellLine: string | null;
    /** Bemis–Murcko scaffold of the drug, when its structure is known. */
    scaffold: string | null;
    /** RDKit's canonical SMILES of the drug, when its structure is known (drug features are rebuilt from it). */
    canonicalSmiles?: string | null;
  }[];
}

/** What a trainer needs besides the expression itself. */
export interface TrainingLayout extends EnvironmentView {
  nGenes: number;
  geneIds: string[];
  /** Names of the representation's coordinates (e.g. "morgan bit 7", "cell A375"), when stored. */
  representationColumns?: string[];
}

export interface TrainingView extends TrainingLayout {
  /** nSamples × nGenes, row-major. */
  expression: Float32Array;
}

export interface NewDataset {
  name: string;
  source: DatasetSource;
  description: string;
  provenance: Record<string, unknown>;
  groundTruth?: unknown;
  /** Names of the environment representation's coordinates, when they have names. */
  representationColumns?: string[];
  genes: GeneRecord[];
  environments: EnvironmentRecord[];
}

interface DatasetRow {
  id: string;
  name: string;
  source: DatasetSource;
  description: string;
  created_at: string;
  n_samples: number;
  n_genes: number;
  metadata_columns: string;
  content_hash: string;
  provenance: string;
  n_environments: number;
}

const SUMMARY_COLUMNS = `d.id, d.name, d.source, d.description, d.created_at, d.n_samples, d.n_genes,
  d.metadata_columns, d.content_hash, d.provenance,
  (SELECT count(*) FROM environments e WHERE e.dataset_id = d.id) AS n_environments`;

export class DatasetRepository extends Repository {
  list(): DatasetSummary[] {
    const rows = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM datasets d ORDER BY d.created_at, d.rowid`).all() as DatasetRow[];
    return rows.map(toSummary);
  }

  get(id: string): DatasetDetail {
    const row = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM datasets d WHERE d.id = ?`).get(id) as DatasetRow | undefined;
    if (!row) throw new LabError('not_found', `No dataset with id "${id}"`);
    const genes = (
      this.db.prepare('SELECT gene_id, symbol, landmark FROM genes WHERE dataset_id = ? ORDER BY idx LIMIT 50').all(id) as {
        gene_id: string;
        symbol: string;
        landmark: number;
      }[]
    ).map((g) => ({ id: g.gene_id, symbol: g.symbol, landmark: g.landmark === 1 }));
    return { ...toSummary(row), genes, genesTotal: row.n_genes, provenance: JSON.parse(row.provenance) };
  }

  /** Unpacked copies of gzip files (see data/import/unpack-cache.ts) that stored datasets came from. */
  unpackedCopies(): Set<string> {
    const rows = this.db
      .prepare("SELECT json_extract(provenance, '$.files.unpackedCopy') AS path FROM datasets WHERE path IS NOT NULL")
      .all() as { path: string }[];
    return new Set(rows.map((r) => r.path));
  }

  exists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(id) !== undefined;
  }

  rename(id: string, name: string): DatasetSummary {
    const info = this.db.prepare('UPDATE datasets SET name = ? WHERE id = ?').run(name, id);
    if (info.changes === 0) throw new LabError('not_found', `No dataset with id "${id}"`);
    return this.get(id);
  }

  delete(id: string): void {
    const runs = (this.db.prepare('SELECT count(*) AS n FROM runs WHERE dataset_id = ?').get(id) as { n: number }).n;
    if (runs > 0) {
      throw new LabError('conflict', `Dataset "${id}" has ${runs} training run(s); delete those runs first to keep their history honest.`);
    }
    const info = this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM samples WHERE dataset_id = ?').run(id);
        return this.db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
      })
      .immediate();
    if (info.changes === 0) throw new LabError('not_found', `No dataset with id "${id}"`);
  }

  environments(datasetId: string): EnvironmentSummary[] {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const rows = this.db
      .prepare(`SELECT ${ENVIRONMENT_SUMMARY_COLUMNS} ${ENVIRONMENTS_OF_DATASET}`)
      .all(datasetId) as EnvironmentSummaryRow[];
    const molecules = moleculesBySmiles(this.db);
    return rows.map((r) => environmentSummary(r, molecules));
  }

  /** One page of a dataset's environments, searched and sorted in SQL (environment-pages.ts). */
  environmentsPage(datasetId: string, query: EnvironmentPageQuery, places: ReadonlyMap<string, EnvironmentPlace> | null) {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return environmentsPage(this.db, datasetId, query, places);
  }

  /** The distinct cell lines, doses and times of a dataset's environments. */
  environmentFacets(datasetId: string) {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return environmentFacets(this.db, datasetId);
  }

  /** The drug structure behind one environment, from the structure cache. */
  environmentStructure(datasetId: string, environmentId: string): EnvironmentStructure {
    const row = this.db
      .prepare(
        `SELECT e.id, e.is_control, p.smiles,
                m.ok, m.canonical_smiles, m.inchi_key, m.scaffold_smiles, m.svg, m.error
         FROM environments e LEFT JOIN perturbagens p ON p.id = e.perturbagen_id
         LEFT JOIN molecules m ON m.smiles = p.smiles
         WHERE e.dataset_id = ? AND e.id = ? ORDER BY m.ok DESC, m.svg IS NULL LIMIT 1`,
      )
      .get(datasetId, environmentId) as
      | {
          is_control: number;
          smiles: string | null;
          ok: number | null;
          canonical_smiles: string | null;
          inchi_key: string | null;
          scaffold_smiles: string | null;
          svg: string | null;
          error: string | null;
        }
      | undefined;
    if (!row) throw new LabError('not_found', `Dataset "${datasetId}" has no environment "${environmentId}"`);
    const problem =
      row.is_control === 1
        ? 'The control has no drug structure.'
        : row.smiles === null
          ? 'No SMILES was imported for this drug; it is represented by a one-hot code, so models cannot generalise from its chemistry.'
          : row.ok === 0
            ? `RDKit could not read the SMILES: ${row.error ?? 'invalid structure'}`
            : null;
    return {
      environmentId,
      smiles: row.smiles,
      canonicalSmiles: row.ok === 1 ? row.canonical_smiles : null,
      inchiKey: row.ok === 1 ? row.inchi_key : null,
      scaffold: row.ok === 1 ? row.scaffold_smiles : null,
      svg: row.ok === 1 ? row.svg : null,
      problem,
    };
  }

  representations(datasetId: string): EnvironmentRepresentations {
    const dataset = this.db.prepare('SELECT representation_columns FROM datasets WHERE id = ?').get(datasetId) as
      | { representation_columns: string }
      | undefined;
    if (!dataset) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const rows = this.db
      .prepare('SELECT id, key, label, representation, representation_kind FROM environments WHERE dataset_id = ? ORDER BY idx')
      .all(datasetId) as { id: string; key: string; label: string; representation: Buffer | null; representation_kind: string }[];
    return {
      kind: rows[0]?.representation_kind ?? 'none',
      columns: JSON.parse(dataset.representation_columns) as string[],
      rows: rows.map((r) => ({
        environmentId: r.id,
        key: r.key,
        label: r.label,
        values: r.representation ? Array.from(blobToFloat32(r.representation)) : [],
      })),
    };
  }

  /**
   * What the environment vectors are (kind and column names) without reading them: a predict for
   * a new SMILES needs only this, and reading every representation took seconds at LINCS size.
   */
  representationLayout(datasetId: string): Pick<EnvironmentRepresentations, 'kind' | 'columns'> {
    const columns = this.db.prepare('SELECT representation_columns FROM datasets WHERE id = ?').pluck().get(datasetId) as
      | string
      | undefined;
    if (columns === undefined) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const kind = this.db
      .prepare('SELECT representation_kind FROM environments WHERE dataset_id = ? ORDER BY idx LIMIT 1')
      .pluck()
      .get(datasetId) as string | undefined;
    return { kind: kind ?? 'none', columns: JSON.parse(columns) as string[] };
  }

  /** The whole expression matrix, samples × genes, row-major, in sample order. */
  readExpression(datasetId: string): { nSamples: number; nGenes: number; values: Float32Array } {
    const { nSamples, nGenes } = this.#shape(datasetId);
    const values = new Float32Array(nSamples * nGenes);
    this.forEachExpressionRow(datasetId, (row, expression) => values.set(expression, row * nGenes));
    return { nSamples, nGenes, values };
  }

  /**
   * Every sample's expression in sample order, one row at a time (memory O(genes), not the 1.85 GB
   * matrix of a LINCS-size dataset). The row given to `visit` is reused for the next one (copy what
   * you keep), and `visit` must not use this connection: the scan holds it.
   */
  forEachExpressionRow(datasetId: string, visit: (sample: number, expression: Float32Array) => void): void {
    const { nGenes } = this.#shape(datasetId);
    const row = new Float32Array(nGenes);
    const bytes = new Uint8Array(row.buffer);
    const rows = this.db.prepare('SELECT idx, expression FROM samples WHERE dataset_id = ? ORDER BY idx').raw().iterate(datasetId);
    for (const [idx, expression] of rows as Iterable<[number, Buffer]>) {
      if (expression.byteLength !== bytes.byteLength)
        throw new LabError('internal', `Sample #${idx} has ${expression.byteLength / 4} values, not ${nGenes}`);
      bytes.set(expression);
      visit(idx, row);
    }
  }

  /**
   * The expression of the given samples (by index, any order, repeats allowed), rows × genes in
   * the order given, written into `out` when given (a training batch's buffer) or a new array.
   * Indices close together are read by one range scan of the sample index, scattered ones one by one.
   */
  expressionRowsAt(datasetId: string, samples: ArrayLike<number>, out?: Float32Array): Float32Array {
    const { nSamples, nGenes } = this.#shape(datasetId);
    if (out && out.length < samples.length * nGenes)
      throw new LabError('internal', `${samples.length} rows of ${nGenes} genes do not fit in ${out.length} values`);
    out ??= new Float32Array(samples.length * nGenes);
    if (samples.length === 0) return out;
    const order = Int32Array.from({ length: samples.length }, (_, k) => k).sort((a, b) => (samples[a] as number) - (samples[b] as number));
    const first = samples[order[0] as number] as number;
    const last = samples[order[order.length - 1] as number] as number;
    if (!Number.isInteger(first) || first < 0 || !Number.isInteger(last) || last >= nSamples) {
      throw new LabError('bad_input', `Sample indices must be 0..${nSamples - 1}; got ${first < 0 ? first : last}`);
    }
    let k = 0;
    const bytes = new Uint8Array(out.buffer, out.byteOffset, samples.length * nGenes * Float32Array.BYTES_PER_ELEMENT);
    const rowBytes = nGenes * Float32Array.BYTES_PER_ELEMENT;
    // Copied byte for byte into place: a Buffer from SQLite may not be 4-byte aligned to view as floats.
    const place = (idx: number, expression: Buffer | undefined) => {
      // Training reads its batches as it goes: say so if the rows went away meanwhile.
      if (!expression) throw new LabError('not_found', `Sample #${idx} of dataset "${datasetId}" is no longer stored`);
      if (expression.byteLength !== rowBytes)
        throw new LabError('internal', `Sample #${idx} has ${expression.byteLength / 4} values, not ${nGenes}`);
      while (k < order.length && samples[order[k] as number] === idx) bytes.set(expression, (order[k++] as number) * rowBytes);
    };
    // A range scan reads every sample between the first and the last (~25 µs a row at LINCS size
    // and load 12), a lookup only the one wanted (~44 µs): the scan wins while over ~57% are wanted.
    if (last - first + 1 < 1.75 * samples.length) {
      const rows = this.db
        .prepare('SELECT idx, expression FROM samples WHERE dataset_id = ? AND idx BETWEEN ? AND ? ORDER BY idx')
        .raw()
        .iterate(datasetId, first, last);
      for (const [idx, expression] of rows as Iterable<[number, Buffer]>) place(idx, expression);
    } else {
      const read = this.db.prepare('SELECT expression FROM samples WHERE dataset_id = ? AND idx = ?').pluck();
      while (k < order.length) {
        const idx = samples[order[k] as number] as number;
        place(idx, read.get(datasetId, idx) as Buffer | undefined);
      }
    }
    return out;
  }

  /** Everything a trainer needs, in sample order: expression, each sample's environment, environments. */
  trainingView(datasetId: string): TrainingView {
    const { nSamples, nGenes, values } = this.readExpression(datasetId);
    return { ...this.trainingLayout(datasetId), nSamples, nGenes, expression: values };
  }

  /** trainingView without the expression: what a trained model needs to be rebuilt, read in O(samples + environments). */
  trainingLayout(datasetId: string): TrainingLayout {
    const { nGenes } = this.#shape(datasetId);
    const geneIds = this.db.prepare('SELECT gene_id FROM genes WHERE dataset_id = ? ORDER BY idx').pluck().all(datasetId) as string[];
    const columns = this.db.prepare('SELECT representation_columns FROM datasets WHERE id = ?').pluck().get(datasetId) as string;
    return { ...this.environmentView(datasetId), nGenes, geneIds, representationColumns: JSON.parse(columns) as string[] };
  }

  /** Room for every environment representation of the dataset, in environment order (environmentView's block). */
  #representationBlock(datasetId: string): Float32Array {
    const bytes = this.db
      .prepare('SELECT coalesce(sum(length(representation)), 0) FROM environments WHERE dataset_id = ?')
      .pluck()
      .get(datasetId) as number;
    return new Float32Array(Math.ceil(bytes / Float32Array.BYTES_PER_ELEMENT));
  }

  #shape(datasetId: string): { nSamples: number; nGenes: number } {
    const head = this.db.prepare('SELECT n_samples, n_genes FROM datasets WHERE id = ?').get(datasetId) as
      | { n_samples: number; n_genes: number }
      | undefined;
    if (!head) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return { nSamples: head.n_samples, nGenes: head.n_genes };
  }

  /**
   * Each sample's environment and the environments, in sample order. `representations: false`
   * leaves every representation null: reading them (a 4 KB blob per environment) was most of a
   * split preview's time at 20k environments, and a split does not look at them.
   */
  environmentView(datasetId: string, { representations = true }: { representations?: boolean } = {}): EnvironmentView {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const molecules = moleculesBySmiles(this.db);
    // Every representation goes into one block, each environment's a view of it, and the rows are
    // iterated: at 49,854 environments × 1,095 values, all the rows' blobs at once and a copy of
    // each were ~440 MB of small allocations, which glibc kept after they were freed.
    const block = representations ? this.#representationBlock(datasetId) : new Float32Array(0);
    const blockBytes = new Uint8Array(block.buffer);
    let offset = 0;
    const environments: EnvironmentView['environments'] = [];
    for (const e of this.db
      .prepare(
        `SELECT ${ENVIRONMENT_CORE_COLUMNS}, ${representations ? 'e.representation' : 'NULL AS representation'}
         ${ENVIRONMENTS_OF_DATASET}`,
      )
      .iterate(datasetId) as Iterable<EnvironmentCoreRow & { representation: Buffer | null }>) {
      let representation: Float32Array | null = null;
      if (e.representation) {
        // Copied byte for byte: a Buffer from SQLite may not be 4-byte aligned to view as floats.
        blockBytes.set(e.representation, offset);
        representation = block.subarray(offset / 4, (offset + e.representation.byteLength) / 4);
        offset += e.representation.byteLength;
      }
      environments.push({
        ...environmentCore(e, molecules),
        representation,
        canonicalSmiles: e.smiles === null ? null : (molecules.get(e.smiles)?.canonical ?? null),
      });
    }
    const position = new Map(environments.map((e, i) => [e.id, i]));
    const nSamples = this.db.prepare('SELECT n_samples FROM datasets WHERE id = ?').pluck().get(datasetId) as number;
    const environmentIndex = new Int32Array(nSamples);
    let row = 0;
    for (const sample of this.db.prepare('SELECT environment_id FROM samples WHERE dataset_id = ? ORDER BY idx').iterate(datasetId)) {
      environmentIndex[row++] = position.get((sample as { environment_id: string }).environment_id) ?? -1;
    }
    return { nSamples, environmentIndex, environments };
  }

  /**
   * SplitFacts of a dataset, from the environments' listing index (migration 13) and their stored
   * counts: a split preview read every sample's environment (473,647 rows) and every environment's
   * row with its 4 KB representation (3–4 s at LINCS size under load); this reads neither.
   * `scaffolds` adds each drug's scaffold from the structure cache (a scaffold split's groups).
   */
  splitFacts(datasetId: string, { scaffolds = false }: { scaffolds?: boolean } = {}): SplitFacts {
    const head = this.db.prepare('SELECT n_samples, content_hash FROM datasets WHERE id = ?').get(datasetId) as
      | { n_samples: number; content_hash: string }
      | undefined;
    if (!head) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const molecules = scaffolds ? moleculesBySmiles(this.db) : null;
    // The drug's SMILES (for its scaffold) only when asked: a lookup per environment otherwise spared.
    const rows = this.db
      .prepare(
        `SELECT e.id, e.key, e.is_control, e.perturbagen_id, e.cell_line, e.n_samples, ${scaffolds ? 'p.smiles' : 'NULL'}
         FROM environments e INDEXED BY environments_listing
         ${scaffolds ? 'LEFT JOIN perturbagens p ON p.id = e.perturbagen_id' : ''}
         WHERE e.dataset_id = ? ORDER BY e.idx`,
      )
      .raw()
      .all(datasetId) as [string, string, number, string | null, string | null, number, string | null][];
    const environments = rows.map(([id, key, isControl, perturbagen, cellLine, nSamples, smiles]) => ({
      id,
      key,
      isControl: isControl === 1,
      perturbagen,
      cellLine,
      scaffold: molecules && smiles !== null ? (molecules.get(smiles)?.scaffold ?? null) : null,
      nSamples,
    }));
    return { nSamples: head.n_samples, contentHash: head.content_hash, environments };
  }

  genes(datasetId: string): { id: string; symbol: string; landmark: boolean }[] {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return (
      this.db.prepare('SELECT gene_id, symbol, landmark FROM genes WHERE dataset_id = ? ORDER BY idx').all(datasetId) as {
        gene_id: string;
        symbol: string;
        landmark: number;
      }[]
    ).map((g) => ({ id: g.gene_id, symbol: g.symbol, landmark: g.landmark === 1 }));
  }

  /** The environment key of every sample, in sample order (to colour plots by environment). */
  sampleEnvironmentKeys(datasetId: string): string[] {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    // Two scans, not a join: looking up each sample's environment row took 6.4 s at 473,647
    // samples (each row read with its representation), against ~1.5 s for the samples' ids and
    // one pass over the environments.
    const keyOf = new Map(
      (this.db.prepare('SELECT id, key FROM environments WHERE dataset_id = ?').all(datasetId) as { id: string; key: string }[]).map(
        (e) => [e.id, e.key],
      ),
    );
    const ids = this.db.prepare('SELECT environment_id FROM samples WHERE dataset_id = ? ORDER BY idx').pluck().all(datasetId) as (
      | string
      | null
    )[];
    // Samples without an environment were left out by the join: so they are here.
    const keys: string[] = [];
    for (const id of ids) {
      const key = id === null ? undefined : keyOf.get(id);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  /** One metadata column of every sample, in sample order (null where missing). */
  sampleColumn(datasetId: string, column: string): (string | null)[] {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return this.db
      .prepare("SELECT json_extract(metadata, '$.' || json_quote(?)) AS v FROM samples WHERE dataset_id = ? ORDER BY idx")
      .pluck()
      .all(column, datasetId)
      .map((v) => (v === null || v === undefined ? null : String(v)));
  }

  /** Every sample id, in sample order. */
  sampleIds(datasetId: string): string[] {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return this.db.prepare('SELECT sample_id FROM samples WHERE dataset_id = ? ORDER BY idx').pluck().all(datasetId) as string[];
  }

  /**
   * The ids of the samples at these positions in sample order, in the order given (a projection's
   * points): one lookup each in the (dataset, idx, …, sample id) index rather than reading every id.
   */
  sampleIdsAtPositions(datasetId: string, positions: Int32Array): string[] {
    const nSamples = this.db.prepare('SELECT n_samples FROM datasets WHERE id = ?').pluck().get(datasetId) as number | undefined;
    if (nSamples === undefined) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const read = this.db.prepare('SELECT sample_id FROM samples WHERE dataset_id = ? AND idx = ?').pluck();
    return Array.from(positions, (position) => {
      if (position < 0 || position >= nSamples) {
        throw new LabError('bad_input', `Sample index ${position} is outside this dataset's 0..${nSamples - 1}`);
      }
      return read.get(datasetId, position) as string;
    });
  }

  /**
   * Whether any environment is a control or names a perturbagen: one probe that stops at the first,
   * where listing the environments to ask this read 40k rows (14 MB of JSON) at LINCS size.
   */
  hasLabelledEnvironments(datasetId: string): boolean {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return (
      this.db
        .prepare('SELECT 1 FROM environments WHERE dataset_id = ? AND (is_control = 1 OR perturbagen_id IS NOT NULL) LIMIT 1')
        .get(datasetId) !== undefined
    );
  }

  /** The ids of the samples measured in one environment (by its key), in sample order. */
  sampleIdsOfEnvironment(datasetId: string, key: string): string[] {
    if (!this.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const environment = this.db.prepare('SELECT id FROM environments WHERE dataset_id = ? AND key = ?').pluck().get(datasetId, key) as
      | string
      | undefined;
    if (environment === undefined) throw new LabError('not_found', `Dataset "${datasetId}" has no environment "${key}"`);
    return this.db.prepare('SELECT sample_id FROM samples WHERE environment_id = ? ORDER BY idx').pluck().all(environment) as string[];
  }

  /**
   * Expression rows of the given samples, one at a time (memory stays O(genes) for any group);
   * an unknown id is an error naming it before any row is yielded.
   */
  expressionOf(datasetId: string, sampleIds: readonly string[]): { nGenes: number; rows: Iterable<Float32Array> } {
    const head = this.db.prepare('SELECT n_genes FROM datasets WHERE id = ?').get(datasetId) as { n_genes: number } | undefined;
    if (!head) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    const known = new Set(this.sampleIds(datasetId));
    const unknown = sampleIds.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new LabError(
        'bad_input',
        `${unknown.length} sample id${unknown.length === 1 ? ' is' : 's are'} not in this dataset: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`,
      );
    }
    const read = this.db.prepare('SELECT expression FROM samples WHERE dataset_id = ? AND sample_id = ?').pluck();
    return {
      nGenes: head.n_genes,
      rows: (function* () {
        for (const id of sampleIds) yield blobToFloat32(read.get(datasetId, id) as Buffer);
      })(),
    };
  }

  groundTruth(datasetId: string): unknown {
    const row = this.db.prepare('SELECT ground_truth FROM datasets WHERE id = ?').get(datasetId) as
      | { ground_truth: string | null }
      | undefined;
    if (!row) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    return row.ground_truth === null ? null : JSON.parse(row.ground_truth);
  }

  /** Starts writing a dataset. Nothing is visible to readers until commit(). */
  begin(header: NewDataset): DatasetWriter {
    return new DatasetWriter(this.db, header);
  }
}

export class DatasetWriter {
  readonly id = `ds_${randomUUID().slice(0, 8)}`;
  readonly #db: Database;
  readonly #header: NewDataset;
  readonly #environmentIds: string[];
  readonly #insertSample: Statement;
  readonly #hash = createHash('sha256');
  readonly #profiler = new MetadataProfiler();
  readonly #sampleIds = new Set<string>();
  /** Per environment (by index), its samples per cell line: stored with it, so listing them scans no sample. */
  readonly #cellLineCounts: Map<string, number>[];
  #samples = 0;
  #open = true;

  constructor(db: Database, header: NewDataset) {
    this.#db = db;
    this.#header = header;
    validateHeader(header);
    this.#environmentIds = header.environments.map((_, i) => `${this.id}/e${i}`);
    this.#cellLineCounts = header.environments.map(() => new Map());
    if (db.inTransaction) throw new LabError('conflict', 'Another write is in progress on this database connection.');
    db.exec('BEGIN IMMEDIATE');
    try {
      this.#writeHeader();
      this.#insertSample = db.prepare(
        'INSERT INTO samples (dataset_id, idx, sample_id, environment_id, metadata, expression) VALUES (?, ?, ?, ?, ?, ?)',
      );
    } catch (error) {
      db.exec('ROLLBACK');
      this.#open = false;
      throw error;
    }
    for (const gene of header.genes) this.#hash.update(`gene:${gene.id}\n`);
  }

  get samplesWritten(): number {
    return this.#samples;
  }

  addSamples(samples: Iterable<SampleRecord>): void {
    this.#assertOpen();
    const nGenes = this.#header.genes.length;
    for (const sample of samples) {
      if (sample.expression.length !== nGenes) {
        throw new LabError('bad_input', `Sample "${sample.id}" has ${sample.expression.length} values, expected ${nGenes} (one per gene).`);
      }
      if (this.#sampleIds.has(sample.id)) throw new LabError('bad_input', `Duplicate sample id "${sample.id}".`);
      const environmentId = this.#environmentIds[sample.environment];
      if (environmentId === undefined) {
        throw new LabError('bad_input', `Sample "${sample.id}" refers to environment #${sample.environment}, which does not exist.`);
      }
      this.#sampleIds.add(sample.id);
      const blob = Buffer.from(sample.expression.buffer, sample.expression.byteOffset, sample.expression.byteLength);
      this.#insertSample.run(this.id, this.#samples, sample.id, environmentId, JSON.stringify(sample.metadata), blob);
      this.#hash.update(`sample:${sample.id}\n`);
      this.#hash.update(blob);
      this.#profiler.add(sample.metadata);
      const counts = this.#cellLineCounts[sample.environment] as Map<string, number>;
      const cellLine = cellLineOf(sample.metadata);
      counts.set(cellLine, (counts.get(cellLine) ?? 0) + 1);
      this.#samples++;
    }
  }

  /**
   * Makes the dataset visible. `alsoInTransaction` runs just before COMMIT on the same connection,
   * for records that must land together with the dataset (the import journal) or not at all.
   */
  commit(alsoInTransaction?: (datasetId: string) => void): DatasetSummary {
    this.#assertOpen();
    try {
      if (this.#samples === 0) throw new LabError('bad_input', `Dataset "${this.#header.name}" has no samples.`);
      this.#writeEnvironmentCounts();
      this.#db
        .prepare('UPDATE datasets SET n_samples = ?, metadata_columns = ?, content_hash = ? WHERE id = ?')
        .run(this.#samples, JSON.stringify(this.#profiler.summarize() satisfies MetadataColumn[]), this.#hash.digest('hex'), this.id);
      alsoInTransaction?.(this.id);
      this.#db.exec('COMMIT');
      this.#open = false;
    } catch (error) {
      this.abort();
      throw error;
    }
    return new DatasetRepository(this.#db).list().find((d) => d.id === this.id) as DatasetSummary;
  }

  abort(): void {
    if (!this.#open) return;
    this.#open = false;
    if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
  }

  #assertOpen(): void {
    if (!this.#open) throw new LabError('conflict', `The import of "${this.#header.name}" is already finished.`);
  }

  #writeEnvironmentCounts(): void {
    const update = this.#db.prepare('UPDATE environments SET n_samples = ?, cell_lines = ? WHERE id = ?');
    for (const [i, counts] of this.#cellLineCounts.entries()) {
      const list = [...counts].map(([cellLine, samples]) => ({ cellLine, samples }));
      list.sort((a, b) => b.samples - a.samples || (a.cellLine < b.cellLine ? -1 : a.cellLine > b.cellLine ? 1 : 0));
      update.run(
        list.reduce((sum, c) => sum + c.samples, 0),
        JSON.stringify(list),
        this.#environmentIds[i],
      );
    }
  }

  #writeHeader(): void {
    const h = this.#header;
    this.#db
      .prepare(
        `INSERT INTO datasets (id, name, source, description, created_at, n_samples, n_genes, metadata_columns,
                               content_hash, provenance, ground_truth, representation_columns)
         VALUES (?, ?, ?, ?, ?, 0, ?, '[]', '', ?, ?, ?)`,
      )
      .run(
        this.id,
        h.name,
        h.source,
        h.description,
        new Date().toISOString(),
        h.genes.length,
        JSON.stringify(h.provenance),
        h.groundTruth === undefined ? null : JSON.stringify(h.groundTruth),
        JSON.stringify(h.representationColumns ?? []),
      );
    const insertGene = this.#db.prepare('INSERT INTO genes (dataset_id, idx, gene_id, symbol, landmark) VALUES (?, ?, ?, ?, ?)');
    for (const [i, g] of h.genes.entries()) insertGene.run(this.id, i, g.id, g.symbol, g.landmark ? 1 : 0);
    const upsertPerturbagen = this.#db.prepare(
      `INSERT INTO perturbagens (id, name, smiles, inchi_key, pert_type) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = coalesce(excluded.name, name), smiles = coalesce(excluded.smiles, smiles),
         inchi_key = coalesce(excluded.inchi_key, inchi_key), pert_type = coalesce(excluded.pert_type, pert_type)`,
    );
    const insertEnvironment = this.#db.prepare(
      `INSERT INTO environments (id, dataset_id, idx, key, label, is_control, perturbagen_id, cell_line, dose, time,
                                 representation, representation_kind)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    h.environments.forEach((e, i) => {
      if (e.perturbagen) {
        const p = e.perturbagen;
        upsertPerturbagen.run(p.id, p.name ?? null, p.smiles ?? null, p.inchiKey ?? null, p.pertType ?? null);
      }
      insertEnvironment.run(
        this.#environmentIds[i],
        this.id,
        i,
        e.key,
        e.label,
        e.isControl ? 1 : 0,
        e.perturbagen?.id ?? null,
        e.cellLine ?? null,
        e.dose ?? null,
        e.time ?? null,
        e.representation ? Buffer.from(e.representation.buffer, e.representation.byteOffset, e.representation.byteLength) : null,
        e.representationKind,
      );
    });
  }
}

/** A sample's cell line: its first cell-line column with a value, as migration 11 counted them. */
function cellLineOf(metadata: SampleMetadata): string {
  for (const column of CELL_LINE_COLUMNS) {
    const value = metadata[column];
    if (value !== null && value !== undefined) return String(value);
  }
  return '(unknown)';
}

function validateHeader(header: NewDataset): void {
  if (header.genes.length === 0) throw new LabError('bad_input', `Dataset "${header.name}" has no genes.`);
  const geneIds = new Set<string>();
  for (const gene of header.genes) {
    if (geneIds.has(gene.id)) throw new LabError('bad_input', `Duplicate gene id "${gene.id}" in dataset "${header.name}".`);
    geneIds.add(gene.id);
  }
  const keys = new Set<string>();
  for (const env of header.environments) {
    if (keys.has(env.key)) throw new LabError('bad_input', `Duplicate environment key "${env.key}" in dataset "${header.name}".`);
    keys.add(env.key);
  }
}

function toSummary(row: DatasetRow): DatasetSummary {
  return {
    ...camelFields(row, ['id', 'name', 'source', 'description', 'created_at', 'n_samples', 'n_genes', 'n_environments']),
    expressionBytes: row.n_samples * row.n_genes * Float32Array.BYTES_PER_ELEMENT,
    metadataColumns: jsonList<MetadataColumn>(row.metadata_columns),
    contentHash: row.content_hash,
  };
}

export function blobToFloat32(blob: Buffer): Float32Array {
  // Copy: a Buffer from SQLite may not be 4-byte aligned.
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Float32Array(copy.buffer);
}
