// Does the drug's structure help? Each model family that predicts unseen drugs is trained three
// times per split and trial: on the real fingerprints, on fingerprints permuted among the training
// drugs (same marginals, no link to the effect) and with no drug input. A model that uses
// structure as a cause must beat its own permuted control on the held-out drugs; one that learnt
// the fingerprint as an identity will not. Paired Wilcoxon tests over held-out environments
// decide, not mean ± std over a few trials. The study is data: a plan of runs, then one
// evaluation step over the collected per-environment scores.

import { LabError } from '../../../shared/api/errors.js';
import {
  type StructureMetric,
  StructureMetric as StructureMetricSchema,
  type StructureStudy,
  type StudyFigure,
  type StudyResult,
  structureMetricDefinition,
  structureMetricLabels,
} from '../../../shared/api/studies.js';
import {
  type DrugFeatures,
  environmentAwareFamilies,
  type ModelFamily,
  TrainingConfig,
  type ValidationSplit,
} from '../../../shared/api/training.js';
import { controlName, evidence, nearestTrainingDrug, ScoreBook, structureTests, structureVerdicts } from '../../analysis/structure.js';
import { baselinePredictors, UnseenProblem } from '../../analysis/unseen.js';
import { type DrugFeatureTable, drugFeatureTable, ensureDrugFeatures } from '../../data/drug-features.js';
import { isDrugColumn, isFingerprintColumn } from '../../data/representation-columns.js';
import { prepareTrainingData } from '../../ml/training-data.js';
import type { TrainingView } from '../../store/datasets.js';
import { drugPanelDataset, requireDataset, type StudyBody, scoreRun, train } from './common.js';
import { comparisonSizes, feasibility } from './split-comparison.js';

const FRACTION = 0.3;
const DRUG_INPUTS = ['structure', 'permuted', 'none'] as const;
type DrugInput = (typeof DRUG_INPUTS)[number];
type SplitKind = StructureStudy['splits'][number]['kind'];

/**
 * The baselines that bear on the question: the structure-blind training mean (of the same cell
 * line's training drugs) and two that read the drug: Tanimoto kNN and ridge on the imported
 * fingerprint, and kNN and ridge again on each other representation the study trains on.
 */
const BASELINES = ['training-mean', 'nearest-neighbours', 'ridge'];
const REPRESENTATION_BASELINES = ['nearest-neighbours', 'ridge'];

export interface PlannedRun {
  kind: SplitKind;
  trial: number;
  family: ModelFamily;
  drugInput: DrugInput;
  /** The drug representation the run trains on (TrainingConfig.drugFeatures). */
  features: DrugFeatures;
}

/** The splits worth asking on this dataset: unseen drugs and chemical series, plus unseen doses when doses vary. */
export function structureSplits(view: TrainingView): { kind: SplitKind; label: string }[] {
  const doses = (view.representationColumns ?? []).some((c) => c.startsWith('log10 dose'));
  return [
    ...(doses ? [{ kind: 'random-environments' as const, label: 'dose response (other doses of the drug in training)' }] : []),
    { kind: 'held-out-drugs', label: 'held-out drugs' },
    { kind: 'scaffold', label: 'held-out scaffolds' },
  ];
}

/** Every run the study trains, in order: split × trial × representation × family × drug input. */
export function structurePlan(
  kinds: SplitKind[],
  trials: number,
  families: readonly ModelFamily[],
  representations: readonly DrugFeatures[] = ['stored'],
): PlannedRun[] {
  return kinds.flatMap((kind) =>
    Array.from({ length: trials }, (_, trial) =>
      representations.flatMap((features) =>
        families.flatMap((family) => DRUG_INPUTS.map((drugInput) => ({ kind, trial, family, drugInput, features }))),
      ),
    ).flat(),
  );
}

