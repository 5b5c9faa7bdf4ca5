// A dense layer with ReLU as one kernel, forward and backward, where the backend has both fused
// kernels (native-blas). tf.fused.matMul fuses only outside gradient recording: while training,
// tfjs runs a ReLU layer as MatMul, Add, Relu and differentiates it through Step, Multiply and
// Sum — five passes over the activations and four temporary arrays per layer. Here the forward is
// one kernel (bias copied into the output, BLAS adds the product, ReLU in place) and the backward
// one reluGrad pass (dx = dy·step(y) and the bias gradient together) plus only the matmuls the
// tape asks for (no dx for a layer fed by the data). Same values as the unfused ops; every other
// backend, and every other activation, goes through tf.fused.matMul unchanged.
import * as tf from '@tensorflow/tfjs';

/** Kernel name of the fused forward: inputs {x, weights, bias} → relu(x·weights + bias). */
export const DENSE_RELU = 'CellShiftDenseRelu';
/** Kernel name of the fused ReLU + bias backward: inputs {dy, y} → [dx, dbias]. */
export const RELU_GRAD = 'CellShiftReluGrad';
/**
 * Kernel name of a linear dense layer: inputs {x, weights, bias} → x·weights + bias. Through
 * tf.fused.matMul a linear layer is a custom-gradient op that reshapes to 3-D and back and adds
 * Identity and Reshape kernels to the tape each way; as one kernel its backward is the two matmuls
 * and the bias's column sums (tfjs's own fused bias gradient, the same Sum).
 */
export const DENSE_LINEAR = 'CellShiftDenseLinear';

export function dense(x: tf.Tensor2D, weights: tf.Tensor2D, bias: tf.Tensor1D, activation: 'linear' | 'relu'): tf.Tensor2D {
  const backend = tf.getBackend();
  if (activation === 'relu' && tf.getKernel(DENSE_RELU, backend) && tf.getKernel(RELU_GRAD, backend)) {
    return tf.engine().runKernel(DENSE_RELU, { x, weights, bias }) as tf.Tensor2D;
  }
  if (activation === 'linear' && tf.getKernel(DENSE_LINEAR, backend)) {
    return tf.engine().runKernel(DENSE_LINEAR, { x, weights, bias }) as tf.Tensor2D;
  }
  return tf.fused.matMul({ a: x, b: weights, bias, activation }) as tf.Tensor2D;
}

let registered = false;

/** The gradients of DENSE_RELU and DENSE_LINEAR (gradients are registered per kernel name, for every backend). */
export function registerDenseGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: DENSE_LINEAR,
    inputsToSave: ['x', 'weights'],
    gradFunc: (dy, saved) => {
      const [x, weights] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dz = dy as tf.Tensor2D;
      return {
        x: () => tf.matMul(dz, weights, false, true),
        weights: () => tf.matMul(x, dz, true, false),
        bias: () => tf.sum(dz, 0),
      };
    },
  });
  tf.registerGradient({
    kernelName: DENSE_RELU,
    inputsToSave: ['x', 'weights'],
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [x, weights, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      // Eager, not inside the closures: the tape runs each closure in its own tidy, which would
      // dispose a result the next one shares. The matmuls stay lazy (no dx for a layer fed by data).
      const [dz, dbias] = tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, y }) as [tf.Tensor2D, tf.Tensor1D];
      return {
        x: () => tf.matMul(dz, weights, false, true),
        weights: () => tf.matMul(x, dz, true, false),
        bias: () => dbias,
      };
    },
  });
}
