// Attaching a sample table to a stored dataset that was imported without sample metadata: the
// stored matrix is read back as an import source and imported again, its samples grouped into
// environments by the table (sig_info, siginfo_beta, or a CSV/TSV keyed by its first column).
// The result is a NEW dataset; the original stays as it was, so nothing is lost.
import { basename } from 'node:path';
import type { DatasetSource, DatasetSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import { ResolvedImport } from '../../../shared/api/imports.js';
import { batchSamples, checkIndices, gatherGenes, selectGenes } from '../../data/formats/common.js';
import {
  type ExpressionSource,
  FormatError,
  type IterateOptions,
  type MetadataTable,
  type MetaValue,
  outputArray,
  type ReadIntoOptions,
  readDelimitedTable,
  type SampleBatch,
} from '../../data/formats/index.js';
import type { Store } from '../../store/store.js';
import type { PreparedImport } from './index.js';
import { planImport } from './plan.js';
import { encodeEnvironments, type StructureSource } from './representation.js';
import { type CompoundLibrary, geneFacts, SampleTable, TableLookup } from './sample-table.js';

/** How many missing sample ids an error names. */
const MISSING_EXAMPLES = 5;

/** The formats a stored dataset can pass for: the importer only tells text matrices from HDF5 ones. */
const SOURCE_FORMATS: Partial<Record<DatasetSource, ExpressionSource['format']>> = { gct: 'gct', gctx: 'gctx', h5ad: 'h5ad' };

/**
 * A stored dataset's matrix (or some of its samples) as an import source. Expression is read back
 * one sample at a time, so memory stays at one batch whatever the dataset's size.
 */
export class StoredDatasetSource implements ExpressionSource {
  readonly format: ExpressionSource['format'];
  readonly path: string;
  readonly nGenes: number;
  readonly nSamples: number;
  readonly #store: Store;
  readonly #datasetId: string;
  readonly #sampleIds: string[];
  readonly #genes: { id: string; symbol: string; landmark: boolean }[];
  readonly #sampleMetadata: MetadataTable;

  constructor(store: Store, datasetId: string, sampleIds: string[]) {
    const dataset = store.datasets.get(datasetId);
    this.#store = store;
    this.#datasetId = datasetId;
    this.#sampleIds = sampleIds;
    this.#genes = store.datasets.genes(datasetId);
    this.format = SOURCE_FORMATS[dataset.source] ?? 'csv';
    this.path = `dataset ${datasetId}`;
    this.nGenes = this.#genes.length;
    this.nSamples = sampleIds.length;
    // The matrix file's own sample columns, as stored; the table joined later wins over them.
    const position = new Map(store.datasets.sampleIds(datasetId).map((id, i) => [id, i]));
    this.#sampleMetadata = new Map();
    for (const column of dataset.metadataColumns) {
      const values = store.datasets.sampleColumn(datasetId, column.name);
      this.#sampleMetadata.set(
        column.name,
        sampleIds.map((id): MetaValue => values[position.get(id) as number] ?? null),
      );
    }
  }

  geneIds(): string[] {
    return this.#genes.map((g) => g.id);
  }

  sampleIds(): string[] {
    return this.#sampleIds;
  }

  geneMetadata(): MetadataTable {
    return new Map<string, MetaValue[]>([
      ['pr_gene_symbol', this.#genes.map((g) => g.symbol)],
      ['pr_is_lm', this.#genes.map((g) => (g.landmark ? '1' : '0'))],
    ]);
  }

  sampleMetadata(): MetadataTable {
    return this.#sampleMetadata;
  }

  async readSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options: ReadIntoOptions = {},
  ): Promise<Float32Array> {
    checkIndices(this.path, sampleIndices, this.nSamples, 'sample');
    const genes = selectGenes(this.path, geneIndices, this.nGenes);
    const out = outputArray(sampleIndices.length * genes.count, options.into);
    const { rows } = this.#store.datasets.expressionOf(
      this.#datasetId,
      sampleIndices.map((i) => this.#sampleIds[i] as string),
    );
    let k = 0;
    for (const row of rows) {
      gatherGenes(row, 0, genes, out, k * genes.count);
      k++;
    }
    return out;
  }

  iterateSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options: IterateOptions = {},
  ): AsyncGenerator<SampleBatch, void, undefined> {
    const count = selectGenes(this.path, geneIndices, this.nGenes).count;
    return batchSamples(sampleIndices, count, options, (indices, into) =>
      this.readSamples(indices, geneIndices, { ...options, ...(into ? { into } : {}) }),
    );
  }

  close(): void {}
}

/**
 * A sample table: keyed by sig_id when it has that column (sig_info, siginfo_beta), else by its
 * first column (a sample metadata CSV/TSV, as `import --metadata` reads it). Tabs or commas are
 * told from the header; a .gz table is read through gunzip.
 */
