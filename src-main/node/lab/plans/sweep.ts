// A hyperparameter sweep as a plan: one run per point of the grid (the cartesian product of the
// axes), all from one base configuration and seed, then a table of held-out losses per point.
import { describeIssues, LabError } from '../../../shared/api/errors.js';
import { type SlurmOptions, type SweepParams, sweepSettingFields } from '../../../shared/api/plans.js';
import { type StudyId, StudyOptions } from '../../../shared/api/studies.js';
import { TrainingConfig } from '../../../shared/api/training.js';
import type { JobContextLike } from '../../data/progress.js';
import type { StudyLab } from '../studies/common.js';
import { type StudyPlan, trainPlanned } from '../studies/common.js';
import { studyContext } from '../studies.js';
import { writeBundle, writeStudyBundle } from './bundle.js';
import type { PlanFile, SweepAxis } from './plan.js';
import { slurmAvailable, submitBundle } from './slurm.js';

/** What each grid name sets in a TrainingConfig: the registry's number settings, named like the `train` flags. */
const PARAMETERS: Record<string, (config: TrainingConfig, value: number) => void> = Object.fromEntries(
  sweepSettingFields.map((field) => [
    field.setting.flag,
    (c: TrainingConfig, v: number) => {
      const target = (field.section === 'model' ? c.model : c) as unknown as Record<string, unknown>;
      target[field.key] = v;
    },
  ]),
);

export const sweepParameters = Object.keys(PARAMETERS);

/** The configuration every point starts from: the family, epochs, the seed for training and the split, the held-out fraction. */
export function sweepBaseConfig(options: {
  family: string | undefined;
  epochs?: number | undefined;
  seed: number;
  validationFraction: number;
}): TrainingConfig {
  const base = TrainingConfig.safeParse({
    model: { family: options.family },
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    seed: options.seed,
    validation: { kind: 'random-environments', fraction: options.validationFraction, seed: options.seed },
  });
  if (!base.success) throw new LabError('invalid_params', `Invalid training options: ${describeIssues('', base.error)}`);
  return base.data;
}

/** The sweep's plan over a stored dataset, and its name. */
export function prepareSweep(lab: StudyLab, datasetId: string, base: TrainingConfig, axes: SweepAxis[]): { plan: StudyPlan; name: string } {
  lab.store.datasets.get(datasetId);
  const plan = planSweep(datasetId, base, axes);
  const name = `Sweep of ${base.model.family} over ${axes.map((a) => `${a.name} ∈ {${a.values.join(', ')}}`).join(' × ')}`;
  return { plan, name };
}

/** A plan written as a bundle (a sweep's or a study's). */
export interface SweepBundleResult {
  kind: 'slurm';
  bundle: string;
  planId: string;
  tasks: number;
  /** The job array's id when it was submitted here. */
  jobId: string | null;
  /** What to do next, in words (how to submit when Slurm is not here, how to collect). */
  next: string;
}

/** The Slurm executor: writes the bundle, submits it when asked and sbatch is on PATH, and says what next. */
export async function sweepOnSlurm(
  lab: StudyLab,
  prepared: { plan: StudyPlan; name: string },
  axes: SweepAxis[],
  request: { folder: string; slurm: SlurmOptions; command?: string[]; submit: boolean },
): Promise<SweepBundleResult> {
  const { bundle, plan } = await writeBundle(lab, {
    folder: request.folder,
    slurm: request.slurm,
    ...(request.command ? { command: request.command } : {}),
    name: prepared.name,
    plan: prepared.plan,
    evaluation: { kind: 'sweep', axes },
  });
  return submitWritten({ bundle, plan }, request.submit);
}

/** A study's plan as a bundle (`cellshift study --executor slurm`, or the Studies panel), submitted like a sweep's. */
export async function studyOnSlurm(
  lab: StudyLab,
  id: StudyId,
  options: StudyOptions,
  request: { folder: string; slurm: SlurmOptions; submit: boolean },
  job?: JobContextLike,
): Promise<SweepBundleResult> {
  job?.progress(null, 'Writing the bundle (dataset snapshot, plan, sbatch script)…');
  const written = await writeStudyBundle(lab, id, options, { folder: request.folder, slurm: request.slurm }, job);
  return submitWritten(written, request.submit);
}

/** Submits a written bundle when asked and sbatch is on PATH, and says what next. */
function submitWritten({ bundle, plan }: { bundle: string; plan: PlanFile }, submit: boolean): SweepBundleResult {
  const submission = submit && slurmAvailable() ? submitBundle(bundle) : null;
  const next = submission
    ? `Submitted job array ${submission.jobId}. When done: cellshift collect ${bundle} (or Collect under "On the cluster").`
    : `Not submitted${submit ? ' (sbatch is not on PATH here)' : ''}: copy the folder to a login node and run there: cd ${bundle} && sbatch submit.sbatch. When done: cellshift collect ${bundle}.`;
  return { kind: 'slurm', bundle, planId: plan.id, tasks: plan.runs.length, jobId: submission?.jobId ?? null, next };
}

/**
 * A sweep as the LabApi starts it: the same parsing, planning and executors as `cellshift sweep`.
 * `bundleFolder` gives the slurm executor's folder (checked by the caller against the allowed folders).
 */
