// Plans (a study or sweep as independent runs, e.g. a Slurm job array) as the UI sees them.
import { z } from 'zod';
import { Id } from './domain.js';
import { FolderId } from './files.js';
import { ModelFamily, type SettingField, settingFields } from './training.js';

export const PlanSummary = z.object({
  id: Id,
  kind: z.string(),
  name: z.string(),
  datasetId: Id,
  executor: z.string(),
  bundlePath: z.string().nullable(),
  tasks: z.number().int(),
  collected: z.number().int(),
  reportArtifactId: z.string().nullable(),
  createdAt: z.string(),
});
export type PlanSummary = z.infer<typeof PlanSummary>;

export const TaskState = z.enum(['done', 'pending', 'running', 'failed', 'not submitted', 'unknown']);
export type TaskState = z.infer<typeof TaskState>;

export const TaskStatus = z.object({
  index: z.number().int(),
  state: TaskState,
  /** Slurm's word for it (PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, TIMEOUT, …) and where it came from. */
  slurmState: z.string().nullable(),
  source: z.enum(['shard', 'squeue', 'scontrol', 'sacct', 'jobcomp']).nullable(),
  jobId: z.string().nullable(),
  reason: z.string().nullable(),
  logTail: z.array(z.string()),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

export const Submission = z.strictObject({ jobId: z.string(), tasks: z.array(z.number().int()), submittedAt: z.string() });
export type Submission = z.infer<typeof Submission>;

export const BundleStatus = z.object({
  planId: z.string(),
  name: z.string(),
  submissions: z.array(Submission),
  tasks: z.array(TaskStatus),
  counts: z.record(TaskState, z.number().int()),
});
export type BundleStatus = z.infer<typeof BundleStatus>;

export const CollectSummary = z.object({
  planId: z.string(),
  tasks: z.number().int(),
  merged: z.array(z.number().int()),
  alreadyCollected: z.array(z.number().int()),
  missing: z.array(z.number().int()),
  reportArtifactId: z.string().nullable(),
});
export type CollectSummary = z.infer<typeof CollectSummary>;

/** sbatch options of a bundle's job array. */
export const SlurmOptions = z.strictObject({
  partition: z.string().min(1).optional(),
  /** sbatch --time, e.g. 30:00 or 1-00:00:00 */
  time: z
    .string()
    .regex(/^(\d+-)?\d+(:\d+){0,2}$/, 'a Slurm time such as 30, 30:00, 2:00:00 or 1-00:00:00')
    .optional(),
  cpusPerTask: z.number().int().min(1).max(1024).optional(),
  /** sbatch --mem, e.g. 4G */
  mem: z
    .string()
    .regex(/^\d+[KMGT]?$/, 'a Slurm memory size such as 4000 or 4G')
    .optional(),
  account: z.string().min(1).optional(),
});
export type SlurmOptions = z.infer<typeof SlurmOptions>;

/**
 * The settings a sweep's grid may vary: every number setting all families read, named by its CLI
 * flag (lr, latent, hidden, …) — the same registry the Train form and `cellshift sweep --grid` use.
 */
export const sweepSettingFields: readonly SettingField[] = settingFields()
  .filter((f) => f.family === undefined && f.setting.input.kind !== 'choice')
  .sort((a, b) => sweepOrder(a.setting.flag) - sweepOrder(b.setting.flag));

/** The order `cellshift sweep --help` has always listed them in; settings added later come after. */
function sweepOrder(flag: string): number {
  const order = ['lr', 'latent', 'hidden', 'beta', 'temperature', 'warmup', 'epochs', 'batch-size', 'seed'];
  const i = order.indexOf(flag);
  return i === -1 ? order.length : i;
}
export const SweepSetting = z.enum(sweepSettingFields.map((f) => f.setting.flag) as [string, ...string[]]);

/** Where a sweep's or a study's runs train: here (a pool of workers), or as a Slurm job array written to a bundle. */
export const SweepExecutor = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local'), workers: z.number().int().min(1).max(64).default(1) }),
  z.strictObject({
    kind: z.literal('slurm'),
    /** The allowed folder (--allow-dir) the bundle folder is made in. */
    folderId: FolderId,
    /** A new folder's name inside it. */
    bundleName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a folder name: letters, digits, . _ - (no slashes)'),
    slurm: SlurmOptions.default({}),
    /** Submit with sbatch when Slurm is on PATH here (otherwise the bundle is written and the job says how to submit it). */
    submit: z.boolean().default(true),
  }),
]);
export type SweepExecutor = z.infer<typeof SweepExecutor>;

export const SweepParams = z.strictObject({
  datasetId: Id,
  family: ModelFamily,
  /** One axis per setting: its values as the CLI takes them, comma-separated ("1e-3,1e-4"). */
  grid: z
    .array(z.strictObject({ setting: SweepSetting, values: z.string().trim().min(1).max(2000) }))
    .min(1)
    .max(8),
  epochs: z.number().int().min(1).max(100_000).optional(),
  seed: z.number().int().min(0).default(0),
  validationFraction: z.number().gt(0).lt(1).default(0.2),
  executor: SweepExecutor.default({ kind: 'local', workers: 1 }),
});
export type SweepParams = z.infer<typeof SweepParams>;
