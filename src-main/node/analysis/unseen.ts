// Unseen-environment prediction, scored honestly: the model's predicted mean expression for each
// held-out environment against what was measured, next to four baselines a sceptical reviewer
// would try first — independent benchmarks found deep perturbation models often lose to them.
import { isEnvironmentAware } from '../../shared/api/model-families.js';
import type { ModelData, Standardization, TrainingData } from '../ml/training-data.js';
import { fitRidge, inBlocks, SimilarityIndex } from './baselines.js';
import { pearson, rSquared } from './metrics.js';
import type { TrainedModel } from './trained-model.js';

export type Method = 'model' | 'control-mean' | 'training-mean' | 'nearest-neighbours' | 'ridge';

export interface MethodScore {
  method: Method;
  /** R² of predicted vs observed mean expression over all genes, averaged over held-out environments. */
  r2: number;
  /** Same over the 50 genes each environment moves most (vs control). */
  r2Top50: number;
  /** Pearson r of predicted vs observed change from control. */
  pearsonDelta: number;
  /** Fraction of the top-50 genes whose direction of change is predicted right. */
  directionTop50: number;
  /** R² of predicted vs observed change from control on the environment's top-50 DEGs (as chemCPA reports). */
  r2DeltaTop50: number;
  /** Pearson r of predicted vs observed change from control on the same top-50 DEGs. */
  pearsonDeltaTop50: number;
}

export interface UnseenEvaluation {
  environments: string[];
  genes: number;
  scores: MethodScore[];
  /** Best method per metric. */
  winners: Record<'r2' | 'r2Top50' | 'pearsonDelta' | 'directionTop50', Method>;
  note: string | null;
}

const TOP_GENES = 50;

/** Mean expression (data units) of each environment's training and held-out samples; null where it has none. */
export interface SplitMeans {
  train: (Float32Array | null)[];
  held: (Float32Array | null)[];
}

/**
 * The model's split means, from one streamed pass over the dataset's rows (never the whole matrix),
 * kept in the model's derived cache: evaluation, predict and its applicability domain share them.
 * Each environment's samples are summed in sample order in float64, exactly as environmentMeansOf
 * sums the rows of the matrix in memory, so the means are the same to the bit.
 */
export function splitMeans(model: TrainedModel): SplitMeans {
  const kept = model.derived.get('split-means') as SplitMeans | undefined;
  if (kept) return kept;
  const { nGenes, environmentOfSample, environmentKeys, validationIndices } = model.data;
  const environments = environmentKeys.length;
  const held = new Uint8Array(environmentOfSample.length);
  for (const i of validationIndices) held[i] = 1;
  // Slot 2e is environment e's training samples, 2e + 1 its held-out ones.
  const sums: (Float64Array | null)[] = new Array(2 * environments).fill(null);
  const counts = new Int32Array(2 * environments);
  model.forEachModelRow((sample, values) => {
    const slot = 2 * (environmentOfSample[sample] as number) + (held[sample] as number);
    let sum = sums[slot];
    if (!sum) {
      sum = new Float64Array(nGenes);
      sums[slot] = sum;
    }
    counts[slot] = (counts[slot] as number) + 1;
    for (let g = 0; g < nGenes; g++) sum[g] = (sum[g] as number) + (values[g] as number);
  });
  const meanOfSlot = (slot: number) => {
    const sum = sums[slot];
    sums[slot] = null; // freed as the means are made
    return sum ? unstandardizedMean(sum, counts[slot] as number, model.standardization) : null;
  };
  const means: SplitMeans = {
    train: Array.from({ length: environments }, (_, e) => meanOfSlot(2 * e)),
    held: Array.from({ length: environments }, (_, e) => meanOfSlot(2 * e + 1)),
  };
  const stored = [...means.train, ...means.held].filter((m) => m !== null).length;
  model.derived.set('split-means', means, stored * nGenes * 4);
  return means;
}

/** A sum of n standardised rows as the mean in the data's units. */
function unstandardizedMean(sum: Float64Array, n: number, standardization: Standardization | null): Float32Array {
  const mean = new Float32Array(sum.length);
  for (let g = 0; g < sum.length; g++) {
    const v = (sum[g] as number) / n;
    mean[g] = standardization ? v * (standardization.std[g] as number) + (standardization.mean[g] as number) : v;
  }
  return mean;
}

/**
 * Same from prepared training data in memory (undoing its standardisation), no model needed. Samples
 * are visited environment by environment through one float64 accumulator, so memory is the means
 * returned, not a float64 sum for every environment (tens of thousands at LINCS size).
 */
