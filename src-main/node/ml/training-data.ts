// Turns a stored dataset into what the trainer consumes: standardised expression, the network
// input for each environment, and the train / held-out-environment split.

import { LabError } from '../../shared/api/errors.js';
import type { TrainingConfig, ValidationSplit } from '../../shared/api/training.js';
import type { DrugFeatureTable } from '../data/drug-features.js';
import { Rng } from '../data/random.js';
import { basalColumn, cellLineOfColumn, isDescriptorColumn, isDrugColumn, isFingerprintColumn } from '../data/representation-columns.js';
import type { EnvironmentView, SplitFacts, TrainingLayout, TrainingView } from '../store/datasets.js';

/** What a run's model is built from, without the expression itself (a trained model needs no more). */
export interface ModelData {
  nGenes: number;
  geneIds: string[];
  environmentOfSample: Int32Array;
  environmentKeys: string[];
  /** nEnvironments × environmentWidth: what the networks receive as e. */
  environmentInputs: Float32Array;
  environmentWidth: number;
  /** Names of the environment input's coordinates (empty for one-hot environments). */
  environmentColumns?: string[];
  /** Adversary class of each environment (training environments only; -1 otherwise). */
  environmentClass: Int32Array;
  environmentClasses: number;
  trainIndices: Int32Array;
  validationIndices: Int32Array;
  validationEnvironments: string[];
}

export type Standardization = { mean: Float32Array; std: Float32Array };

export interface TrainingData extends ModelData {
  /** nSamples × nGenes, standardised when configured. */
  x: Float32Array;
  standardization: Standardization | null;
}

/**
 * TrainingData without the matrix: each batch's rows are read from the store when the trainer asks
 * (prepareStreamedTrainingData). At 473,647 × 978 the matrix was 1.85 GB of the training worker.
 */
export interface StreamedTrainingData extends ModelData {
  standardization: Standardization | null;
  /** Writes the rows of `samples`, standardised as configured, in the order given, into `out` (samples × nGenes). */
  readRows(samples: ArrayLike<number>, out: Float32Array): void;
}

/** Where the streamed rows come from: every row in sample order, and the rows of given samples into a buffer. */
export interface StoredRows {
  each: ExpressionRows;
  at(samples: ArrayLike<number>, out: Float32Array): void;
}

/** Expression rows in sample order, each given to `visit` (from memory or streamed from the store). */
export type ExpressionRows = (visit: (sample: number, expression: Float32Array) => void) => void;

function rowsOfMatrix(expression: Float32Array, nGenes: number): ExpressionRows {
  return (visit) => {
    for (let i = 0; i < expression.length / nGenes; i++) visit(i, expression.subarray(i * nGenes, (i + 1) * nGenes));
  };
}

/** What a split reads of an environment: its key, whether it is a control, its drug, cell line and scaffold. */
export type SplitEnvironment = Pick<EnvironmentView['environments'][number], 'key' | 'isControl' | 'perturbagen' | 'cellLine' | 'scaffold'>;

/** What splitSamples reads: each sample's environment (an index into `environments`, −1 for none). */
export interface SplitLayout {
  nSamples: number;
  environmentIndex: Int32Array;
  environments: readonly SplitEnvironment[];
}

/** Which samples are held out. Environments, not samples, are held out: validation is out of distribution. */
export function splitSamples(
  view: SplitLayout,
  split: ValidationSplit,
  sampleColumn: (column: string) => (string | null)[],
): { validation: Uint8Array; validationEnvironments: string[] } {
  const validation = new Uint8Array(view.nSamples);
  if (split.kind === 'none') return { validation, validationEnvironments: [] };
  if (split.kind === 'metadata') {
    const values = sampleColumn(split.column);
    const wanted = new Set(split.validationValues);
    values.forEach((v, i) => {
      if (v !== null && wanted.has(v)) validation[i] = 1;
    });
    const held = new Set<string>();
    validation.forEach((v, i) => {
      if (v) held.add(view.environments[view.environmentIndex[i] as number]?.key ?? '');
    });
    return { validation, validationEnvironments: [...held].sort() };
  }
  const heldOut = heldOutEnvironments(view.environments, split);
  view.environmentIndex.forEach((env, i) => {
    if (heldOut.has(env)) validation[i] = 1;
  });
  return { validation, validationEnvironments: [...heldOut].map((i) => view.environments[i]?.key ?? '').sort() };
}

