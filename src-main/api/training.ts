// Model and training configuration: hyperparameters are data, validated wherever they arrive
// (renderer form, CLI flags, stored run config).
import { z } from 'zod';
import { Seed } from './domain.js';

export const ModelFamily = z.enum(['vae', 'cvae', 'env-vae', 'translation-vae', 'adversarial-prior-ae']);
export type ModelFamily = z.infer<typeof ModelFamily>;

export const modelFamilyLabels: Record<ModelFamily, string> = {
  vae: 'VAE',
  cvae: 'Conditional VAE',
  'env-vae': 'Environment VAE',
  'translation-vae': 'Translation VAE',
  'adversarial-prior-ae': 'Adversarial prior autoencoder',
};

/** Families whose decoder output depends on the environment, so they can predict a new drug's effect. */
export const environmentAwareFamilies: readonly ModelFamily[] = ['cvae', 'env-vae', 'translation-vae'];

export const ValidationSplit = z.discriminatedUnion('kind', [
  /** Hold out a random fraction of the (non-control) environments: the seed's unseen-environment validation. */
  z.strictObject({
    kind: z.literal('random-environments'),
    fraction: z.number().gt(0).lt(1).default(0.2),
    seed: z.number().int().min(0).default(0),
  }),
  /** Hold out every environment of a random fraction of drugs: unseen-drug prediction (the seed's 682/335 split). */
  z.strictObject({
    kind: z.literal('held-out-drugs'),
    fraction: z.number().gt(0).lt(1).default(0.2),
    seed: z.number().int().min(0).default(0),
  }),
  /** Hold out whole chemical series: drugs grouped by Bemis–Murcko scaffold, a fraction of scaffolds held out. */
  z.strictObject({ kind: z.literal('scaffold'), fraction: z.number().gt(0).lt(1).default(0.2), seed: z.number().int().min(0).default(0) }),
  /** Hold out the named cell lines. */
  z.strictObject({ kind: z.literal('held-out-cell-lines'), cellLines: z.array(z.string()).min(1) }),
  /** Use a sample metadata column: rows whose value is in `validationValues` are validation. */
  z.strictObject({ kind: z.literal('metadata'), column: z.string().min(1), validationValues: z.array(z.string()).min(1) }),
  z.strictObject({ kind: z.literal('none') }),
]);
export type ValidationSplit = z.infer<typeof ValidationSplit>;

export const ModelConfig = z.strictObject({
  family: ModelFamily,
  /** Hidden units of every one-hidden-layer network (encoder, decoder, auxiliary, adversary). Seed L1000: 500. */
  hiddenUnits: z.number().int().min(1).max(8192).default(500),
  /** Latent size d. Seed L1000: 200. */
  latentDim: z.number().int().min(1).max(2048).default(200),
  /** Softmax temperature T of the prior sparsification; lower is sparser. */
  temperature: z.number().positive().max(1000).default(1),
  /** Final weight of the KL (or adversary) term. */
  beta: z.number().min(0).max(1000).default(1),
  /** Epochs over which the KL weight ramps linearly from 0 to beta. */
  klWarmupEpochs: z.number().int().min(0).max(10_000).default(5),
  /** Log-variances (posterior and prior) are squashed into [-bound, bound]. */
  logVarBound: z.number().positive().max(30).default(8),
  /** Weight of the adversary term for the adversarial prior autoencoder. */
  adversaryWeight: z.number().min(0).max(1000).default(1),
  /** Decoder: one-hidden-layer ReLU network, or linear (the seed's §6.1–6.3 studies, where M̃ is read off). */
  decoder: z.enum(['mlp', 'linear']).default('mlp'),
  /** How encoders that see the environment take it in: concatenated input, or FiLM on the hidden layer. */
  encoderConditioning: z.enum(['concat', 'film']).default('concat'),
  /** What the networks receive as the environment: its stored representation, or a one-hot of its index. */
  environmentEncoding: z.enum(['representation', 'one-hot']).default('representation'),
});
export type ModelConfig = z.infer<typeof ModelConfig>;
export type ModelConfigInput = z.input<typeof ModelConfig>;

export const TrainingConfig = z.strictObject({
  model: ModelConfig,
  epochs: z.number().int().min(1).max(100_000).default(50),
  batchSize: z.number().int().min(1).max(65_536).default(256),
  learningRate: z.number().positive().max(1).default(1e-3),
  /** Gradients are rescaled so their global L2 norm never exceeds this. */
  gradientClipNorm: z.number().positive().default(10),
  /** Per-gene standardisation with training-set statistics (stored with the model). */
  standardize: z.boolean().default(true),
  seed: Seed.default(0),
  validation: ValidationSplit.default({ kind: 'random-environments', fraction: 0.2, seed: 0 }),
  /** A loss this many times above the run's best epoch loss counts as diverging. */
  divergenceFactor: z.number().gt(1).default(1e4),
  /**
   * The structure controls: the drug's own coordinates of each environment's representation as
   * stored ('structure'), permuted among the training drugs (each training drug gets another
   * training drug's fingerprint: same marginals, no link to its effect), or zeroed everywhere
   * ('none'). Cell line, dose and time stay. Held-out drugs keep their real fingerprints.
   */
  drugInput: z.enum(['structure', 'permuted', 'none']).default('structure'),
  /** Keep this many most recent checkpoints (plus the best one). */
  keepCheckpoints: z.number().int().min(1).max(100).default(2),
});
export type TrainingConfig = z.infer<typeof TrainingConfig>;
export type TrainingConfigInput = z.input<typeof TrainingConfig>;

/** What a validation split would hold out of a dataset, before any training. */
export const SplitPreview = z.object({
  split: ValidationSplit,
  /** Each environment with whether its samples are held out (all of them, or some for a metadata split). */
  environments: z.array(z.object({ environmentId: z.string(), heldOut: z.enum(['all', 'some', 'none']) })),
  trainSamples: z.number().int().nonnegative(),
  heldOutSamples: z.number().int().nonnegative(),
  /** Groups held out whole: drugs, scaffolds, cell lines (empty for random and metadata splits). */
  heldOutGroups: z.array(z.string()),
  /** Plain-language note when the split cannot do what was asked (e.g. no structures for a scaffold split). */
  note: z.string().nullable(),
});
export type SplitPreview = z.infer<typeof SplitPreview>;
