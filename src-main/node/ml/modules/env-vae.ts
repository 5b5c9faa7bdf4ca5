// Environment VAE (seed §4.5): the encoder sees (x, e), the decoder only C, and the prior
// N(μ̄_e, σ̄_e²) comes from an auxiliary net on e, sparsified so each environment moves few
// latent coordinates away from N(0, 1).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import type { Batch, LossContext, LossTerms, ModuleDimensions } from './module.js';
import { PriorShiftVae, vaeObjective } from './vae.js';

export class EnvironmentVaeModule extends PriorShiftVae {
  readonly family = 'env-vae' as const;
  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng) {
    super(config, dims, rng, true);
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return tf.tidy(() => {
      const { z, kl } = this.sampleLatent(batch, context, this.prior.raw(batch.e));
      return vaeObjective(this, batch, z, tf.mean(kl) as tf.Scalar, context);
    });
  }
}
