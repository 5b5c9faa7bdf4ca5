// A fused Adam update for the 'native-blas' backend. tf.train.adam's applyGradients runs ~14
// separate tensor ops per variable (each allocating a full-size result); here one native call for
// all variables (adamMany; adam() per variable with an older addon) computes the same float32
// steps (see adam() in native/blas/src/addon.c) into three new arrays per variable, which are assigned exactly where the original assigns its results. Optimizer state
// (moment variables, accBeta1/2, iterations) stays the stock AdamOptimizer's, so checkpoints,
// getWeights/setWeights and switching backends mid-run keep working.
//
// Installed by patching AdamOptimizer.prototype.applyGradients once per thread: on any other
// backend, or for anything the fast path does not cover, the original method runs unchanged.
// applyScaledGradients folds gradient clipping's rescale into the same call (adamMany multiplies
// each gradient by the scale as it reads it): a clipped step used to write a scaled copy of every
// gradient first, a pass over all parameters (~7 ms of a 60 ms Environment VAE step at batch 256).
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { AdamHyperparameters, NativeBinding } from './addon.js';
import { kernelOutput } from './backend.js';

interface MomentSlot {
  originalName: string;
  variable: tf.Variable;
}

/** The AdamOptimizer fields applyGradients uses (public in JS, private in its typings). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: (MomentSlot | undefined)[];
  accumulatedSecondMoment: (MomentSlot | undefined)[];
  incrementIterations(): void;
}

type NamedTensor = { name: string; tensor: tf.Tensor };
type Gradients = tf.NamedTensorMap | NamedTensor[];
type Apply = (this: tf.AdamOptimizer, gradients: Gradients) => void;

const INSTALLED = Symbol.for('cellshift.nativeAdam');

export function installFusedAdam(backendName: string, native: NativeBinding): void {
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients: Apply; [INSTALLED]?: boolean };
  if (proto[INSTALLED]) return;
  const original = proto.applyGradients;
  proto.applyGradients = function applyGradients(this: tf.AdamOptimizer, gradients: Gradients): void {
    if (tf.getBackend() !== backendName || !fusedApply(this as unknown as AdamInternals, gradients, native, 1)) {
      original.call(this, gradients);
    }
  };
  proto[INSTALLED] = true;
  fusedScaled = (optimizer, gradients, scale) =>
    tf.getBackend() === backendName && fusedApply(optimizer as unknown as AdamInternals, gradients, native, scale);
}

let fusedScaled: ((optimizer: tf.Optimizer, gradients: tf.NamedTensorMap, scale: number) => boolean) | null = null;

/**
 * optimizer.applyGradients(gradients · scale): for tf.train.adam on native-blas one addon call that
 * scales as it reads; anywhere else the scaled gradients are computed first, as tfjs would.
 */
export function applyScaledGradients(optimizer: tf.Optimizer, gradients: tf.NamedTensorMap, scale: number): void {
  if (scale === 1) {
    optimizer.applyGradients(gradients);
    return;
  }
  if (optimizer instanceof tf.AdamOptimizer && fusedScaled?.(optimizer, gradients, scale)) return;
  tf.tidy(() => optimizer.applyGradients(Object.fromEntries(Object.entries(gradients).map(([name, g]) => [name, tf.mul(g, scale)]))));
}

