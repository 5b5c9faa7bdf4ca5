import * as tf from '@tensorflow/tfjs';

/**
 * Runs `fn` and disposes every tensor it created. Unlike tf.tidy, the result may be any value
 * (typed arrays, objects with nulls), since tensors never leave the scope.
 */
export function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}
