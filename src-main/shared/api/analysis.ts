// Inspecting a trained model: latent projections, environment prior shifts, genes per latent.
import { z } from 'zod';
import { Id } from './domain.js';
import { Base64, decodeFloat32, decodeSampleIndices, wordCountIssue } from './packed.js';

/**
 * A projection's points: each one's x and y (Float32) and its sample's index in the dataset's
 * sample order (Int32), as base64 (decodeProjection). At 200,000 points the JSON number arrays were
 * ~9 MB that the receiving side checked number by number; these are 3.2 MB checked by length.
 */
export const ProjectionResult = z
  .object({
    runId: Id,
    epoch: z.number().int(),
    method: z.enum(['pca', 'umap']),
    points: z.number().int().nonnegative(),
    x: Base64,
    y: Base64,
    sample: Base64,
    explainedVariance: z.array(z.number()).nullable(),
  })
  .superRefine((projection, context) => {
    for (const key of ['x', 'y', 'sample'] as const) {
      const issue = wordCountIssue(projection[key], projection.points, `projection ${key}`);
      if (issue) context.addIssue({ code: 'custom', path: [key], message: issue });
    }
  });
export type ProjectionResult = z.infer<typeof ProjectionResult>;

/** A projection with its points as typed arrays, as the scatter draws them. */
export interface DecodedProjection extends Omit<ProjectionResult, 'x' | 'y' | 'sample'> {
  x: Float32Array;
  y: Float32Array;
  sample: Int32Array;
  /** `sample` as received: what datasets.sampleIdsAt is asked with, not encoded again. */
  packedSample: string;
}

/** The points of a (schema-checked) projection; a RangeError says what is damaged. */
export function decodeProjection(projection: ProjectionResult): DecodedProjection {
  const x = decodeFloat32(projection.x, 'projection x');
  const y = decodeFloat32(projection.y, 'projection y');
  const sample = decodeSampleIndices(projection.sample);
  for (const [what, values] of [
    ['x', x],
    ['y', y],
    ['sample', sample],
  ] as const) {
    if (values.length !== projection.points)
      throw new RangeError(`projection ${what}: ${values.length} values for ${projection.points} points`);
  }
  for (let k = 0; k < sample.length; k++) {
    if ((sample[k] as number) < 0) throw new RangeError(`projection sample: point ${k} has sample index ${sample[k]}`);
  }
  return { ...projection, x, y, sample, packedSample: projection.sample };
}

export const PriorShiftResult = z.object({
  runId: Id,
  epoch: z.number().int(),
  /** Null when the family has no environment prior (VAE, conditional VAE). */
  report: z
    .object({
      latentDim: z.number().int(),
      environments: z.array(z.object({ key: z.string(), heldOut: z.boolean() })),
      /**
       * Float32 values, environments × latentDim row-major in environment order, as base64
       * (decodeFloat32Rows): at 20k environments × 200 latents the nested-array JSON was 184 MB,
       * and validating it number by number stalled the serving thread for tens of seconds.
       */
      mean: z.string(),
      logStd: z.string().nullable(),
      order: z.array(z.number().int()),
      sparsity: z.array(z.number().int()),
    })
    .nullable(),
});
export type PriorShiftResult = z.infer<typeof PriorShiftResult>;

export const PriorShiftRowsParams = z.strictObject({
  runId: Id,
  /** Case-insensitive part of an environment key; '' for every environment. */
  query: z.string().max(200),
  /** The first row (or block) of the matching rows in heatmap order, and how many. */
  first: z.number().int().min(0),
  count: z.number().int().min(0).max(2000),
  /** Consecutive rows averaged into one: 1 for the rows themselves, more for a zoomed-out overview. */
  block: z.number().int().min(1),
});
export type PriorShiftRowsParams = z.infer<typeof PriorShiftRowsParams>;

/**
 * A window of the prior-shift heatmaps, in the order the server gives the environments (grouped by
 * the latent each moves most, along each group's leading principal component): at 40k+
 * environments the view asks for the rows it draws rather than receiving every row.
 */
export const PriorShiftRowsResult = z.object({
  runId: Id,
  epoch: z.number().int(),
  /** Null when the family has no environment prior. */
  report: z
    .object({
      latentDim: z.number().int(),
      /** Every environment, and those matching the query. */
      environments: z.number().int(),
      matching: z.number().int(),
      block: z.number().int(),
      /** Each row: its position among the matching rows, its (first) environment, how many rows it averages. */
      rows: z.array(z.object({ position: z.number().int(), key: z.string(), heldOut: z.boolean(), size: z.number().int() })),
      /** Float32 base64, rows × latentDim (decodeFloat32Rows). */
      mean: z.string(),
      logStd: z.string().nullable(),
      /** Largest |value| of all rows of each matrix: the colour scale of every window. */
      extent: z.object({ mean: z.number(), logStd: z.number().nullable() }),
      /** Median over environments (an evenly spaced sample of `sparsitySample`) of the coordinates carrying 90 % of the shift. */
      sparsityMedian: z.number().int(),
      sparsitySample: z.number().int(),
    })
    .nullable(),
});
export type PriorShiftRowsResult = z.infer<typeof PriorShiftRowsResult>;

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
    z.object({
      method: UnseenMethod,
      r2: z.number(),
      r2Top50: z.number(),
      pearsonDelta: z.number(),
      directionTop50: z.number(),
      /** R² and Pearson r of the change from control on the environment's 50 most changed genes (DEGs). */
      r2DeltaTop50: z.number(),
      pearsonDeltaTop50: z.number(),
    }),
  ),
  winners: z.object({ r2: UnseenMethod, r2Top50: UnseenMethod, pearsonDelta: UnseenMethod, directionTop50: UnseenMethod }),
  note: z.string().nullable(),
});
export type UnseenEvaluationResult = z.infer<typeof UnseenEvaluationResult>;