export async function executeSweep(
  lab: StudyLab,
  params: SweepParams,
  bundleFolder: () => Promise<string>,
  job?: JobContextLike,
): Promise<(SweepResult & { kind: 'local' }) | SweepBundleResult> {
  const { axes, prepared } = checkSweep(lab, params);
  const executor = params.executor;
  if (executor.kind === 'slurm') {
    job?.progress(null, 'Writing the bundle (dataset snapshot, plan, sbatch script)…');
    return sweepOnSlurm(lab, prepared, axes, { folder: await bundleFolder(), slurm: executor.slurm, submit: executor.submit });
  }
  return { kind: 'local', ...(await runSweep(lab, prepared.plan, axes, executor.workers, job)) };
}

/** Everything that can be refused before any work starts: the grid, the configuration of every point, the dataset. */
export function checkSweep(lab: StudyLab, params: SweepParams): { axes: SweepAxis[]; prepared: { plan: StudyPlan; name: string } } {
  const axes = parseGrid(params.grid.map((axis) => `${axis.setting}=${axis.values}`));
  const base = sweepBaseConfig({
    family: params.family,
    epochs: params.epochs,
    seed: params.seed,
    validationFraction: params.validationFraction,
  });
  return { axes, prepared: prepareSweep(lab, params.datasetId, base, axes) };
}

/** `lr=1e-3,1e-4` → an axis; a clear error for an unknown name, a value that is not a number, or a name given twice. */
export function parseGrid(specs: readonly string[]): SweepAxis[] {
  if (specs.length === 0) throw new LabError('invalid_params', `Give at least one --grid NAME=V1,V2 (NAME: ${sweepParameters.join(', ')})`);
  const axes: SweepAxis[] = [];
  for (const spec of specs) {
    const match = /^([\w-]+)=(.+)$/.exec(spec);
    if (!match) throw new LabError('invalid_params', `--grid "${spec}" is not NAME=V1,V2,…`);
    const [, name, list] = match as unknown as [string, string, string];
    if (!PARAMETERS[name]) throw new LabError('invalid_params', `--grid ${name}: unknown parameter (one of ${sweepParameters.join(', ')})`);
    if (axes.some((a) => a.name === name))
      throw new LabError('invalid_params', `--grid ${name} is given twice: list its values in one --grid`);
    const values = list.split(',').map((text) => {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) throw new LabError('invalid_params', `--grid ${name}: "${text}" is not a number`);
      return value;
    });
    axes.push({ name, values: [...new Set(values)] });
  }
  return axes;
}

/** Every point of the grid applied to the base configuration, each checked as a TrainingConfig. */
export function planSweep(datasetId: string, base: TrainingConfig, axes: readonly SweepAxis[]): StudyPlan {
  let points: Record<string, number>[] = [{}];
  for (const axis of axes) points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.name]: v })));
  const runs = points.map((point) => {
    const config = structuredClone(base);
    for (const [name, value] of Object.entries(point)) PARAMETERS[name]?.(config, value);
    const checked = TrainingConfig.safeParse(config);
    if (!checked.success) {
      throw new LabError(
        'invalid_params',
        `Grid point ${pointLabel(point)} is not a valid configuration: ${checked.error.issues[0]?.message}`,
      );
    }
    return { datasetId, config: checked.data, group: pointLabel(point), trial: 0, label: `sweep ${pointLabel(point)}` };
  });
  return { datasetId, runs };
}

function pointLabel(point: Record<string, number>): string {
  return Object.entries(point)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
}

export interface SweepResult {
  datasetId: string;
  axes: SweepAxis[];
  points: { point: string; runId: string; status: string; finalValidationLoss: number | null; bestValidationLoss: number | null }[];
  /** The point with the lowest final held-out loss among runs that completed. */
  best: string | null;
  artifactId: string;
}

/** The sweep's table over its trained runs (results[i] is plan.runs[i]), stored as a 'sweep' artifact. */
export function sweepReport(lab: StudyLab, plan: StudyPlan, axes: SweepAxis[], results: { id: string; status: string }[]): SweepResult {
  const points = plan.runs.map((run, i) => {
    const result = results[i] as { id: string; status: string };
    const validation = lab.store.runs.metrics(result.id, 'loss').filter((p) => p.split === 'validation');
    return {
      point: run.group,
      runId: result.id,
      status: result.status,
      finalValidationLoss: validation.at(-1)?.value ?? null,
      bestValidationLoss: lab.store.runs.get(result.id).bestValidationLoss,
    };
  });
  const ranked = points.filter((p) => p.status === 'completed' && p.finalValidationLoss !== null);
  ranked.sort((a, b) => (a.finalValidationLoss as number) - (b.finalValidationLoss as number));
  const summary = { datasetId: plan.datasetId, axes, points, best: ranked[0]?.point ?? null };
  const artifact = lab.store.artifacts.put({
    kind: 'sweep',
    name: `Sweep over ${axes.map((a) => a.name).join(' × ')} (${points.length} runs)`,
    mediaType: 'application/json',
    content: JSON.stringify(summary),
    provenance: { axes, runs: points.map((p) => p.runId), datasets: [plan.datasetId] },
  });
  return { ...summary, artifactId: artifact.id };
}

/** The local executor: the grid's runs in a pool of `workers` training workers, then the table. */
export async function runSweep(
  lab: StudyLab,
  plan: StudyPlan,
  axes: SweepAxis[],
  workers: number,
  job?: JobContextLike,
): Promise<SweepResult> {
  const results = await trainPlanned(studyContext(lab, StudyOptions.parse({}), job), plan.runs, workers);
  return sweepReport(lab, plan, axes, results);
}
