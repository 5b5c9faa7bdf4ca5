// Networks the families are assembled from. Every one is a one-hidden-layer MLP (seed §6.5).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import { boundLog, klDiagonal, klStandardNormal, reparameterize, sparsify } from '../math.js';
import { fusedGaussianLatent } from '../native/latent.js';
import { type Dense, OneHiddenLayer, type ParameterSet } from '../parameters.js';
import type { Encoding, PriorShift } from './module.js';

/** Encoder over x, optionally conditioned on e by concatenation or by FiLM on its hidden layer. */
export class Encoder {
  readonly #net: OneHiddenLayer;
  readonly #film: Dense | null;
  readonly #usesEnvironment: boolean;
  readonly #config: ModelConfig;
  readonly #stochastic: boolean;

  constructor(
    params: ParameterSet,
    config: ModelConfig,
    dims: { genes: number; environment: number },
    options: { usesEnvironment: boolean; stochastic: boolean },
  ) {
    this.#config = config;
    this.#usesEnvironment = options.usesEnvironment;
    this.#stochastic = options.stochastic;
    const film = options.usesEnvironment && config.encoderConditioning === 'film';
    const inputs = dims.genes + (options.usesEnvironment && !film ? dims.environment : 0);
    const outputs = config.latentDim * (options.stochastic ? 2 : 1);
    this.#net = new OneHiddenLayer(params, 'encoder', inputs, config.hiddenUnits, outputs);
    this.#film = film ? params.dense('encoder/film', dims.environment, 2 * config.hiddenUnits) : null;
  }

  /** The network's output before the posterior is read from it: [μ | raw log σ²] when stochastic. */
  raw(x: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const film = this.#film;
      const input = this.#usesEnvironment && !film ? tf.concat([x, e], 1) : x;
      const modulate = film
        ? (h: tf.Tensor2D) => {
            // FiLM: h ⊙ (1 + γ(e)) + β(e); starting at γ = β = 0 leaves the encoder unconditioned.
            const [gamma, beta] = tf.split(film.apply(e), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
            return tf.add(tf.mul(h, tf.add(gamma, 1)), beta) as tf.Tensor2D;
          }
        : undefined;
      return this.#net.apply(input, modulate);
    });
  }

  apply(x: tf.Tensor2D, e: tf.Tensor2D): Encoding {
    const out = this.raw(x, e);
    return this.#stochastic ? posteriorFromRaw(out, this.#config) : { mean: out, logVar: null };
  }
}

/** [μ | raw log σ²] → the posterior's mean and its log-variance, bounded to ±logVarBound. */
function posteriorFromRaw(raw: tf.Tensor2D, config: ModelConfig): { mean: tf.Tensor2D; logVar: tf.Tensor2D } {
  return splitPair(
    raw,
    (rawLogVar) => boundLog(rawLogVar, config.logVarBound),
    (mean, logVar) => ({ mean, logVar }),
  );
}

/**
 * One reparameterised sample of the Gaussian posterior q(C|x, e) = N(μ, e^{logVar}) read from the
 * encoder's raw output, and the KL of q to the prior, per sample: N(0, I) without priorRaw, else
 * the Environment VAE's N(μ̄_e, σ̄_e²) read from the prior net's raw output. One fused kernel each
 * way on native-blas (native/latent.ts); this composite everywhere else, and the definition.
 */
export function sampleLatent(
  posteriorRaw: tf.Tensor2D,
  noise: tf.Tensor2D,
  priorRaw: tf.Tensor2D | null,
  config: ModelConfig,
): { z: tf.Tensor2D; kl: tf.Tensor1D } {
  const fused = fusedGaussianLatent(posteriorRaw, noise, priorRaw, {
    logVarBound: config.logVarBound,
    priorBound: priorLogStdBound(config),
    temperature: config.temperature,
  });
  if (fused) return fused;
  return tf.tidy(() => {
    const { mean, logVar } = posteriorFromRaw(tf.clone(posteriorRaw), config);
    const z = reparameterize(mean, logVar, noise);
    if (!priorRaw) return { z, kl: klStandardNormal(mean, logVar) };
    const prior = priorShiftFromRaw(tf.clone(priorRaw), config);
    return { z, kl: klDiagonal(mean, logVar, prior.mean, tf.mul(prior.logStd, 2)) };
  });
}

