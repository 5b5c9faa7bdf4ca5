// The analysis the lab serves, as a table the analysis worker runs (src-main/node/analysis/analysis-worker.ts),
// off the thread that answers the UI. Each entry takes structured-cloneable parameters and returns
// a structured-cloneable result (LabApi results where it can). Adding an analysis is one entry
// here plus its LabApi handler, which calls `lab.analysis.run(name, params)`.
import type {
  DifferentialResult,
  DrugPredictionResult,
  PriorShiftResult,
  PriorShiftRowsParams,
  PriorShiftRowsResult,
  ProjectionResult,
  TopGenesResult,
  UnseenEvaluationResult,
} from '../../shared/api/analysis.js';
import { LabError } from '../../shared/api/errors.js';
import type {
  ConnectivityResult,
  DrugNeighboursResult,
  EnrichmentParams,
  EnrichmentResult,
  MoaRetrievalResult,
} from '../../shared/api/mechanism.js';
import { queryDataset } from './connectivity-query.js';
import type { AnalysisContext } from './context.js';
import { datasetReads } from './dataset-reads.js';
import { compareGroups } from './differential.js';
import { priorShiftReport, topGenes } from './inspection.js';
import { precomputeLatents, priorShiftIndexFor, projectionFor } from './latents-results.js';

export type { AnalysisContext } from './context.js';

import { drugNeighboursOf, enrichmentOf, moaRetrievalOf } from './mechanism-operations.js';
import { applicabilityDomain, predictDrug } from './predict.js';
import { type ScreenScoresParams, scoreScreen } from './screen.js';
import { namedGenes, priorShiftRowsOf, storedTopGenes } from './stored-latents.js';
import type { TrainedModel } from './trained-model.js';
import { evaluateUnseen } from './unseen.js';

/** A drug's environment vector, built on the lab side where RDKit is loaded. */
export interface DrugPredictionParams {
  runId: string;
  environment: Float32Array;
  cellLine: string | null;
  /** How many leading coordinates of the environment are the fingerprint's bits. */
  fingerprintBits: number;
}

export type DrugPredictionGenes = Pick<DrugPredictionResult, 'runId' | 'epoch' | 'seenInTraining' | 'genes' | 'applicability'>;

