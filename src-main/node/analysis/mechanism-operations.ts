// The mechanism analyses that need a trained model or several store reads, run in the analysis
// worker through operations.ts.
import { LabError } from '../../shared/api/errors.js';
import type { DrugNeighboursResult, EnrichmentParams, EnrichmentResult, MoaRetrievalResult } from '../../shared/api/mechanism.js';
import type { AnalysisContext } from './context.js';
import { enrichGeneScores, topByMagnitude } from './enrichment.js';
import { latentGeneEffects } from './inspection.js';
import { drugNeighbours, drugVectors, moaRetrieval } from './moa-retrieval.js';

/** Enrichment of a latent coordinate's gene program or of a differential expression result. */
export async function enrichmentOf(context: AnalysisContext, params: EnrichmentParams): Promise<EnrichmentResult> {
  const collection = context.store.geneSets.get(params.collectionId);
  const sets = context.store.geneSets.sets(params.collectionId);
  let datasetId: string;
  let genes: { id: string; symbol: string }[];
  let scores: Float64Array;
  let selected: number[];
  let ranked: string;
  let rule: string;
  if (params.source.kind === 'latent') {
    const { runId, latent } = params.source;
    const model = await context.model(runId);
    if (latent >= model.latentDim) {
      throw new LabError('invalid_params', `This model has latents 0..${model.latentDim - 1}; there is no latent ${latent}.`);
    }
    datasetId = model.run.datasetId;
    genes = context.store.datasets.genes(datasetId);
    scores = latentGeneEffects(model, latent);
    selected = topByMagnitude(scores, params.selectTop);
    ranked = `latent ${latent} of run "${model.run.name}" (epoch ${model.epoch}): the decoder's change in each gene when the coordinate moves`;
    rule = `the ${selected.length} genes with the largest |effect|`;
  } else {
    const { differential } = params.source;
    datasetId = differential.datasetId;
    const tested = differential.genes.filter((g): g is typeof g & { t: number } => g.t !== null && Number.isFinite(g.t));
    if (tested.length < 2)
      throw new LabError(
        'bad_input',
        'The differential expression result has fewer than 2 genes with a t statistic; there is nothing to rank',
      );
    genes = tested.map((g) => ({ id: g.id, symbol: g.symbol }));
    scores = Float64Array.from(tested, (g) => g.t);
    selected = topByMagnitude(scores, params.selectTop, (g) => (tested[g]?.adjustedP ?? 1) < 0.05);
    ranked = `differential expression: ${tested.length} tested genes ranked by Welch's t`;
    rule = `genes with BH-adjusted p < 0.05, the ${params.selectTop} with the largest |t| at most (${selected.length})`;
  }
  const result = enrichGeneScores(genes, scores, selected, sets, {
    minSize: params.minSize,
    maxSize: params.maxSize,
    permutations: params.permutations,
    seed: params.seed,
    checkCancelled: () => context.signal.throwIfAborted(),
  });
  return {
    collectionId: collection.id,
    collectionName: collection.name,
    datasetId,
    ranked,
    selected: { genes: selected.map((g) => genes[g]?.symbol ?? String(g)), rule },
    permutations: params.permutations,
    ...result,
  };
}

export async function moaRetrievalOf(context: AnalysisContext, runId: string): Promise<MoaRetrievalResult> {
  const model = await context.model(runId);
  const datasetId = model.run.datasetId;
  const vectors = drugVectors(context.store, model, datasetId);
  const { annotated, scores } = moaRetrieval(vectors);
  return { runId, datasetId, drugs: vectors.items.length, annotated, scores, verdict: retrievalVerdict(scores) };
}

/** Which description groups drugs by mechanism best, in words. */
export function retrievalVerdict(scores: readonly { method: string; map: number | null; chance: number | null }[]): string {
  const scored = scores.filter((s): s is typeof s & { map: number; chance: number } => s.map !== null && s.chance !== null);
  if (scored.length === 0) return 'No drug has another drug of the same known MoA in this dataset: there is nothing to retrieve.';
  const best = [...scored].sort((a, b) => b.map - a.map)[0] as (typeof scored)[number];
  const others = scored.filter((s) => s !== best).map((s) => `${s.method} ${s.map.toFixed(2)}`);
  return `${best.method} groups drugs by known MoA best (mAP ${best.map.toFixed(2)}; random ${best.chance.toFixed(2)}${others.length ? `; ${others.join(', ')}` : ''}).`;
}

export async function drugNeighboursOf(
  context: AnalysisContext,
  { runId, environmentKey, count }: { runId: string; environmentKey: string; count: number },
): Promise<DrugNeighboursResult> {
  const model = await context.model(runId);
  const vectors = drugVectors(context.store, model, model.run.datasetId);
  const methods = drugNeighbours(vectors, environmentKey, count);
  const item = vectors.items.find((i) => i.key === environmentKey);
  if (!methods || !item) throw new LabError('not_found', `The run's dataset has no drug environment "${environmentKey}"`);
  return { runId, environmentKey, moa: item.moa, targets: item.targets, methods };
}
