// Planning an import: which samples and genes survive the filter, how samples group into
// environments, and what the preview tells the user before anything is written.

import { LabError } from '../../../shared/api/errors.js';
import type { EnvironmentKey, ImportPreview, ResolvedImport, UnlabelledSamples } from '../../../shared/api/imports.js';
import type { ExpressionSource } from '../../data/formats/index.js';
import { type GeneFacts, isControl, type SampleFacts, type SampleTable } from './sample-table.js';

export interface PlannedEnvironment {
  key: string;
  label: string;
  isControl: boolean;
  drugId: string | null;
  drugName: string | null;
  smiles: string | null;
  structureSource: string | null;
  cellLine: string | null;
  dose: string | null;
  time: string | null;
  samples: number;
}

export interface ImportPlan {
  request: ResolvedImport;
  source: ExpressionSource;
  samples: SampleTable;
  genes: GeneFacts[];
  /** Indices into the file's samples, ascending. */
  selectedSamples: number[];
  /** Environment index of each selected sample. */
  sampleEnvironment: Int32Array;
  /** Indices into the file's genes (ascending), or null for all. */
  selectedGenes: number[] | null;
  environments: PlannedEnvironment[];
  preview: Omit<ImportPreview, 'drugsWithoutStructure'>;
  /** Set when the plan re-imports a stored dataset with a sample table attached (attach-samples.ts). */
  derivedFrom?: { datasetId: string; name: string; sampleTable: string; unmatchedDropped: number };
}

export const CONTROL_DRUG = 'control';

/** The environment of samples that say nothing about their treatment, in 'one-environment' mode. */
export const UNLABELLED = 'unlabelled';

function environmentParts(
  sample: SampleFacts,
  key: EnvironmentKey,
  unlabelled: UnlabelledSamples | null,
): { key: string; drug: string | null } {
  // A matrix without sample metadata: one environment, or one per sample (the user's choice).
  if (unlabelled !== null) return { key: unlabelled === 'each-sample' ? `sample ${sample.id}` : UNLABELLED, drug: null };
  const drug = isControl(sample) ? CONTROL_DRUG : (sample.pertId ?? sample.pertName ?? 'unknown');
  const parts = [drug];
  if (key !== 'drug') parts.push(sample.cellId ?? '?');
  if (key === 'drug+cell+dose+time') parts.push(sample.dose ?? '?', sample.time ?? '?');
  return { key: parts.join(' | '), drug };
}

function counted(values: (string | null)[]): { value: string; samples: number }[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v ?? '(missing)', (counts.get(v ?? '(missing)') ?? 0) + 1);
  return [...counts]
    .map(([value, samples]) => ({ value, samples }))
    .sort((a, b) => b.samples - a.samples || a.value.localeCompare(b.value));
}

