// The one interface every model family implements (scvi-tools' "module"): inference
// (encode), generative model (decode, prior) and loss. Trainer, worker and analysis only
// ever talk to this interface; a new family is one new file in this folder.
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig, ModelFamily } from '../../../shared/api/training.js';
import type { ParameterSet } from '../parameters.js';

export interface ModuleDimensions {
  genes: number;
  /** Width of the environment input e (representation length, or number of environments for one-hot). */
  environment: number;
  /** Environments the adversary can name (training environments). */
  environmentClasses: number;
  /** Coordinates of e that describe the drug itself (fingerprint, features, no-structure one-hot); absent: unknown. */
  drugColumns?: readonly number[];
  /** Coordinate of e holding log10 dose, when environments carry a dose. */
  doseColumn?: number | null;
}

export interface Batch {
  x: tf.Tensor2D;
  e: tf.Tensor2D;
  /** Class index of each sample's environment (for the adversary). */
  environmentClass: tf.Tensor1D;
}

/** Seeded standard-normal noise of a given shape: reproducible across backends and resumes. */
export type NoiseSource = (rows: number, cols: number) => tf.Tensor2D;

export interface LossContext {
  /** Current weight of the KL / prior term (after warm-up). */
  klWeight: number;
  noise: NoiseSource;
}

/** Named scalar terms; `total` is what the optimiser minimises. */
export interface LossTerms {
  total: tf.Scalar;
  terms: Record<string, tf.Scalar>;
}

export interface Encoding {
  mean: tf.Tensor2D;
  /** Null for deterministic encoders. */
  logVar: tf.Tensor2D | null;
}

export interface PriorShift {
  /** μ̄_e: the (sparsified) shift of the latent mean in each environment. */
  mean: tf.Tensor2D;
  /** log σ̄_e, or null when the family moves only means. */
  logStd: tf.Tensor2D | null;
}

export interface GenerativeModule {
  readonly family: ModelFamily;
  readonly config: ModelConfig;
  readonly dims: ModuleDimensions;
  /** Parameters of the encoder, decoder and auxiliary networks. */
  readonly params: ParameterSet;
  /** Parameters trained by the second player of a min–max game, if any. */
  readonly adversary: ParameterSet | null;

  loss(batch: Batch, context: LossContext): LossTerms;
  /** The adversary's own loss (it minimises this while the main player works against it). */
  adversaryLoss?(batch: Batch, context: LossContext): tf.Scalar;

  encode(x: tf.Tensor2D, e: tf.Tensor2D): Encoding;
  /** Decodes latents in environment e into expression (standardised units). */
  decode(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D;
  /**
   * The mean of decode() over each environment's latents: z has the same number of consecutive
   * rows for each row of e; one row per environment. Cheaper than decode() then a mean (the
   * output layer runs once per environment), equal to float32 rounding.
   */
  decodeMeans(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D;
  /** Deterministic reconstruction through the posterior mean (validation, figures). */
  reconstruct(x: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D;
  /** How environment e moves the latent distribution, for families that model it. */
  priorShift?(e: tf.Tensor2D): PriorShift;

  dispose(): void;
}
