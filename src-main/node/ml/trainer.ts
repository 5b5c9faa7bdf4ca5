// The training loop, independent of where it runs (worker thread, test) and where results go
// (callbacks). Deterministic from config + seed: batch order and every noise draw come from
// generators forked by epoch and step, so a resumed run continues exactly as it would have.
import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../../shared/api/training.js';
import { Rng } from '../data/random.js';
import { type NamedArray, restoreOptimizer, restoreParameters, snapshotOptimizer, snapshotParameters } from './checkpoint.js';
import type { Batch, GenerativeModule, LossContext } from './modules/index.js';
import { applyScaledGradients } from './native/adam.js';
import { outputArray } from './native/backend.js';
import { nativeGlobalNorm } from './native/norm.js';
import { nativeNormalFiller } from './native/normal.js';
import type { StreamedTrainingData, TrainingData } from './training-data.js';

export interface StepReport {
  epoch: number;
  /** Global step count (optimiser updates so far). */
  step: number;
  batchInEpoch: number;
  batchesPerEpoch: number;
  metrics: Record<string, number>;
}

export interface EpochReport {
  epoch: number;
  step: number;
  train: Record<string, number>;
  validation: Record<string, number> | null;
  samplesPerSecond: number;
  /** Live tensors after the epoch: flat across epochs means no leak. */
  numTensors: number;
  /** Per-step training losses of this epoch, for the history. */
  stepLosses: { step: number; loss: number }[];
}

export interface Checkpoint {
  epoch: number;
  step: number;
  arrays: NamedArray[];
}

export type Control = 'run' | 'pause' | 'cancel';

export interface TrainerCallbacks {
  onStep?(report: StepReport): void;
  /** Persist the epoch and its checkpoint (atomically). Called only for finite, non-diverging epochs. */
  onEpoch(report: EpochReport, checkpoint: Checkpoint): void | Promise<void>;
  /** Polled between steps. */
  control?(): Control;
  /** Called while paused; resolves to the next control state. */
  waitWhilePaused?(): Promise<Control>;
}

export type TrainOutcome =
  | { status: 'completed'; epochsDone: number }
  | { status: 'cancelled'; epochsDone: number }
  | { status: 'diverged'; epochsDone: number; message: string; lastGoodEpoch: number | null };

const PARAMS = 'params/';
const ADVERSARY = 'adversary/';
const OPTIMIZER = 'optimizer/';
const ADVERSARY_OPTIMIZER = 'adversary-optimizer/';

export class Trainer {
  readonly #module: GenerativeModule;
  readonly #data: TrainingData | StreamedTrainingData;
  /** Writes the given samples' rows into a batch: from the matrix in memory, or read from the store. */
  readonly #readRows: StreamedTrainingData['readRows'];
  readonly #config: TrainingConfig;
  readonly #optimizer: tf.Optimizer;
  readonly #adversaryOptimizer: tf.Optimizer | null;
  readonly #rng: Rng;
  #epoch = 0;
  #step = 0;
  #bestEpochLoss = Number.POSITIVE_INFINITY;

  constructor(module: GenerativeModule, data: TrainingData | StreamedTrainingData, config: TrainingConfig) {
    this.#module = module;
    this.#data = data;
    this.#readRows = 'x' in data ? matrixRows(data.x, data.nGenes) : data.readRows;
    this.#config = config;
    this.#optimizer = tf.train.adam(config.learningRate);
    this.#adversaryOptimizer = module.adversary ? tf.train.adam(config.learningRate) : null;
    this.#rng = new Rng(config.seed);
  }

  get epochsDone(): number {
    return this.#epoch;
  }