export class Decoder {
  readonly #net: OneHiddenLayer | Dense;
  readonly #usesEnvironment: boolean;

  constructor(params: ParameterSet, config: ModelConfig, dims: { genes: number; environment: number }, usesEnvironment: boolean) {
    this.#usesEnvironment = usesEnvironment;
    const inputs = config.latentDim + (usesEnvironment ? dims.environment : 0);
    this.#net =
      config.decoder === 'linear'
        ? params.dense('decoder/linear', inputs, dims.genes)
        : new OneHiddenLayer(params, 'decoder', inputs, config.hiddenUnits, dims.genes);
  }

  apply(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.#net.apply(this.#usesEnvironment ? tf.concat([z, e], 1) : z));
  }

  /**
   * The mean decoding of each environment's latents: z holds `samples` consecutive rows per row of
   * e (one environment each); the result has one row per environment.
   */
  applyMeans(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const environments = e.shape[0];
      const samples = z.shape[0] / environments;
      if (!this.#usesEnvironment) return this.#net.applyGroupMeans(z, samples);
      const width = e.shape[1];
      const perRow = tf.reshape(tf.tile(tf.reshape(e, [environments, 1, width]), [1, samples, 1]), [environments * samples, width]);
      return this.#net.applyGroupMeans(tf.concat([z, perRow as tf.Tensor2D], 1), samples);
    });
  }
}

/**
 * The auxiliary network of the Environment VAE (and the offset net of the Translation VAE):
 * e ↦ (μ_e, log σ_e), each sparsified with temperature T (seed §4.5).
 */
export class EnvironmentPrior {
  readonly #net: OneHiddenLayer;
  readonly #config: ModelConfig;
  readonly #withScale: boolean;

  constructor(params: ParameterSet, config: ModelConfig, environmentWidth: number, withScale: boolean) {
    this.#config = config;
    this.#withScale = withScale;
    this.#net = new OneHiddenLayer(params, 'prior', environmentWidth, config.hiddenUnits, config.latentDim * (withScale ? 2 : 1));
  }

  /** The network's output before the shift is read from it: [raw μ̄ | raw log σ̄] with scale, else raw μ̄. */
  raw(e: tf.Tensor2D): tf.Tensor2D {
    return this.#net.apply(e);
  }

  apply(e: tf.Tensor2D): PriorShift {
    const out = this.raw(e);
    if (this.#withScale) return priorShiftFromRaw(out, this.#config);
    const mean = sparsify(out, this.#config.temperature);
    out.dispose();
    return { mean, logStd: null };
  }
}

/** log σ̄ is bounded before sparsifying, so the prior variance stays within e^{±logVarBound}. */
function priorLogStdBound(config: ModelConfig): number {
  return config.logVarBound / 2;
}

/** [raw μ̄ | raw log σ̄] → the sparsified shift of an environment's prior (disposes raw). */
function priorShiftFromRaw(raw: tf.Tensor2D, config: ModelConfig): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
  const temperature = config.temperature;
  return splitPair(
    raw,
    (rawLogStd) => tf.tidy(() => sparsify(boundLog(rawLogStd, priorLogStdBound(config)), temperature)),
    (rawMean, logStd) => {
      const mean = sparsify(rawMean, temperature);
      rawMean.dispose();
      return { mean, logStd };
    },
  );
}

/** Splits [a | b] column-wise, maps b, disposes the intermediates, and builds the result. */
function splitPair<T>(out: tf.Tensor2D, mapSecond: (b: tf.Tensor2D) => tf.Tensor2D, build: (a: tf.Tensor2D, b: tf.Tensor2D) => T): T {
  const [a, rawB] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  out.dispose();
  const b = mapSecond(rawB);
  rawB.dispose();
  return build(a, b);
}
