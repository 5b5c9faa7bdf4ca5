// The probabilistic pieces shared by the model families (seed §4.5, §4.8 and appendix A).
import * as tf from '@tensorflow/tfjs';
import { fusedGaussianNll } from './native/nll.js';

/**
 * Sparsification of an environment's prior parameter: v ⊙ softmax(|v| / T) along the latent axis.
 * The softmax puts most weight on the largest |v_i|, so as T falls all but a few coordinates are
 * pushed towards zero, i.e. towards the reference N(0, 1) in those coordinates.
 */
export function sparsify(v: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(v, tf.softmax(tf.div(tf.abs(v), temperature), -1)));
}

/** Squashes a raw log-variance (or log-std) into [-bound, bound] smoothly: the guard against the
 *  runaway log σ that makes a plain Environment VAE's loss go to inf. */
export function boundLog(raw: tf.Tensor2D, bound: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.tanh(tf.div(raw, bound)), bound));
}

/**
 * KL( N(μ, diag e^{logVar}) || N(μp, diag e^{logVarP}) ), summed over latent dims, one value per
 * sample (appendix A):  ½ Σ [ logVarP − logVar − 1 + (e^{logVar} + (μ − μp)²) / e^{logVarP} ].
 */
export function klDiagonal(mean: tf.Tensor2D, logVar: tf.Tensor2D, priorMean: tf.Tensor2D, priorLogVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const ratio = tf.div(tf.add(tf.exp(logVar), tf.square(tf.sub(mean, priorMean))), tf.exp(priorLogVar));
    return tf.mul(tf.sum(tf.sub(tf.add(tf.sub(priorLogVar, logVar), ratio), 1), -1), 0.5) as tf.Tensor1D;
  });
}

/** KL to the standard normal, the special case μp = 0, logVarP = 0. */
export function klStandardNormal(mean: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(tf.sum(tf.sub(tf.add(tf.exp(logVar), tf.square(mean)), tf.add(logVar, 1)), -1), 0.5) as tf.Tensor1D);
}

/** Negative log-likelihood of x under N(x̂, I) without its constant: ½ Σ_g (x − x̂)², per sample.
 *  One fused kernel each way on native-blas (native/nll.ts), the same values. */
export function gaussianNll(x: tf.Tensor2D, reconstruction: tf.Tensor2D): tf.Tensor1D {
  return (
    fusedGaussianNll(x, reconstruction) ?? tf.tidy(() => tf.mul(tf.sum(tf.squaredDifference(x, reconstruction), -1), 0.5) as tf.Tensor1D)
  );
}

/** z = μ + σ ⊙ ε with ε supplied by the caller (seeded), so gradients flow through μ and logVar. */
export function reparameterize(mean: tf.Tensor2D, logVar: tf.Tensor2D, noise: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), noise)));
}
