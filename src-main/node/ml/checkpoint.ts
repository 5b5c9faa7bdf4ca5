// Checkpoints: named float32 arrays packed into one buffer (a JSON header, then the data),
// small enough to keep several per run in SQLite and independent of the tfjs backend.
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from './packed-arrays.js';
import type { ParameterSet } from './parameters.js';

// The packing lives apart from TensorFlow.js so that readers of stored results need not load it.
export { type NamedArray, packArrays, unpackArrays } from './packed-arrays.js';

export function snapshotParameters(params: ParameterSet, prefix: string): NamedArray[] {
  return [...params.named()].map(([name, variable]) => ({
    name: `${prefix}${name}`,
    shape: variable.shape,
    values: variable.dataSync() as Float32Array,
  }));
}

/** Assigns stored values to parameters by name; every parameter must be present with its shape. */
export function restoreParameters(params: ParameterSet, prefix: string, arrays: readonly NamedArray[]): void {
  const byName = new Map(arrays.map((a) => [a.name, a]));
  for (const [name, variable] of params.named()) {
    const stored = byName.get(`${prefix}${name}`);
    if (!stored) throw new Error(`Checkpoint lacks parameter ${prefix}${name}`);
    if (stored.shape.join('x') !== variable.shape.join('x')) {
      throw new Error(`Checkpoint parameter ${prefix}${name} has shape ${stored.shape.join('×')}, model has ${variable.shape.join('×')}`);
    }
    tf.tidy(() => variable.assign(tf.tensor(stored.values, stored.shape)));
  }
}

/** Optimiser state is positional (tfjs keys it by variable order), so it is stored in order. */
export async function snapshotOptimizer(optimizer: tf.Optimizer, prefix: string): Promise<NamedArray[]> {
  const weights = await optimizer.getWeights();
  const arrays = weights.map((w, i) => ({ name: `${prefix}${i}`, shape: w.tensor.shape, values: w.tensor.dataSync() as Float32Array }));
  // Moments come back as the optimiser's own variables; the iteration count is a fresh tensor.
  for (const w of weights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  return arrays;
}

export async function restoreOptimizer(optimizer: tf.Optimizer, prefix: string, arrays: readonly NamedArray[]): Promise<void> {
  const mine = arrays
    .filter((a) => a.name.startsWith(prefix))
    .sort((a, b) => Number(a.name.slice(prefix.length)) - Number(b.name.slice(prefix.length)));
  if (mine.length === 0) return;
  const tensors = mine.map((a, i) => ({ name: `${prefix}${i}`, tensor: tf.tensor(a.values, a.shape) }));
  await optimizer.setWeights(tensors);
  // setWeights copies them into variables of its own.
  for (const t of tensors) t.tensor.dispose();
}
