// A finished (or running) run's model, rebuilt from its stored config and newest checkpoint,
// for inspection: encode samples, read each environment's prior shift, decode latents to genes.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { RunSummary } from '../../shared/api/domain.js';
import { LabError } from '../../shared/api/errors.js';
import { isEnvironmentAware, modelFamilyRow } from '../../shared/api/model-families.js';
import type { TrainingConfig } from '../../shared/api/training.js';
import { Rng } from '../data/random.js';
import { selectBackend } from '../ml/backend.js';
import { restoreParameters, unpackArrays } from '../ml/checkpoint.js';
import type { GenerativeModule } from '../ml/modules/index.js';
import { prepareRunFeatures, setUpModel } from '../ml/run-setup.js';
import { scoped } from '../ml/scoped.js';
import { type ModelData, type Standardization, standardizationOf } from '../ml/training-data.js';
import type { Store } from '../store/store.js';
import { BoundedCache } from './memo.js';

const BATCH = 1024;
/**
 * Latent samples per forward pass when predicting environment means: the decoder's hidden layer
 * holds them all (~16 MB at 500 hidden units); its output layer runs once per environment.
 */
const PREDICTION_ROWS_PER_PASS = 8192;
/**
 * What one model keeps of what it derives from its dataset (environment means, posterior means):
 * at LINCS size ~200 MB of environment means (50k environments × 978 genes) and 160 MB for PCA's
 * 200,000 posterior means of 200 latents. The analysis worker keeps two models, so at most 1 GB.
 */
export const DERIVED_CACHE_BYTES = 512 * 1024 * 1024;

export class TrainedModel {
  readonly run: RunSummary;
  readonly config: TrainingConfig;
  readonly module: GenerativeModule;
  /** The run's split, environments and their inputs: no expression (rows are read from the store when needed). */
  readonly data: ModelData;
  readonly epoch: number;
  /** What this model derived from its dataset, kept up to a budget in bytes. */
  readonly derived: BoundedCache<unknown>;
  readonly #store: Store;
  readonly #standardization: Standardization | null;

  private constructor(
    store: Store,
    setup: { run: RunSummary; config: TrainingConfig; module: GenerativeModule; data: ModelData },
    epoch: number,
    standardization: Standardization | null,
    cacheBytes: number,
  ) {
    this.#store = store;
    this.run = setup.run;
    this.config = setup.config;
    this.module = setup.module;
    this.data = setup.data;
    this.epoch = epoch;
    this.#standardization = standardization;
    this.derived = new BoundedCache(cacheBytes);
  }

  /**
   * Rebuilds the run's model from its newest checkpoint without reading the expression matrix:
   * the standardisation comes from the checkpoint (training stores it), the split and environments
   * from the store; rows are read when an operation needs them.
   */
  static async load(
    store: Store,
    runId: string,
    { cacheBytes = DERIVED_CACHE_BYTES }: { cacheBytes?: number } = {},
  ): Promise<TrainedModel> {
    await selectBackend();
    const checkpoint = store.runs.latestCheckpoint(runId);
    if (!checkpoint)
      throw new LabError('conflict', `Run "${store.runs.get(runId).name}" has no checkpoint yet: let it finish at least one epoch.`);
    await prepareRunFeatures(store, runId);
    const setup = setUpModel(store, runId);
    const arrays = unpackArrays(checkpoint.weights);
    restoreParameters(setup.module.params, 'params/', arrays);
    if (setup.module.adversary) restoreParameters(setup.module.adversary, 'adversary/', arrays);
    const mean = arrays.find((a) => a.name === 'standardize/mean');
    const std = arrays.find((a) => a.name === 'standardize/std');
    const standardization =
      mean && std
        ? { mean: mean.values, std: std.values }
        : setup.config.standardize
          ? trainingStandardization(store, setup.run.datasetId, setup.data)
          : null;
    return new TrainedModel(store, setup, checkpoint.epoch, standardization, cacheBytes);
  }

  /** The per-gene statistics the model's inputs are z-scored with (null when the run did not standardise). */
  get standardization(): Standardization | null {
    return this.#standardization;
  }