export function environmentMeansOf(data: TrainingData, indices: ArrayLike<number>): (Float32Array | null)[] {
  const { nGenes, x, environmentOfSample, environmentKeys, standardization } = data;
  const environments = environmentKeys.length;
  // Counting sort of the indices by environment: starts[e]..starts[e + 1] are e's samples.
  const starts = new Int32Array(environments + 1);
  for (let k = 0; k < indices.length; k++) {
    const e = environmentOfSample[indices[k] as number] as number;
    starts[e + 1] = (starts[e + 1] as number) + 1;
  }
  for (let e = 0; e < environments; e++) starts[e + 1] = (starts[e + 1] as number) + (starts[e] as number);
  const next = starts.slice(0, environments);
  const sorted = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    const e = environmentOfSample[i] as number;
    sorted[next[e] as number] = i;
    next[e] = (next[e] as number) + 1;
  }
  const sum = new Float64Array(nGenes);
  const means: (Float32Array | null)[] = new Array(environments).fill(null);
  for (let e = 0; e < environments; e++) {
    const from = starts[e] as number;
    const to = starts[e + 1] as number;
    if (to === from) continue;
    sum.fill(0);
    for (let k = from; k < to; k++) {
      const offset = (sorted[k] as number) * nGenes;
      for (let g = 0; g < nGenes; g++) sum[g] = (sum[g] as number) + (x[offset + g] as number);
    }
    means[e] = unstandardizedMean(sum, to - from, standardization);
  }
  return means;
}

/**
 * The cell line in an environment key. Imports key environments "drug | cell[ | dose | time]"
 * (and "control | cell…"); with drug-only keys there is none.
 */
export function cellLineOfKey(key: string): string | null {
  return key.split(' | ')[1] ?? null;
}

/**
 * Scratch space for scoreEnvironment, grown to the widest profile seen: scoring tens of thousands
 * of environments per method allocated a dozen arrays and 978 objects each (a millisecond apiece).
 */
const scratch = {
  deltaObserved: new Float32Array(0),
  deltaPredicted: new Float32Array(0),
  top: new Int32Array(TOP_GENES),
  topSize: new Float32Array(TOP_GENES),
  pickA: new Float64Array(TOP_GENES),
  pickB: new Float64Array(TOP_GENES),
};

/**
 * The `count` genes of largest |delta|, largest first, ties in gene order (as a stable sort by
 * decreasing |delta| would give), into scratch.top; returns how many.
 */
function topGenes(delta: Float32Array, count: number): number {
  const { top, topSize } = scratch;
  let size = 0;
  for (let g = 0; g < delta.length; g++) {
    const v = Math.abs(delta[g] as number);
    if (size === count && !(v > (topSize[count - 1] as number))) continue;
    let at = size < count ? size++ : count - 1;
    while (at > 0 && (topSize[at - 1] as number) < v) {
      top[at] = top[at - 1] as number;
      topSize[at] = topSize[at - 1] as number;
      at--;
    }
    top[at] = g;
    topSize[at] = v;
  }
  return size;
}

/** The values of `v` at the first `count` top genes, into `into` (a view of that length). */
function pickTop(v: Float32Array, into: Float64Array, count: number): Float64Array {
  for (let k = 0; k < count; k++) into[k] = v[scratch.top[k] as number] as number;
  return into.subarray(0, count);
}

/** The scores of one environment's predicted mean against its measured mean and its reference. */
export function scoreEnvironment(observed: Float32Array, predicted: Float32Array, control: Float32Array): Omit<MethodScore, 'method'> {
  const genes = observed.length;
  if (scratch.deltaObserved.length < genes) {
    scratch.deltaObserved = new Float32Array(genes);
    scratch.deltaPredicted = new Float32Array(genes);
  }
  // Float32 differences, as the per-gene changes have always been computed (and ranked).
  const deltaObserved = scratch.deltaObserved.subarray(0, genes);
  const deltaPredicted = scratch.deltaPredicted.subarray(0, genes);
  for (let g = 0; g < genes; g++) {
    deltaObserved[g] = (observed[g] as number) - (control[g] as number);
    deltaPredicted[g] = (predicted[g] as number) - (control[g] as number);
  }
  const count = topGenes(deltaObserved, Math.min(TOP_GENES, genes));
  let agree = 0;
  for (let k = 0; k < count; k++) {
    const g = scratch.top[k] as number;
    if (Math.sign(deltaObserved[g] as number) === Math.sign(deltaPredicted[g] as number)) agree++;
  }
  const r2 = rSquared(observed, predicted);
  const pearsonDelta = pearson(deltaObserved, deltaPredicted);
  const r2Top50 = rSquared(pickTop(observed, scratch.pickA, count), pickTop(predicted, scratch.pickB, count));
  const r2DeltaTop50 = rSquared(pickTop(deltaObserved, scratch.pickA, count), pickTop(deltaPredicted, scratch.pickB, count));
  const pearsonDeltaTop50 = pearson(scratch.pickA.subarray(0, count), scratch.pickB.subarray(0, count));
  return { r2, r2Top50, pearsonDelta, directionTop50: agree / count, r2DeltaTop50, pearsonDeltaTop50 };
}

