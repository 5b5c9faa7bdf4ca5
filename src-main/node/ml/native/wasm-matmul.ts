// A fix for the WebAssembly fallback, independent of the addon: tfjs-backend-wasm 4.22 multiplies
// a transposed operand ~9× slower than a plain one (measured here: [256,978]ᵀ·[256,500] 93 ms
// against 10 ms for the same-sized [256,978]·[978,500]), and backpropagation through a dense
// layer needs exactly those products (dW = xᵀ·dy, dx = dy·Wᵀ). Transposing the operand first
// (the wasm Transpose kernel is a fast copy) and multiplying plainly takes the fast path; the
// sums are then accumulated in the fast kernel's order, which changes results only at float32
// rounding level (~1e-7 of the values' scale).
//
// Call after the wasm backend is registered (importing @tensorflow/tfjs-backend-wasm does).
import * as tf from '@tensorflow/tfjs';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

let stock: tf.KernelConfig | null = null;

/** Installs (true) or removes (false) the fix; returns false when the wasm kernels are absent. */
export function patchWasmTransposedMatMul(enabled = true): boolean {
  const current = tf.getKernel('BatchMatMul', 'wasm');
  const transposeConfig = tf.getKernel('Transpose', 'wasm');
  if (!current || !transposeConfig) return false;
  stock ??= current;
  const installed = current !== stock;
  if (installed === enabled) return true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  if (!enabled) {
    tf.registerKernel(stock);
    return true;
  }
  const original = stock.kernelFunc as unknown as Kernel;
  const transposeKernel = transposeConfig.kernelFunc as unknown as Kernel;

  const transposed = (x: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo => {
    const rank = x.shape.length;
    const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
    return transposeKernel({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
  };
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const transposeA = Boolean(args.attrs?.transposeA);
    const transposeB = Boolean(args.attrs?.transposeB);
    if (!transposeA && !transposeB) return original(args);
    const a2 = transposeA ? transposed(a, args.backend) : a;
    const b2 = transposeB ? transposed(b, args.backend) : b;
    try {
      return original({ ...args, inputs: { a: a2, b: b2 }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      if (a2 !== a) args.backend.disposeData(a2.dataId);
      if (b2 !== b) args.backend.disposeData(b2.dataId);
    }
  };
  tf.registerKernel({ ...stock, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  return true;
}