export function planImport(request: ResolvedImport, source: ExpressionSource, samples: SampleTable, genes: GeneFacts[]): ImportPlan {
  const filter = request.filter;
  const dropped = new Map<string, number>();
  const drop = (reason: string) => dropped.set(reason, (dropped.get(reason) ?? 0) + 1);
  const warnings: string[] = [];
  const keep = (allowed: string[] | undefined, value: string | null) =>
    allowed === undefined || (value !== null && allowed.includes(value));
  const hasPertTypes = samples.has('pertType');
  // Nothing about any sample's treatment (cmapPy's row-meta-only GCTX, a bare CSV): import it as
  // plain expression instead of dropping every sample; a sample table can be joined on a new import.
  const unlabelled = !samples.has('pertId') && !samples.has('pertName') ? request.unlabelledSamples : null;
  if (unlabelled !== null) {
    warnings.push(
      `No sample metadata (no perturbagen for any sample): ${unlabelled === 'each-sample' ? 'each sample is its own environment' : `all samples form one "${UNLABELLED}" environment`}. ` +
        'Import again with a sample table (--sig-info for GCT/GCTX, --metadata for CSV/TSV) to group them by drug.',
    );
  } else if (!hasPertTypes)
    warnings.push('No pert_type column: every sample is treated as a treatment (no controls). Add sig_info to mark controls.');

  const reasonToDrop = (s: SampleFacts): string | null => {
    if (hasPertTypes && !keep(filter.pertTypes, s.pertType)) return `pert_type ${s.pertType ?? '(missing)'} not selected`;
    if (!keep(filter.cellLines, s.cellId)) return 'cell line not selected';
    if (!isControl(s) && !keep(filter.doses, s.dose)) return 'dose not selected';
    if (!isControl(s) && !keep(filter.times, s.time)) return 'time not selected';
    if (unlabelled === null && !isControl(s) && s.pertId === null && s.pertName === null) return 'no perturbagen id';
    return null;
  };
  let candidates: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const reason = reasonToDrop(samples.fact(i));
    if (reason === null) candidates.push(i);
    else drop(reason);
  }

  const keyOf = (i: number) => environmentParts(samples.fact(i), request.environmentKey, unlabelled);
  const sizes = new Map<string, number>();
  for (const i of candidates) sizes.set(keyOf(i).key, (sizes.get(keyOf(i).key) ?? 0) + 1);
  candidates = candidates.filter((i) => {
    if ((sizes.get(keyOf(i).key) ?? 0) >= filter.minReplicates) return true;
    drop(`fewer than ${filter.minReplicates} replicates in its environment`);
    return false;
  });
  if (filter.maxSamples !== undefined && candidates.length > filter.maxSamples) {
    for (let k = filter.maxSamples; k < candidates.length; k++) drop(`beyond maxSamples ${filter.maxSamples}`);
    candidates = candidates.slice(0, filter.maxSamples);
  }
  if (candidates.length === 0) {
    throw new LabError(
      'bad_input',
      `No samples survive the filter (${[...dropped].map(([r, n]) => `${n}: ${r}`).join('; ') || 'the file has none'}).`,
    );
  }

  const environments: PlannedEnvironment[] = [];
  const environmentIndex = new Map<string, number>();
  const sampleEnvironment = new Int32Array(candidates.length);
  candidates.forEach((i, row) => {
    const sample = samples.fact(i);
    const { key, drug } = keyOf(i);
    let index = environmentIndex.get(key);
    if (index === undefined) {
      index = environments.length;
      environmentIndex.set(key, index);
      const control = drug === CONTROL_DRUG;
      environments.push({
        key,
        label: control
          ? `control${request.environmentKey === 'drug' ? '' : ` · ${key.split(' | ').slice(1).join(' · ')}`}`
          : drug === null
            ? key
            : [sample.pertName ?? drug, ...key.split(' | ').slice(1)].join(' · '),
        isControl: control,
        drugId: control ? null : drug,
        drugName: control ? null : sample.pertName,
        smiles: control ? null : sample.smiles,
        structureSource: control ? null : sample.structureSource,
        cellLine: request.environmentKey === 'drug' ? null : sample.cellId,
        dose: request.environmentKey === 'drug+cell+dose+time' ? sample.dose : null,
        time: request.environmentKey === 'drug+cell+dose+time' ? sample.time : null,
        samples: 0,
      });
    }
    (environments[index] as PlannedEnvironment).samples++;
    sampleEnvironment[row] = index;
  });
  // Controls first: they are the reference environment every model compares against.
  const order = environments
    .map((_, i) => i)
    .sort((a, b) => Number(environments[b]?.isControl) - Number(environments[a]?.isControl) || a - b);
  const newIndex = new Int32Array(environments.length);
  order.forEach((old, position) => {
    newIndex[old] = position;
  });
  const sortedEnvironments = order.map((i) => environments[i] as PlannedEnvironment);
  for (let r = 0; r < sampleEnvironment.length; r++) sampleEnvironment[r] = newIndex[sampleEnvironment[r] as number] as number;

  let selectedGenes: number[] | null = null;
  if (filter.landmarkOnly) {
    const known = genes.some((g) => g.landmark !== null);
    if (known) selectedGenes = genes.flatMap((g, i) => (g.landmark ? [i] : []));
    else warnings.push('The file does not say which genes are landmarks (no pr_is_lm; add gene_info): all genes kept.');
    if (selectedGenes && selectedGenes.length === 0) throw new LabError('bad_input', 'No landmark genes (pr_is_lm = 1) in this file.');
  }

  const chosen = candidates.map((i) => samples.fact(i));
  // Per drug (not per environment): where its structure came from.
  const sourceOfDrug = new Map<string, string>();
  for (const e of sortedEnvironments)
    if (!e.isControl && e.drugId) sourceOfDrug.set(e.drugId, e.structureSource ?? 'none (no SMILES known)');
  return {
    request,
    source,
    samples,
    genes,
    selectedSamples: candidates,
    sampleEnvironment,
    selectedGenes,
    environments: sortedEnvironments,
    preview: {
      format: source.format,
      samplesInFile: source.nSamples,
      genesInFile: source.nGenes,
      samples: candidates.length,
      genes: selectedGenes?.length ?? genes.length,
      environments: sortedEnvironments.length,
      controlSamples: chosen.filter(isControl).length,
      drugs: new Set(sortedEnvironments.filter((e) => !e.isControl && e.drugId !== null).map((e) => e.drugId)).size,
      cellLines: counted(chosen.map((s) => s.cellId)),
      doses: counted(chosen.filter((s) => !isControl(s)).map((s) => s.dose)),
      times: counted(chosen.map((s) => s.time)),
      pertTypes: counted(chosen.map((s) => s.pertType)),
      structureSources: counted([...sourceOfDrug.values()]).map(({ value, samples: drugs }) => ({ source: value, drugs })),
      dropped: [...dropped].map(([reason, n]) => ({ reason, samples: n })),
      warnings,
    },
  };
}
