// A VAE's latent block — the posterior sample z = μ + e^{logVar/2}·ε and the KL of q(C|x, e) to
// its prior, per sample — as one kernel each way on native-blas (native/blas/src/latent.c).
// tfjs runs the block as ~35 small ops forward (split, the tanh bound, the reparameterisation,
// the KL; with the Environment VAE's learnt prior also two sparsifying softmaxes) and ~60
// backward, each a dispatch, a tape entry and a fresh [batch, latent] array: at batch 64 most of
// a step's per-op overhead. The math stays defined once, by the composite in
// modules/blocks.ts (sampleLatent), which every other backend runs and the tests compare with.
import * as tf from '@tensorflow/tfjs';
import type { NativeBinding } from './addon.js';
import { kernelOutput } from './backend.js';
import { asFloats, type Kernel } from './kernels.js';

/** Kernel name of the fused block: inputs {posterior, noise, prior} → [z, kl]. */
export const GAUSSIAN_LATENT = 'CellShiftGaussianLatent';
/** Kernel name of its gradient: inputs {dz, dkl, posterior, noise, prior} → [dPosterior, dPrior]. */
export const GAUSSIAN_LATENT_GRAD = 'CellShiftGaussianLatentGrad';

export interface LatentBlockAttrs {
  /** Bound B of the posterior's log-variance, B·tanh(a/B). */
  logVarBound: number;
  /** Bound of the prior's log σ̄ (half the log-variance bound). */
  priorBound: number;
  /** Sparsification temperature T of the prior's parameters. */
  temperature: number;
}

/**
 * z and the per-sample KL from the fused kernel, or null where the backend has none. posterior
 * is the encoder's raw [μ | a] ([rows, 2·latent]), prior the prior net's raw [p | s] or null for N(0, I).
 */
export function fusedGaussianLatent(
  posterior: tf.Tensor2D,
  noise: tf.Tensor2D,
  prior: tf.Tensor2D | null,
  attrs: LatentBlockAttrs,
): { z: tf.Tensor2D; kl: tf.Tensor1D } | null {
  const backend = tf.getBackend();
  if (!tf.getKernel(GAUSSIAN_LATENT, backend) || !tf.getKernel(GAUSSIAN_LATENT_GRAD, backend)) return null;
  // An empty prior stands for N(0, I): every input the gradient saves must exist.
  const inputs = { posterior, noise, prior: prior ?? tf.tensor1d([], 'float32') };
  const [z, kl] = tf.engine().runKernel(GAUSSIAN_LATENT, inputs, attrs as unknown as tf.NamedAttrMap) as [tf.Tensor2D, tf.Tensor1D];
  return { z, kl };
}

let registered = false;

/** The gradient of GAUSSIAN_LATENT (gradients are registered per kernel name, for every backend). */
export function registerGaussianLatentGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: GAUSSIAN_LATENT,
    inputsToSave: ['posterior', 'noise', 'prior'],
    gradFunc: (dys, saved, attrs) => {
      const [posterior, noise, prior] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor];
      const [dz, dkl] = dys as (tf.Tensor | null)[];
      const empty = () => tf.tensor1d([], 'float32');
      // Eager, not inside the closures: both gradients come from one call (see dense.ts).
      const [dPosterior, dPrior] = tf
        .engine()
        .runKernel(GAUSSIAN_LATENT_GRAD, { dz: dz ?? empty(), dkl: dkl ?? empty(), posterior, noise, prior }, attrs as tf.NamedAttrMap) as [
        tf.Tensor2D,
        tf.Tensor,
      ];
      return { posterior: () => dPosterior, prior: () => dPrior, noise: () => tf.zerosLike(noise) };
    },
  });
}

/** The native kernels of the fused block and its gradient. */
export function latentKernels(native: NativeBinding): { forward: Kernel; gradient: Kernel } | null {
  const { gaussianLatent, gaussianLatentGrad } = native;
  if (!gaussianLatent || !gaussianLatentGrad) return null;
  const shapes = (posterior: tf.TensorInfo, noise: tf.TensorInfo, prior: tf.TensorInfo) => {
    const [rows, width] = posterior.shape as [number, number];
    const latent = width / 2;
    const ok =
      posterior.shape.length === 2 &&
      Number.isInteger(latent) &&
      latent > 0 &&
      noise.shape.length === 2 &&
      noise.shape[0] === rows &&
      noise.shape[1] === latent &&
      (prior.shape.length === 1 ? prior.shape[0] === 0 : prior.shape[0] === rows && prior.shape[1] === width);
    if (!ok) {
      throw new Error(
        `${GAUSSIAN_LATENT}: posterior [${posterior.shape}] must be [rows, 2·latent], noise [${noise.shape}] [rows, latent], prior [${prior.shape}] empty or the posterior's shape`,
      );
    }
    return { rows, latent };
  };
  const scalars = (attrs: tf.NamedAttrMap | undefined) => {
    const { logVarBound, priorBound, temperature } = attrs as unknown as LatentBlockAttrs;
    return [logVarBound, priorBound, temperature] as const;
  };
  const EMPTY = new Float32Array(0);
  return {
    forward: ({ inputs, backend, attrs }) => {
      const { posterior, noise, prior } = inputs as Record<'posterior' | 'noise' | 'prior', tf.TensorInfo>;
      const { rows, latent } = shapes(posterior, noise, prior);
      const z = kernelOutput(backend, rows * latent);
      const kl = kernelOutput(backend, rows);
      if (rows > 0) {
        const priorValues = prior.shape.length === 1 ? EMPTY : asFloats(backend, prior);
        gaussianLatent(z, kl, asFloats(backend, posterior), asFloats(backend, noise), priorValues, rows, latent, ...scalars(attrs));
      }
      return [backend.makeTensorInfo([rows, latent], 'float32', z), backend.makeTensorInfo([rows], 'float32', kl)];
    },
    gradient: ({ inputs, backend, attrs }) => {
      const { dz, dkl, posterior, noise, prior } = inputs as Record<'dz' | 'dkl' | 'posterior' | 'noise' | 'prior', tf.TensorInfo>;
      const { rows, latent } = shapes(posterior, noise, prior);
      const withPrior = prior.shape.length === 2;
      const dPosterior = kernelOutput(backend, rows * 2 * latent);
      const dPrior = withPrior ? kernelOutput(backend, rows * 2 * latent) : new Float32Array(0);
      // A [0] tensor stands for "no gradient reached this output" (dz, dkl) or N(0, I) (prior).
      const valuesOrEmpty = (t: tf.TensorInfo) => (t.shape.length === 1 && t.shape[0] === 0 ? EMPTY : asFloats(backend, t));
      if (rows > 0) {
        gaussianLatentGrad(
          dPosterior,
          dPrior,
          valuesOrEmpty(dz),
          valuesOrEmpty(dkl),
          asFloats(backend, posterior),
          asFloats(backend, noise),
          valuesOrEmpty(prior),
          rows,
          latent,
          ...scalars(attrs),
        );
      }
      return [
        backend.makeTensorInfo([rows, 2 * latent], 'float32', dPosterior),
        backend.makeTensorInfo(withPrior ? [rows, 2 * latent] : [0], 'float32', dPrior),
      ];
    },
  };
}
