// An import, end to end: open the file, join the LINCS tables, filter, group into environments,
// describe the drugs, preview — and, when asked, write it all in one transaction.
import { basename } from 'node:path';
import type { DatasetSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import type { ImportPreview, ResolvedImport } from '../../../shared/api/imports.js';
import { CsvMatrixReader, type ExpressionSource, FormatError, openExpressionSource, readDelimitedTable } from '../../data/formats/index.js';
import type { JobContextLike } from '../../data/progress.js';
import type { Store } from '../../store/store.js';
import { type CompoundTable, readCompoundTable } from './compound-table.js';
import { executeImport } from './execute.js';
import { type ImportPlan, planImport } from './plan.js';
import { type EnvironmentEncoding, encodeEnvironments, type StructureSource } from './representation.js';
import { type CompoundLibrary, geneFacts, SampleTable, TableLookup } from './sample-table.js';

export interface PreparedImport {
  plan: ImportPlan;
  encoding: EnvironmentEncoding;
  preview: ImportPreview;
  /** The pert_info/compoundinfo table given with the import: the library learns it once the import lands. */
  compounds: CompoundTable | null;
  close(): void;
}

/** File problems reach the user as bad_input naming the file, place and cause. */
export function asLabError(error: unknown): unknown {
  return error instanceof FormatError ? new LabError('bad_input', error.message, { code: error.code, file: error.file }) : error;
}

async function lookup(path: string | undefined, keyColumn: string | string[], keep?: (id: string) => boolean): Promise<TableLookup | null> {
  if (!path) return null;
  return new TableLookup(await readDelimitedTable(path, { keyColumn, delimiter: '\t', ...(keep ? { keep } : {}) }));
}

/** Up to three examples, quoted, for messages. */
function examples(values: Iterable<string>): string {
  const out: string[] = [];
  for (const v of values) {
    out.push(`"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`);
    if (out.length === 3) break;
  }
  return out.join(', ');
}

/**
 * How well a table keyed by id covers the ids it is meant for. None at all is an error (the wrong
 * file, or ids spelled differently — a silent import would drop every control or structure);
 * some missing is a preview warning with the count.
 */
function checkCoverage(
  table: { has(key: string): boolean; readonly size: number; keys(): Iterable<string> } | null,
  path: string | undefined,
  keyColumn: string,
  ids: readonly string[],
  noun: string,
  warnings: string[],
  /** Keys of rows the table reader already left out (sig_info keeps only the matrix's samples). */
  skipped: readonly string[] = [],
): void {
  if (!table || !path || ids.length === 0) return;
  const missing = ids.filter((id) => !table.has(id));
  if (missing.length === ids.length) {
    const keys = table.size > 0 ? table.keys() : skipped;
    const theirs = table.size > 0 || skipped.length > 0 ? `its ${keyColumn} values look like ${examples(keys)}` : 'it has no rows';
    throw new FormatError(
      'no-overlap',
      path,
      `no row for any of the ${ids.length} ${noun}s (${theirs}; the ${noun}s are ${examples(ids)})`,
      {
        where: keyColumn,
      },
    );
  }
  if (missing.length > 0) {
    warnings.push(
      `${missing.length} of ${ids.length} ${noun}s have no row in ${basename(path)} (e.g. ${examples(missing)}); their fields from it are empty.`,
    );
  }
}

export interface PrepareOptions {
  /** A decompressed copy of a gzip-compressed GCTX/h5ad (see unpack-cache.ts); without it such a file is refused. */
  unpackGzip?: (path: string) => Promise<string>;
  /** The lab's compound library: structures and names for drugs no table given with the import describes. */
  library?: CompoundLibrary;
}

export async function prepareImport(
  request: ResolvedImport,
  structures: StructureSource | null,
  options: PrepareOptions = {},
): Promise<PreparedImport> {
  let source: ExpressionSource | null = null;
  try {
    source = await openExpressionSource(request.matrixPath, {
      ...(options.unpackGzip ? { unpackGzip: options.unpackGzip } : {}),
      ...(request.format !== 'auto' ? { format: request.format } : {}),
      ...(request.sampleMetadataPath ? { csv: { metadata: { path: request.sampleMetadataPath } } } : {}),
    });
    if (source.nGenes === 0) throw new FormatError('shape-mismatch', source.path, 'the file has no genes');
    const sampleIds = new Set(source.sampleIds());
    // sig_info keeps only the matrix's rows; a few others are remembered for the no-overlap message.
    const skippedSigIds: string[] = [];
    const [sigInfo, pertInfo, geneInfo] = await Promise.all([
      lookup(request.sigInfoPath, 'sig_id', (id) => {
        if (sampleIds.has(id)) return true;
        if (skippedSigIds.length < 3) skippedSigIds.push(id);
        return false;
      }),
      request.pertInfoPath ? readCompoundTable(request.pertInfoPath) : null,
      lookup(request.geneInfoPath, ['pr_gene_id', 'gene_id']),
    ]);
    const warnings: string[] = [];
    if (source instanceof CsvMatrixReader && source.join && request.sampleMetadataPath && source.join.samplesWithoutMetadata > 0) {
      const { samplesWithoutMetadata, exampleMissing } = source.join;
      warnings.push(
        `${samplesWithoutMetadata} of ${source.nSamples} samples have no row in ${basename(request.sampleMetadataPath)} ` +
          `(e.g. ${examples(exampleMissing)}); their metadata is empty.`,
      );
    }
    checkCoverage(sigInfo, request.sigInfoPath, 'sig_id', source.sampleIds(), 'sample', warnings, skippedSigIds);
    checkCoverage(geneInfo, request.geneInfoPath, 'pr_gene_id (or gene_id)', source.geneIds(), 'gene', warnings);
    const samples = new SampleTable(source, sigInfo, pertInfo, options.library ?? null);
    checkCoverage(pertInfo, request.pertInfoPath, 'pert_id', samples.distinct('pertId'), 'perturbagen', []);
    const genes = geneFacts(source, geneInfo);
    const plan = planImport(request, source, samples, genes);
    const encoding = await encodeEnvironments(plan.environments, request.environmentKey, request.fingerprint, structures);
    const opened = source;
    return {
      plan,
      encoding,
      preview: { ...plan.preview, warnings: [...warnings, ...plan.preview.warnings], drugsWithoutStructure: encoding.withoutStructure },
      compounds: pertInfo,
      close: () => opened.close(),
    };
  } catch (error) {
    source?.close();
    throw asLabError(error);
  }
}

export async function runImport(
  store: Store,
  prepared: PreparedImport,
  context?: JobContextLike,
  onCommit?: (datasetId: string) => void,
): Promise<DatasetSummary> {
  try {
    return await executeImport(store, prepared.plan, prepared.encoding, context, onCommit);
  } catch (error) {
    throw asLabError(error);
  } finally {
    prepared.close();
  }
}
