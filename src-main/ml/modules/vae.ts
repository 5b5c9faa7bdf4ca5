// VAE (and, with the environment fed to encoder and decoder, the conditional VAE):
// q(C|x[,e]) = N(μ, σ²), p(x|C[,e]) Gaussian, prior N(0, I).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../api/training.js';
import type { Rng } from '../../data/random.js';
import { gaussianNll, klStandardNormal, reparameterize } from '../math.js';
import { ParameterSet } from '../parameters.js';
import { Decoder, Encoder } from './blocks.js';
import type { Batch, Encoding, GenerativeModule, LossContext, LossTerms, ModuleDimensions } from './module.js';

export class VaeModule implements GenerativeModule {
  readonly family: 'vae' | 'cvae';
  readonly params: ParameterSet;
  readonly adversary = null;
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;

  constructor(
    readonly config: ModelConfig,
    readonly dims: ModuleDimensions,
    rng: Rng,
  ) {
    this.family = config.family === 'cvae' ? 'cvae' : 'vae';
    const conditional = this.family === 'cvae';
    this.params = new ParameterSet(rng);
    this.#encoder = new Encoder(this.params, config, dims, { usesEnvironment: conditional, stochastic: true });
    this.#decoder = new Decoder(this.params, config, dims, conditional);
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return tf.tidy(() => {
      const { mean, logVar } = this.encode(batch.x, batch.e) as { mean: tf.Tensor2D; logVar: tf.Tensor2D };
      const z = reparameterize(mean, logVar, context.noise(mean.shape[0], mean.shape[1]));
      const reconstruction = tf.mean(gaussianNll(batch.x, this.decode(z, batch.e))) as tf.Scalar;
      const kl = tf.mean(klStandardNormal(mean, logVar)) as tf.Scalar;
      return { total: tf.add(reconstruction, tf.mul(kl, context.klWeight)) as tf.Scalar, terms: { reconstruction, kl } };
    });
  }

  encode(x: tf.Tensor2D, e: tf.Tensor2D): Encoding {
    return this.#encoder.apply(x, e);
  }

  decode(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return this.#decoder.apply(z, e);
  }

  reconstruct(x: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.decode(this.encode(x, e).mean, e));
  }

  dispose(): void {
    this.params.dispose();
  }
}