/**
 * Environment-level splits. Controls always train. Groups (drugs, scaffolds) are held out whole,
 * so nothing of a held-out drug — or chemical series — is seen in training.
 */
export function heldOutEnvironments(
  environments: readonly SplitEnvironment[],
  split: Exclude<ValidationSplit, { kind: 'none' | 'metadata' }>,
): Set<number> {
  const treated = environments.map((e, i) => ({ e, i })).filter(({ e }) => !e.isControl);
  if (split.kind === 'held-out-cell-lines') {
    if (environments.every((e) => e.cellLine === null)) {
      throw new LabError(
        'bad_input',
        'This dataset\'s environments are not keyed by cell line, so no cell line can be held out; import it with the environment key "drug+cell".',
      );
    }
    const known = new Set(environments.map((e) => e.cellLine));
    const unknown = split.cellLines.filter((c) => !known.has(c));
    if (unknown.length > 0) throw new LabError('bad_input', `No environment has cell line ${unknown.join(', ')}.`);
    const wanted = new Set(split.cellLines);
    // Controls of a held-out cell line are held out too: that cell line is unseen.
    return new Set(environments.flatMap((e, i) => (e.cellLine !== null && wanted.has(e.cellLine) ? [i] : [])));
  }
  const groupOf = (e: SplitEnvironment): string => {
    if (split.kind === 'random-environments') return e.key;
    if (split.kind === 'held-out-drugs') return e.perturbagen ?? e.key;
    // Scaffold: drugs without a known structure form their own group; acyclic drugs share ''.
    return e.scaffold !== null ? `scaffold:${e.scaffold}` : `drug:${e.perturbagen ?? e.key}`;
  };
  const groups = [...new Set(treated.map(({ e }) => groupOf(e)))].sort();
  const count = groups.length >= 2 ? Math.max(1, Math.round(split.fraction * groups.length)) : 0;
  const chosen = new Set(new Rng(split.seed).fork(`validation-${split.kind}`).shuffle(groups).slice(0, count));
  return new Set(treated.filter(({ e }) => chosen.has(groupOf(e))).map(({ i }) => i));
}

/**
 * `drugFeatures` is the cached table of the representation `config.drugFeatures` names (needed
 * unless it is 'stored'; data/drug-features.ts builds it). `consumeExpression` lets the data
 * standardise `stored.expression` in place instead of a copy: at 473,647 × 978 that copy is
 * 1.85 GB, so a caller that read the view for this run alone should pass it.
 */
export function prepareTrainingData(
  stored: TrainingView,
  config: TrainingConfig,
  sampleColumn: (column: string) => (string | null)[],
  drugFeatures?: DrugFeatureTable,
  { consumeExpression = false }: { consumeExpression?: boolean } = {},
): TrainingData {
  const { nGenes } = stored;
  const data = prepareModelData(stored, config, sampleColumn, drugFeatures, rowsOfMatrix(stored.expression, nGenes));
  const x = consumeExpression ? stored.expression : new Float32Array(stored.expression);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i] as number)) {
      throw new LabError('bad_input', `Expression of sample #${Math.floor(i / nGenes)}, gene ${stored.geneIds[i % nGenes]} is not finite.`);
    }
  }
  const standardization = config.standardize ? standardize(x, nGenes, data.trainIndices) : null;
  return { ...data, x, standardization };
}

/**
 * prepareTrainingData without holding the matrix: one pass over the stored rows checks that every
 * value is finite and sums the training rows' statistics (in sample order, as `standardize` does),
 * then `readRows` reads a batch's rows and standardises them with the same float arithmetic as the
 * in-place path, so a batch is the same to the bit.
 */
