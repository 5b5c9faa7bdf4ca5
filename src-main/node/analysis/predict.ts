// Predicting the response to a drug from its structure: the new drug's environment vector is
// built exactly as the import built the training drugs' (same fingerprint settings and column
// layout), then the model decodes from that environment's prior.

import type { PredictConditions } from '../../shared/api/analysis.js';
import { LabError } from '../../shared/api/errors.js';
import type { FingerprintOptions } from '../../shared/api/imports.js';
import { cellLineOfColumn, DOSE_COLUMN, fingerprintBitCount, TIME_COLUMN } from '../data/representation-columns.js';
import { MemoPerOwner } from './memo.js';
import { nearestTrainingDrug, SIMILARITY_BINS } from './structure.js';
import type { TrainedModel } from './trained-model.js';
import { scoreEnvironment, splitMeans, type UnseenProblem, unseenProblemOf } from './unseen.js';

export interface StructureDescriber {
  describe(smiles: string, options: FingerprintOptions): { ok: true; fingerprint: Uint8Array } | { ok: false; reason: string };
}

export interface DrugPrediction {
  predicted: Float32Array;
  control: Float32Array;
  /** predicted − control, per gene. */
  delta: Float32Array;
}

/**
 * The environment vector of a new drug in a dataset whose environments are Morgan fingerprints,
 * with its cell line, dose and time set as the importer sets them (log10 µM, days) when the
 * dataset's environments carry them.
 */
export function drugEnvironmentVector(
  columns: readonly string[],
  fingerprint: FingerprintOptions,
  bits: Uint8Array,
  conditions: PredictConditions,
): Float32Array {
  const { cellLine } = conditions;
  const vector = new Float32Array(columns.length);
  const morgan = fingerprintBitCount(columns);
  if (morgan !== fingerprint.nBits || bits.length !== morgan) {
    throw new LabError('conflict', `The dataset's environments carry ${morgan} fingerprint bits, the structure has ${bits.length}.`);
  }
  for (let b = 0; b < morgan; b++) vector[b] = bits[b] ? 1 : 0;
  const cells = columns.flatMap((c, i) => {
    const cell = cellLineOfColumn(c);
    return cell === null ? [] : [{ cell, i }];
  });
  if (cells.length > 0) {
    if (cellLine === null) throw new LabError('invalid_params', `Choose a cell line: ${cells.map((c) => c.cell).join(', ')}`);
    const column = cells.find((c) => c.cell === cellLine);
    if (!column)
      throw new LabError('invalid_params', `Cell line "${cellLine}" is not in this dataset (${cells.map((c) => c.cell).join(', ')})`);
    vector[column.i] = 1;
  }
  const dose = columns.indexOf(DOSE_COLUMN);
  const time = columns.indexOf(TIME_COLUMN);
  if (dose >= 0 || time >= 0) {
    if (conditions.doseMicromolar === undefined || conditions.timeHours === undefined)
      throw new LabError(
        'invalid_params',
        "This model's environments include dose and time: give the dose (µM) and the time (hours) to predict at.",
      );
    if (dose >= 0) vector[dose] = Math.log10(conditions.doseMicromolar);
    if (time >= 0) vector[time] = conditions.timeHours / 24;
  }
  return vector;
}

/** Whether a model's environments include dose and time (then a prediction needs both). */
export function takesDoseAndTime(columns: readonly string[]): boolean {
  return columns.includes(DOSE_COLUMN) || columns.includes(TIME_COLUMN);
}

export function predictDrug(model: TrainedModel, environment: Float32Array, cellLine: string | null): DrugPrediction {
  const predicted = model.predictEnvironmentMean(environment);
  const means = splitMeans(model).train;
  const controls = model.data.environmentKeys.flatMap((key, e) => {
    if (!key.startsWith('control') || !means[e]) return [];
    // With cell lines in the key, compare with that cell line's own controls.
    return cellLine === null || key === 'control' || key.endsWith(`| ${cellLine}`) ? [means[e] as Float32Array] : [];
  });
  if (controls.length === 0) throw new LabError('conflict', 'The training data has no control samples to compare with.');
  const control = new Float32Array(predicted.length);
  for (const c of controls)
    for (let g = 0; g < control.length; g++) control[g] = (control[g] as number) + (c[g] as number) / controls.length;
  return { predicted, control, delta: predicted.map((v, g) => v - (control[g] as number)) };
}

