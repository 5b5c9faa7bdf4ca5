// VAE (and, with the environment fed to encoder and decoder, the conditional VAE):
// q(C|x[,e]) = N(μ, σ²), p(x|C[,e]) Gaussian, prior N(0, I).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { gaussianNll, klStandardNormal, reparameterize } from '../math.js';
import { ParameterSet } from '../parameters.js';
import { AutoencoderModule } from './autoencoder.js';
import type { Batch, LossContext, LossTerms, ModuleDimensions } from './module.js';

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
    const { mean, logVar } = module.encode(batch.x, batch.e) as { mean: tf.Tensor2D; logVar: tf.Tensor2D };
    const z = reparameterize(mean, logVar, context.noise(mean.shape[0], mean.shape[1]));
    const reconstruction = tf.mean(gaussianNll(batch.x, module.decode(z, batch.e))) as tf.Scalar;
    const kl = tf.mean(klStandardNormal(mean, logVar)) as tf.Scalar;
    return { total: tf.add(reconstruction, tf.mul(kl, context.klWeight)) as tf.Scalar, terms: { reconstruction, kl } };
  });
}