/** A method's name with the representation it reads ("ridge [descriptors]"); the imported fingerprint is unmarked. */
export function withRepresentation(method: string, features: DrugFeatures): string {
  return features === 'stored' ? method : `${method} [${features}]`;
}

/** A model's name: its family (the drug-shift ensemble with its heads, "drug-shift-vae ×5") and its representation. */
export function modelName(family: ModelFamily, features: DrugFeatures, shiftHeads = 1): string {
  return withRepresentation(family === 'drug-shift-vae' && shiftHeads > 1 ? `${family} ×${shiftHeads}` : family, features);
}

function methodName(run: PlannedRun, shiftHeads: number): string {
  const model = modelName(run.family, run.features, shiftHeads);
  return run.drugInput === 'structure' ? model : controlName(model, run.drugInput);
}

export const structureHelp: StudyBody = async (context) => {
  const { lab, options } = context;
  // The synthetic panel has no doses: refuse a dose-response-only request before generating it.
  if (!options.datasetId && options.splits?.every((s) => s === 'random-environments')) {
    throw new LabError(
      'bad_input',
      'The synthetic drug panel has no doses, so it has no dose-response split: ask for held-out-drugs or scaffold.',
    );
  }
  const datasetId = options.datasetId ? requireDataset(context, options.datasetId) : await drugPanelDataset(context, 'the structure study');
  const dataset = lab.store.datasets.get(datasetId);
  const view = lab.store.datasets.trainingView(datasetId);
  const columns = view.representationColumns ?? [];
  if (!columns.some(isDrugColumn) || !view.environments.some((e) => e.representation)) {
    throw new LabError(
      'bad_input',
      `Dataset "${dataset.name}" has no drug fingerprints in its environment representation, so there is no structure to test. Import it with SMILES (a pert_info file or a SMILES column).`,
    );
  }
  const fingerprintColumns = columns.filter(isFingerprintColumn);
  const sampleColumn = (column: string) => lab.store.datasets.sampleColumn(datasetId, column);
  const trials = options.trials ?? (options.quick ? 1 : 3);
  const size = { ...comparisonSizes(options.quick), ...(options.epochs ? { epochs: options.epochs } : {}) };
  const families: readonly ModelFamily[] = options.families ?? (options.quick ? ['cvae'] : environmentAwareFamilies);
  const representations: readonly DrugFeatures[] = options.drugFeatures ?? ['stored'];
  const tables = new Map<DrugFeatures, DrugFeatureTable>();
  for (const features of representations) {
    if (features === 'stored') continue;
    context.progress(0, `computing the drugs' ${features} features`);
    await ensureDrugFeatures(lab.store, view, features);
    tables.set(features, drugFeatureTable(lab.store, view, features));
  }
  const shiftHeads = options.shiftHeads ?? 1;
  const models = representations.flatMap((features) => families.map((family) => modelName(family, features, shiftHeads)));
  const baselines = [
    ...BASELINES,
    ...representations.filter((f) => f !== 'stored').flatMap((f) => REPRESENTATION_BASELINES.map((b) => withRepresentation(b, f))),
  ];
  const splits = structureSplits(view)
    .filter((s) => !options.splits || options.splits.includes(s.kind))
    .map((s) => ({ ...s, ...feasibility(view, s.kind) }));
  if (splits.length === 0) {
    throw new LabError(
      'bad_input',
      `Dataset "${dataset.name}" offers none of the splits asked for (${options.splits?.join(', ')}); it offers ${structureSplits(view)
        .map((s) => s.kind)
        .join(', ')}.`,
    );
  }
  const plan = structurePlan(
    splits.filter((s) => !s.skip).map((s) => s.kind),
    trials,
    families,
    representations,
  );
  let done = 0;

  const results: StructureStudy['splits'] = [];
  for (const split of splits) {
    if (split.skip) {
      results.push({ ...emptySplit(split.kind, split.label), note: split.skip, verdicts: [`Not run: ${split.skip}`] });
      continue;
    }
    const book = new ScoreBook();
    const runs = new Map<string, { runs: number; failed: number }>();
    for (let trial = 0; trial < trials; trial++) {
      const validation = { kind: split.kind, fraction: FRACTION, seed: options.seed + trial } satisfies ValidationSplit;
      const data = prepareTrainingData(view, TrainingConfig.parse({ model: { family: 'cvae' }, validation }), sampleColumn);
      const problem = new UnseenProblem(data);
      const keyOf = (e: number) => data.environmentKeys[e] as string;
      const record = (method: string, perEnvironment: ReturnType<UnseenProblem['score']>['perEnvironment']) =>
        problem.heldOut.forEach((e, i) => {
          book.add(method, keyOf(e), perEnvironment[i] as (typeof perEnvironment)[number]);
        });
      for (const e of problem.heldOut)
        book.addSimilarity(keyOf(e), nearestTrainingDrug(problem, fingerprintColumns.length, problem.input(e)).similarity);
      for (const [method, predict] of baselinePredictors(problem)) {
        if (BASELINES.includes(method)) record(method, problem.score(predict).perEnvironment);
      }
      // The same split seen through each other representation: its own inputs for kNN, ridge and the models.
      const problems = new Map<DrugFeatures, UnseenProblem>([['stored', problem]]);
      for (const [features, table] of tables) {
        const config = TrainingConfig.parse({ model: { family: 'cvae' }, validation, drugFeatures: features });
        const other = new UnseenProblem(prepareTrainingData(view, config, sampleColumn, table));
        problems.set(features, other);
        for (const [method, predict] of baselinePredictors(other)) {
          if (REPRESENTATION_BASELINES.includes(method)) record(withRepresentation(method, features), other.score(predict).perEnvironment);
        }
      }
      for (const run of plan.filter((r) => r.kind === split.kind && r.trial === trial)) {
        const method = methodName(run, shiftHeads);
        context.progress(done / plan.length, `${split.label}, trial ${trial + 1} of ${trials}: training ${method}`);
        const summary = await train(
          context,
          datasetId,
          {
            model: { family: run.family, hiddenUnits: size.hiddenUnits, latentDim: size.latentDim, shiftHeads },
            epochs: size.epochs,
            batchSize: size.batchSize,
            seed: options.seed + trial,
            validation,
            drugInput: run.drugInput,
            drugFeatures: run.features,
          },
          trial,
          `${split.label} · ${withRepresentation(run.drugInput, run.features)}`,
        );
        done++;
        const count = runs.get(method) ?? { runs: 0, failed: 0 };
        count.runs++;
        runs.set(method, count);
        if (summary.status !== 'completed') {
          count.failed++;
          continue;
        }
        // Held-out drugs are always given their real features (the problem's inputs, in the run's representation).
        const own = problems.get(run.features) as UnseenProblem;
        record(method, (await scoreRun(lab, summary.id, own)).perEnvironment);
      }
    }
    const modelMethods = models.flatMap((f) => [f, controlName(f, 'permuted'), controlName(f, 'none')]);
    const rows = [...modelMethods, ...baselines]
      .filter((m) => book.methods().includes(m) || runs.has(m))
      .map((method) => ({
        method,
        kind: baselines.includes(method) ? ('baseline' as const) : models.includes(method) ? ('model' as const) : ('control' as const),
        runs: runs.get(method)?.runs ?? 0,
        failed: runs.get(method)?.failed ?? 0,
        metrics: Object.fromEntries(StructureMetricSchema.options.map((m) => [m, book.mean(method, m)])) as Record<
          StructureMetric,
          number | null
        >,
      }));
    const tests = structureTests(book, models, baselines);
    const verdicts = structureVerdicts(book, models, tests);
    verdicts.push(`Evidence: ${evidence(book, tests)}`);
    results.push({
      kind: split.kind,
      label: split.label,
      ran: true,
      note: split.note,
      environments: book.environments().length,
      rows,
      tests,
      similarityCurve: book.similarityCurve(
        rows.map((r) => r.method),
        'pearsonDelta',
      ),
      verdicts,
    });
  }

  const structure: StructureStudy = { trials, fraction: FRACTION, splits: results };
  const diverged = context.runs.filter((r) => r.status !== 'completed');
  const table: StudyResult['table'] = [
    {
      quantity: 'Data and design',
      seedObserved:
        'The seed predicts a prior over mechanisms from the drug; a 2026 preprint found seven L1000 models barely moved when their drug inputs were zeroed or shuffled.',
      measured: `${dataset.name}: ${dataset.nSamples} samples × ${dataset.nGenes} genes, ${dataset.nEnvironments} environments. ${Math.round(FRACTION * 100)}% of the groups held out, ${trials} trial${trials === 1 ? '' : 's'} per split; each of ${families.join(', ')} trained on real, permuted and no drug input, with drug representation ${representations.join(', ')}${families.includes('drug-shift-vae') && shiftHeads > 1 ? `, the drug-shift VAE an ensemble of ${shiftHeads} drug networks` : ''} (${size.epochs} epochs, ${size.hiddenUnits} hidden units, ${size.latentDim} latents). ${structureMetricDefinition}`,
    },
    ...results.map((s) => ({
      quantity: `${capitalise(s.label)}: does structure help?`,
      seedObserved: 'DLEPS (2021): Pearson r 0.60 for test molecules whose nearest training molecule has Tanimoto < 0.4, 0.79 above it.',
      measured: s.verdicts.join(' '),
    })),
    {
      quantity: 'Runs that did not complete',
      seedObserved: '“All losses tend to explode after some time” (L1000, §6.5)',
      measured:
        diverged.length === 0
          ? `none of ${context.runs.length}`
          : `${diverged.length} of ${context.runs.length}: ${diverged.map((r) => `${r.family} (${r.status})`).join(', ')}`,
    },
  ];
  return { table, figures: structureFigures(structure), structure };
};

