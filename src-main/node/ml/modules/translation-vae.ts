// Translation VAE (seed §4.8): the encoder infers environment-free factors C₀ ~ N(0, 1); an
// environment-specific sparse offset μ̄_e is added, and the decoder reads C = C₀ + μ̄_e.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import type { Batch, Encoding, LossContext, LossTerms, ModuleDimensions } from './module.js';
import { PriorShiftVae, vaeObjective } from './vae.js';

export class TranslationVaeModule extends PriorShiftVae {
  readonly family = 'translation-vae' as const;
  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng) {
    super(config, dims, rng, false);
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return tf.tidy(() => {
      const { z: c0, kl } = this.sampleLatent(batch, context);
      const z = tf.add(c0, this.prior.apply(batch.e).mean) as tf.Tensor2D;
      return vaeObjective(this, batch, z, tf.mean(kl) as tf.Scalar, context);
    });
  }

  /** The latent C = C₀ + μ̄_e that the decoder reads (mean of C₀ plus the offset). */
  override encode(x: tf.Tensor2D, e: tf.Tensor2D): Encoding {
    const { mean, logVar } = this.encoder.apply(x, e);
    const { mean: offset } = this.prior.apply(e);
    const shifted = tf.add(mean, offset) as tf.Tensor2D;
    mean.dispose();
    offset.dispose();
    return { mean: shifted, logVar };
  }
}
