// What training and inspection both rebuild from a stored run: its config, its data prepared
// exactly as for training (same split and standardisation), and a freshly initialised module.
import type { RunSummary } from '../../shared/api/domain.js';
import { TrainingConfig } from '../../shared/api/training.js';
import { drugFeatureTable, ensureDrugFeatures } from '../data/drug-features.js';
import { Rng } from '../data/random.js';
import { isDoseColumn, isDrugColumn } from '../data/representation-columns.js';
import type { EnvironmentView } from '../store/datasets.js';
import type { Store } from '../store/store.js';
import { createModule, type GenerativeModule, type ModuleDimensions } from './modules/index.js';
import {
  type ModelData,
  prepareModelData,
  prepareStreamedTrainingData,
  prepareTrainingData,
  type StreamedTrainingData,
  type TrainingData,
} from './training-data.js';

export interface RunSetup {
  run: RunSummary;
  config: TrainingConfig;
  data: TrainingData;
  module: GenerativeModule;
}

export interface ModelSetup extends Omit<RunSetup, 'data'> {
  data: ModelData;
}

export interface TrainingSetup extends Omit<RunSetup, 'data'> {
  data: TrainingData | StreamedTrainingData;
}

/**
 * Expression matrices up to this size are held in memory while training; larger ones are read
 * from the store a batch at a time. A batch of 1,024 scattered rows costs ~10 ms of lookups, a
 * few percent of a 978-gene step; above this size the matrix (1.85 GB at 473,647 × 978) would be
 * most of the lab's memory.
 */
export const TRAINING_MATRIX_IN_MEMORY_BYTES = 256 * 2 ** 20;

/**
 * The training worker's setup: setUpRun's, with the rows read from the store per batch once the
 * matrix is over `inMemoryBytes` (same batches to the bit, see prepareStreamedTrainingData).
 */
export function setUpTraining(
  store: Store,
  runId: string,
  datasets: Store = store,
  { inMemoryBytes = TRAINING_MATRIX_IN_MEMORY_BYTES }: { inMemoryBytes?: number } = {},
): TrainingSetup {
  const { datasetId } = store.runs.get(runId);
  const { nSamples, nGenes } = datasets.datasets.get(datasetId);
  if (nSamples * nGenes * Float32Array.BYTES_PER_ELEMENT <= inMemoryBytes) return setUpRun(store, runId, datasets);
  const { run, config, sampleColumn, featuresOf } = runInputs(store, runId, datasets);
  const layout = datasets.datasets.trainingLayout(datasetId);
  const data = prepareStreamedTrainingData(layout, config, sampleColumn, featuresOf(layout), {
    each: (visit) => datasets.datasets.forEachExpressionRow(datasetId, visit),
    at: (samples, out) => datasets.datasets.expressionRowsAt(datasetId, samples, out),
  });
  return { run, config, data, module: createModule(config.model, moduleDimensions(data), new Rng(config.seed).fork('init')) };
}

/**
 * The run's data with the whole expression matrix in memory, standardised (the trainer's reference
 * path and what small datasets train from). `datasets` is where the run's dataset lives when not
 * beside the run (a plan task's snapshot).
 */
export function setUpRun(store: Store, runId: string, datasets: Store = store): RunSetup {
  const { run, config, sampleColumn, featuresOf } = runInputs(store, runId, datasets);
  const view = datasets.datasets.trainingView(run.datasetId);
  const data = prepareTrainingData(view, config, sampleColumn, featuresOf(view), { consumeExpression: true });
  return { run, config, data, module: createModule(config.model, moduleDimensions(data), new Rng(config.seed).fork('init')) };
}

/**
 * setUpRun for a trained model: the same split, inputs and freshly initialised module, without
 * reading the expression matrix (basal profiles stream the controls' rows from the store).
 */
export function setUpModel(store: Store, runId: string, datasets: Store = store): ModelSetup {
  const { run, config, sampleColumn, featuresOf } = runInputs(store, runId, datasets);
  const layout = datasets.datasets.trainingLayout(run.datasetId);
  const data = prepareModelData(layout, config, sampleColumn, featuresOf(layout), (visit) =>
    datasets.datasets.forEachExpressionRow(run.datasetId, visit),
  );
  return { run, config, data, module: createModule(config.model, moduleDimensions(data), new Rng(config.seed).fork('init')) };
}

function runInputs(store: Store, runId: string, datasets: Store) {
  const run = store.runs.get(runId);
  const config = TrainingConfig.parse(store.runs.config(runId));
  return {
    run,
    config,
    sampleColumn: (column: string) => datasets.datasets.sampleColumn(run.datasetId, column),
    featuresOf: (view: EnvironmentView) =>
      config.drugFeatures === 'stored' ? undefined : drugFeatureTable(store, view, config.drugFeatures),
  };
}

/** Computes (RDKit, async) the drug features the run's representation needs and the cache lacks; call before setUpRun. */
export async function prepareRunFeatures(store: Store, runId: string, datasets: Store = store): Promise<void> {
  const config = TrainingConfig.parse(store.runs.config(runId));
  if (config.drugFeatures === 'stored') return;
  await ensureDrugFeatures(store, datasets.datasets.environmentView(store.runs.get(runId).datasetId), config.drugFeatures);
}

/** What a module is built for: sizes, and which environment coordinates are the drug and its dose. */
export function moduleDimensions(data: ModelData): ModuleDimensions {
  const columns = data.environmentColumns ?? [];
  const dose = columns.findIndex(isDoseColumn);
  return {
    genes: data.nGenes,
    environment: data.environmentWidth,
    environmentClasses: data.environmentClasses,
    drugColumns: columns.flatMap((name, j) => (isDrugColumn(name) ? [j] : [])),
    doseColumn: dose >= 0 ? dose : null,
  };
}