export type Predictor = (environment: number) => Float32Array;

/**
 * What every method is scored against: the measured mean of each held-out environment, and the
 * reference each change is measured from — the controls of the same cell line when environments
 * carry one (a drug's change in MCF7 is relative to MCF7's controls), else all controls.
 */
export class UnseenProblem {
  readonly data: ModelData;
  readonly trainMeans: (Float32Array | null)[];
  readonly heldMeans: (Float32Array | null)[];
  /** Held-out environments (with samples), in environment order. */
  readonly heldOut: number[];
  /** Treated (non-control) environments seen in training. */
  readonly treatedTrain: number[];
  readonly #controls: Map<string | null, Float32Array>;
  readonly #allControls: Float32Array;

  /** From prepared data in memory, or from a model's data and its streamed split means. */
  constructor(data: TrainingData);
  constructor(data: ModelData, means: SplitMeans);
  constructor(data: ModelData, streamed?: SplitMeans) {
    this.data = data;
    const split = streamed ?? {
      train: environmentMeansOf(data as TrainingData, data.trainIndices),
      held: environmentMeansOf(data as TrainingData, data.validationIndices),
    };
    this.trainMeans = split.train;
    this.heldMeans = split.held;
    this.heldOut = this.heldMeans.flatMap((m, e) => (m ? [e] : []));
    const isControl = (e: number) => (data.environmentKeys[e] as string).startsWith('control');
    const controls = this.trainMeans.flatMap((m, e) => (m && isControl(e) ? [e] : []));
    this.treatedTrain = this.trainMeans.flatMap((m, e) => (m && !isControl(e) ? [e] : []));
    const means = (envs: number[]) => this.average(envs.map((e) => this.trainMeans[e] as Float32Array));
    this.#allControls = controls.length > 0 ? means(controls) : means(this.treatedTrain);
    const byCell = new Map<string | null, number[]>();
    for (const e of controls) {
      const cell = cellLineOfKey(data.environmentKeys[e] as string);
      byCell.set(cell, [...(byCell.get(cell) ?? []), e]);
    }
    this.#controls = new Map([...byCell].map(([cell, envs]) => [cell, means(envs)]));
  }

  cellOf(e: number): string | null {
    return cellLineOfKey(this.data.environmentKeys[e] as string);
  }

  /** The reference expression for environment e: its cell line's control mean. */
  control(e: number): Float32Array {
    return this.#controls.get(this.cellOf(e)) ?? this.#allControls;
  }

  input(e: number): Float32Array {
    const width = this.data.environmentWidth;
    return this.data.environmentInputs.subarray(e * width, (e + 1) * width);
  }

  average(vectors: Float32Array[]): Float32Array {
    const out = new Float32Array(this.data.nGenes);
    for (const v of vectors) for (let g = 0; g < out.length; g++) out[g] = (out[g] as number) + (v[g] as number) / vectors.length;
    return out;
  }

  /** Per held-out environment scores of one predictor, and their mean. */
  score(predict: Predictor): { mean: Omit<MethodScore, 'method'>; perEnvironment: Omit<MethodScore, 'method'>[] } {
    const perEnvironment = this.heldOut.map((e) => scoreEnvironment(this.heldMeans[e] as Float32Array, predict(e), this.control(e)));
    const mean = (k: keyof Omit<MethodScore, 'method'>) => perEnvironment.reduce((s, p) => s + p[k], 0) / perEnvironment.length;
    return {
      mean: {
        r2: mean('r2'),
        r2Top50: mean('r2Top50'),
        pearsonDelta: mean('pearsonDelta'),
        directionTop50: mean('directionTop50'),
        r2DeltaTop50: mean('r2DeltaTop50'),
        pearsonDeltaTop50: mean('pearsonDeltaTop50'),
      },
      perEnvironment,
    };
  }
}

export type BaselineMethod = Exclude<Method, 'model'>;

/**
 * The four baselines, fitted on the training environments only: (a) the cell line's control mean
 * ("the drug does nothing"), (b) the mean of training drugs in that cell line, (c) a
 * Tanimoto-weighted mean of the 5 most similar training drugs in that cell line, (d) kernel ridge
 * regression from the environment representation (fingerprint, plus cell line when present).
 */