export const analysisOperations = {
  ...datasetReads,

  /** Reads every sample of both groups: at 50k vs 50k samples seconds of work, so off the serving thread. */
  async differential(context: AnalysisContext, params: Parameters<typeof compareGroups>[1]): Promise<DifferentialResult> {
    return compareGroups(context.store, params);
  },

  /** Stored for the run's newest checkpoint when it can be (latents-results.ts), so the next open reads it. */
  async projection(
    context: AnalysisContext,
    { runId, method, maxPoints }: { runId: string; method: 'pca' | 'umap'; maxPoints: number },
  ): Promise<ProjectionResult> {
    return projectionFor(context, runId, method, maxPoints);
  },

  /** What the Latents view opens with, computed and stored in the background (lowest priority, one run at a time). */
  async precomputeLatents(context: AnalysisContext, { runId }: { runId: string }): Promise<{ stored: boolean }> {
    return precomputeLatents(context, runId);
  },

  async priorShift(context: AnalysisContext, { runId }: { runId: string }): Promise<PriorShiftResult> {
    const model = await context.model(runId);
    const report = priorShiftReport(model);
    if (!report) return { runId, epoch: model.epoch, report: null };
    const { mean, logStd, ...rest } = report;
    return { runId, epoch: model.epoch, report: { ...rest, mean: float32Base64(mean), logStd: logStd ? float32Base64(logStd) : null } };
  },

  /** The rows of the prior-shift heatmaps the view draws (a window, a search, an overview), ordered once per model. */
  async priorShiftRows(context: AnalysisContext, { runId, ...request }: PriorShiftRowsParams): Promise<PriorShiftRowsResult> {
    // From the stored index when there is one: no model load for the heatmaps.
    const { epoch, index } = await priorShiftIndexFor(context, runId);
    return priorShiftRowsOf(runId, epoch, index, request);
  },

  async topGenes(
    context: AnalysisContext,
    { runId, latent, count }: { runId: string; latent: number; count: number },
  ): Promise<TopGenesResult> {
    const stored = storedTopGenes(context.store, runId, latent, count);
    if (stored) return stored;
    const model = await context.model(runId);
    if (latent >= model.latentDim) {
      throw new LabError('invalid_params', `This model has latents 0..${model.latentDim - 1}; there is no latent ${latent}.`);
    }
    return { runId, latent, genes: namedGenes(context.store, runId, topGenes(model, latent, count)) };
  },

  async unseen(context: AnalysisContext, { runId }: { runId: string }): Promise<UnseenEvaluationResult> {
    const model = await context.model(runId);
    return { runId, epoch: model.epoch, split: model.config.validation.kind, ...evaluateUnseen(model) };
  },

  /**
   * The model's predicted mean profile for each given environment (a study's held-out drugs, with
   * the inputs the study chose), and the environments the run held out so the caller can check
   * that it scores the same split.
   */
  async predictEnvironmentMeans(
    context: AnalysisContext,
    { runId, environments }: { runId: string; environments: Float32Array[] },
  ): Promise<{ validationEnvironments: string[]; predictions: Float32Array[] }> {
    const model = await context.model(runId);
    const predictions = environments.map((environment) => {
      context.signal.throwIfAborted();
      return model.predictEnvironmentMean(environment);
    });
    return { validationEnvironments: [...model.data.validationEnvironments], predictions };
  },

  async predictDrug(
    context: AnalysisContext,
    { runId, environment, cellLine, fingerprintBits }: DrugPredictionParams,
  ): Promise<DrugPredictionGenes> {
    const model = await context.model(runId);
    const seenInTraining = model.data.trainIndices.length > 0 && seenInTrainingData(model, environment);
    const prediction = predictDrug(model, environment, cellLine);
    const genes = context.store.datasets.genes(model.run.datasetId);
    return {
      runId,
      epoch: model.epoch,
      seenInTraining,
      applicability: applicabilityDomain(model, environment, fingerprintBits),
      genes: genes.map((g, i) => ({
        id: g.id,
        symbol: g.symbol,
        predicted: prediction.predicted[i] as number,
        control: prediction.control[i] as number,
        delta: prediction.delta[i] as number,
      })),
    };
  },

  /** Preranked GSEA with permutations over a whole collection: seconds of work. */
  async enrichment(context: AnalysisContext, params: EnrichmentParams): Promise<EnrichmentResult> {
    return enrichmentOf(context, params);
  },

  /** Every signature of a dataset scored against the query and its random queries. */
  async moaRetrieval(context: AnalysisContext, { runId }: { runId: string }): Promise<MoaRetrievalResult> {
    return moaRetrievalOf(context, runId);
  },

  async drugNeighbours(
    context: AnalysisContext,
    params: { runId: string; environmentKey: string; count: number },
  ): Promise<DrugNeighboursResult> {
    return drugNeighboursOf(context, params);
  },

  async connectivity(context: AnalysisContext, params: Parameters<typeof queryDataset>[1]): Promise<ConnectivityResult> {
    return queryDataset(context.store, params, () => context.signal.throwIfAborted());
  },

  /** A virtual screen's nearest training drugs (every environment's fingerprint) and scores. */
  async screenScores(context: AnalysisContext, params: ScreenScoresParams): Promise<ConnectivityResult> {
    return scoreScreen(context.store, params, () => context.signal.throwIfAborted());
  },
} satisfies Record<string, (context: AnalysisContext, params: never) => Promise<unknown>>;

export type AnalysisOperations = typeof analysisOperations;
export type AnalysisOperationName = keyof AnalysisOperations;
export type AnalysisParams<N extends AnalysisOperationName> = Parameters<AnalysisOperations[N]>[1];
export type AnalysisResult<N extends AnalysisOperationName> = Awaited<ReturnType<AnalysisOperations[N]>>;

export function isAnalysisOperation(name: string): name is AnalysisOperationName {
  return Object.hasOwn(analysisOperations, name);
}

function seenInTrainingData(model: TrainedModel, vector: Float32Array): boolean {
  const width = model.data.environmentWidth;
  const trained = new Set(Array.from(model.data.trainIndices, (i) => model.data.environmentOfSample[i] as number));
  for (const e of trained) {
    const row = model.data.environmentInputs.subarray(e * width, (e + 1) * width);
    if (row.every((v, j) => v === vector[j])) return true;
  }
  return false;
}

/** Rows of numbers as float32 base64, the contract's packed form of a large matrix (decodeFloat32Rows reads it). */
function float32Base64(rows: readonly (readonly number[])[]): string {
  const width = rows[0]?.length ?? 0;
  const values = new Float32Array(rows.length * width);
  for (const [r, row] of rows.entries()) values.set(row, r * width);
  return base64Of(values);
}

function base64Of(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}
