// Writing a plan as a portable bundle folder: the dataset's read-only snapshot, plan.json, and
// the sbatch job-array script whose task i trains run i and writes shard i.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LabError } from '../../../shared/api/errors.js';
import type { StudyId, StudyOptions } from '../../../shared/api/studies.js';
import type { JobContextLike } from '../../data/progress.js';
import { writeDatasetSnapshot } from '../../store/plans.js';
import type { StudyLab, StudyPlan } from '../studies/common.js';
import { plannedStudies, studyContext, studyTitles } from '../studies.js';
import { bundleFiles, cellshiftCommand, type PlanEvaluation, type PlanFile, planRecord, type SlurmOptions, sha256File } from './plan.js';

export interface BundleRequest {
  /** An empty or not yet existing folder. */
  folder: string;
  name: string;
  plan: StudyPlan;
  evaluation: PlanEvaluation;
  slurm: SlurmOptions;
  /** How the tasks start cellshift (default: this installation, by absolute path). */
  command?: string[];
}

/** Plans a study (generating its data if it needs to) and writes it as a bundle. */
export async function writeStudyBundle(
  lab: StudyLab,
  id: StudyId,
  options: StudyOptions,
  request: Omit<BundleRequest, 'name' | 'plan' | 'evaluation'>,
  job?: JobContextLike,
): Promise<{ bundle: string; plan: PlanFile }> {
  const planned = requirePlannedStudy(id);
  const plan = await planned.plan(studyContext(lab, options, job));
  return writeBundle(lab, {
    ...request,
    name: `${studyTitles[id].title} (seed ${options.seed}${options.quick ? ', quick' : ''})`,
    plan,
    evaluation: { kind: 'study', study: id, options },
  });
}

/** A study that runs as a plan of independent runs (so can be written as a bundle), or a clear error. */
export function requirePlannedStudy(id: StudyId): NonNullable<(typeof plannedStudies)[StudyId]> {
  const planned = plannedStudies[id];
  if (!planned) {
    const ids = Object.keys(plannedStudies).join(', ');
    throw new LabError('invalid_params', `The ${id} study does not run as a plan of independent runs yet (these do: ${ids}).`);
  }
  return planned;
}

export async function writeBundle(lab: StudyLab, request: BundleRequest): Promise<{ bundle: string; plan: PlanFile }> {
  const bundle = resolve(request.folder);
  if (existsSync(bundle) && readdirSync(bundle).length > 0) {
    throw new LabError('conflict', `${bundle} is not empty: a bundle needs a folder of its own (give a new --bundle folder).`);
  }
  const { datasetId, runs } = request.plan;
  if (runs.length === 0) throw new LabError('bad_input', 'The plan has no runs: nothing to submit.');
  const dataset = lab.store.datasets.get(datasetId);
  mkdirSync(join(bundle, bundleFiles.shards), { recursive: true });
  mkdirSync(join(bundle, bundleFiles.logs), { recursive: true });
  const snapshot = join(bundle, bundleFiles.snapshot);
  writeDatasetSnapshot(lab.store.db, datasetId, snapshot);
  const plan: PlanFile = {
    format: 'cellshift-plan',
    version: 1,
    id: `plan_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    name: request.name,
    createdAt: new Date().toISOString(),
    schemaVersion: lab.store.schemaVersion,
    dataset: { id: dataset.id, name: dataset.name, sha256: await sha256File(snapshot) },
    evaluation: request.evaluation,
    runs: runs.map((r) => ({ datasetId: r.datasetId, config: r.config, group: r.group, trial: r.trial, label: r.label })),
    slurm: request.slurm,
    command: request.command ?? cellshiftCommand(),
  };
  writeFileSync(join(bundle, bundleFiles.plan), `${JSON.stringify(plan, null, 2)}\n`);
  writeFileSync(join(bundle, bundleFiles.script), sbatchScript(plan), { mode: 0o755 });
  lab.store.plans.register(planRecord(plan, bundle));
  return { bundle, plan };
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A job array over the plan's runs; task i's output goes to logs/task-i.out, its result to shards/task-i.sqlite. */
export function sbatchScript(plan: PlanFile): string {
  const { slurm } = plan;
  const directives = [
    `--job-name=cellshift-${plan.id}`,
    `--array=0-${plan.runs.length - 1}`,
    `--output=${bundleFiles.logs}/task-%a.out`,
    `--cpus-per-task=${slurm.cpusPerTask ?? 1}`,
    ...(slurm.partition ? [`--partition=${slurm.partition}`] : []),
    ...(slurm.time ? [`--time=${slurm.time}`] : []),
    ...(slurm.mem ? [`--mem=${slurm.mem}`] : []),
    ...(slurm.account ? [`--account=${slurm.account}`] : []),
  ];
  const builtIn = plan.command.map(shellQuote).join(' ');
  return `#!/bin/bash
# CellShift plan ${plan.id}: ${plan.name.replaceAll('\n', ' ')}
# ${plan.runs.length} independent training runs, one per array task. Submit from this folder:
#   sbatch ${bundleFiles.script}            (re-run some tasks: sbatch --array=3,7 ${bundleFiles.script})
# then, next to the lab database:  cellshift collect THIS_FOLDER
${directives.map((d) => `#SBATCH ${d}`).join('\n')}
set -euo pipefail
cd "\${SLURM_SUBMIT_DIR:-.}"
# The tasks share the snapshot read-only; each writes only its own shard. Where cellshift is
# installed differently on the compute nodes, submit with CELLSHIFT set, e.g. CELLSHIFT=cellshift.
if [ -n "\${CELLSHIFT:-}" ]; then
  exec $CELLSHIFT run-task ${bundleFiles.plan} --index "$SLURM_ARRAY_TASK_ID"
fi
exec ${builtIn} run-task ${bundleFiles.plan} --index "$SLURM_ARRAY_TASK_ID"
`;
}