export function prepareStreamedTrainingData(
  layout: TrainingLayout,
  config: TrainingConfig,
  sampleColumn: (column: string) => (string | null)[],
  drugFeatures: DrugFeatureTable | undefined,
  rows: StoredRows,
): StreamedTrainingData {
  const { nGenes, geneIds } = layout;
  const data = prepareModelData(layout, config, sampleColumn, drugFeatures, rows.each);
  const isTraining = new Uint8Array(layout.nSamples);
  for (const i of data.trainIndices) isTraining[i] = 1;
  const checked: ExpressionRows = (visit) =>
    rows.each((i, expression) => {
      for (let g = 0; g < nGenes; g++) {
        if (!Number.isFinite(expression[g] as number))
          throw new LabError('bad_input', `Expression of sample #${i}, gene ${geneIds[g]} is not finite.`);
      }
      visit(i, expression);
    });
  let standardization: Standardization | null = null;
  if (config.standardize) {
    standardization = standardizationOf(nGenes, data.trainIndices.length, (visit) =>
      checked((i, expression) => {
        if (isTraining[i]) visit(i, expression);
      }),
    );
  } else checked(() => {});
  const scale = standardization;
  return {
    ...data,
    standardization,
    readRows: (samples, out) => {
      rows.at(samples, out);
      if (!scale) return;
      for (let r = 0; r < samples.length; r++) {
        const row = out.subarray(r * nGenes, (r + 1) * nGenes);
        for (let g = 0; g < nGenes; g++) row[g] = ((row[g] as number) - (scale.mean[g] as number)) / (scale.std[g] as number);
      }
    },
  };
}

/**
 * Everything of prepareTrainingData but the expression matrix and its standardisation: the split,
 * the environment inputs and the adversary's classes. `rows` is read only for basal profiles (the
 * controls' means), so a trained model is rebuilt without holding the matrix.
 */
export function prepareModelData(
  stored: TrainingLayout,
  config: TrainingConfig,
  sampleColumn: (column: string) => (string | null)[],
  drugFeatures: DrugFeatureTable | undefined,
  rows: ExpressionRows,
): ModelData {
  const { nSamples, nGenes } = stored;
  const { validation, validationEnvironments } = splitSamples(stored, config.validation, sampleColumn);
  const train: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < nSamples; i++) (validation[i] ? held : train).push(i);
  if (train.length === 0) throw new LabError('bad_input', 'The validation split leaves no training samples.');
  const trainEnvironments = new Set(train.map((i) => stored.environmentIndex[i] as number));
  let view = stored;
  if (config.drugFeatures !== 'stored') {
    if (!drugFeatures) throw new LabError('internal', `drugFeatures "${config.drugFeatures}" asked for without its feature table`);
    view = withDrugFeatures(stored, drugFeatures, trainEnvironments);
  }
  if (config.cellContext === 'basal') view = withBasalProfiles(view, trainEnvironments, rows);
  for (let i = 0; i < nSamples; i++) {
    if ((view.environmentIndex[i] as number) < 0) throw new LabError('bad_input', `Sample #${i} has no environment.`);
  }

  const nEnvironments = view.environments.length;
  const encoding = config.model.environmentEncoding;
  const representationWidth = view.environments[0]?.representation?.length ?? 0;
  if (encoding === 'representation') {
    if (representationWidth === 0) {
      throw new LabError('bad_input', 'This dataset\'s environments have no representation; use environmentEncoding "one-hot".');
    }
    const ragged = view.environments.find((e) => (e.representation?.length ?? 0) !== representationWidth);
    if (ragged) throw new LabError('bad_input', `Environment "${ragged.key}" has a representation of another length.`);
  }
  const environmentWidth = encoding === 'representation' ? representationWidth : nEnvironments;
  const environmentInputs = new Float32Array(nEnvironments * environmentWidth);
  view.environments.forEach((e, i) => {
    if (encoding === 'representation') environmentInputs.set(e.representation as Float32Array, i * environmentWidth);
    else environmentInputs[i * environmentWidth + i] = 1;
  });

  if (config.drugInput !== 'structure') {
    if (encoding !== 'representation')
      throw new LabError('bad_input', `drugInput "${config.drugInput}" needs environmentEncoding "representation".`);
    applyDrugControl(view, environmentInputs, environmentWidth, trainEnvironments, config.drugInput, config.seed);
  }

  // The adversary names training environments only; held-out ones never reach it.
  const environmentClass = new Int32Array(nEnvironments).fill(-1);
  let classes = 0;
  for (let e = 0; e < nEnvironments; e++) if (trainEnvironments.has(e)) environmentClass[e] = classes++;

  return {
    nGenes,
    geneIds: view.geneIds,
    environmentOfSample: view.environmentIndex,
    environmentKeys: view.environments.map((e) => e.key),
    environmentInputs,
    environmentWidth,
    environmentColumns: encoding === 'representation' ? (view.representationColumns ?? []) : [],
    environmentClass,
    environmentClasses: classes,
    trainIndices: Int32Array.from(train),
    validationIndices: Int32Array.from(held),
    validationEnvironments,
  };
}

