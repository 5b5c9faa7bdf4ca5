// Entry of a training worker thread: opens its own database connection, trains one run, and
// writes every epoch's metrics and checkpoint itself, so a killed app loses at most the epoch
// in progress. Reports progress to the lab by message.
import { parentPort, workerData } from 'node:worker_threads';
import { databaseFailure } from '../store/errors.js';
import { Store } from '../store/store.js';
import { selectBackend } from './backend.js';
import { type NamedArray, packArrays, unpackArrays } from './checkpoint.js';
import { prepareRunFeatures, setUpTraining } from './run-setup.js';
import { type Checkpoint, type Control, Trainer } from './trainer.js';
import { ControlWord, type WorkerInit, type WorkerMessage } from './worker-protocol.js';

const init = workerData as WorkerInit;
const control = new Int32Array(init.control);
const STEP_REPORT_INTERVAL_MS = 250;

function post(message: WorkerMessage): void {
  parentPort?.postMessage(message);
}

function readControl(): Control {
  const word = Atomics.load(control, 0);
  return word === ControlWord.cancel ? 'cancel' : word === ControlWord.pause ? 'pause' : 'run';
}

/** Parameters go in `weights`, optimiser moments in `optimizer_state`: analysis reads only the former. */
function splitCheckpoint(arrays: NamedArray[]): { weights: Buffer; optimizerState: Buffer } {
  const isOptimizer = (a: NamedArray) => a.name.includes('optimizer/');
  return { weights: packArrays(arrays.filter((a) => !isOptimizer(a))), optimizerState: packArrays(arrays.filter(isOptimizer)) };
}

function finiteOnly(values: Record<string, number> | null): Record<string, number> | null {
  return values && Object.fromEntries(Object.entries(values).filter(([, v]) => Number.isFinite(v)));
}

async function main(): Promise<void> {
  const backend = await selectBackend(init.preferBackend ? { prefer: init.preferBackend } : {});
  const store = Store.open(init.databasePath, init.nativeBinding ? { nativeBinding: init.nativeBinding } : {});
  const datasets = init.datasetPath
    ? Store.open(init.datasetPath, { readonly: true, ...(init.nativeBinding ? { nativeBinding: init.nativeBinding } : {}) })
    : store;
  try {
    await prepareRunFeatures(store, init.runId, datasets);
    const { config, data, module } = setUpTraining(store, init.runId, datasets);
    const trainer = new Trainer(module, data, config);
    const standardization: NamedArray[] = data.standardization
      ? [
          { name: 'standardize/mean', shape: [data.nGenes], values: data.standardization.mean },
          { name: 'standardize/std', shape: [data.nGenes], values: data.standardization.std },
        ]
      : [];

    let resumedFromEpoch: number | null = null;
    const stored = init.resume ? store.runs.latestCheckpoint(init.runId) : null;
    if (stored) {
      const arrays = [...unpackArrays(stored.weights), ...(stored.optimizerState ? unpackArrays(stored.optimizerState) : [])];
      await trainer.restore({ epoch: stored.epoch, step: stored.step, arrays });
      resumedFromEpoch = stored.epoch;
    }
    // History past the checkpoint (an epoch that was being written when the app died) is dropped.
    store.runs.truncateAfter(init.runId, resumedFromEpoch ?? 0);
    store.runs.setBackend(init.runId, backend.name, backend.threads);
    store.runs.setDetails(init.runId, {
      genes: data.nGenes,
      environmentWidth: data.environmentWidth,
      environmentClasses: data.environmentClasses,
      trainSamples: data.trainIndices.length,
      validationSamples: data.validationIndices.length,
      validationEnvironments: data.validationEnvironments,
      parameters: module.params.size + (module.adversary?.size ?? 0),
    });
    // A pause may have been requested before the worker got here; honour it.
    store.runs.setStatus(init.runId, readControl() === 'pause' ? 'paused' : 'running');
    post({ type: 'started', backend: backend.name, threads: backend.threads, reason: backend.reason, resumedFromEpoch });

    let lastStepReport = 0;
    const outcome = await trainer.run({
      control: readControl,
      waitWhilePaused: async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return readControl();
      },
      onStep: (report) => {
        const now = performance.now();
        if (now - lastStepReport < STEP_REPORT_INTERVAL_MS && report.batchInEpoch < report.batchesPerEpoch) return;
        lastStepReport = now;
        post({ type: 'step', report });
      },
      onEpoch: (report, checkpoint: Checkpoint) => {
        const points = [
          ...Object.entries(report.train).map(([name, value]) => ({ epoch: report.epoch, step: report.step, split: 'train', name, value })),
          ...Object.entries(report.validation ?? {}).map(([name, value]) => ({
            epoch: report.epoch,
            step: report.step,
            split: 'validation',
            name,
            value,
          })),
          { epoch: report.epoch, step: report.step, split: 'train', name: 'samples_per_second', value: report.samplesPerSecond },
          { epoch: report.epoch, step: report.step, split: 'train', name: 'num_tensors', value: report.numTensors },
          ...report.stepLosses.map((s) => ({ epoch: report.epoch, step: s.step, split: 'step', name: 'loss', value: s.loss })),
        ].filter((p) => Number.isFinite(p.value)); // a non-finite validation value is left out, not stored as garbage
        const { weights, optimizerState } = splitCheckpoint([...checkpoint.arrays, ...standardization]);
        store.runs.recordEpoch(init.runId, {
          epoch: report.epoch,
          points,
          validationLoss: Number.isFinite(report.validation?.loss) ? (report.validation?.loss as number) : null,
          checkpoint: { step: checkpoint.step, weights, optimizerState, rngState: null, keep: config.keepCheckpoints },
        });
        const { stepLosses: _omitted, ...summary } = report;
        post({ type: 'epoch', report: { ...summary, validation: finiteOnly(report.validation) } });
      },
    });
    const status = outcome.status;
    store.runs.setStatus(init.runId, status, outcome.status === 'diverged' ? outcome.message : null);
    trainer.dispose();
    module.dispose();
    post({ type: 'finished', outcome });
  } finally {
    store.close();
    datasets.close();
  }
}

main().catch((error: unknown) => {
  // A full disk or a busy database is said in words that name the database and what to do.
  const described = databaseFailure(error, init.databasePath) ?? error;
  post({ type: 'failed', message: described instanceof Error ? described.message : String(described) });
});
