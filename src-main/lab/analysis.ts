// Serves model inspection. Rebuilding a model from its checkpoint costs a dataset read, so the
// two most recently used are kept (keyed by run and checkpoint epoch, so new epochs reload).

import { priorShiftReport, projectLatents, topGenes } from '../analysis/inspection.js';
import { drugEnvironmentVector, predictDrug } from '../analysis/predict.js';
import { TrainedModel } from '../analysis/trained-model.js';
import { evaluateUnseen } from '../analysis/unseen.js';
import type { DrugPredictionResult, PriorShiftResult, ProjectionResult, TopGenesResult, UnseenEvaluationResult } from '../api/analysis.js';
import { LabError } from '../api/errors.js';
import { FingerprintOptions } from '../api/imports.js';
import type { Chemistry } from '../chem/chemistry.js';
import type { Store } from '../store/store.js';

const CACHE_SIZE = 2;

export class AnalysisService {
  readonly #store: Store;
  readonly #cache = new Map<string, Promise<TrainedModel>>();

  constructor(store: Store) {
    this.#store = store;
  }

  async projection(runId: string, method: 'pca' | 'umap', maxPoints: number): Promise<ProjectionResult> {
    const model = await this.#model(runId);
    return { runId, epoch: model.epoch, ...projectLatents(model, method, maxPoints) };
  }

  async priorShift(runId: string): Promise<PriorShiftResult> {
    const model = await this.#model(runId);
    return { runId, epoch: model.epoch, report: priorShiftReport(model) };
  }

  async topGenes(runId: string, latent: number, count: number): Promise<TopGenesResult> {
    const model = await this.#model(runId);
    const genes = this.#store.datasets.genes(model.run.datasetId);
    return {
      runId,
      latent,
      genes: topGenes(model, latent, count).map((g) => ({
        id: genes[g.gene]?.id ?? String(g.gene),
        symbol: genes[g.gene]?.symbol ?? String(g.gene),
        effect: g.effect,
      })),
    };
  }

  async unseen(runId: string): Promise<UnseenEvaluationResult> {
    const model = await this.#model(runId);
    return { runId, epoch: model.epoch, split: model.config.validation.kind, ...evaluateUnseen(model) };
  }

  async predictDrug(runId: string, smiles: string, cellLine: string | null, chemistry: Chemistry): Promise<DrugPredictionResult> {
    const model = await this.#model(runId);
    const dataset = this.#store.datasets.get(model.run.datasetId);
    const representations = this.#store.datasets.representations(dataset.id);
    if (!representations.kind.startsWith('morgan')) {
      throw new LabError(
        'conflict',
        `Dataset "${dataset.name}" describes its environments by ${representations.kind}, not drug structures: there is nothing to compute from a SMILES.`,
      );
    }
    const fingerprint = FingerprintOptions.parse((dataset.provenance as { fingerprint?: unknown }).fingerprint ?? {});
    const structure = chemistry.describe(smiles, fingerprint);
    if (!structure.ok) throw new LabError('bad_input', `Cannot read the SMILES: ${structure.reason}`);
    const vector = drugEnvironmentVector(representations.columns, fingerprint, structure.fingerprint, cellLine);
    const seenInTraining = model.data.trainIndices.length > 0 && this.#seenInTraining(model, vector);
    const prediction = predictDrug(model, vector, cellLine);
    const genes = this.#store.datasets.genes(dataset.id);
    return {
      runId,
      epoch: model.epoch,
      smiles,
      canonicalSmiles: structure.canonicalSmiles,
      svg: structure.svg,
      cellLine,
      seenInTraining,
      genes: genes.map((g, i) => ({
        id: g.id,
        symbol: g.symbol,
        predicted: prediction.predicted[i] as number,
        control: prediction.control[i] as number,
        delta: prediction.delta[i] as number,
      })),
    };
  }

  #seenInTraining(model: TrainedModel, vector: Float32Array): boolean {
    const width = model.data.environmentWidth;
    const trained = new Set(Array.from(model.data.trainIndices, (i) => model.data.environmentOfSample[i] as number));
    for (const e of trained) {
      const row = model.data.environmentInputs.subarray(e * width, (e + 1) * width);
      if (row.every((v, j) => v === vector[j])) return true;
    }
    return false;
  }

  async dispose(): Promise<void> {
    const models = await Promise.allSettled(this.#cache.values());
    for (const m of models) if (m.status === 'fulfilled') m.value.dispose();
    this.#cache.clear();
  }

  #model(runId: string): Promise<TrainedModel> {
    const epoch = this.#store.runs.latestCheckpoint(runId)?.epoch ?? -1;
    const key = `${runId}@${epoch}`;
    const cached = this.#cache.get(key);
    if (cached) {
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached;
    }
    const loading = TrainedModel.load(this.#store, runId);
    this.#cache.set(key, loading);
    loading.catch(() => this.#cache.delete(key));
    while (this.#cache.size > CACHE_SIZE) {
      const [oldest, evicted] = this.#cache.entries().next().value as [string, Promise<TrainedModel>];
      this.#cache.delete(oldest);
      void evicted.then(
        (m) => m.dispose(),
        () => undefined,
      );
    }
    return loading;
  }
}