  async restore(checkpoint: Checkpoint): Promise<void> {
    restoreParameters(this.#module.params, PARAMS, checkpoint.arrays);
    if (this.#module.adversary) restoreParameters(this.#module.adversary, ADVERSARY, checkpoint.arrays);
    await restoreOptimizer(this.#optimizer, OPTIMIZER, checkpoint.arrays);
    if (this.#adversaryOptimizer) await restoreOptimizer(this.#adversaryOptimizer, ADVERSARY_OPTIMIZER, checkpoint.arrays);
    this.#epoch = checkpoint.epoch;
    this.#step = checkpoint.step;
  }

  async checkpoint(): Promise<Checkpoint> {
    const arrays = [
      ...snapshotParameters(this.#module.params, PARAMS),
      ...(this.#module.adversary ? snapshotParameters(this.#module.adversary, ADVERSARY) : []),
      ...(await snapshotOptimizer(this.#optimizer, OPTIMIZER)),
      ...(this.#adversaryOptimizer ? await snapshotOptimizer(this.#adversaryOptimizer, ADVERSARY_OPTIMIZER) : []),
    ];
    return { epoch: this.#epoch, step: this.#step, arrays };
  }

  async run(callbacks: TrainerCallbacks): Promise<TrainOutcome> {
    const config = this.#config;
    const train = this.#data.trainIndices;
    const batchSize = Math.min(config.batchSize, train.length);
    const batchesPerEpoch = Math.ceil(train.length / batchSize);

    while (this.#epoch < config.epochs) {
      const epoch = this.#epoch + 1;
      const started = performance.now();
      const order = this.#rng.fork(`epoch:${epoch}`).shuffle(Array.from(train));
      const sums: Record<string, number> = {};
      const stepLosses: { step: number; loss: number }[] = [];
      let seen = 0;

      for (let b = 0; b < batchesPerEpoch; b++) {
        let control = callbacks.control?.() ?? 'run';
        while (control === 'pause') control = (await callbacks.waitWhilePaused?.()) ?? 'run';
        if (control === 'cancel') return { status: 'cancelled', epochsDone: this.#epoch };

        const indices = order.slice(b * batchSize, (b + 1) * batchSize);
        const step = this.#step + 1;
        const klWeight = this.#klWeight(epoch - 1 + b / batchesPerEpoch);
        const metrics = this.#trainStep(indices, { klWeight, noise: this.#noise(`step:${step}`) });
        this.#step = step;
        const loss = metrics.loss as number;
        if (!Object.values(metrics).every(Number.isFinite)) {
          const bad = Object.entries(metrics).find(([, v]) => !Number.isFinite(v))?.[0] ?? 'loss';
          return this.#diverged(`The ${bad} became ${metrics[bad]} at epoch ${epoch}, step ${step}`);
        }
        if (loss > config.divergenceFactor * Math.max(1, this.#bestEpochLoss) && Number.isFinite(this.#bestEpochLoss)) {
          return this.#diverged(
            `The loss exploded to ${loss.toExponential(3)} (best epoch loss ${this.#bestEpochLoss.toExponential(3)}) at epoch ${epoch}, step ${step}`,
          );
        }
        for (const [name, value] of Object.entries(metrics)) sums[name] = (sums[name] ?? 0) + value * indices.length;
        seen += indices.length;
        stepLosses.push({ step, loss });
        callbacks.onStep?.({ epoch, step, batchInEpoch: b + 1, batchesPerEpoch, metrics: { ...metrics, kl_weight: klWeight } });
      }

      const seconds = (performance.now() - started) / 1000;
      const trainMetrics = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / seen]));
      trainMetrics.kl_weight = this.#klWeight(epoch);
      const validation = this.#data.validationIndices.length > 0 ? this.evaluate(this.#data.validationIndices) : null;
      this.#epoch = epoch;
      this.#bestEpochLoss = Math.min(this.#bestEpochLoss, trainMetrics.loss as number);
      const report: EpochReport = {
        epoch,
        step: this.#step,
        train: trainMetrics,
        validation,
        samplesPerSecond: seen / seconds,
        numTensors: tf.memory().numTensors,
        stepLosses,
      };
      await callbacks.onEpoch(report, await this.checkpoint());
    }
    return { status: 'completed', epochsDone: this.#epoch };
  }

  /**
   * Loss terms (at full KL weight, fixed noise) and reconstruction error per gene of the given
   * samples, without updating anything: the held-out-environment validation of the seed.
   */
  evaluate(indices: Int32Array): Record<string, number> {
    const sums: Record<string, number> = {};
    const batchSize = Math.max(this.#config.batchSize, 256);
    const noise = this.#noise('validation');
    for (let start = 0; start < indices.length; start += batchSize) {
      const chunk = Array.from(indices.subarray(start, start + batchSize));
      const values = tf.tidy(() => {
        const batch = this.#batch(chunk);
        const { total, terms } = this.#module.loss(batch, { klWeight: this.#config.model.beta, noise });
        const reconstruction = this.#module.reconstruct(batch.x, batch.e);
        const mse = tf.mean(tf.squaredDifference(batch.x, reconstruction));
        const named = { loss: total, ...terms, mse } as Record<string, tf.Scalar>;
        return Object.entries(named).map(([name, t]) => [name, t.dataSync()[0] as number] as const);
      });
      for (const [name, value] of values) sums[name] = (sums[name] ?? 0) + value * chunk.length;
    }
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / indices.length]));
  }

  dispose(): void {
    this.#optimizer.dispose();
    this.#adversaryOptimizer?.dispose();
  }

  #diverged(message: string): TrainOutcome {
    const lastGoodEpoch = this.#epoch > 0 ? this.#epoch : null;
    return {
      status: 'diverged',
      epochsDone: this.#epoch,
      lastGoodEpoch,
      message: `${message}. Training stopped; ${lastGoodEpoch === null ? 'no epoch had completed' : `the checkpoint of epoch ${lastGoodEpoch} is kept`}. Try a lower learning rate or a higher temperature.`,
    };
  }

  #klWeight(progressEpochs: number): number {
    const { beta, klWarmupEpochs } = this.#config.model;
    return klWarmupEpochs === 0 ? beta : beta * Math.min(1, progressEpochs / klWarmupEpochs);
  }

  #noise(label: string) {
    const rng = this.#rng.fork(`noise:${label}`);
    return (rows: number, cols: number): tf.Tensor2D => {
      const values = outputArray(tf.backend(), rows * cols);
      rng.fillNormal(values, nativeNormalFiller());
      return tf.tensor2d(values, [rows, cols]);
    };
  }

  #batch(indices: number[]): Batch {
    const { nGenes, environmentOfSample, environmentInputs, environmentWidth, environmentClass } = this.#data;
    // Every element is written below. On native-blas these come from the backend's pool and go
    // back to it with the step's tensors: fresh multi-MB arrays each step (page faults, zeroing,
    // garbage collection) cost a batch-1024 step ~10–20 ms.
    const xs = outputArray(tf.backend(), indices.length * nGenes);
    const es = outputArray(tf.backend(), indices.length * environmentWidth);
    const classes = new Int32Array(indices.length);
    this.#readRows(indices, xs);
    indices.forEach((sample, row) => {
      const env = environmentOfSample[sample] as number;
      es.set(environmentInputs.subarray(env * environmentWidth, (env + 1) * environmentWidth), row * environmentWidth);
      classes[row] = Math.max(0, environmentClass[env] as number);
    });
    return {
      x: tf.tensor2d(xs, [indices.length, nGenes]),
      e: tf.tensor2d(es, [indices.length, environmentWidth]),
      environmentClass: tf.tensor1d(classes, 'int32'),
    };
  }

  /** One optimiser update (and one adversary update first, for min–max families). */
  #trainStep(indices: number[], context: LossContext): Record<string, number> {
    return tf.tidy(() => {
      const batch = this.#batch(indices);
      const metrics: Record<string, number> = {};
      const adversary = this.#module.adversary;
      if (adversary && this.#adversaryOptimizer && this.#module.adversaryLoss) {
        const { value, grads } = tf.variableGrads(() => this.#module.adversaryLoss?.(batch, context) as tf.Scalar, adversary.list());
        const { norm, scale } = clippingScale(grads, this.#config.gradientClipNorm);
        metrics.discriminator = value.dataSync()[0] as number;
        if (Number.isFinite(norm)) applyScaledGradients(this.#adversaryOptimizer, grads, scale);
      }
      const captured: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const { total, terms } = this.#module.loss(batch, context);
        for (const [name, term] of Object.entries(terms)) captured[name] = tf.keep(term);
        return total;
      }, this.#module.params.list());
      // Clipping's rescale happens inside the optimiser's update where it can (native-blas).
      const { norm, scale } = clippingScale(grads, this.#config.gradientClipNorm);
      // Read before the update: the norm has waited for the gradients already, and on native-blas
      // the update then runs on the addon's thread while the next batch is gathered.
      metrics.loss = value.dataSync()[0] as number;
      metrics.grad_norm = norm;
      for (const [name, term] of Object.entries(captured)) {
        metrics[name] = term.dataSync()[0] as number;
        term.dispose();
      }
      // A non-finite gradient is not applied: the guard stops the run and the parameters stay usable.
      if (Number.isFinite(norm)) applyScaledGradients(this.#optimizer, grads, scale);
      return metrics;
    });
  }
}

function matrixRows(x: Float32Array, nGenes: number): StreamedTrainingData['readRows'] {
  return (samples, out) => {
    for (let r = 0; r < samples.length; r++) {
      const sample = samples[r] as number;
      out.set(x.subarray(sample * nGenes, (sample + 1) * nGenes), r * nGenes);
    }
  };
}

/** The gradients' global L2 norm and the factor that brings it down to at most maxNorm (1 when it is within, or not finite). */
export function clippingScale(grads: tf.NamedTensorMap, maxNorm: number): { norm: number; scale: number } {
  const tensors = Object.values(grads);
  const norm =
    nativeGlobalNorm(tensors) ?? tf.tidy(() => tf.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g))))).dataSync()[0] as number);
  return { norm, scale: norm > maxNorm && Number.isFinite(norm) ? maxNorm / norm : 1 };
}

/** Rescales all gradients together so their global L2 norm is at most maxNorm. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: number } {
  const { norm, scale } = clippingScale(grads, maxNorm);
  if (scale === 1) return { grads, norm };
  return { grads: Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, scale)])), norm };
}