/**
 * The structure controls (TrainingConfig.drugInput), in place on the environment inputs: 'none'
 * zeroes every environment's drug coordinates; 'permuted' gives each training drug the drug
 * coordinates of another training drug (one seeded shuffle of the drugs, so a drug keeps one
 * fingerprint across its cell lines and doses). Held-out environments keep theirs.
 */
function applyDrugControl(
  view: TrainingLayout,
  inputs: Float32Array,
  width: number,
  trainEnvironments: Set<number>,
  control: 'permuted' | 'none',
  seed: number,
): void {
  const drugColumns = (view.representationColumns ?? []).flatMap((name, j) => (isDrugColumn(name) ? [j] : []));
  if (drugColumns.length === 0) {
    throw new LabError(
      'bad_input',
      "This dataset's environment representation has no drug coordinates (fingerprint bits) to permute or remove.",
    );
  }
  const drugOf = (e: number) => view.environments[e]?.perturbagen ?? view.environments[e]?.key ?? '';
  const drugPart = (e: number) => Float32Array.from(drugColumns, (j) => inputs[e * width + j] as number);
  const setDrugPart = (e: number, values: Float32Array | null) =>
    drugColumns.forEach((j, k) => {
      inputs[e * width + j] = values ? (values[k] as number) : 0;
    });
  if (control === 'none') {
    for (let e = 0; e < view.environments.length; e++) setDrugPart(e, null);
    return;
  }
  const training = [...trainEnvironments].filter((e) => !view.environments[e]?.isControl);
  const partOfDrug = new Map<string, Float32Array>();
  for (const e of training) if (!partOfDrug.has(drugOf(e))) partOfDrug.set(drugOf(e), drugPart(e));
  const drugs = [...partOfDrug.keys()].sort();
  const shuffled = new Rng(seed).fork('drug-input-permutation').shuffle([...drugs]);
  const replacement = new Map(drugs.map((d, i) => [d, partOfDrug.get(shuffled[i] as string) as Float32Array]));
  for (const e of training) setDrugPart(e, replacement.get(drugOf(e)) as Float32Array);
}

/**
 * The view with each environment's imported fingerprint bits replaced by the representation's
 * features of its drug (first, in the same place); one-hot codes of drugs without structure, cell
 * line, dose and time stay. Descriptors are z-scored with the training drugs' statistics.
 * Controls and drugs RDKit could not describe get zeros.
 */
function withDrugFeatures<View extends TrainingLayout>(view: View, table: DrugFeatureTable, trainEnvironments: Set<number>): View {
  const stored = view.representationColumns ?? [];
  if (!stored.some(isFingerprintColumn)) {
    throw new LabError(
      'bad_input',
      "This dataset's environments have no fingerprint to replace: import it with SMILES to use another drug representation.",
    );
  }
  const kept = stored.flatMap((name, j) => (isFingerprintColumn(name) ? [] : [j]));
  const width = table.columns.length;
  const described = new Set<number>();
  const representations = view.environments.map((e, i) => {
    const v = new Float32Array(width + kept.length);
    const features = !e.isControl && e.canonicalSmiles ? table.features(e.canonicalSmiles) : null;
    if (features) {
      v.set(features);
      described.add(i);
    }
    kept.forEach((j, k) => {
      v[width + k] = e.representation?.[j] ?? 0;
    });
    return v;
  });
  const describedTraining = [...trainEnvironments].filter((e) => described.has(e));
  table.columns.forEach((name, j) => {
    if (!isDescriptorColumn(name) || describedTraining.length === 0) return;
    const values = describedTraining.map((e) => representations[e]?.[j] as number).filter(Number.isFinite);
    const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length)) || 1;
    described.forEach((i) => {
      const v = representations[i] as Float32Array;
      const z = ((v[j] as number) - mean) / std;
      v[j] = Number.isFinite(z) ? z : 0;
    });
  });
  return {
    ...view,
    environments: view.environments.map((e, i) => ({ ...e, representation: representations[i] as Float32Array })),
    representationColumns: [...table.columns, ...kept.map((j) => stored[j] as string)],
  };
}

/**
 * The view with each environment's cell-line one-hot replaced by its cell line's basal profile: the
 * mean expression of the cell line's control samples, centred and scaled per gene across the cell
 * lines of the training environments. A held-out cell line is described by how it looks untreated
 * (measured, like a held-out drug's structure), so what a model learns can carry to it.
 */
