// Adversarial prior autoencoder (seed §4.10). A deterministic encoder gives Z; an attention
// α(e) (summing to 1) picks the coordinates environment e may move; the counterfactual
// Z̃ = α⊙ε + (1−α)⊙Z resets those to noise; a discriminator tries to name the environment from
// Z̃. The autoencoder works against it, so environment information must live where α points.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { gaussianNll } from '../math.js';
import { OneHiddenLayer, ParameterSet } from '../parameters.js';
import { AutoencoderModule } from './autoencoder.js';
import type { Batch, LossContext, LossTerms, ModuleDimensions, PriorShift } from './module.js';

export class AdversarialPriorModule extends AutoencoderModule {
  readonly family = 'adversarial-prior-ae' as const;
  override readonly adversary: ParameterSet;
  readonly #attention: OneHiddenLayer;
  readonly #discriminator: OneHiddenLayer;
  /** The autoencoder gains nothing from pushing the discriminator beyond chance by this margin;
   *  without a cap the min–max term is unbounded below and training diverges. */
  readonly #crossEntropyCap: number;

  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng) {
    super(config, dims, new ParameterSet(rng.fork('main')), {
      encoderSeesEnvironment: true,
      decoderSeesEnvironment: false,
      stochastic: false,
    });
    this.adversary = new ParameterSet(rng.fork('adversary'));
    this.#attention = new OneHiddenLayer(this.params, 'attention', dims.environment, config.hiddenUnits, config.latentDim);
    const classes = Math.max(2, dims.environmentClasses);
    this.#discriminator = new OneHiddenLayer(this.adversary, 'discriminator', config.latentDim, config.hiddenUnits, classes);
    this.#crossEntropyCap = 2 * Math.log(classes);
  }

  attention(e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(tf.div(this.#attention.apply(e), this.config.temperature), -1) as tf.Tensor2D);
  }

  #counterfactual(z: tf.Tensor2D, e: tf.Tensor2D, context: LossContext): tf.Tensor2D {
    return tf.tidy(() => {
      const alpha = this.attention(e);
      const noise = context.noise(z.shape[0], z.shape[1]);
      return tf.add(tf.mul(alpha, noise), tf.mul(tf.sub(1, alpha), z)) as tf.Tensor2D;
    });
  }

  #discriminatorCrossEntropy(zTilde: tf.Tensor2D, classes: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => {
      const logits = this.#discriminator.apply(zTilde);
      const oneHot = tf.oneHot(tf.cast(classes, 'int32'), logits.shape[1]);
      return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
    });
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return tf.tidy(() => {
      const z = this.encoder.apply(batch.x, batch.e).mean;
      const reconstruction = tf.mean(gaussianNll(batch.x, this.decoder.apply(z, batch.e))) as tf.Scalar;
      const crossEntropy = this.#discriminatorCrossEntropy(this.#counterfactual(z, batch.e, context), batch.environmentClass);
      const fooled = tf.minimum(crossEntropy, this.#crossEntropyCap) as tf.Scalar;
      const weight = context.klWeight * this.config.adversaryWeight;
      return {
        total: tf.sub(reconstruction, tf.mul(fooled, weight)) as tf.Scalar,
        terms: { reconstruction, adversary: crossEntropy },
      };
    });
  }

  adversaryLoss(batch: Batch, context: LossContext): tf.Scalar {
    return tf.tidy(() => {
      const z = this.encoder.apply(batch.x, batch.e).mean;
      return this.#discriminatorCrossEntropy(this.#counterfactual(z, batch.e, context), batch.environmentClass);
    });
  }

  /** For this family the "shift" is where the environment is allowed to act: its attention α(e). */
  priorShift(e: tf.Tensor2D): PriorShift {
    return { mean: this.attention(e), logStd: null };
  }
}
