// What every study shares: its running context, training one run to the end, and summarising
// curves over trials.
import type { RunSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import { modelFamilyIds } from '../../../shared/api/model-families.js';
import type { StudyFigure, StudyOptions, StudyResult } from '../../../shared/api/studies.js';
import { type ModelFamily, TrainingConfig, type TrainingConfigInput } from '../../../shared/api/training.js';
import type { UnseenProblem } from '../../analysis/unseen.js';
import type { Store } from '../../store/store.js';
import type { AnalysisService } from '../analysis.js';
import type { LabChemistry } from '../chemistry.js';
import { CachedStructures } from '../import/structures.js';
import { type DrugPanelConfig, drugPanelDescription, importDrugPanel } from '../import/synthetic-drugs.js';
import type { TrainingManager } from '../training.js';

/** Every registered family (the registry decides; a new row joins the comparison studies). */
export const ALL_FAMILIES: ModelFamily[] = modelFamilyIds();

/**
 * What a study uses of the lab, and nothing more (the LabService satisfies it): the store, the
 * training manager, chemistry for drug structures, and the analysis worker. Studies never see the handler table.
 */
export interface StudyLab {
  store: Store;
  /** Runs train in training workers owned by the serving side: a study starts one and waits for its end. */
  training: Pick<TrainingManager, 'trainToEnd'>;
  chemistry: Pick<LabChemistry, 'load'>;
  /** Model inspection in the analysis worker, off the serving thread. */
  analysis: Pick<AnalysisService, 'run'>;
}

/**
 * Scores a trained run on the study's held-out environments. The model is loaded and run in the
 * analysis worker, never on the serving thread; only the scoring against the held-out means is
 * done here. The inputs are the problem's, so a control run is still given the real fingerprints.
 */
export async function scoreRun(lab: StudyLab, runId: string, problem: UnseenProblem): Promise<ReturnType<UnseenProblem['score']>> {
  const { validationEnvironments, predictions } = await lab.analysis.run('predictEnvironmentMeans', {
    runId,
    // slice: a subarray would carry its whole buffer (every environment) to the worker.
    environments: problem.heldOut.map((e) => problem.input(e).slice()),
  });
  // The run rebuilt its split from the same view and config: the same environments.
  if (validationEnvironments.join('\n') !== problem.data.validationEnvironments.join('\n')) {
    throw new LabError('internal', `Run ${runId} held out other environments than the study scored`);
  }
  const predictionOf = new Map(problem.heldOut.map((e, i) => [e, predictions[i] as Float32Array]));
  return problem.score((e) => predictionOf.get(e) as Float32Array);
}

export interface StudyContext {
  lab: StudyLab;
  options: StudyOptions;
  progress: (fraction: number, message: string) => void;
  runs: StudyResult['runs'];
  datasetIds: string[];
}

export interface StudyBodyResult {
  table: StudyResult['table'];
  figures: StudyFigure[];
  comparison?: StudyResult['comparison'];
  structure?: StudyResult['structure'];
}

export type StudyBody = (context: StudyContext) => Promise<StudyBodyResult>;

/** One independent run of a plan: everything needed to train it anywhere (config carries its seed). */
export interface PlannedRun {
  datasetId: string;
  config: TrainingConfig;
  /** Which part of the study it belongs to (e.g. a split kind), its trial, and a label for its name. */
  group: string;
  trial: number;
  label: string;
}

export interface StudyPlan {
  datasetId: string;
  runs: PlannedRun[];
}

/**
 * A study as a list of independent runs plus an evaluation over their results, so the runs can
 * train anywhere (here, in a worker pool, or as Slurm array tasks) and the report is the same.
 */
export interface PlannedStudyBody {
  plan(context: StudyContext): Promise<StudyPlan>;
  /** results[i] is the trained run of plan.runs[i]; each is already in context.runs. */
  evaluate(context: StudyContext, plan: StudyPlan, results: RunSummary[]): Promise<StudyBodyResult>;
}

/** A planned study run here: its runs trained `workers` at a time (one by default), then evaluated. */
export function inOrder(planned: PlannedStudyBody, workers = 1): StudyBody {
  return async (context) => {
    const plan = await planned.plan(context);
    const results = await trainPlanned(context, plan.runs, workers);
    return planned.evaluate(context, plan, results);
  };
}

/** Trains the runs in a pool of `workers` training workers; results come back in plan order. */
export async function trainPlanned(context: StudyContext, runs: readonly PlannedRun[], workers: number): Promise<RunSummary[]> {
  const results: RunSummary[] = new Array(runs.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < runs.length) {
      const index = next++;
      const run = runs[index] as PlannedRun;
      context.progress(done / runs.length, `${run.label}, trial ${run.trial + 1}: training ${run.config.model.family}`);
      results[index] = await trainOnly(context, run.datasetId, run.config, `${run.label} · `, run.trial);
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, runs.length)) }, worker));
  // Recorded in plan order, whatever order the pool finished in.
  for (const [index, run] of results.entries()) recordRun(context, run, (runs[index] as PlannedRun).trial);
  return results;
}

