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

/**
 * Kernel name of a one-hidden-layer MLP, the shape of every network of the seed: inputs {x,
 * hiddenWeights, hiddenBias, outputWeights, outputBias} → y = relu(x·W₁ + b₁)·W₂ + b₂. As two layer
 * kernels the tape records two ops forward and, backward, a ReluGrad, a Sum and four or five
 * BatchMatMuls, each a dispatch, a tape entry and clones of saved tensors; as one op its backward
 * is one kernel (MLP_GRAD) plus, only where the tape asks for it, the input's matmul. The same
 * addon calls in the same order as the two layer kernels, so the same values bit for bit. With
 * attr keepHidden the hidden activations h stay with y's data for the gradient (NativeBackend
 * keepWith), freed with it.
 */
export const MLP = 'CellShiftMlp';
/** Kernel name of its backward: inputs {dy, x, outputWeights, y} (h found through y) → [dz, dHiddenWeights, dHiddenBias, dOutputWeights, dOutputBias], dz the gradient before the hidden ReLU. */
export const MLP_GRAD = 'CellShiftMlpGrad';

export interface DenseParameters {
  weights: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/**
 * relu(x·W₁ + b₁)·W₂ + b₂ as one op where the backend has the MLP kernels (native-blas), else
 * null: the caller then runs its two layers (OneHiddenLayer, the definition).
 */
export function fusedOneHiddenLayer(x: tf.Tensor2D, hidden: DenseParameters, output: DenseParameters): tf.Tensor2D | null {
  const backend = tf.getBackend();
  if (!tf.getKernel(MLP, backend) || !tf.getKernel(MLP_GRAD, backend)) return null;
  const inputs = { x, hiddenWeights: hidden.weights, hiddenBias: hidden.bias, outputWeights: output.weights, outputBias: output.bias };
  // h is kept only while gradients are being recorded (inference frees it at once).
  return tf.engine().runKernel(MLP, inputs, { keepHidden: tf.engine().isTapeOn() }) as tf.Tensor2D;
}

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

/** The gradients of DENSE_RELU, DENSE_LINEAR and MLP (gradients are registered per kernel name, for every backend). */
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
  tf.registerGradient({
    kernelName: MLP,
    inputsToSave: ['x', 'hiddenWeights', 'outputWeights'],
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [x, hiddenWeights, outputWeights, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      // Eager, as in DENSE_RELU: one kernel for every gradient but the input's, which stays lazy
      // (no dx for a network fed by the data).
      const [dz, dHiddenWeights, dHiddenBias, dOutputWeights, dOutputBias] = tf
        .engine()
        .runKernel(MLP_GRAD, { dy: dy as tf.Tensor, x, outputWeights, y }) as tf.Tensor[];
      return {
        x: () => tf.matMul(dz as tf.Tensor2D, hiddenWeights, false, true),
        hiddenWeights: () => dHiddenWeights as tf.Tensor,
        hiddenBias: () => dHiddenBias as tf.Tensor,
        outputWeights: () => dOutputWeights as tf.Tensor,
        outputBias: () => dOutputBias as tf.Tensor,
      };
    },
  });
}