/** Where a new drug is predicted: the cell line, and the dose and time when the model's environments include them. */
export const PredictConditions = z.strictObject({
  cellLine: z.string().min(1).nullable(),
  doseMicromolar: z.number().positive().finite().optional(),
  timeHours: z.number().positive().finite().optional(),
});
export type PredictConditions = z.infer<typeof PredictConditions>;

export const DrugPredictionResult = z.object({
  runId: Id,
  epoch: z.number().int(),
  smiles: z.string(),
  canonicalSmiles: z.string(),
  /** 2-D depiction of the drug (SVG markup). */
  svg: z.string().nullable(),
  cellLine: z.string().nullable(),
  /** The dose (µM) and time (hours) predicted at; null when the model's environments carry neither. */
  doseMicromolar: z.number().nullable(),
  timeHours: z.number().nullable(),
  /** Whether this exact structure was among the training drugs (then it is not a prediction of an unseen drug). */
  seenInTraining: z.boolean(),
  /**
   * Applicability domain: the nearest training drug (Tanimoto on the fingerprint), and the model's
   * Pearson r of Δ on the run's held-out environments whose nearest training drug was about as
   * similar (null without a fingerprint; pearsonDelta null when no held-out drug fell in that bin).
   */
  applicability: z
    .object({
      nearestDrug: z.string(),
      similarity: z.number(),
      low: z.number(),
      high: z.number(),
      environments: z.number().int(),
      pearsonDelta: z.number().nullable(),
      pearsonDeltaStd: z.number().nullable(),
    })
    .nullable(),
  genes: z.array(z.object({ id: z.string(), symbol: z.string(), predicted: z.number(), control: z.number(), delta: z.number() })),
});
export type DrugPredictionResult = z.infer<typeof DrugPredictionResult>;

/** The applicability domain in one sentence, for the Predict view and the command line. */
export function describeApplicability(a: DrugPredictionResult['applicability']): string {
  if (!a) return 'No fingerprint: the nearest training drug is unknown.';
  const near = `Nearest training drug: ${a.nearestDrug}, Tanimoto similarity ${a.similarity.toFixed(2)}`;
  const bin = `${a.low.toFixed(1)}–${a.high.toFixed(1)}`;
  if (a.pearsonDelta === null)
    return `${near}; no held-out drug of this run was at similarity ${bin}, so how well the model does there is unknown.`;
  const spread = a.pearsonDeltaStd === null ? '' : ` ± ${a.pearsonDeltaStd.toFixed(2)}`;
  return `${near}; at similarity ${bin} the model's Pearson r of Δ on this run's held-out drugs was ${a.pearsonDelta.toFixed(2)}${spread} (${a.environments} environment${a.environments === 1 ? '' : 's'}).`;
}

const GroupName = z.string().trim().min(1).max(200);

/**
 * One side of a comparison: a stored named selection, explicit samples (by id, or by index in the
 * dataset's sample order as Int32 base64: `encodeSampleIndices`), or all samples of an environment.
 * Indices are what a lasso has (projections and `datasets.sampleColumns` number the samples so):
 * 100k of them are one 533 KB string that the serving thread parses and forwards in a millisecond,
 * where 100k ids were an array it took 0.1–0.2 s to parse and hand to the worker.
 */
export const SampleGroup = z.union([
  z.strictObject({ selectionId: Id }),
  z.strictObject({ name: GroupName, sampleIds: z.array(z.string().min(1).max(512)).min(2).max(1_000_000) }),
  z.strictObject({ name: GroupName, sampleIndices: Base64.max(5_400_000) }),
  z.strictObject({ environmentKey: z.string().min(1).max(1000) }),
]);
export type SampleGroup = z.infer<typeof SampleGroup>;

export const DifferentialParams = z.strictObject({
  datasetId: Id,
  groupA: SampleGroup,
  groupB: SampleGroup,
  /** 'auto' reads the scale from the values (see DifferentialResult.scaleReason). */
  scale: z.enum(['auto', 'log', 'linear']).default('auto'),
});

const Nullable = z.number().nullable();

export const DifferentialResult = z.object({
  datasetId: Id,
  groupA: z.object({ name: z.string(), n: z.number().int() }),
  groupB: z.object({ name: z.string(), n: z.number().int() }),
  /** 'log': values compared as stored (log2 expression, z-scores); 'linear': compared as log2(x + 1). */
  scale: z.enum(['log', 'linear']),
  /** What `difference` is: a log2 fold change, or a mean difference in the data's units (z-scores). */
  effect: z.enum(['log2 fold change', 'mean difference']),
  scaleReason: z.string(),
  /** Genes with a p-value (the rest vary in neither group). */
  tested: z.number().int(),
  genes: z.array(
    z.object({
      id: z.string(),
      symbol: z.string(),
      meanA: z.number(),
      meanB: z.number(),
      /** mean A − mean B on the compared scale. */
      difference: z.number(),
      t: Nullable,
      df: Nullable,
      p: Nullable,
      adjustedP: Nullable,
    }),
  ),
});
export type DifferentialResult = z.infer<typeof DifferentialResult>;

/** Float32 values as base64 (little-endian, as every platform the app runs on), in rows of `width`. */
export function decodeFloat32Rows(base64: string, width: number): number[][] {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const values = new Float32Array(bytes.buffer, 0, Math.floor(bytes.length / Float32Array.BYTES_PER_ELEMENT));
  if (width <= 0 || values.length % width !== 0) throw new RangeError(`${values.length} values do not make rows of ${width}`);
  return Array.from({ length: values.length / width }, (_, r) => Array.from(values.subarray(r * width, (r + 1) * width)));
}
