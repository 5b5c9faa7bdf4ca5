// Importing real data: which files, which samples and genes survive the filter, how samples
// group into environments, and how drugs become environment representations.
import { z } from 'zod';
import { DatasetSummary, Id } from './domain.js';
import { FileGrantId } from './files.js';

export const ImportFormat = z.enum(['auto', 'gctx', 'gct', 'h5ad', 'csv', 'tsv']);

export const EnvironmentKey = z.enum(['drug', 'drug+cell', 'drug+cell+dose+time']);
export type EnvironmentKey = z.infer<typeof EnvironmentKey>;

export const ImportFilter = z.strictObject({
  /** LINCS pert_type values kept; controls (ctl_*) become the reference environment. */
  pertTypes: z.array(z.string()).default(['trt_cp', 'ctl_vehicle', 'ctl_untrt']),
  cellLines: z.array(z.string()).optional(),
  doses: z.array(z.string()).optional(),
  times: z.array(z.string()).optional(),
  /** Keep only the 978 measured landmark genes (when the file says which they are). */
  landmarkOnly: z.boolean().default(true),
  /** Drop environments with fewer samples than this. */
  minReplicates: z.number().int().min(1).default(1),
  /** Keep at most this many samples (the first ones after filtering), for quick looks. */
  maxSamples: z.number().int().positive().optional(),
});
export type ImportFilter = z.infer<typeof ImportFilter>;

export const FingerprintOptions = z.strictObject({
  radius: z.number().int().min(1).max(6).default(2),
  nBits: z.number().int().min(64).max(16_384).default(1024),
  chirality: z.boolean().default(false),
});
export type FingerprintOptions = z.infer<typeof FingerprintOptions>;

/**
 * What samples become when the file says nothing about any sample's treatment (a matrix without
 * sample metadata): one "unlabelled" environment, or each sample its own environment.
 */
export const UnlabelledSamples = z.enum(['one-environment', 'each-sample']);
export type UnlabelledSamples = z.infer<typeof UnlabelledSamples>;

/** Everything about an import except which files it reads. */
export const ImportSettings = z.strictObject({
  format: ImportFormat.default('auto'),
  name: z.string().trim().min(1).max(200).optional(),
  filter: ImportFilter.default(ImportFilter.parse({})),
  environmentKey: EnvironmentKey.default('drug'),
  fingerprint: FingerprintOptions.default(FingerprintOptions.parse({})),
  /** What to do with NaN/Inf expression values. */
  nonFinite: z.enum(['reject', 'zero', 'drop-sample']).default('reject'),
  unlabelledSamples: UnlabelledSamples.default('one-environment'),
});
export type ImportSettingsInput = z.input<typeof ImportSettings>;

/**
 * The files of an import, as grants (see files.ts): the expression matrix and the optional LINCS
 * tables joined by id — sig_info (sig_id), pert_info (pert_id), gene_info (pr_gene_id) — or, for
 * CSV/TSV matrices, a sample metadata table keyed by its first column.
 */
export const ImportFiles = z.strictObject({
  matrix: FileGrantId,
  sigInfo: FileGrantId.optional(),
  pertInfo: FileGrantId.optional(),
  geneInfo: FileGrantId.optional(),
  sampleMetadata: FileGrantId.optional(),
});
export type ImportFiles = z.infer<typeof ImportFiles>;

/** What the renderer (or any LabApi caller) asks for: file grants, never paths. */
export const ImportRequest = ImportSettings.extend({ files: ImportFiles });
export type ImportRequest = z.infer<typeof ImportRequest>;
export type ImportRequestInput = z.input<typeof ImportRequest>;

/**
 * An import with its files resolved to paths by the lab itself (from grants, or from the command
 * line the user typed). In-process only: no LabApi method accepts it.
 */
export const ResolvedImport = ImportSettings.extend({
  matrixPath: z.string().min(1),
  sigInfoPath: z.string().min(1).optional(),
  pertInfoPath: z.string().min(1).optional(),
  geneInfoPath: z.string().min(1).optional(),
  sampleMetadataPath: z.string().min(1).optional(),
  /** How the dataset's description and provenance name each file, when not by its path (uploads). */
  fileLabels: z.partialRecord(ImportFiles.keyof(), z.string()).optional(),
});
export type ResolvedImport = z.infer<typeof ResolvedImport>;
export type ResolvedImportInput = z.input<typeof ResolvedImport>;

export const CountedValue = z.object({ value: z.string(), samples: z.number().int() });

export const ImportPreview = z.object({
  format: z.string(),
  samplesInFile: z.number().int(),
  genesInFile: z.number().int(),
  samples: z.number().int(),
  genes: z.number().int(),
  environments: z.number().int(),
  controlSamples: z.number().int(),
  drugs: z.number().int(),
  cellLines: z.array(CountedValue),
  doses: z.array(CountedValue),
  times: z.array(CountedValue),
  pertTypes: z.array(CountedValue),
  /** Where the drugs' structures came from (the compound table given, the matrix's column, the lab's compound library), with drug counts. */
  structureSources: z.array(z.object({ source: z.string(), drugs: z.number().int() })),
  /** Drugs without a usable structure: kept, with a one-hot fallback representation. */
  drugsWithoutStructure: z.array(z.object({ drug: z.string(), reason: z.string() })),
  /** Why samples were left out, with counts. */
  dropped: z.array(z.object({ reason: z.string(), samples: z.number().int() })),
  warnings: z.array(z.string()),
});
export type ImportPreview = z.infer<typeof ImportPreview>;

/** What adding a compound table to the lab's compound library did. */
export const CompoundImportResult = z.object({
  /** The table, as the library credits it. */
  source: z.string(),
  compounds: z.number().int(),
  withStructure: z.number().int(),
  withTargets: z.number().int(),
  /** New to the library, and already known (their fields updated). */
  added: z.number().int(),
  updated: z.number().int(),
  libraryTotal: z.number().int(),
});
export type CompoundImportResult = z.infer<typeof CompoundImportResult>;

/**
 * A sample table (sig_info, siginfo_beta, or a CSV/TSV keyed by its first column) joined to a
 * stored dataset imported without sample metadata. It makes a new dataset; the original stays.
 */
export const AttachSamplesRequest = z.strictObject({
  datasetId: Id,
  table: FileGrantId,
  /** Leave out samples the table does not name; without it such a table is refused. */
  dropUnmatched: z.boolean().default(false),
});
export type AttachSamplesRequest = z.infer<typeof AttachSamplesRequest>;

/** The finished attach job's result. */
export const AttachSamplesResult = z.object({
  dataset: DatasetSummary,
  /** The dataset the samples came from, unchanged. */
  from: Id,
  unmatchedDropped: z.number().int(),
  warnings: z.array(z.string()),
});
export type AttachSamplesResult = z.infer<typeof AttachSamplesResult>;
