// The seed's experiments as one-click studies: configs are data, results are stored and plotted.
import { z } from 'zod';

export const StudyId = z.enum(['linear-independent', 'linear-dependent', 'two-environments', 'nonlinear-5', 'l1000-shaped']);
export type StudyId = z.infer<typeof StudyId>;

export const StudyOptions = z.strictObject({
  trials: z.number().int().min(1).max(10).optional(),
  /** Smaller data and fewer epochs: minutes instead of hours (CI and a first look). */
  quick: z.boolean().default(false),
  seed: z.number().int().min(0).default(0),
  /** For the L1000-shaped study: an imported dataset to use instead of synthetic L1000-sized data. */
  datasetId: z.string().optional(),
});
export type StudyOptions = z.infer<typeof StudyOptions>;

const Point = z.object({ x: z.number(), y: z.number() });

export const StudyFigure = z.object({
  id: z.string(),
  title: z.string(),
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
});
export type StudyResult = z.infer<typeof StudyResult>;
