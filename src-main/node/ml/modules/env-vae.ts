// Environment VAE (seed §4.5): the encoder sees (x, e), the decoder only C, and the prior
// N(μ̄_e, σ̄_e²) comes from an auxiliary net on e, sparsified so each environment moves few
// latent coordinates away from N(0, 1).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { gaussianNll, klDiagonal, reparameterize } from '../math.js';
import { ParameterSet } from '../parameters.js';
import { AutoencoderModule } from './autoencoder.js';
import { EnvironmentPrior } from './blocks.js';
import type { Batch, LossContext, LossTerms, ModuleDimensions, PriorShift } from './module.js';

export class EnvironmentVaeModule extends AutoencoderModule {
  readonly family = 'env-vae' as const;
  readonly #prior: EnvironmentPrior;

  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng) {
    super(config, dims, new ParameterSet(rng), { encoderSeesEnvironment: true, decoderSeesEnvironment: false, stochastic: true });
    this.#prior = new EnvironmentPrior(this.params, config, dims.environment, true);
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return tf.tidy(() => {
      const { mean, logVar } = this.encode(batch.x, batch.e) as { mean: tf.Tensor2D; logVar: tf.Tensor2D };
      const prior = this.priorShift(batch.e) as { mean: tf.Tensor2D; logStd: tf.Tensor2D };
      const z = reparameterize(mean, logVar, context.noise(mean.shape[0], mean.shape[1]));
      const reconstruction = tf.mean(gaussianNll(batch.x, this.decode(z, batch.e))) as tf.Scalar;
      const kl = tf.mean(klDiagonal(mean, logVar, prior.mean, tf.mul(prior.logStd, 2))) as tf.Scalar;
      return { total: tf.add(reconstruction, tf.mul(kl, context.klWeight)) as tf.Scalar, terms: { reconstruction, kl } };
    });
  }

  priorShift(e: tf.Tensor2D): PriorShift {
    return this.#prior.apply(e);
  }
}
