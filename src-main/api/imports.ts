// Importing real data: which files, which samples and genes survive the filter, how samples
// group into environments, and how drugs become environment representations.
import { z } from 'zod';

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

export const ImportRequest = z.strictObject({
  matrixPath: z.string().min(1),
  format: ImportFormat.default('auto'),
  /** LINCS tables joined by id: sig_info (sig_id), pert_info (pert_id), gene_info (pr_gene_id), cell_info (cell_id). */
  sigInfoPath: z.string().min(1).optional(),
  pertInfoPath: z.string().min(1).optional(),
  geneInfoPath: z.string().min(1).optional(),
  /** For CSV/TSV matrices: a table of sample metadata keyed by its first column. */
  sampleMetadataPath: z.string().min(1).optional(),
  name: z.string().trim().min(1).max(200).optional(),
  filter: ImportFilter.default(ImportFilter.parse({})),
  environmentKey: EnvironmentKey.default('drug'),
  fingerprint: FingerprintOptions.default(FingerprintOptions.parse({})),
  /** What to do with NaN/Inf expression values. */
  nonFinite: z.enum(['reject', 'zero', 'drop-sample']).default('reject'),
});
export type ImportRequest = z.infer<typeof ImportRequest>;
export type ImportRequestInput = z.input<typeof ImportRequest>;

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
  /** Drugs without a usable structure: kept, with a one-hot fallback representation. */
  drugsWithoutStructure: z.array(z.object({ drug: z.string(), reason: z.string() })),
  /** Why samples were left out, with counts. */
  dropped: z.array(z.object({ reason: z.string(), samples: z.number().int() })),
  warnings: z.array(z.string()),
});
export type ImportPreview = z.infer<typeof ImportPreview>;
