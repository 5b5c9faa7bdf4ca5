// The global L2 norm of a model's gradients (for clipping) in one addon call on native-blas.
// tfjs composes it from Square and Sum per gradient, AddN and Sqrt: a squared copy of every
// gradient (4.9 ms for the Environment VAE's [2002, 500] weight). The same float32 steps here:
// each gradient's sum of squares rounded to float32, those added in float32 one after the other
// (as AddN does), the square root rounded to float32.
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from './addon.js';
import { NativeBackend } from './backend.js';

/** The norm, or null when the active backend is not native-blas or a gradient is not float32 there. */
export function nativeGlobalNorm(tensors: readonly tf.Tensor[]): number | null {
  const backend = tf.backend();
  if (!(backend instanceof NativeBackend) || tensors.length === 0) return null;
  const addon = loadAddon();
  if (!addon.ok || !addon.binding.sumSquares) return null;
  const arrays: Float32Array[] = [];
  for (const t of tensors) {
    const values = backend.data.has(t.dataId) ? backend.data.get(t.dataId).values : undefined;
    if (t.dtype !== 'float32' || !(values instanceof Float32Array) || values.length !== t.size) return null;
    arrays.push(values);
  }
  const sums = new Float32Array(arrays.length);
  addon.binding.sumSquares(sums, arrays);
  let total = 0;
  for (const sum of sums) total = Math.fround(total + sum);
  return Math.fround(Math.sqrt(total));
}
