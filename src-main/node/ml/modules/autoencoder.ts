// What every family shares: an encoder, a decoder, reconstruction through the posterior mean.
// A family adds its loss (and its prior, attention or adversary) on top.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, ModelFamily } from '../../../shared/api/training.js';
import type { ParameterSet } from '../parameters.js';
import { Decoder, Encoder } from './blocks.js';
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

  reconstruct(x: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.decode(this.encode(x, e).mean, e));
  }

  dispose(): void {
    this.params.dispose();
    this.adversary?.dispose();
  }
}
