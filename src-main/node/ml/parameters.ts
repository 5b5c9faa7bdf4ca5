// Trainable parameters created from a seeded generator, so a run is reproducible from its
// config and seed, and named, so checkpoints can be written and read back by name.
import { randomUUID } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../data/random.js';
import { dense } from './native/dense.js';

export class ParameterSet {
  readonly #rng: Rng;
  readonly #variables = new Map<string, tf.Variable>();
  /** tfjs variable names are global per process; a scope keeps two models' names apart. */
  readonly #scope = randomUUID().slice(0, 8);

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /** Glorot-uniform weights and zero biases: the usual start for ReLU MLPs. */
  dense(name: string, inputs: number, outputs: number): Dense {
    const limit = Math.sqrt(6 / (inputs + outputs));
    const values = new Float32Array(inputs * outputs);
    const rng = this.#rng.fork(name);
    for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * limit;
    const weights = this.#add(`${name}/W`, tf.tensor2d(values, [inputs, outputs]));
    const bias = this.#add(`${name}/b`, tf.zeros([outputs]));
    return new Dense(weights as tf.Variable<tf.Rank.R2>, bias as tf.Variable<tf.Rank.R1>);
  }

  list(): tf.Variable[] {
    return [...this.#variables.values()];
  }

  named(): ReadonlyMap<string, tf.Variable> {
    return this.#variables;
  }

  get size(): number {
    return this.list().reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const v of this.#variables.values()) v.dispose();
    this.#variables.clear();
  }

  #add(name: string, initial: tf.Tensor): tf.Variable {
    if (this.#variables.has(name)) throw new Error(`Parameter ${name} defined twice`);
    // Non-numeric names also keep gradient maps in creation order, which Adam's state relies on.
    const variable = tf.variable(initial, true, `${this.#scope}/${name}`);
    initial.dispose();
    this.#variables.set(name, variable);
    return variable;
  }
}

export class Dense {
  constructor(
    readonly weights: tf.Variable<tf.Rank.R2>,
    readonly bias: tf.Variable<tf.Rank.R1>,
  ) {}

  /** x·W + b, then the activation: fused forward and backward where the backend can (native-blas). */
  apply(x: tf.Tensor2D, activation: 'linear' | 'relu' = 'linear'): tf.Tensor2D {
    return dense(x, this.weights, this.bias, activation);
  }

  /** The mean linear output over each run of `groupSize` consecutive rows: the layer of the rows' mean. */
  applyGroupMeans(x: tf.Tensor2D, groupSize: number): tf.Tensor2D {
    return tf.tidy(() =>
      this.apply(tf.mean(tf.reshape(x, [(x.shape[0] as number) / groupSize, groupSize, x.shape[1] as number]), 1) as tf.Tensor2D),
    );
  }
}

/** One hidden ReLU layer then a linear output: every network of the seed has this shape. */
export class OneHiddenLayer {
  readonly hidden: Dense;
  readonly output: Dense;

  constructor(params: ParameterSet, name: string, inputs: number, hidden: number, outputs: number) {
    this.hidden = params.dense(`${name}/hidden`, inputs, hidden);
    this.output = params.dense(`${name}/out`, hidden, outputs);
  }

  /** `modulate` lets FiLM scale and shift the hidden activations. */
  apply(x: tf.Tensor2D, modulate?: (h: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.hidden.apply(x, 'relu');
      return this.output.apply(modulate ? modulate(h) : h);
    });
  }

  /**
   * The mean output over each run of `groupSize` consecutive rows (groups × outputs): the output
   * layer is linear, so it is applied once to each group's mean hidden activation instead of to
   * every row.
   */
  applyGroupMeans(x: tf.Tensor2D, groupSize: number): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.hidden.apply(x, 'relu');
      const groups = (x.shape[0] as number) / groupSize;
      return this.output.apply(tf.mean(tf.reshape(h, [groups, groupSize, h.shape[1] as number]), 1) as tf.Tensor2D);
    });
  }
}
