// The seed's experiments as one-click studies: configs are data, results are stored and plotted.
import { z } from 'zod';
import { DrugFeatures } from './training.js';

export const StudyId = z.enum([
  'linear-independent',
  'linear-dependent',
  'two-environments',
  'nonlinear-5',
  'l1000-shaped',
  'split-comparison',
  'moa-retrieval',
  'structure-help',
]);
export type StudyId = z.infer<typeof StudyId>;

/** Studies that are a list of independent runs plus an evaluation, so can run as a plan (e.g. a Slurm bundle); lab/studies.ts implements exactly these. */
export const plannedStudyIds = ['split-comparison'] as const satisfies readonly StudyId[];
export type PlannedStudyId = (typeof plannedStudyIds)[number];

export const StudyOptions = z.strictObject({
  trials: z.number().int().min(1).max(10).optional(),
  /** Smaller data and fewer epochs: minutes instead of hours (CI and a first look). */
  quick: z.boolean().default(false),
  seed: z.number().int().min(0).default(0),
  /** Overrides the study's epochs per run (studies 4, 5 and the split comparison): a smaller honest size on a busy machine. */
  epochs: z.number().int().min(1).max(10_000).optional(),
  /** The structure study: train these environment-aware families instead of all of them (quick: cvae). */
  families: z
    .array(z.enum(['cvae', 'env-vae', 'translation-vae', 'drug-shift-vae']))
    .min(1)
    .optional(),
  /** The structure study: train the models on these drug representations (each with its controls), and score kNN and ridge on each. */
  drugFeatures: z.array(DrugFeatures).min(1).optional(),
  /** The structure study: the drug-shift VAE as an ensemble of this many drug networks (its `shiftHeads` setting). */
  shiftHeads: z.number().int().min(1).max(16).optional(),
  /** The structure study: run only these of its splits (those the dataset allows), e.g. held-out drugs alone for a quicker answer. */
  splits: z
    .array(z.enum(['random-environments', 'held-out-drugs', 'scaffold']))
    .min(1)
    .optional(),
  /** For the L1000-shaped study and the split comparison: an imported dataset instead of synthetic L1000-shaped data. */
  datasetId: z.string().optional(),
});
export type StudyOptions = z.infer<typeof StudyOptions>;

const Point = z.object({ x: z.number(), y: z.number() });

export const StudyFigure = z.object({
  id: z.string(),
  title: z.string(),
  /** A line chart over x (the default), or grouped bars: one group per category (x = its index), one bar per series. */
  kind: z.enum(['line', 'bar']).optional(),
  /** Bar charts: the group names. */
  categories: z.array(z.string()).optional(),
  xLabel: z.string(),
  yLabel: z.string(),
  series: z.array(
    z.object({
      label: z.string(),
      points: z.array(Point),
      /** Mean ± std band over trials, when there are several. */
      band: z.array(z.object({ x: z.number(), low: z.number(), high: z.number() })).optional(),
    }),
  ),
});
export type StudyFigure = z.infer<typeof StudyFigure>;

/** The unseen-drug metrics of `cellshift eval`, in table order. */
export const ComparisonMetric = z.enum(['r2', 'r2Top50', 'pearsonDelta', 'directionTop50']);
export type ComparisonMetric = z.infer<typeof ComparisonMetric>;

export const comparisonMetricLabels: Record<ComparisonMetric, string> = {
  r2: 'R²',
  r2Top50: 'top-50 R²',
  pearsonDelta: 'Pearson r of Δ',
  directionTop50: 'direction agreement (top 50)',
};

export const ComparisonSplitKind = z.enum(['random-environments', 'held-out-drugs', 'scaffold']);
export type ComparisonSplitKind = z.infer<typeof ComparisonSplitKind>;

/** Mean ± std over trials; null where no trial produced a number (e.g. every run diverged). */
const Summary = z.object({ mean: z.number().nullable(), std: z.number().nullable(), values: z.array(z.number().nullable()) });

export const SplitComparison = z.object({
  fraction: z.number(),
  trials: z.number().int(),
  splits: z.array(
    z.object({
      kind: ComparisonSplitKind,
      /** Skipped when the dataset cannot support the split (e.g. no drug structures for scaffolds). */
      ran: z.boolean(),
      note: z.string().nullable(),
      /** What each trial held out. */
      heldOut: z.array(
        z.object({ seed: z.number().int(), environments: z.number().int(), drugs: z.number().int(), scaffolds: z.number().int() }),
      ),
      rows: z.array(
        z.object({
          method: z.string(),
          kind: z.enum(['model', 'baseline']),
          /** Runs trained (models) and how many of them diverged or failed. */
          runs: z.number().int(),
          failed: z.number().int(),
          metrics: z.record(ComparisonMetric, Summary),
        }),
      ),
      /** Best method per metric by mean over trials. */
      winners: z.record(ComparisonMetric, z.string().nullable()),
      verdict: z.string(),
    }),
  ),
});
export type SplitComparison = z.infer<typeof SplitComparison>;

