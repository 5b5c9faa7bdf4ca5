// A plan on disk: a study or sweep as independent runs with fixed seeds, plus what evaluates
// their results. A bundle is a folder a cluster can run without the lab: the plan, a read-only
// snapshot of its dataset, an sbatch job-array script, and one result shard per finished task.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describeIssues, LabError } from '../../../shared/api/errors.js';
import { SlurmOptions } from '../../../shared/api/plans.js';
import { StudyId, StudyOptions } from '../../../shared/api/studies.js';
import { TrainingConfig } from '../../../shared/api/training.js';

export { SlurmOptions };

export const SweepAxis = z.strictObject({ name: z.string(), values: z.array(z.number()).min(1) });
export type SweepAxis = z.infer<typeof SweepAxis>;

export const PlanEvaluation = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('study'), study: StudyId, options: StudyOptions }),
  z.strictObject({ kind: z.literal('sweep'), axes: z.array(SweepAxis) }),
]);
export type PlanEvaluation = z.infer<typeof PlanEvaluation>;

export const PlannedRunFile = z.strictObject({
  datasetId: z.string(),
  config: TrainingConfig,
  group: z.string(),
  trial: z.number().int().min(0),
  label: z.string(),
});

export const PlanFile = z.strictObject({
  format: z.literal('cellshift-plan'),
  version: z.literal(1),
  id: z.string().regex(/^plan_[0-9a-f]+$/),
  name: z.string(),
  createdAt: z.string(),
  /** The lab database schema the tasks must write their shards in. */
  schemaVersion: z.number().int(),
  dataset: z.strictObject({ id: z.string(), name: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  evaluation: PlanEvaluation,
  runs: z.array(PlannedRunFile).min(1),
  slurm: SlurmOptions,
  /** How the array tasks start cellshift unless $CELLSHIFT says otherwise (a cluster install). */
  command: z.array(z.string()).min(1),
});
export type PlanFile = z.infer<typeof PlanFile>;

/** What a shard says about itself; collect checks it against the plan before merging anything. */
export const ShardInfo = z.strictObject({
  planId: z.string(),
  taskIndex: z.number().int().min(0),
  datasetId: z.string(),
  datasetSha256: z.string(),
  runId: z.string(),
});
export type ShardInfo = z.infer<typeof ShardInfo>;
export const SHARD_INFO_KEY = 'cellshift.plan-shard';

export const bundleFiles = {
  plan: 'plan.json',
  snapshot: 'dataset.sqlite',
  script: 'submit.sbatch',
  jobs: 'jobs.json',
  shards: 'shards',
  logs: 'logs',
} as const;

export function shardPath(bundle: string, index: number): string {
  return join(bundle, bundleFiles.shards, `task-${index}.sqlite`);
}

export function logPath(bundle: string, index: number): string {
  return join(bundle, bundleFiles.logs, `task-${index}.out`);
}

/** The plan of a bundle folder (or of a plan.json path), checked; a clear error when it is not one. */
export function readPlan(bundleOrPlan: string): { bundle: string; plan: PlanFile } {
  const bundle = bundleOrPlan.endsWith('.json') ? join(bundleOrPlan, '..') : bundleOrPlan;
  const path = join(bundle, bundleFiles.plan);
  if (!existsSync(path)) throw new LabError('not_found', `${bundleOrPlan} is not a CellShift bundle: ${path} does not exist.`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new LabError('bad_input', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = PlanFile.safeParse(json);
  if (!parsed.success) throw new LabError('bad_input', `${path} is not a CellShift plan: ${describeIssues('', parsed.error)}`);
  return { bundle, plan: parsed.data };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * How this installation starts its own command line: the built entry, or from sources the .ts
 * entry behind tsx (by absolute path: tasks run in the bundle folder, where no node_modules is).
 */
export function cellshiftCommand(): string[] {
  const built = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  if (existsSync(built)) return [process.execPath, built];
  return [process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../../cli/main.ts', import.meta.url))];
}

/** The lab's record of a bundle's plan (writing the bundle and collecting it both register it). */
export function planRecord(plan: PlanFile, bundle: string) {
  return {
    id: plan.id,
    kind: plan.evaluation.kind,
    name: plan.name,
    datasetId: plan.dataset.id,
    executor: 'slurm',
    bundlePath: bundle,
    tasks: plan.runs.length,
    plan: JSON.stringify(plan),
    createdAt: plan.createdAt,
  };
}
