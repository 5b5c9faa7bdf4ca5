// An import, end to end: open the file, join the LINCS tables, filter, group into environments,
// describe the drugs, preview — and, when asked, write it all in one transaction.
import type { DatasetSummary } from '../../api/domain.js';
import { LabError } from '../../api/errors.js';
import type { ImportPreview, ResolvedImport } from '../../api/imports.js';
import type { Store } from '../../store/store.js';
import { type ExpressionSource, FormatError, openExpressionSource, readDelimitedTable } from '../formats/index.js';
import type { JobContextLike } from '../progress.js';
import { executeImport } from './execute.js';
import { type ImportPlan, planImport } from './plan.js';
import { type EnvironmentEncoding, encodeEnvironments, type StructureSource } from './representation.js';
import { geneFacts, SampleTable, TableLookup } from './sample-table.js';

export interface PreparedImport {
  plan: ImportPlan;
  encoding: EnvironmentEncoding;
  preview: ImportPreview;
  close(): void;
}

/** File problems reach the user as bad_input naming the file, place and cause. */
function asLabError(error: unknown): unknown {
  return error instanceof FormatError ? new LabError('bad_input', error.message, { code: error.code, file: error.file }) : error;
}

async function lookup(path: string | undefined, keyColumn: string, keep?: (id: string) => boolean): Promise<TableLookup | null> {
  if (!path) return null;
  return new TableLookup(await readDelimitedTable(path, { keyColumn, delimiter: '\t', ...(keep ? { keep } : {}) }));
}

export async function prepareImport(request: ResolvedImport, structures: StructureSource | null): Promise<PreparedImport> {
  let source: ExpressionSource | null = null;
  try {
    source = await openExpressionSource(request.matrixPath, {
      ...(request.format !== 'auto' ? { format: request.format } : {}),
      ...(request.sampleMetadataPath ? { csv: { metadata: { path: request.sampleMetadataPath } } } : {}),
    });
    const sampleIds = new Set(source.sampleIds());
    const [sigInfo, pertInfo, geneInfo] = await Promise.all([
      lookup(request.sigInfoPath, 'sig_id', (id) => sampleIds.has(id)),
      lookup(request.pertInfoPath, 'pert_id'),
      lookup(request.geneInfoPath, 'pr_gene_id'),
    ]);
    const samples = new SampleTable(source, sigInfo, pertInfo);
    const genes = geneFacts(source, geneInfo);
    const plan = planImport(request, source, samples, genes);
    const encoding = await encodeEnvironments(plan.environments, request.environmentKey, request.fingerprint, structures);
    const opened = source;
    return {
      plan,
      encoding,
      preview: { ...plan.preview, drugsWithoutStructure: encoding.withoutStructure },
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