export function recordRun(context: StudyContext, run: RunSummary, trial: number): void {
  context.runs.push({ runId: run.id, family: run.model, trial, status: run.status });
}

export async function train(
  context: StudyContext,
  datasetId: string,
  config: TrainingConfigInput,
  trial: number,
  label?: string,
): Promise<RunSummary> {
  const final = await trainOnly(context, datasetId, TrainingConfig.parse(config), label ? `${label} · ` : '', trial);
  recordRun(context, final, trial);
  return final;
}

/** The name every study run gets, wherever it trains. */
export function studyRunName(prefix: string, config: TrainingConfig, trial: number): string {
  return `study · ${prefix}${config.model.family} · trial ${trial + 1}`;
}

async function trainOnly(
  context: StudyContext,
  datasetId: string,
  config: TrainingConfig,
  prefix: string,
  trial: number,
): Promise<RunSummary> {
  return context.lab.training.trainToEnd(datasetId, config, studyRunName(prefix, config, trial));
}

export function format(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toPrecision(digits) : String(x);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Mean curve over trials (aligned by x), with a ± one standard deviation band. */
export function meanSeries(label: string, trials: { x: number; y: number }[][]): StudyFigure['series'][number] {
  const byX = new Map<number, number[]>();
  for (const trial of trials) for (const p of trial) byX.set(p.x, [...(byX.get(p.x) ?? []), p.y]);
  const xs = [...byX.keys()].sort((a, b) => a - b);
  const points = xs.map((x) => ({ x, y: mean(byX.get(x) ?? []) }));
  if (trials.length < 2) return { label, points };
  const band = xs.map((x) => {
    const ys = byX.get(x) ?? [];
    const m = mean(ys);
    const sd = Math.sqrt(ys.reduce((s, y) => s + (y - m) ** 2, 0) / Math.max(1, ys.length - 1));
    return { x, low: m - sd, high: m + sd };
  });
  return { label, points, band };
}

/**
 * Synthetic L1000-shaped data with real drug structures (data/synthetic-drugs.ts): at full size
 * all 220 bundled drugs in 2 cell lines, 978 genes, 30 samples per drug and cell line and 200
 * controls per cell line (13,600 samples; the seed's L1000 subset had 21,798 in 1,017
 * environments); quick: 40 drugs, 200 genes.
 */
export function drugPanelConfig(seed: number, quick: boolean): DrugPanelConfig {
  return quick
    ? { seed, drugs: 40, cellLines: 2, nLatents: 10, nGenes: 200, samplesPerDrug: 20, controlSamples: 60 }
    : { seed, drugs: 220, cellLines: 2, nLatents: 20, nGenes: 978, samplesPerDrug: 30, controlSamples: 200 };
}

export async function drugPanelDataset(context: StudyContext, purpose: string): Promise<string> {
  const { lab, options } = context;
  context.progress(0, 'Generating the synthetic drug panel');
  const { dataset } = await importDrugPanel(
    lab.store,
    new CachedStructures(await lab.chemistry.load(), lab.store.molecules),
    drugPanelConfig(options.seed, options.quick),
    {
      name: `Study data: L1000-shaped drug panel, seed ${options.seed}${options.quick ? ' (quick)' : ''}`,
      description: `${drugPanelDescription} Generated for ${purpose}.`,
    },
  );
  context.datasetIds.push(dataset.id);
  return dataset.id;
}

export function requireDataset(context: StudyContext, id: string): string {
  if (!context.lab.store.datasets.exists(id)) throw new LabError('not_found', `No dataset with id "${id}"`);
  context.datasetIds.push(id);
  return id;
}
