// Known biology of a dataset's drugs (mechanism of action, targets), per sample. Read today from
// the samples' own metadata (sig_info/compoundinfo-like columns carried in at import); the lab-wide
// compound library can implement DrugBiologySource later without changing its users.
import { CELL_LINE_COLUMNS } from '../../shared/api/domain.js';
import type { Store } from '../store/store.js';

export interface DrugBiology {
  moa: string[];
  targets: string[];
}

export interface DrugBiologySource {
  /** Known biology of every sample's drug, in sample order (empty lists where unknown). */
  ofSamples(datasetId: string): DrugBiology[];
}

/** Column names read as MoA and as targets, in order of preference. */
export const MOA_COLUMNS = ['moa', 'pert_moa', 'mechanism_of_action'] as const;
export const TARGET_COLUMNS = ['target', 'targets', 'pert_target', 'target_name'] as const;

/** "A|B; C" → ["A", "B", "C"]: compoundinfo joins several values with '|' (some tables use ';'). */
export function splitAnnotation(value: string | null): string[] {
  if (value === null) return [];
  return [
    ...new Set(
      value
        .split(/[|;]/)
        .map((v) => v.trim())
        .filter((v) => v !== '' && v !== '-666'),
    ),
  ];
}

/** The first of the columns that the dataset has, read for every sample. */
export function firstColumn(store: Store, datasetId: string, names: readonly string[]): (string | null)[] | null {
  const columns = new Set(store.datasets.get(datasetId).metadataColumns.map((c) => c.name));
  const name = names.find((n) => columns.has(n));
  return name === undefined ? null : store.datasets.sampleColumn(datasetId, name);
}

export function metadataDrugBiology(store: Store): DrugBiologySource {
  return {
    ofSamples(datasetId) {
      const moa = firstColumn(store, datasetId, MOA_COLUMNS);
      const targets = firstColumn(store, datasetId, TARGET_COLUMNS);
      const n = store.datasets.get(datasetId).nSamples;
      return Array.from({ length: n }, (_, i) => ({
        moa: splitAnnotation(moa?.[i] ?? null),
        targets: splitAnnotation(targets?.[i] ?? null),
      }));
    },
  };
}

export interface SampleFacts {
  sampleId: string;
  drug: string | null;
  cellLine: string | null;
  pertType: string | null;
  dose: string | null;
  time: string | null;
  isControl: boolean;
}

/** What the result tables show per sample: drug, cell line, dose, time, perturbagen type. */
export function sampleFacts(store: Store, datasetId: string): SampleFacts[] {
  const ids = store.datasets.sampleIds(datasetId);
  const view = store.datasets.environmentView(datasetId);
  const cells = firstColumn(store, datasetId, CELL_LINE_COLUMNS);
  const pertTypes = firstColumn(store, datasetId, ['pert_type']);
  const doses = firstColumn(store, datasetId, ['pert_idose', 'dose', 'pert_dose']);
  const times = firstColumn(store, datasetId, ['pert_itime', 'time', 'pert_time']);
  const names = firstColumn(store, datasetId, ['pert_iname', 'cmap_name', 'pert_name']);
  return ids.map((sampleId, i) => {
    const environment = view.environments[view.environmentIndex[i] as number];
    return {
      sampleId,
      drug: names?.[i] ?? environment?.label ?? null,
      cellLine: cells?.[i] ?? environment?.cellLine ?? null,
      pertType: pertTypes?.[i] ?? null,
      dose: doses?.[i] ?? null,
      time: times?.[i] ?? null,
      isControl: environment?.isControl ?? false,
    };
  });
}
