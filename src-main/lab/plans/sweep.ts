// A hyperparameter sweep as a plan: one run per point of the grid (the cartesian product of the
// axes), all from one base configuration and seed, then a table of held-out losses per point.
import { LabError } from '../../api/errors.js';
import { StudyOptions } from '../../api/studies.js';
import { TrainingConfig } from '../../api/training.js';
import type { JobContextLike } from '../../data/progress.js';
import type { StudyLab } from '../studies/common.js';
import { type StudyPlan, trainPlanned } from '../studies/common.js';
import { studyContext } from '../studies.js';
import type { SweepAxis } from './plan.js';

/** What each grid name sets in a TrainingConfig, named like the `train` flags. */
const PARAMETERS: Record<string, (config: TrainingConfig, value: number) => void> = {
  lr: (c, v) => {
    c.learningRate = v;
  },
  latent: (c, v) => {
    c.model.latentDim = v;
  },
  hidden: (c, v) => {
    c.model.hiddenUnits = v;
  },
  beta: (c, v) => {
    c.model.beta = v;
  },
  temperature: (c, v) => {
    c.model.temperature = v;
  },
  warmup: (c, v) => {
    c.model.klWarmupEpochs = v;
  },
  epochs: (c, v) => {
    c.epochs = v;
  },
  'batch-size': (c, v) => {
    c.batchSize = v;
  },
  seed: (c, v) => {
    c.seed = v;
  },
};

export const sweepParameters = Object.keys(PARAMETERS);

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
