// VAE (and, with the environment fed to encoder and decoder, the conditional VAE):
// q(C|x[,e]) = N(μ, σ²), p(x|C[,e]) Gaussian, prior N(0, I).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { gaussianNll } from '../math.js';
import { ParameterSet } from '../parameters.js';
import { AutoencoderModule } from './autoencoder.js';
import { EnvironmentPrior } from './blocks.js';
import type { Batch, LossContext, LossTerms, ModuleDimensions, PriorShift } from './module.js';

export class VaeModule extends AutoencoderModule {
  readonly family: 'vae' | 'cvae';

  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng) {
    const conditional = config.family === 'cvae';
    super(config, dims, new ParameterSet(rng), {
      encoderSeesEnvironment: conditional,
      decoderSeesEnvironment: conditional,
      stochastic: true,
    });
    this.family = conditional ? 'cvae' : 'vae';
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return standardNormalVaeLoss(this, batch, context);
  }
}

/** The VAE objective with a N(0, I) prior: Gaussian reconstruction through a sampled latent, plus weighted KL. */
export function standardNormalVaeLoss(module: AutoencoderModule, batch: Batch, context: LossContext): LossTerms {
  return tf.tidy(() => {
    const { z, kl } = module.sampleLatent(batch, context);
    return vaeObjective(module, batch, z, tf.mean(kl) as tf.Scalar, context);
  });
}

/** Every VAE's objective: Gaussian reconstruction of x from the latent z the decoder reads, plus the KL at its schedule's weight. */
export function vaeObjective(module: AutoencoderModule, batch: Batch, z: tf.Tensor2D, kl: tf.Scalar, context: LossContext) {
  const reconstruction = tf.mean(gaussianNll(batch.x, module.decode(z, batch.e))) as tf.Scalar;
  return { total: tf.add(reconstruction, tf.mul(kl, context.klWeight)) as tf.Scalar, terms: { reconstruction, kl } };
}

/**
 * A VAE whose encoder sees the environment and whose decoder does not: the environment acts on
 * the latent only through a learnt shift, N(μ̄_e, σ̄_e²) with `withScale`, else an offset μ̄_e.
 */
export abstract class PriorShiftVae extends AutoencoderModule {
  protected readonly prior: EnvironmentPrior;

  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng, withScale: boolean) {
    super(config, dims, new ParameterSet(rng), { encoderSeesEnvironment: true, decoderSeesEnvironment: false, stochastic: true });
    this.prior = new EnvironmentPrior(this.params, config, dims.environment, withScale);
  }

  priorShift(e: tf.Tensor2D): PriorShift {
    return this.prior.apply(e);
  }
}
