// What every study shares: its running context, training one run to the end, and summarising
// curves over trials.
import type { RunSummary } from '../../api/domain.js';
import { LabError } from '../../api/errors.js';
import type { StudyFigure, StudyOptions, StudyResult } from '../../api/studies.js';
import { type ModelFamily, TrainingConfig, type TrainingConfigInput } from '../../api/training.js';
import { CachedStructures } from '../../data/import/structures.js';
import { type DrugPanelConfig, importDrugPanel } from '../../data/synthetic-drugs.js';
import type { LabService } from '../service.js';

export const ALL_FAMILIES: ModelFamily[] = ['vae', 'cvae', 'env-vae', 'translation-vae', 'adversarial-prior-ae'];

export interface StudyContext {
  lab: LabService;
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

export async function train(
  context: StudyContext,
  datasetId: string,
  config: TrainingConfigInput,
  trial: number,
  label?: string,
): Promise<RunSummary> {
  const parsed = TrainingConfig.parse(config);
  const run = context.lab.training.start(
    datasetId,
    parsed,
    `study · ${label ? `${label} · ` : ''}${parsed.model.family} · trial ${trial + 1}`,
  );
  await context.lab.training.settled(run.id);
  const final = context.lab.store.runs.get(run.id);
  context.runs.push({ runId: run.id, family: parsed.model.family, trial, status: final.status });
  if (context.lab.training.isActive(run.id)) throw new LabError('internal', `Run ${run.id} did not settle`);
  return final;
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

export const drugPanelDescription =
  'Synthetic L1000-shaped data (drug × cell-line environments, controls per cell line) whose drugs are real molecules from a ' +
  'bundled list, represented like an L1000 import: Morgan fingerprint (RDKit, radius 2, 1024 bits) plus cell line. A latent ' +
  'causal model generates expression; each latent mechanism is driven by three fingerprint bits (substructures shared by ' +
  'several drugs, often across scaffolds), and a drug shifts latent j by 3·tanh(Σ weights of the motif bits it carries), so ' +
  'drugs with common substructures act alike and each moves few latents. Every drug also has one off-target offset ' +
  '~N(0, 1) on a random latent that its structure does not explain. Cell line 2 differs from cell line 1 by offsets on two ' +
  'latents; genes are small ReLU networks of the latents.';

export async function drugPanelDataset(context: StudyContext, purpose: string): Promise<string> {
  const { lab, options } = context;
  context.progress(0, 'Generating the synthetic drug panel');
  const { dataset } = await importDrugPanel(
    lab.store,
    new CachedStructures(await lab.chemistry(), lab.store.molecules),
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
