// Writing a planned import: expression read a block of samples at a time and written through
// one DatasetWriter transaction, so the dataset lands whole or not at all.
import type { DatasetSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import type { JobContextLike } from '../../data/progress.js';
import type { EnvironmentRecord, SampleRecord } from '../../store/datasets.js';
import type { Store } from '../../store/store.js';
import type { ImportPlan } from './plan.js';
import type { EnvironmentEncoding } from './representation.js';

export async function executeImport(
  store: Store,
  plan: ImportPlan,
  encoding: EnvironmentEncoding,
  context?: JobContextLike,
  /** Runs inside the dataset's transaction, just before it commits. */
  onCommit?: (datasetId: string) => void,
): Promise<DatasetSummary> {
  const { request, source } = plan;
  const geneIndices = plan.selectedGenes;
  const genes = (geneIndices ?? plan.genes.map((_, i) => i)).map((i) => plan.genes[i] as (typeof plan.genes)[number]);
  const environments: EnvironmentRecord[] = plan.environments.map((env, i) => {
    const info = env.drugId ? encoding.structures.get(env.drugId) : undefined;
    return {
      key: env.key,
      label: env.label,
      isControl: env.isControl,
      ...(env.drugId
        ? {
            perturbagen: {
              id: env.drugId,
              ...(env.drugName ? { name: env.drugName } : {}),
              ...(info?.ok ? { smiles: info.canonicalSmiles } : env.smiles ? { smiles: env.smiles } : {}),
              ...(info?.ok && info.inchiKey ? { inchiKey: info.inchiKey } : {}),
              pertType: 'trt_cp',
            },
          }
        : {}),
      ...(env.cellLine ? { cellLine: env.cellLine } : {}),
      ...(env.dose ? { dose: env.dose } : {}),
      ...(env.time ? { time: env.time } : {}),
      representation: encoding.vectors[i] as Float32Array,
      representationKind: `morgan-r${request.fingerprint.radius}-${request.fingerprint.nBits}`,
    };
  });
  const writer = store.datasets.begin({
    name: request.name ?? defaultName(request.matrixPath),
    source: source.format === 'gct' || source.format === 'gctx' || source.format === 'h5ad' ? source.format : 'csv',
    description: `Imported from ${request.fileLabels?.matrix ?? request.matrixPath}: ${plan.preview.samples} of ${plan.preview.samplesInFile} samples, ${plan.preview.genes} genes, environments keyed by ${request.environmentKey}.`,
    provenance: {
      files: {
        matrix: request.matrixPath,
        ...(request.sigInfoPath ? { sigInfo: request.sigInfoPath } : {}),
        ...(request.pertInfoPath ? { pertInfo: request.pertInfoPath } : {}),
        ...(request.geneInfoPath ? { geneInfo: request.geneInfoPath } : {}),
        // The unpacked copy of a .gctx.gz/.h5ad.gz: kept while a dataset refers to it.
        ...(source.path !== request.matrixPath ? { unpackedCopy: source.path } : {}),
        // Uploaded copies are deleted once stored: their names, not their inbox paths, say where the data came from.
        ...request.fileLabels,
      },
      filter: request.filter,
      environmentKey: request.environmentKey,
      fingerprint: request.fingerprint,
      nonFinite: request.nonFinite,
      drugsWithoutStructure: encoding.withoutStructure,
      ...(plan.derivedFrom ? { derivedFrom: plan.derivedFrom } : {}),
    },
    representationColumns: encoding.columns,
    genes: genes.map((g) => ({ id: g.id, symbol: g.symbol, landmark: g.landmark ?? false })),
    environments,
  });
  try {
    const nGenes = genes.length;
    let replaced = 0;
    let droppedNonFinite = 0;
    // One reused buffer, ≤ 16 MiB a batch: memory stays flat however large the file is.
    for await (const batch of source.iterateSamples(plan.selectedSamples, geneIndices, {
      reuseBuffer: true,
      maxBatchBytes: 16 * 1024 * 1024,
      ...(context?.signal ? { signal: context.signal } : {}),
    })) {
      if (context?.signal?.aborted) throw new LabError('cancelled', 'The import was cancelled; nothing was stored.');
      const records: SampleRecord[] = [];
      for (let position = batch.start; position < batch.end; position++) {
        const k = position - batch.start;
        const row = batch.values.subarray(k * nGenes, (k + 1) * nGenes);
        const sampleIndex = plan.selectedSamples[position] as number;
        const sample = plan.samples.fact(sampleIndex);
        const bad = firstNonFinite(row);
        if (bad >= 0) {
          if (request.nonFinite === 'reject') {
            throw new LabError(
              'bad_input',
              `${source.path}: sample "${sample.id}", gene "${genes[bad]?.id}" is ${row[bad]}; choose nonFinite "zero" or "drop-sample" to import anyway.`,
            );
          }
          if (request.nonFinite === 'drop-sample') {
            droppedNonFinite++;
            continue;
          }
          for (let g = 0; g < row.length; g++) {
            if (!Number.isFinite(row[g] as number)) {
              row[g] = 0;
              replaced++;
            }
          }
        }
        records.push({
          id: sample.id,
          environment: plan.sampleEnvironment[position] as number,
          metadata: plan.samples.metadata(sampleIndex),
          expression: row,
        });
      }
      writer.addSamples(records);
      context?.progress(batch.end / plan.selectedSamples.length, `Stored ${batch.end} of ${plan.selectedSamples.length} samples`);
      // Let the event loop breathe between batches: progress reaches the window and a cancel is heard.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (droppedNonFinite === plan.selectedSamples.length) {
      throw new LabError(
        'bad_input',
        `${source.path}: every one of the ${droppedNonFinite} samples holds NaN or ±Infinity, so nonFinite "drop-sample" leaves none; choose "zero" or fix the file.`,
      );
    }
    if (replaced > 0 || droppedNonFinite > 0) {
      context?.progress(1, `Non-finite values: ${replaced} set to 0, ${droppedNonFinite} samples dropped`);
    }
    return writer.commit(onCommit);
  } catch (error) {
    writer.abort();
    throw error;
  }
}

function defaultName(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? path;
  return name.replace(/\.gz$/i, '');
}

/** Index of the first NaN/±Inf, or -1; a plain loop, several times faster than findIndex here. */
function firstNonFinite(row: Float32Array): number {
  for (let g = 0; g < row.length; g++) {
    const v = row[g] as number;
    if (v - v !== 0) return g;
  }
  return -1;
}
