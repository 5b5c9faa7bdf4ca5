// Plans (a study or sweep as independent runs, e.g. a Slurm job array) as the UI sees them.
import { z } from 'zod';
import { Id } from './domain.js';

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
