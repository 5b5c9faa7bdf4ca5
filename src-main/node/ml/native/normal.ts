// Each training step's noise drawn by the addon on both cores (native/blas/src/normal.c): the same
// numbers as Rng.fillNormal in JavaScript, bit for bit, which took ~4 ms of a batch-1024 step on
// the training thread alone.
import * as tf from '@tensorflow/tfjs';
import type { NormalFiller } from '../../data/random.js';
import { loadAddon } from './addon.js';
import { NativeBackend } from './backend.js';

/** The addon's normalFill while the active backend is native-blas and the addon has it; else undefined (Rng's JavaScript). */
export function nativeNormalFiller(): NormalFiller | undefined {
  if (!(tf.backend() instanceof NativeBackend)) return undefined;
  const addon = loadAddon();
  if (!addon.ok || !addon.binding.normalFill) return undefined;
  const normalFill = addon.binding.normalFill;
  return (out, state) => normalFill(out, state);
}