export function withBasalProfiles<View extends TrainingLayout>(
  view: View,
  trainEnvironments: Set<number>,
  rows: ExpressionRows = rowsOfMatrix((view as TrainingLayout & Partial<TrainingView>).expression ?? new Float32Array(0), view.nGenes),
): View {
  const stored = view.representationColumns ?? [];
  const cellColumns = stored.flatMap((name, j) => {
    const cell = cellLineOfColumn(name);
    return cell === null ? [] : [{ cell, j }];
  });
  if (cellColumns.length === 0) {
    throw new LabError(
      'bad_input',
      'This dataset\'s environments carry no cell line: import it with the environment key "drug+cell" to condition on basal profiles.',
    );
  }
  const cellOf = (e: number): number => {
    const representation = view.environments[e]?.representation;
    return cellColumns.findIndex(({ j }) => (representation?.[j] ?? 0) > 0.5);
  };
  const { nGenes } = view;
  const sums = cellColumns.map(() => new Float64Array(nGenes));
  const counts = new Int32Array(cellColumns.length);
  const cellOfEnvironment = view.environments.map((e, i) => (e.isControl ? cellOf(i) : -1));
  rows((i, expression) => {
    const c = cellOfEnvironment[view.environmentIndex[i] as number] ?? -1;
    if (c < 0) return;
    counts[c] = (counts[c] as number) + 1;
    const sum = sums[c] as Float64Array;
    for (let g = 0; g < nGenes; g++) sum[g] = (sum[g] as number) + (expression[g] as number);
  });
  const unmeasured = cellColumns.filter((_, c) => counts[c] === 0).map(({ cell }) => cell);
  if (unmeasured.length > 0) {
    throw new LabError(
      'bad_input',
      `No control samples of cell line ${unmeasured.join(', ')}: its basal profile is unknown, so use cellContext "one-hot".`,
    );
  }
  const basal = sums.map((sum, c) => Float64Array.from(sum, (v) => v / (counts[c] as number)));
  const trainingCells = [...new Set([...trainEnvironments].map(cellOf).filter((c) => c >= 0))];
  if (trainingCells.length < 2) {
    throw new LabError(
      'bad_input',
      'Basal profiles need at least two cell lines among the training environments: with one, nothing about a cell line can be learnt from them.',
    );
  }
  const scaled = basal.map(() => new Float32Array(nGenes));
  for (let g = 0; g < nGenes; g++) {
    const values = trainingCells.map((c) => (basal[c] as Float64Array)[g] as number);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    basal.forEach((profile, c) => {
      (scaled[c] as Float32Array)[g] = std > 0 ? ((profile[g] as number) - mean) / std : 0;
    });
  }
  const kept = stored.flatMap((name, j) => (cellLineOfColumn(name) === null ? [j] : []));
  return {
    ...view,
    environments: view.environments.map((e, i) => {
      const v = new Float32Array(kept.length + nGenes);
      kept.forEach((j, k) => {
        v[k] = e.representation?.[j] ?? 0;
      });
      const c = cellOf(i);
      if (c >= 0) v.set(scaled[c] as Float32Array, kept.length);
      return { ...e, representation: v };
    }),
    representationColumns: [...kept.map((j) => stored[j] as string), ...view.geneIds.map(basalColumn)],
  };
}

/** Per-gene z-scores with training statistics, in place; constant genes keep scale 1. */
function standardize(x: Float32Array, nGenes: number, train: ArrayLike<number>): Standardization {
  const statistics = standardizationOf(nGenes, train.length, (visit) => {
    for (let k = 0; k < train.length; k++) {
      const i = train[k] as number;
      visit(i, x.subarray(i * nGenes, (i + 1) * nGenes));
    }
  });
  for (let i = 0; i < x.length; i++) {
    const g = i % nGenes;
    x[i] = ((x[i] as number) - (statistics.mean[g] as number)) / (statistics.std[g] as number);
  }
  return statistics;
}