export async function readSampleTable(path: string): Promise<TableLookup> {
  try {
    return new TableLookup(await readDelimitedTable(path, { keyColumn: 'sig_id' }));
  } catch (error) {
    if (!(error instanceof FormatError && error.code === 'bad-header' && error.message.includes('no column named'))) throw error;
    return new TableLookup(await readDelimitedTable(path));
  }
}

export interface AttachOptions {
  /** Leave out the samples the table does not name, instead of refusing. */
  dropUnmatched: boolean;
  /** How the new dataset's provenance names the table (an upload's name), when not by its path. */
  tableLabel?: string;
  library?: CompoundLibrary;
}

/** Up to MISSING_EXAMPLES ids, quoted. */
function someIds(ids: readonly string[]): string {
  return `${ids
    .slice(0, MISSING_EXAMPLES)
    .map((id) => `"${id}"`)
    .join(', ')}${ids.length > MISSING_EXAMPLES ? ', …' : ''}`;
}

/**
 * Everything the new dataset needs, checked before anything is written: the table is read, every
 * sample found in it (or, with dropUnmatched, the unmatched left out), and the environments planned.
 */
export async function prepareAttach(
  store: Store,
  datasetId: string,
  tablePath: string,
  structures: StructureSource | null,
  options: AttachOptions,
): Promise<PreparedImport & { unmatched: number }> {
  const dataset = store.datasets.get(datasetId);
  const tableName = options.tableLabel ?? basename(tablePath);
  const table = await readSampleTable(tablePath).catch((error: unknown) => {
    throw error instanceof FormatError ? new LabError('bad_input', error.message, { code: error.code, file: error.file }) : error;
  });
  const allIds = store.datasets.sampleIds(datasetId);
  const matched = allIds.filter((id) => table.has(id));
  const unmatched = allIds.filter((id) => !table.has(id));
  if (matched.length === 0) {
    const theirs = table.size > 0 ? `its ids look like ${someIds([...table.keys()].slice(0, 3))}` : 'it has no rows';
    throw new LabError(
      'bad_input',
      `${tableName} names none of the ${allIds.length} samples of "${dataset.name}" (${theirs}; the samples are ${someIds(allIds.slice(0, 3))}).`,
    );
  }
  if (unmatched.length > 0 && !options.dropUnmatched) {
    throw new LabError(
      'bad_input',
      `${tableName} has no row for ${unmatched.length} of the ${allIds.length} samples of "${dataset.name}" (${someIds(unmatched)}). ` +
        'Give a table that names every sample, or drop the unmatched samples (--drop-unmatched).',
    );
  }
  const source = new StoredDatasetSource(store, datasetId, matched);
  const samples = new SampleTable(source, table, null, options.library ?? null);
  if (!samples.has('pertId') && !samples.has('pertName')) {
    throw new LabError(
      'bad_input',
      `${tableName} says nothing about any sample's treatment: it has no pert_id, pert_iname or cmap_name column with values (columns: ${[
        ...(table.size > 0 ? Object.keys(table.row([...table.keys()][0] as string)) : []),
      ]
        .slice(0, 12)
        .join(', ')}).`,
    );
  }
  const provenance = dataset.provenance as { environmentKey?: unknown; fingerprint?: unknown; nonFinite?: unknown };
  // The stored genes were chosen when the matrix was imported: all of them stay.
  const request = ResolvedImport.parse({
    matrixPath: source.path,
    sigInfoPath: tablePath,
    name: `${dataset.name} + ${tableName}`,
    filter: { landmarkOnly: false },
    ...(provenance.environmentKey !== undefined ? { environmentKey: provenance.environmentKey } : {}),
    ...(provenance.fingerprint !== undefined ? { fingerprint: provenance.fingerprint } : {}),
    fileLabels: { matrix: `dataset "${dataset.name}" (${datasetId})`, sigInfo: tableName },
  });
  const genes = geneFacts(source, null);
  const plan = planImport(request, source, samples, genes);
  const encoding = await encodeEnvironments(plan.environments, request.environmentKey, request.fingerprint, structures);
  const warnings = [...plan.preview.warnings];
  if (unmatched.length > 0) {
    warnings.unshift(`${unmatched.length} samples without a row in ${tableName} were left out (${someIds(unmatched)}).`);
  }
  return {
    plan: { ...plan, derivedFrom: { datasetId, name: dataset.name, sampleTable: tableName, unmatchedDropped: unmatched.length } },
    encoding,
    preview: { ...plan.preview, warnings, drugsWithoutStructure: encoding.withoutStructure },
    compounds: null,
    unmatched: unmatched.length,
    close: () => source.close(),
  };
}

/** What attaching a sample table made. */
export interface AttachResult {
  dataset: DatasetSummary;
  /** The dataset the samples came from (unchanged). */
  from: string;
  unmatchedDropped: number;
  warnings: string[];
}