function emptySplit(kind: SplitKind, label: string): StructureStudy['splits'][number] {
  return { kind, label, ran: false, note: null, environments: 0, rows: [], tests: [], similarityCurve: [], verdicts: [] };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Bars per metric (a group per split, a bar per method), and the DLEPS curve of each split. */
function structureFigures(study: StructureStudy): StudyFigure[] {
  const ran = study.splits.filter((s) => s.ran);
  const methods = [...new Set(ran.flatMap((s) => s.rows.map((r) => r.method)))];
  const bars = StructureMetricSchema.options.map((metric) => ({
    id: `structure-${metric}`,
    title: `${structureMetricLabels[metric]} on held-out environments: models, their structure controls and baselines`,
    kind: 'bar' as const,
    categories: ran.map((s) => s.label),
    xLabel: 'split',
    yLabel: structureMetricLabels[metric],
    series: methods.map((method) => ({
      label: method,
      points: ran.flatMap((s, x) => {
        const y = s.rows.find((r) => r.method === method)?.metrics[metric];
        return y === null || y === undefined ? [] : [{ x, y }];
      }),
    })),
  }));
  const curves = ran.map((s) => ({
    id: `structure-similarity-${s.kind}`,
    title: `${capitalise(s.label)}: Pearson r of Δ by the nearest training drug's Tanimoto similarity (environments per bin: ${s.similarityCurve.map((b) => b.environments).join(', ')})`,
    kind: 'line' as const,
    xLabel: 'nearest training drug, Tanimoto (bin centre)',
    yLabel: 'Pearson r of Δ',
    series: s.rows.map((row) => ({
      label: row.method,
      points: s.similarityCurve.flatMap((b) => {
        const y = b.scores[row.method];
        return y === null || y === undefined ? [] : [{ x: (b.low + b.high) / 2, y }];
      }),
    })),
  }));
  return [...bars, ...curves];
}
