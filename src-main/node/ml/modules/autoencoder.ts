// What every family shares: an encoder, a decoder, reconstruction through the posterior mean.
// A family adds its loss (and its prior, attention or adversary) on top.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, ModelFamily } from '../../../shared/api/training.js';
import type { ParameterSet } from '../parameters.js';
import { Decoder, Encoder, sampleLatent } from './blocks.js';
import type { Batch, Encoding, GenerativeModule, LossContext, LossTerms, ModuleDimensions } from './module.js';

export interface AutoencoderShape {
  encoderSeesEnvironment: boolean;
  decoderSeesEnvironment: boolean;
  /** Gaussian posterior (VAEs) or a point estimate (autoencoders). */
  stochastic: boolean;
}

export abstract class AutoencoderModule implements GenerativeModule {
  abstract readonly family: ModelFamily;
  readonly adversary: ParameterSet | null = null;
  protected readonly encoder: Encoder;
  protected readonly decoder: Decoder;

  constructor(
    readonly config: ModelConfig,
    readonly dims: ModuleDimensions,
    readonly params: ParameterSet,
    shape: AutoencoderShape,
  ) {
    this.encoder = new Encoder(params, config, dims, { usesEnvironment: shape.encoderSeesEnvironment, stochastic: shape.stochastic });
    this.decoder = new Decoder(params, config, dims, shape.decoderSeesEnvironment);
  }

  abstract loss(batch: Batch, context: LossContext): LossTerms;

  encode(x: tf.Tensor2D, e: tf.Tensor2D): Encoding {
    return this.encoder.apply(x, e);
  }

  decode(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return this.decoder.apply(z, e);
  }

  decodeMeans(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return this.decoder.applyMeans(z, e);
  }

  /**
   * One reparameterised sample z of the batch's Gaussian posterior and the KL of the posterior to
   * the prior, per sample: N(0, I) without priorRaw, else the one the prior net's raw output sets
   * (blocks.ts sampleLatent). Stochastic encoders only.
   */
  sampleLatent(batch: Batch, context: LossContext, priorRaw: tf.Tensor2D | null = null): { z: tf.Tensor2D; kl: tf.Tensor1D } {
    return tf.tidy(() => {
      const raw = this.encoder.raw(batch.x, batch.e);
      return sampleLatent(raw, context.noise(raw.shape[0], this.config.latentDim), priorRaw, this.config);
    });
  }

  reconstruct(x: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.decode(this.encode(x, e).mean, e));
  }

  dispose(): void {
    this.params.dispose();
    this.adversary?.dispose();
  }
}