/** The comparison as one table: a row per split and method, mean and std per metric. */
export function splitComparisonTable(comparison: SplitComparison): { header: string[]; rows: (string | number | null)[][] } {
  const metrics = ComparisonMetric.options;
  const header = ['split', 'method', 'kind', 'runs', 'failed', ...metrics.flatMap((m) => [`${m} mean`, `${m} std`]), 'winner of'];
  const rows = comparison.splits.flatMap((split) =>
    split.rows.map((row) => [
      split.kind,
      row.method,
      row.kind,
      row.runs,
      row.failed,
      ...metrics.flatMap((m) => [row.metrics[m]?.mean ?? null, row.metrics[m]?.std ?? null]),
      metrics.filter((m) => split.winners[m] === row.method).join(' '),
    ]),
  );
  return { header, rows };
}

/** The same table as CSV (RFC 4180), for the command line. */
export function splitComparisonCsv(comparison: SplitComparison): string {
  const { header, rows } = splitComparisonTable(comparison);
  const cell = (v: string | number | null) => {
    const s = v === null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** Per-environment metrics of the structure study (Δ: change from the same cell line's control mean). */
export const StructureMetric = z.enum(['pearsonDelta', 'pearsonDeltaTop50', 'r2DeltaTop50']);
export type StructureMetric = z.infer<typeof StructureMetric>;

export const structureMetricLabels: Record<StructureMetric, string> = {
  pearsonDelta: 'Pearson r of Δ (all genes)',
  pearsonDeltaTop50: 'Pearson r of Δ (top-50 DEGs)',
  r2DeltaTop50: 'R² of Δ (top-50 DEGs)',
};

/** Wilcoxon signed-rank test of one method against another over held-out environments. */
export const PairedComparison = z.object({
  method: z.string(),
  against: z.string(),
  metric: StructureMetric,
  n: z.number().int(),
  meanDifference: z.number().nullable(),
  medianDifference: z.number().nullable(),
  /** Environments where `method` scored higher. */
  better: z.number().int(),
  pValue: z.number(),
});
export type PairedComparison = z.infer<typeof PairedComparison>;

/** "Does the drug's structure help?": each model with its structure controls, baselines, paired tests. */
export const StructureStudy = z.object({
  trials: z.number().int(),
  fraction: z.number(),
  splits: z.array(
    z.object({
      kind: z.enum(['random-environments', 'held-out-drugs', 'scaffold']),
      label: z.string(),
      ran: z.boolean(),
      note: z.string().nullable(),
      /** Distinct held-out environments scored (each averaged over the trials that held it out). */
      environments: z.number().int(),
      rows: z.array(
        z.object({
          method: z.string(),
          /** model: trained on the structure; control: the same family with permuted or no drug input. */
          kind: z.enum(['model', 'control', 'baseline']),
          runs: z.number().int(),
          failed: z.number().int(),
          metrics: z.record(StructureMetric, z.number().nullable()),
        }),
      ),
      tests: z.array(PairedComparison),
      /** Mean Pearson r of Δ by the nearest training drug's Tanimoto similarity (the DLEPS curve). */
      similarityCurve: z.array(
        z.object({
          low: z.number(),
          high: z.number(),
          environments: z.number().int(),
          scores: z.record(z.string(), z.number().nullable()),
        }),
      ),
      verdicts: z.array(z.string()),
    }),
  ),
});
export type StructureStudy = z.infer<typeof StructureStudy>;

export const structureMetricDefinition =
  "Δ: change of mean expression from the same cell line's control mean. Pearson r of Δ over all genes; R² and Pearson r of Δ " +
  "on the environment's 50 genes with the largest measured |Δ| (top-50 DEGs). Each held-out environment counts once (scores " +
  'averaged over the trials that held it out); p: two-sided Wilcoxon signed-rank test over environments.';

/** The structure study's paired tests as one table (CSV), a row per split and comparison. */
export function structureTestsTable(study: StructureStudy): { header: string[]; rows: (string | number | null)[][] } {
  const header = ['split', 'method', 'against', 'metric', 'environments', 'mean difference', 'median difference', 'method higher on', 'p'];
  const rows = study.splits.flatMap((split) =>
    split.tests.map((t) => [split.kind, t.method, t.against, t.metric, t.n, t.meanDifference, t.medianDifference, t.better, t.pValue]),
  );
  return { header, rows };
}

export const StudyResult = z.object({
  id: StudyId,
  title: z.string(),
  seedSection: z.string(),
  options: StudyOptions,
  startedAt: z.string(),
  finishedAt: z.string(),
  datasetIds: z.array(z.string()),
  runs: z.array(z.object({ runId: z.string(), family: z.string(), trial: z.number().int(), status: z.string() })),
  /** What the seed observed next to what this run measured. */
  table: z.array(z.object({ quantity: z.string(), seedObserved: z.string(), measured: z.string() })),
  figures: z.array(StudyFigure),
  divergedRuns: z.number().int(),
  /** The split comparison's model-vs-baseline table (that study only). */
  comparison: SplitComparison.optional(),
  /** The structure study's controls and paired tests (that study only). */
  structure: StructureStudy.optional(),
});
export type StudyResult = z.infer<typeof StudyResult>;
