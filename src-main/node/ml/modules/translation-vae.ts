// Translation VAE (seed §4.8): the encoder infers environment-free factors C₀ ~ N(0, 1); an
// environment-specific sparse offset μ̄_e is added, and the decoder reads C = C₀ + μ̄_e.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { gaussianNll, klStandardNormal, reparameterize } from '../math.js';
import { ParameterSet } from '../parameters.js';
import { AutoencoderModule } from './autoencoder.js';
import { EnvironmentPrior } from './blocks.js';
import type { Batch, Encoding, LossContext, LossTerms, ModuleDimensions, PriorShift } from './module.js';

export class TranslationVaeModule extends AutoencoderModule {
  readonly family = 'translation-vae' as const;
  readonly #offset: EnvironmentPrior;

  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng) {
    super(config, dims, new ParameterSet(rng), { encoderSeesEnvironment: true, decoderSeesEnvironment: false, stochastic: true });
    this.#offset = new EnvironmentPrior(this.params, config, dims.environment, false);
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return tf.tidy(() => {
      const { mean, logVar } = this.encoder.apply(batch.x, batch.e) as { mean: tf.Tensor2D; logVar: tf.Tensor2D };
      const c0 = reparameterize(mean, logVar, context.noise(mean.shape[0], mean.shape[1]));
      const z = tf.add(c0, this.#offset.apply(batch.e).mean) as tf.Tensor2D;
      const reconstruction = tf.mean(gaussianNll(batch.x, this.decode(z, batch.e))) as tf.Scalar;
      const kl = tf.mean(klStandardNormal(mean, logVar)) as tf.Scalar;
      return { total: tf.add(reconstruction, tf.mul(kl, context.klWeight)) as tf.Scalar, terms: { reconstruction, kl } };
    });
  }

  /** The latent C = C₀ + μ̄_e that the decoder reads (mean of C₀ plus the offset). */
  override encode(x: tf.Tensor2D, e: tf.Tensor2D): Encoding {
    const { mean, logVar } = this.encoder.apply(x, e);
    const { mean: offset } = this.#offset.apply(e);
    const shifted = tf.add(mean, offset) as tf.Tensor2D;
    mean.dispose();
    offset.dispose();
    return { mean: shifted, logVar };
  }

  priorShift(e: tf.Tensor2D): PriorShift {
    return this.#offset.apply(e);
  }
}