export interface ApplicabilityDomain {
  /** The most similar training drug and its Tanimoto similarity to the new one. */
  nearestDrug: string;
  similarity: number;
  /** The similarity bin the new drug falls in, and how the model did on held-out drugs in that bin. */
  low: number;
  high: number;
  environments: number;
  pearsonDelta: number | null;
  pearsonDeltaStd: number | null;
}

/** Held-out environments scored per similarity bin; more are evenly subsampled (each costs a decoding of 256 prior samples). */
const MAX_ENVIRONMENTS_PER_BIN = 256;

interface DomainOfRun {
  problem: UnseenProblem;
  /** Per held-out environment (problem.heldOut order): Tanimoto similarity of its nearest training drug. */
  heldOutSimilarity: Float64Array;
  /** Pearson r of Δ of the scored held-out environments, per bin (by its lower bound). */
  scoresByBin: Map<number, number[]>;
}

/** Per model (the analysis worker keeps models cached): a run's held-out similarities and bin scores do not change. */
const domains = new MemoPerOwner<TrainedModel, number, DomainOfRun>();

function domainOfRun(model: TrainedModel, fingerprintBits: number): DomainOfRun {
  return domains.get(model, fingerprintBits, () => {
    const problem = unseenProblemOf(model);
    const heldOutSimilarity = Float64Array.from(
      problem.heldOut,
      (e) => nearestTrainingDrug(problem, fingerprintBits, problem.input(e)).similarity,
    );
    return { problem, heldOutSimilarity, scoresByBin: new Map() };
  });
}

/** The model's Pearson r of Δ on the held-out environments whose nearest training drug falls in the bin, decoded in batches. */
function binScores(model: TrainedModel, domain: DomainOfRun, [low, high]: readonly [number, number]): number[] {
  const cached = domain.scoresByBin.get(low);
  if (cached) return cached;
  const { problem, heldOutSimilarity } = domain;
  const alike = problem.heldOut.filter((_, i) => (heldOutSimilarity[i] as number) >= low && (heldOutSimilarity[i] as number) < high);
  const step = Math.max(1, alike.length / MAX_ENVIRONMENTS_PER_BIN);
  const scored = Array.from({ length: Math.min(alike.length, MAX_ENVIRONMENTS_PER_BIN) }, (_, k) => alike[Math.floor(k * step)] as number);
  const predictions = model.predictEnvironmentMeans(scored.map((e) => problem.input(e)));
  const scores = scored.map(
    (e, k) => scoreEnvironment(problem.heldMeans[e] as Float32Array, predictions[k] as Float32Array, problem.control(e)).pearsonDelta,
  );
  domain.scoresByBin.set(low, scores);
  return scores;
}

/**
 * How far a new drug is from what the model learnt from, and what that distance cost on the
 * run's own held-out environments: their Pearson r of Δ (mean ± std) among those whose nearest
 * training drug was about as similar (the same bin of the DLEPS curve; at most 256 of them, evenly
 * spaced). Null without a fingerprint.
 */
export function applicabilityDomain(model: TrainedModel, environment: Float32Array, fingerprintBits: number): ApplicabilityDomain | null {
  const domain = domainOfRun(model, fingerprintBits);
  const nearest = nearestTrainingDrug(domain.problem, fingerprintBits, environment);
  if (nearest.drug === null || !Number.isFinite(nearest.similarity)) return null;
  const bin = SIMILARITY_BINS.find(([low, high]) => nearest.similarity >= low && nearest.similarity < high) ?? [0, 1];
  const scores = binScores(model, domain, bin);
  const mean = scores.length > 0 ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
  const std = mean !== null && scores.length > 1 ? Math.sqrt(scores.reduce((s, v) => s + (v - mean) ** 2, 0) / (scores.length - 1)) : null;
  return {
    nearestDrug: nearest.drug,
    similarity: nearest.similarity,
    low: bin[0],
    high: Math.min(1, bin[1]),
    environments: scores.length,
    pearsonDelta: mean,
    pearsonDeltaStd: std,
  };
}