/** The per-gene mean and standard deviation of the `count` training rows `rows` visits (in sample order). */
export function standardizationOf(nGenes: number, count: number, rows: ExpressionRows): Standardization {
  const mean = new Float64Array(nGenes);
  const square = new Float64Array(nGenes);
  rows((_, values) => {
    for (let g = 0; g < nGenes; g++) {
      const v = values[g] as number;
      mean[g] = (mean[g] as number) + v;
      square[g] = (square[g] as number) + v * v;
    }
  });
  const meanOut = new Float32Array(nGenes);
  const stdOut = new Float32Array(nGenes);
  for (let g = 0; g < nGenes; g++) {
    const m = (mean[g] as number) / count;
    const variance = Math.max(0, (square[g] as number) / count - m * m);
    meanOut[g] = m;
    stdOut[g] = variance > 1e-12 ? Math.sqrt(variance) : 1;
  }
  return { mean: meanOut, std: stdOut };
}

/** Where an environment's samples go under a split, as EnvironmentSplit.places codes it. */
export const PLACE_TRAIN = 0;
export const PLACE_SOME = 1;
export const PLACE_ALL = 2;

/** What a split holds out of a dataset: per environment (in environment order), its counts, its groups. */
export interface EnvironmentSplit {
  split: ValidationSplit;
  /** One code per environment: PLACE_TRAIN, PLACE_SOME (a metadata split) or PLACE_ALL (every sample held out). */
  places: Uint8Array;
  trainSamples: number;
  heldOutSamples: number;
  /** Every group held out whole (drugs, scaffolds, cell lines), sorted; empty for random and metadata splits. */
  heldOutGroups: string[];
  note: string | null;
}

/** The samples' environments and a metadata column of every sample: what only a metadata split reads. */
export interface SplitSamples {
  environmentIndex: Int32Array;
  sampleColumn: (column: string) => (string | null)[];
}

/**
 * What `split` holds out of the dataset whose facts are given, with the held-out environments
 * chosen by the function training uses (heldOutEnvironments, through splitSamples), so a preview
 * holds out what the run will. An environment-level split reads no sample: an environment is held
 * out whole, and its samples are counted from the stored counts. Only a metadata split, which
 * holds out samples, asks for `samples`.
 */
export function splitOfEnvironments(facts: SplitFacts, split: ValidationSplit, samples: () => SplitSamples): EnvironmentSplit {
  const { environments } = facts;
  const places = new Uint8Array(environments.length);
  let heldOutSamples = 0;
  if (split.kind === 'metadata') {
    const { environmentIndex, sampleColumn } = samples();
    const { validation } = splitSamples({ nSamples: facts.nSamples, environmentIndex, environments }, split, sampleColumn);
    const held = new Int32Array(environments.length);
    const total = new Int32Array(environments.length);
    environmentIndex.forEach((e, i) => {
      total[e] = (total[e] as number) + 1;
      held[e] = (held[e] as number) + (validation[i] as number);
    });
    for (let e = 0; e < environments.length; e++) {
      const h = held[e] as number;
      places[e] = h === 0 ? PLACE_TRAIN : h === total[e] ? PLACE_ALL : PLACE_SOME;
      heldOutSamples += h;
    }
  } else if (split.kind !== 'none') {
    for (const e of heldOutEnvironments(environments, split)) {
      const n = (environments[e] as SplitFacts['environments'][number]).nSamples;
      // An environment without samples holds nothing out: it stays 'train', as its samples would.
      if (n > 0) places[e] = PLACE_ALL;
      heldOutSamples += n;
    }
  }
  const groupOf: Partial<Record<ValidationSplit['kind'], (e: SplitEnvironment) => string>> = {
    'held-out-drugs': (e) => e.perturbagen ?? e.key,
    scaffold: (e) => (e.scaffold === null ? `${e.perturbagen ?? e.key} (no structure)` : e.scaffold === '' ? '(acyclic)' : e.scaffold),
    'held-out-cell-lines': (e) => e.cellLine ?? '(none)',
  };
  const group = groupOf[split.kind];
  const heldOutGroups = group ? [...new Set(environments.filter((_, i) => places[i] !== PLACE_TRAIN).map(group))].sort() : [];
  let note: string | null = null;
  const treated = environments.filter((e) => !e.isControl);
  if (split.kind !== 'none' && heldOutSamples === 0) note = 'This split holds nothing out: there are too few groups to hold one out.';
  if (split.kind === 'scaffold' && treated.length > 0 && treated.every((e) => e.scaffold === null)) {
    note = 'No drug in this dataset has a known structure, so the scaffold split degenerates to holding out drugs.';
  }
  return { split, places, trainSamples: facts.nSamples - heldOutSamples, heldOutSamples, heldOutGroups, note };
}
