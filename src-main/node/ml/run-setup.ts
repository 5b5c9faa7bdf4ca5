// What training and inspection both rebuild from a stored run: its config, its data prepared
// exactly as for training (same split and standardisation), and a freshly initialised module.
import type { RunSummary } from '../../shared/api/domain.js';
import { TrainingConfig } from '../../shared/api/training.js';
import { Rng } from '../data/random.js';
import type { Store } from '../store/store.js';
import { createModule, type GenerativeModule } from './modules/index.js';
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
  const data = prepareTrainingData(datasets.datasets.trainingView(run.datasetId), config, (column) =>
    datasets.datasets.sampleColumn(run.datasetId, column),
  );
  const module = createModule(
    config.model,
    { genes: data.nGenes, environment: data.environmentWidth, environmentClasses: data.environmentClasses },
    new Rng(config.seed).fork('init'),
  );
  return { run, config, data, module };
}