export function baselinePredictors(problem: UnseenProblem): [BaselineMethod, Predictor][] {
  const { treatedTrain, trainMeans } = problem;
  const treatedByCell = new Map<string | null, number[]>();
  for (const t of treatedTrain) {
    const cell = problem.cellOf(t);
    const list = treatedByCell.get(cell);
    if (list) list.push(t);
    else treatedByCell.set(cell, [t]);
  }
  const sameCell = (e: number) => treatedByCell.get(problem.cellOf(e)) ?? treatedTrain;
  const trainingMeans = new Map<string | null, Float32Array>();
  const trainingMean = (e: number) => {
    const cell = problem.cellOf(e);
    let m = trainingMeans.get(cell);
    if (!m) {
      m = problem.average(sameCell(e).map((t) => trainMeans[t] as Float32Array));
      trainingMeans.set(cell, m);
    }
    return m;
  };
  const inputs = { count: problem.data.environmentKeys.length, width: problem.data.environmentWidth, row: (e: number) => problem.input(e) };
  const ridge =
    treatedTrain.length >= 2
      ? fitRidge(
          { ...inputs, count: treatedTrain.length, row: (i) => problem.input(treatedTrain[i] as number) },
          { count: treatedTrain.length, width: problem.data.nGenes, row: (i) => trainMeans[treatedTrain[i] as number] as Float32Array },
        )
      : null;
  const ridgePredict =
    ridge &&
    inBlocks(
      problem.heldOut,
      problem.data.nGenes,
      (envs) => ridge.predictRows({ ...inputs, count: envs.length, row: (i) => problem.input(envs[i] as number) }),
      (e) => ridge.predict(problem.input(e)),
    );
  const similarities = new SimilarityIndex(inputs);
  const neighbours = (e: number) => {
    const ranked = similarities.nearest(e, sameCell(e), 5);
    const total = ranked.reduce((s, r) => s + r.similarity, 0);
    if (total === 0) return trainingMean(e);
    const out = new Float32Array(problem.data.nGenes);
    for (const { index: t, similarity: s } of ranked)
      for (let g = 0; g < out.length; g++) out[g] = (out[g] as number) + ((trainMeans[t] as Float32Array)[g] as number) * (s / total);
    return out;
  };
  return [
    ['control-mean', (e) => problem.control(e)],
    ['training-mean', trainingMean],
    ['nearest-neighbours', neighbours],
    ...(ridgePredict ? ([['ridge', ridgePredict]] as [BaselineMethod, Predictor][]) : []),
  ];
}

/** Families whose prediction depends on the environment's representation (see TrainedModel.predictEnvironmentMean). */
export function canPredictEnvironments(model: TrainedModel): boolean {
  return isEnvironmentAware(model.config.model.family);
}

/** The model's predictions of the held-out environments, decoded many environments per forward pass. */
function modelPredictor(model: TrainedModel, problem: UnseenProblem): Predictor {
  const predictMany = (keys: readonly number[]) => {
    const means = model.predictEnvironmentMeans(keys.map((e) => problem.input(e)));
    const out = new Float32Array(keys.length * problem.data.nGenes);
    for (const [k, m] of means.entries()) out.set(m, k * problem.data.nGenes);
    return out;
  };
  return inBlocks(problem.heldOut, problem.data.nGenes, predictMany, (e) => model.predictEnvironmentMean(problem.input(e)), 64);
}

/** The held-out environments of a trained model's run, with its split means streamed from the store. */
export function unseenProblemOf(model: TrainedModel): UnseenProblem {
  return new UnseenProblem(model.data, splitMeans(model));
}

export function evaluateUnseen(model: TrainedModel): UnseenEvaluation {
  const problem = unseenProblemOf(model);
  if (problem.heldOut.length === 0) {
    return {
      environments: [],
      genes: model.data.nGenes,
      scores: [],
      winners: { r2: 'model', r2Top50: 'model', pearsonDelta: 'model', directionTop50: 'model' },
      note: 'This run held out no environments; train with a validation split to evaluate unseen environments.',
    };
  }
  const environmentAware = canPredictEnvironments(model);
  const predictors: [Method, Predictor][] = [
    ...(environmentAware ? ([['model', modelPredictor(model, problem)]] as [Method, Predictor][]) : []),
    ...baselinePredictors(problem),
  ];
  const scores: MethodScore[] = predictors.map(([method, predict]) => ({ method, ...problem.score(predict).mean }));
  const winner = (k: keyof Omit<MethodScore, 'method'>) => [...scores].sort((a, b) => b[k] - a[k])[0]?.method ?? 'model';
  return {
    environments: problem.heldOut.map((e) => model.data.environmentKeys[e] as string),
    genes: model.data.nGenes,
    scores,
    winners: {
      r2: winner('r2'),
      r2Top50: winner('r2Top50'),
      pearsonDelta: winner('pearsonDelta'),
      directionTop50: winner('directionTop50'),
    },
    note: environmentAware
      ? null
      : `A ${model.config.model.family} cannot predict an environment it has not seen; only baselines are scored.`,
  };
}