  /**
   * Every sample's row as the model sees it (standardised as in training), in sample order,
   * streamed from the store. `visit` must not use the store: the scan holds its connection.
   */
  forEachModelRow(visit: (sample: number, values: Float32Array) => void): void {
    const s = this.#standardization;
    const g = this.data.nGenes;
    const row = new Float32Array(g);
    this.#store.datasets.forEachExpressionRow(this.run.datasetId, (sample, values) => {
      if (!s) return visit(sample, values);
      for (let k = 0; k < g; k++) row[k] = ((values[k] as number) - (s.mean[k] as number)) / (s.std[k] as number);
      visit(sample, row);
    });
  }

  get latentDim(): number {
    return this.config.model.latentDim;
  }

  get nSamples(): number {
    return this.data.environmentOfSample.length;
  }

  /**
   * Posterior means of the given samples (default all), samples × latentDim. Kept per set of
   * samples (within the derived cache's budget), so a repeated projection or Latents view does not
   * encode again. Only the same set is served from it: a sample's mean depends on the batch it was
   * encoded in by float32 rounding, and the results stay exactly those of a fresh encoding.
   */
  encodeMeans(indices?: ArrayLike<number>): Float32Array {
    const rows = indices ? Int32Array.from(indices) : Int32Array.from({ length: this.nSamples }, (_, i) => i);
    const key = `posterior:${createHash('sha256').update(new Uint8Array(rows.buffer)).digest('base64')}`;
    const kept = this.derived.get(key) as { samples: Int32Array; means: Float32Array } | undefined;
    if (kept && kept.samples.length === rows.length && kept.samples.every((v, k) => v === rows[k])) return kept.means.slice();
    const d = this.latentDim;
    const out = new Float32Array(rows.length * d);
    for (let start = 0; start < rows.length; start += BATCH) {
      const chunk = rows.subarray(start, start + BATCH);
      const values = scoped(() => {
        const { x, e } = this.#inputs(chunk);
        return this.module.encode(x, e).mean.dataSync() as Float32Array;
      });
      out.set(values, start * d);
    }
    this.derived.set(key, { samples: rows, means: out.slice() }, out.byteLength + rows.byteLength);
    return out;
  }

  /** The environment's shift of the latent prior (μ̄_e and log σ̄_e), one row per environment. */
  priorShifts(): { mean: Float32Array; logStd: Float32Array | null } | null {
    const priorShift = this.module.priorShift?.bind(this.module);
    if (!priorShift) return null;
    const nEnv = this.data.environmentKeys.length;
    return scoped(() => {
      const e = tf.tensor2d(this.data.environmentInputs, [nEnv, this.data.environmentWidth]);
      const shift = priorShift(e);
      return { mean: shift.mean.dataSync() as Float32Array, logStd: shift.logStd ? (shift.logStd.dataSync() as Float32Array) : null };
    });
  }

  /** Decodes latents (rows × latentDim) in environment `environment` to expression in the data's units. */
  decode(latents: Float32Array, rows: number, environment: number): Float32Array {
    const values = scoped(() => {
      const z = tf.tensor2d(latents, [rows, this.latentDim]);
      const width = this.data.environmentWidth;
      const e = tf.tile(tf.tensor2d(this.data.environmentInputs.subarray(environment * width, (environment + 1) * width), [1, width]), [
        rows,
        1,
      ]);
      return this.module.decode(z, e as tf.Tensor2D).dataSync() as Float32Array;
    });
    return this.unstandardize(values);
  }

  /**
   * Mean squared reconstruction error per gene, in the data's units, of arbitrary samples (rows ×
   * genes, data units) given to the model as environment `environment` — e.g. data generated in
   * environments the model never saw (the seed's out-of-distribution curves).
   */
  reconstructionError(values: Float32Array, rows: number, environment: number | Float32Array): number {
    const g = this.data.nGenes;
    if (values.length !== rows * g) throw new RangeError(`expected ${rows}×${g} values, got ${values.length}`);
    const s = this.#standardization;
    const input = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      input[i] = s ? ((values[i] as number) - (s.mean[i % g] as number)) / (s.std[i % g] as number) : (values[i] as number);
    }
    const width = this.data.environmentWidth;
    const vector =
      typeof environment === 'number' ? this.data.environmentInputs.subarray(environment * width, (environment + 1) * width) : environment;
    if (vector.length !== width) throw new RangeError(`environment vector has ${vector.length} values, the model expects ${width}`);
    const reconstructed = scoped(() => {
      const x = tf.tensor2d(input, [rows, g]);
      const e = tf.tile(tf.tensor2d(vector, [1, width]), [rows, 1]);
      return this.module.reconstruct(x, e as tf.Tensor2D).dataSync() as Float32Array;
    });
    const back = this.unstandardize(reconstructed);
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += ((values[i] as number) - (back[i] as number)) ** 2;
    return sum / values.length;
  }

  /**
   * The decoder as a genes × latentDim matrix M̃ in the data's units, for linear decoders only
   * (x = M̃ z + b): what the seed's §6.1 compares with the true M.
   */
  linearDecoder(): Float64Array | null {
    if (this.config.model.decoder !== 'linear') return null;
    const weights = this.module.params.named().get('decoder/linear/W');
    if (!weights) return null;
    const d = this.latentDim;
    const g = this.data.nGenes;
    const w = weights.dataSync();
    const rows = weights.shape[0] as number;
    const out = new Float64Array(g * d);
    const std = this.#standardization?.std;
    // W is (latent [+ environment]) × genes; the latent rows come first.
    for (let gene = 0; gene < g; gene++) {
      for (let j = 0; j < Math.min(d, rows); j++) out[gene * d + j] = (w[j * g + gene] as number) * (std ? (std[gene] as number) : 1);
    }
    return out;
  }

  /**
   * The model's predicted mean expression (data units) in an environment given by its input
   * vector e: the average decoding of latents drawn from that environment's prior. Only for
   * families whose output depends on e (conditional, environment and translation VAEs).
   */
  predictEnvironmentMean(environment: Float32Array, samples = 256, seed = 0): Float32Array {
    return this.predictEnvironmentMeans([environment], samples, seed)[0] as Float32Array;
  }

  /**
   * predictEnvironmentMean for many environments, several per forward pass (each with the same
   * noise as when predicted alone, so the results are the same to float32 rounding). The decoder's
   * linear output layer runs once per environment on its mean hidden activation; `decodeEverySample`
   * decodes every sample, then averages (the path before, kept as the bench's reference).
   */
  predictEnvironmentMeans(
    environments: readonly Float32Array[],
    samples = 256,
    seed = 0,
    {
      decodeEverySample = false,
      environmentsPerPass = Math.max(1, Math.floor((decodeEverySample ? 2048 : PREDICTION_ROWS_PER_PASS) / samples)),
    }: { environmentsPerPass?: number; decodeEverySample?: boolean } = {},
  ): Float32Array[] {
    const family = this.#predictableFamily(environments);
    const width = this.data.environmentWidth;
    const d = this.latentDim;
    const g = this.data.nGenes;
    const rng = new Rng(seed).fork('predict');
    const noise = new Float32Array(samples * d);
    rng.fillNormal(noise);
    const shifted = modelFamilyRow(family).priorShift !== 'none';
    const out: Float32Array[] = [];
    for (let start = 0; start < environments.length; start += environmentsPerPass) {
      const chunk = environments.slice(start, start + environmentsPerPass);
      const inputs = new Float32Array(chunk.length * width);
      for (const [k, environment] of chunk.entries()) inputs.set(environment, k * width);
      const decoded = scoped(() => {
        const unique = tf.tensor2d(inputs, [chunk.length, width]);
        if (decodeEverySample) return this.#decodeEverySample(unique, noise, samples, shifted);
        // The prior's shift depends on the environment alone: once per environment, not per sample.
        const shift = shifted ? this.module.priorShift?.(unique) : null;
        const mean = shift ? (shift.mean.dataSync() as Float32Array) : null;
        const scale = shift?.logStd ? (tf.exp(shift.logStd).dataSync() as Float32Array) : null;
        // Row k·samples + s is environment k with noise row s, exactly the rows of a lone prediction
        // (env-vae: z ~ N(μ̄ₑ, σ̄ₑ²); translation-vae: z = C₀ + μ̄ₑ with C₀ ~ N(0, I)). Built here, in
        // float32 as tfjs would: its tile and broadcasting took longer than the decoding itself.
        const rows = new Float32Array(chunk.length * samples * d);
        for (let k = 0; k < chunk.length; k++)
          for (let s = 0; s < samples; s++) {
            const o = (k * samples + s) * d;
            for (let j = 0; j < d; j++) {
              let v = noise[s * d + j] as number;
              if (scale) v = Math.fround(v * (scale[k * d + j] as number));
              if (mean) v += mean[k * d + j] as number;
              rows[o + j] = v;
            }
          }
        return this.module.decodeMeans(tf.tensor2d(rows, [chunk.length * samples, d]), unique).dataSync() as Float32Array;
      });
      const values = this.unstandardize(decoded);
      for (let k = 0; k < chunk.length; k++) out.push(values.slice(k * g, (k + 1) * g));
    }
    return out;
  }

  /**
   * One pass of predictEnvironmentMeans as it was before decodeMeans: latents built with tfjs's
   * tile and broadcasting, every sample decoded to genes, then the mean. The bench's reference.
   */
  #decodeEverySample(unique: tf.Tensor2D, noise: Float32Array, samples: number, shifted: boolean): Float32Array {
    const [environments, width] = unique.shape;
    const d = this.latentDim;
    const e = tf.reshape(tf.tile(tf.reshape(unique, [environments, 1, width]), [1, samples, 1]), [environments * samples, width]);
    let z: tf.Tensor = tf.reshape(tf.tile(tf.tensor2d(noise, [samples, d]), [environments, 1]), [environments, samples, d]);
    const shift = shifted ? this.module.priorShift?.(unique) : null;
    if (shift) {
      if (shift.logStd) z = tf.mul(z, tf.reshape(tf.exp(shift.logStd), [environments, 1, d]));
      z = tf.add(z, tf.reshape(shift.mean, [environments, 1, d]));
    }
    const decoded = this.module.decode(tf.reshape(z, [environments * samples, d]) as tf.Tensor2D, e as tf.Tensor2D);
    return tf.mean(tf.reshape(decoded, [environments, samples, this.data.nGenes]), 1).dataSync() as Float32Array;
  }

  /**
   * predictEnvironmentMean as it was before batching: one forward pass per environment, the prior
   * shift computed for every sample. The reference for the bench and the identity test.
   */
  predictEnvironmentMeanUnbatched(environment: Float32Array, samples = 256, seed = 0): Float32Array {
    const family = this.#predictableFamily([environment]);
    const width = this.data.environmentWidth;
    const d = this.latentDim;
    const rng = new Rng(seed).fork('predict');
    const noise = new Float32Array(samples * d);
    rng.fillNormal(noise);
    const decoded = scoped(() => {
      const e = tf.tile(tf.tensor2d(environment, [1, width]), [samples, 1]) as tf.Tensor2D;
      let z = tf.tensor2d(noise, [samples, d]) as tf.Tensor2D;
      const shift = modelFamilyRow(family).priorShift === 'none' ? null : this.module.priorShift?.(e);
      if (shift) {
        if (shift.logStd) z = tf.mul(z, tf.exp(shift.logStd)) as tf.Tensor2D;
        z = tf.add(z, shift.mean) as tf.Tensor2D;
      }
      return tf.mean(this.module.decode(z, e), 0).dataSync() as Float32Array;
    });
    return this.unstandardize(decoded);
  }

  /** The run's family, when it can predict environments and every vector has the model's width. */
  #predictableFamily(environments: readonly Float32Array[]): TrainingConfig['model']['family'] {
    const family = this.config.model.family;
    if (!isEnvironmentAware(family)) {
      throw new LabError('conflict', `A ${family} does not condition on the environment, so it cannot predict one.`);
    }
    const width = this.data.environmentWidth;
    for (const environment of environments)
      if (environment.length !== width)
        throw new RangeError(`environment vector has ${environment.length} values, the model expects ${width}`);
    return family;
  }

  /** Back from model units (per-gene z-scores) to the dataset's units. */
  unstandardize(values: Float32Array): Float32Array {
    const s = this.#standardization;
    if (!s) return values;
    const g = this.data.nGenes;
    const out = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) * (s.std[i % g] as number) + (s.mean[i % g] as number);
    return out;
  }

  dispose(): void {
    this.derived.clear();
    this.module.dispose();
  }

  /** The samples' rows (read from the store, standardised as in training) and their environments' inputs. */
  #inputs(indices: Int32Array): { x: tf.Tensor2D; e: tf.Tensor2D } {
    const { nGenes, environmentOfSample, environmentInputs, environmentWidth } = this.data;
    const xs = this.#store.datasets.expressionRowsAt(this.run.datasetId, indices);
    const s = this.#standardization;
    if (s)
      for (let offset = 0; offset < xs.length; offset += nGenes)
        for (let g = 0; g < nGenes; g++) xs[offset + g] = ((xs[offset + g] as number) - (s.mean[g] as number)) / (s.std[g] as number);
    const es = new Float32Array(indices.length * environmentWidth);
    indices.forEach((sample, row) => {
      const env = environmentOfSample[sample] as number;
      es.set(environmentInputs.subarray(env * environmentWidth, (env + 1) * environmentWidth), row * environmentWidth);
    });
    return { x: tf.tensor2d(xs, [indices.length, nGenes]), e: tf.tensor2d(es, [indices.length, environmentWidth]) };
  }
}

/** The training rows' per-gene statistics, streamed: for a checkpoint that did not store them. */
function trainingStandardization(store: Store, datasetId: string, data: ModelData): Standardization {
  const training = new Uint8Array(data.environmentOfSample.length);
  for (const i of data.trainIndices) training[i] = 1;
  return standardizationOf(data.nGenes, data.trainIndices.length, (visit) =>
    store.datasets.forEachExpressionRow(datasetId, (sample, values) => {
      if (training[sample]) visit(sample, values);
    }),
  );
}
