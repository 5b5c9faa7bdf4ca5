// The Gaussian reconstruction loss ½ Σ_g (x − x̂)² per sample as one kernel, forward and
// backward, where the backend has both (native-blas). tfjs composes it from SquaredDifference,
// Sum and Mul, and differentiates that through Tile, Sub and three Muls: at batch 1024 × 978
// genes, six passes over 4 MB arrays and five temporaries per step. Here the forward is one read
// of x and x̂, the backward one pass per input the tape asks for (only x̂'s: x is data), with the
// composite's values bit for bit (native/blas/src/loss.c). Every other backend runs the composite.
import * as tf from '@tensorflow/tfjs';

/** Kernel name of the fused loss: inputs {x, reconstruction} (same 2-D shape) → [rows]. */
export const GAUSSIAN_NLL = 'CellShiftGaussianNll';
/** Kernel name of its gradient for one input: inputs {dy, a, b} → dy·½·2(a − b), a's shape. */
export const GAUSSIAN_NLL_GRAD = 'CellShiftGaussianNllGrad';

/** The fused loss on the active backend, or null where it has no such kernels or the shapes differ. */
export function fusedGaussianNll(x: tf.Tensor2D, reconstruction: tf.Tensor2D): tf.Tensor1D | null {
  const backend = tf.getBackend();
  if (!tf.getKernel(GAUSSIAN_NLL, backend) || !tf.getKernel(GAUSSIAN_NLL_GRAD, backend)) return null;
  if (x.rank !== 2 || !tf.util.arraysEqual(x.shape, reconstruction.shape)) return null;
  return tf.engine().runKernel(GAUSSIAN_NLL, { x, reconstruction }) as tf.Tensor1D;
}

let registered = false;

/** The gradient of GAUSSIAN_NLL (gradients are registered per kernel name, for every backend). */
export function registerGaussianNllGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: GAUSSIAN_NLL,
    inputsToSave: ['x', 'reconstruction'],
    gradFunc: (dy, saved) => {
      const [x, reconstruction] = saved as [tf.Tensor2D, tf.Tensor2D];
      const grad = (a: tf.Tensor2D, b: tf.Tensor2D) => () =>
        tf.engine().runKernel(GAUSSIAN_NLL_GRAD, { dy: dy as tf.Tensor, a, b }) as tf.Tensor2D;
      return { x: grad(x, reconstruction), reconstruction: grad(reconstruction, x) };
    },
  });
}
