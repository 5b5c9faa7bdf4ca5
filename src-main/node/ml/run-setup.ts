// What training and inspection both rebuild from a stored run: its config, its data prepared
// exactly as for training (same split and standardisation), and a freshly initialised module.
import type { RunSummary } from '../../shared/api/domain.js';
import { TrainingConfig } from '../../shared/api/training.js';
import { drugFeatureTable, ensureDrugFeatures } from '../data/drug-features.js';
import { Rng } from '../data/random.js';
import { isDoseColumn, isDrugColumn } from '../data/representation-columns.js';
import type { Store } from '../store/store.js';
import { createModule, type GenerativeModule, type ModuleDimensions } from './modules/index.js';
import { prepareTrainingData, type TrainingData } from './training-data.js';

export interface RunSetup {
  run: RunSummary;
  config: TrainingConfig;
  data: TrainingData;
  module: GenerativeModule;
}

/** `datasets` is where the run's dataset lives when not beside the run (a plan task's snapshot). */
export function setUpRun(store: Store, runId: string, datasets: Store = store): RunSetup {
  const run = store.runs.get(runId);
  const config = TrainingConfig.parse(store.runs.config(runId));
  const view = datasets.datasets.trainingView(run.datasetId);
  const features = config.drugFeatures === 'stored' ? undefined : drugFeatureTable(store, view, config.drugFeatures);
  const data = prepareTrainingData(view, config, (column) => datasets.datasets.sampleColumn(run.datasetId, column), features, {
    consumeExpression: true,
  });
  const module = createModule(config.model, moduleDimensions(data), new Rng(config.seed).fork('init'));
  return { run, config, data, module };
}

/** Computes (RDKit, async) the drug features the run's representation needs and the cache lacks; call before setUpRun. */
export async function prepareRunFeatures(store: Store, runId: string, datasets: Store = store): Promise<void> {
  const config = TrainingConfig.parse(store.runs.config(runId));
  if (config.drugFeatures === 'stored') return;
  await ensureDrugFeatures(store, datasets.datasets.environmentView(store.runs.get(runId).datasetId), config.drugFeatures);
}

/** What a module is built for: sizes, and which environment coordinates are the drug and its dose. */
export function moduleDimensions(data: TrainingData): ModuleDimensions {
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
