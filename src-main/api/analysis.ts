// Inspecting a trained model: latent projections, environment prior shifts, genes per latent.
import { z } from 'zod';
import { Id } from './domain.js';

export const ProjectionResult = z.object({
  runId: Id,
  epoch: z.number().int(),
  method: z.enum(['pca', 'umap']),
  x: z.array(z.number()),
  y: z.array(z.number()),
  sample: z.array(z.number().int()),
  explainedVariance: z.array(z.number()).nullable(),
});
export type ProjectionResult = z.infer<typeof ProjectionResult>;

export const PriorShiftResult = z.object({
  runId: Id,
  epoch: z.number().int(),
  /** Null when the family has no environment prior (VAE, conditional VAE). */
  report: z
    .object({
      latentDim: z.number().int(),
      environments: z.array(z.object({ key: z.string(), heldOut: z.boolean() })),
      mean: z.array(z.array(z.number())),
      logStd: z.array(z.array(z.number())).nullable(),
      order: z.array(z.number().int()),
      sparsity: z.array(z.number().int()),
    })
    .nullable(),
});
export type PriorShiftResult = z.infer<typeof PriorShiftResult>;

export const TopGenesResult = z.object({
  runId: Id,
  latent: z.number().int(),
  genes: z.array(z.object({ id: z.string(), symbol: z.string(), effect: z.number() })),
});
export type TopGenesResult = z.infer<typeof TopGenesResult>;

export const SampleColumnResult = z.object({
  column: z.string(),
  values: z.array(z.union([z.string(), z.number(), z.null()])),
});
export type SampleColumnResult = z.infer<typeof SampleColumnResult>;

export const UnseenMethod = z.enum(['model', 'control-mean', 'training-mean', 'nearest-neighbours', 'ridge']);

export const UnseenEvaluationResult = z.object({
  runId: Id,
  epoch: z.number().int(),
  split: z.string(),
  environments: z.array(z.string()),
  genes: z.number().int(),
  scores: z.array(
    z.object({ method: UnseenMethod, r2: z.number(), r2Top50: z.number(), pearsonDelta: z.number(), directionTop50: z.number() }),
  ),
  winners: z.object({ r2: UnseenMethod, r2Top50: UnseenMethod, pearsonDelta: UnseenMethod, directionTop50: UnseenMethod }),
  note: z.string().nullable(),
});
export type UnseenEvaluationResult = z.infer<typeof UnseenEvaluationResult>;

export const DrugPredictionResult = z.object({
  runId: Id,
  epoch: z.number().int(),
  smiles: z.string(),
  canonicalSmiles: z.string(),
  /** 2-D depiction of the drug (SVG markup). */
  svg: z.string().nullable(),
  cellLine: z.string().nullable(),
  /** Whether this exact structure was among the training drugs (then it is not a prediction of an unseen drug). */
  seenInTraining: z.boolean(),
  genes: z.array(z.object({ id: z.string(), symbol: z.string(), predicted: z.number(), control: z.number(), delta: z.number() })),
});
export type DrugPredictionResult = z.infer<typeof DrugPredictionResult>;
