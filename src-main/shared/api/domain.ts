// Shapes of the things the lab talks about. Pure contract: no Node, no DOM.
import { z } from 'zod';
import { isModelFamily, type ModelFamily } from './model-families.js';

export const Id = z.string().min(1).max(128);

/** Seeds of generators and training: 31-bit so every language's RNG takes them. */
export const Seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

export const DatasetSource = z.enum(['synthetic', 'gctx', 'gct', 'h5ad', 'csv']);
export type DatasetSource = z.infer<typeof DatasetSource>;

export const MetadataColumn = z.object({
  name: z.string(),
  kind: z.enum(['categorical', 'numeric']),
  /** Number of distinct non-missing values. */
  distinct: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  /** A few example values, most frequent first (categorical) or min/max (numeric). */
  examples: z.array(z.string()),
});
export type MetadataColumn = z.infer<typeof MetadataColumn>;

export const DatasetSummary = z.object({
  id: Id,
  name: z.string(),
  source: DatasetSource,
  description: z.string(),
  createdAt: z.string(),
  nSamples: z.number().int().nonnegative(),
  nGenes: z.number().int().nonnegative(),
  nEnvironments: z.number().int().nonnegative(),
  /** Bytes of expression data stored (float32). */
  expressionBytes: z.number().int().nonnegative(),
  metadataColumns: z.array(MetadataColumn),
  /** SHA-256 over gene ids, sample ids and expression values: cited in figure provenance. */
  contentHash: z.string(),
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

export const GenePreview = z.object({
  id: z.string(),
  symbol: z.string(),
  landmark: z.boolean(),
});

export const DatasetDetail = DatasetSummary.extend({
  genes: z.array(GenePreview),
  /** Total genes; `genes` may be a prefix of them. */
  genesTotal: z.number().int().nonnegative(),
  provenance: z.record(z.string(), z.unknown()),
});
export type DatasetDetail = z.infer<typeof DatasetDetail>;

export const EnvironmentSummary = z.object({
  id: Id,
  key: z.string(),
  label: z.string(),
  isControl: z.boolean(),
  perturbagen: z.string().nullable(),
  cellLine: z.string().nullable(),
  dose: z.string().nullable(),
  time: z.string().nullable(),
  nSamples: z.number().int().nonnegative(),
  /** Length of the environment representation vector (fingerprint bits, offsets, ...). */
  representationLength: z.number().int().nonnegative(),
  representationKind: z.string(),
  drugName: z.string().nullable(),
  smiles: z.string().nullable(),
  /**
   * Whether the drug's structure is usable: parsed (fingerprint from the SMILES), invalid (RDKit
   * rejected it), missing (no SMILES; the environment falls back to a one-hot code). Null for controls
   * and environments that are not drugs.
   */
  structure: z.enum(['parsed', 'invalid', 'missing']).nullable(),
  /** Bemis–Murcko scaffold (SMILES) of a parsed drug; '' for acyclic drugs. */
  scaffold: z.string().nullable(),
  /** Samples per cell line, most first ('(unknown)' where the sample names none). */
  cellLines: z.array(z.object({ cellLine: z.string(), samples: z.number().int().nonnegative() })),
});
export type EnvironmentSummary = z.infer<typeof EnvironmentSummary>;

/** Sample metadata columns read as the cell line, in order of preference (LINCS and common names). */
export const CELL_LINE_COLUMNS = ['cell_id', 'cell_line', 'cell_iname'] as const;

export const EnvironmentStructure = z.object({
  environmentId: Id,
  smiles: z.string().nullable(),
  canonicalSmiles: z.string().nullable(),
  inchiKey: z.string().nullable(),
  scaffold: z.string().nullable(),
  /** 2-D depiction (SVG markup drawn by RDKit); null when there is no usable structure. */
  svg: z.string().nullable(),
  /** Why the structure is unusable, when it is. */
  problem: z.string().nullable(),
});
export type EnvironmentStructure = z.infer<typeof EnvironmentStructure>;

export const EnvironmentRepresentations = z.object({
  kind: z.string(),
  /** Names of the representation's coordinates when they have names (e.g. latent shifts). */
  columns: z.array(z.string()),
  rows: z.array(z.object({ environmentId: Id, key: z.string(), label: z.string(), values: z.array(z.number()) })),
});
export type EnvironmentRepresentations = z.infer<typeof EnvironmentRepresentations>;

export const RunStatus = z.enum(['queued', 'running', 'paused', 'completed', 'cancelled', 'failed', 'diverged', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatus>;

/** Statuses after which a run's worker has stopped (the run may still be resumed). */
export const stoppedRunStatuses: readonly RunStatus[] = ['completed', 'cancelled', 'failed', 'diverged', 'interrupted'];
/** Statuses that end a run's attempt and stamp its finish time (interrupted is set at the next start). */
export const finishingRunStatuses: readonly RunStatus[] = ['completed', 'cancelled', 'failed', 'diverged'];
/** Stopped runs that can continue from their last checkpoint. */
export const restartableRunStatuses: readonly RunStatus[] = ['interrupted', 'cancelled', 'failed'];
/** Runs `resume` applies to: restartable ones and paused ones. */
export const resumableRunStatuses: readonly RunStatus[] = [...restartableRunStatuses, 'paused'];

export const RunSummary = z.object({
  id: Id,
  name: z.string(),
  datasetId: Id,
  /** Checked when parsed, so a family registered at run time is accepted. */
  model: z.custom<ModelFamily>(isModelFamily, { message: 'not a registered model family' }),
  status: RunStatus,
  backend: z.string().nullable(),
  threads: z.number().int().nullable(),
  seed: z.number().int(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  epochsDone: z.number().int().nonnegative(),
  epochsPlanned: z.number().int().nonnegative().nullable(),
  bestValidationLoss: z.number().nullable(),
  message: z.string().nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const MetricSeries = z.object({
  split: z.string(),
  name: z.string(),
  points: z.array(z.object({ epoch: z.number().int(), step: z.number().int(), value: z.number() })),
});
export type MetricSeries = z.infer<typeof MetricSeries>;

export const RunDetail = RunSummary.extend({
  config: z.unknown(),
  /** What training resolved: dimensions, held-out environments, parameter count. */
  details: z.record(z.string(), z.unknown()).nullable(),
  checkpoints: z.array(z.number().int()),
  active: z.boolean(),
});
export type RunDetail = z.infer<typeof RunDetail>;

export const RunAction = z.enum(['pause', 'resume', 'cancel']);
export type RunAction = z.infer<typeof RunAction>;

export const SyntheticPreset = z.enum(['demo', 'linear-independent-2', 'linear-dependent-2', 'nonlinear-5']);
export type SyntheticPreset = z.infer<typeof SyntheticPreset>;

export const CreateSyntheticParams = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  preset: SyntheticPreset,
  seed: Seed.default(0),
});
export type CreateSyntheticParams = z.input<typeof CreateSyntheticParams>;

export const ComputeBackendInfo = z.object({
  name: z.string(),
  threads: z.number().int().nullable(),
  /** Why this backend was chosen, e.g. "tfjs-node not installed: ...". */
  reason: z.string(),
});

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  carrier: z.enum(['electron', 'browser', 'cli']),
  databasePath: z.string(),
  schemaVersion: z.number().int(),
  platform: z.string(),
  /** Who describes drug structures, e.g. "native RDKit 2022.09.3 (cellshift_rdkit addon)", or the WebAssembly build and why. */
  chemistryEngine: z.string(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const JobKind = z.enum(['import', 'synthetic', 'train', 'projection', 'study', 'sweep']);
export const ImportRecord = z.object({
  id: Id,
  source: z.string(),
  status: z.enum(['running', 'completed', 'failed', 'cancelled', 'interrupted']),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  datasetId: z.string().nullable(),
  message: z.string().nullable(),
});
export type ImportRecord = z.infer<typeof ImportRecord>;

export const ArtifactSummary = z.object({
  id: Id,
  kind: z.string(),
  name: z.string(),
  mediaType: z.string(),
  createdAt: z.string(),
  runId: z.string().nullable(),
  datasetId: z.string().nullable(),
});
export type ArtifactSummary = z.infer<typeof ArtifactSummary>;

export const JobStarted = z.object({ jobId: Id, kind: JobKind });
export type JobStarted = z.infer<typeof JobStarted>;