/** Runs the fused update and returns true, or returns false having changed nothing. */
function fusedApply(self: AdamInternals, gradients: Gradients, native: NativeBinding, gradScale: number): boolean {
  // A scale needs adamMany's gradScale argument (addons built before it have none), and adamMany
  // runs only when no variable appears twice.
  if (gradScale !== 1 && (!native.adamManyScales || !native.adamMany)) return false;
  const backend = tf.backend() as MathBackendCPU;
  const names = Array.isArray(gradients) ? gradients.map((g) => g.name) : Object.keys(gradients);
  const variables = tf.engine().registeredVariables;
  // Present on this backend and stored as a Float32Array (a float32 tensor cast from an integer
  // one keeps its integer array on the cpu backend).
  const on = (t: tf.Tensor) => backend.data.has(t.dataId) && backend.data.get(t.dataId).values instanceof Float32Array;
  const grads: (tf.Tensor | null)[] = names.map((name, i) =>
    Array.isArray(gradients) ? ((gradients[i] as NamedTensor).tensor ?? null) : (gradients[name] ?? null),
  );
  if (gradScale !== 1 && new Set(names.filter((_, i) => grads[i]).map((name) => variables[name])).size !== grads.filter(Boolean).length) {
    return false;
  }
  // Check everything first, so a fallback never follows a partial update.
  for (const [i, name] of names.entries()) {
    const value = variables[name];
    const g = grads[i];
    if (value?.dtype !== 'float32' || !on(value)) return false;
    if (g && (g.dtype !== 'float32' || g.size !== value.size || !on(g))) return false;
    for (const slot of [self.accumulatedFirstMoment[i], self.accumulatedSecondMoment[i]]) {
      if (slot && (slot.variable.size !== value.size || slot.variable.dtype !== 'float32' || !on(slot.variable))) return false;
    }
  }
  const alloc = (n: number) => kernelOutput(backend, n);
  const read = (t: tf.Tensor) => backend.data.get(t.dataId).values as Float32Array;
  tf.tidy(() => {
    // The same float32 scalars the stock implementation builds (tf.sub(1, accBeta) rounds 1 − accBeta
    // to float32 once), without queueing two kernels to read them back at once.
    const oneMinusAccBeta1 = Math.fround(1 - (self.accBeta1.dataSync()[0] as number));
    const oneMinusAccBeta2 = Math.fround(1 - (self.accBeta2.dataSync()[0] as number));
    const updates: { value: tf.Variable; m: tf.Variable; v: tf.Variable; g: tf.Tensor; out: [Float32Array, Float32Array, Float32Array] }[] =
      [];
    for (const [i, name] of names.entries()) {
      const value = variables[name] as tf.Variable;
      if (self.accumulatedFirstMoment[i] == null) {
        self.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      if (self.accumulatedSecondMoment[i] == null) {
        self.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      const g = grads[i];
      if (!g) continue;
      const m = (self.accumulatedFirstMoment[i] as MomentSlot).variable;
      const v = (self.accumulatedSecondMoment[i] as MomentSlot).variable;
      updates.push({ value, m, v, g, out: [alloc(value.size), alloc(value.size), alloc(value.size)] });
    }
    const scalars: AdamHyperparameters = [
      self.beta1,
      1 - self.beta1,
      self.beta2,
      1 - self.beta2,
      oneMinusAccBeta1,
      oneMinusAccBeta2,
      self.epsilon,
      -self.learningRate,
    ];
    // One call for all variables (one wake-up of the addon's threads), unless a variable appears
    // twice: then the second update must see the first, as in the stock optimiser.
    const together = native.adamMany !== undefined && new Set(updates.map((u) => u.value)).size === updates.length;
    if (together && native.adamMany) {
      const column = (pick: (u: (typeof updates)[number]) => Float32Array) => updates.map(pick);
      native.adamMany(
        column((u) => u.out[0]),
        column((u) => u.out[1]),
        column((u) => u.out[2]),
        column((u) => read(u.value)),
        column((u) => read(u.g)),
        column((u) => read(u.m)),
        column((u) => read(u.v)),
        ...scalars,
        gradScale,
      );
    }
    for (const { value, m, v, g, out } of updates) {
      const [wOut, mOut, vOut] = out;
      if (!together) native.adam(wOut, mOut, vOut, read(value), read(g), read(m), read(v), ...scalars);
      // New arrays, never in place: this backend hands out its arrays from dataSync(), so a
      // checkpoint taken earlier may still be reading the old ones.
      m.assign(tf.tensor(mOut, m.shape, 'float32'));
      v.assign(tf.tensor(vOut, v.shape, 'float32'));
      value.assign(tf.tensor(wOut, value.shape, 'float32'));
    }
    self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
    self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
  });
  self.incrementIterations();
  return true;
}
