// A connectivity query against a stored dataset: every sample is a signature (its scores as
// stored when they are z-scores, else its difference from the controls of its cell line), scored
// with WTCS, NCS per cell line × perturbagen type, Tau, Spearman correlation and random-query p-values.

import { LabError } from '../../shared/api/errors.js';
import type { ConnectivityResult, ConnectivityRow } from '../../shared/api/mechanism.js';
import { geneLookup } from '../data/gene-sets.js';
import type { Store } from '../store/store.js';
import { type ConnectivityScores, scoreConnectivity } from './connectivity.js';
import { chooseScale } from './differential.js';
import { type DrugBiology, metadataDrugBiology, type SampleFacts, sampleFacts } from './drug-biology.js';

export interface ResolvedQuery {
  up: number[];
  down: number[];
  upMatch: ConnectivityResult['up'];
  downMatch: ConnectivityResult['down'];
}

/** Maps identifiers (gene id, else symbol, case-insensitive) to gene indices; refuses unusable queries. */
export function resolveQueryGenes(
  genes: readonly { id: string; symbol: string }[],
  up: readonly string[],
  down: readonly string[],
): ResolvedQuery {
  const find = geneLookup(genes);
  const resolve = (list: readonly string[]) => {
    const indices: number[] = [];
    const matched: string[] = [];
    const unmatched: string[] = [];
    for (const name of new Set(list.map((n) => n.trim()).filter((n) => n !== ''))) {
      const index = find(name);
      if (index === undefined) unmatched.push(name);
      else if (!indices.includes(index)) {
        indices.push(index);
        matched.push(name);
      }
    }
    return { indices, match: { requested: list.length, matched, unmatched } };
  };
  const u = resolve(up);
  const d = resolve(down);
  const both = u.indices.filter((g) => d.indices.includes(g));
  if (both.length > 0) {
    throw new LabError(
      'bad_input',
      `${both.length} gene${both.length === 1 ? ' is' : 's are'} in both the up and the down list (${both
        .slice(0, 5)
        .map((g) => genes[g]?.symbol)
        .join(', ')}): a gene can move one way only`,
    );
  }
  if (u.indices.length + d.indices.length === 0) {
    const named = [...u.match.unmatched, ...d.match.unmatched].slice(0, 5).join(', ');
    throw new LabError(
      'bad_input',
      named === ''
        ? 'The query has no genes: give at least one up or down gene'
        : `None of the query's genes is in this dataset (e.g. ${named}); use the dataset's gene ids or symbols`,
    );
  }
  if (u.indices.length + d.indices.length >= genes.length) {
    throw new LabError('bad_input', `The query names all ${genes.length} genes of the dataset; it must leave some genes out`);
  }
  return { up: u.indices, down: d.indices, upMatch: u.match, downMatch: d.match };
}

/**
 * Each sample's signature, samples × genes. Signed values (z-scores, Level 4/5) are signatures as
 * they are; log2 expression (Level 3) becomes the difference from the mean of the controls of the
 * same cell line, so levels are never mixed without normalising.
 */
export function signatureScores(
  store: Store,
  datasetId: string,
  facts: readonly SampleFacts[],
): { nSignatures: number; nGenes: number; values: Float32Array; description: string } {
  const { nSamples, nGenes, values } = store.datasets.readExpression(datasetId);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = chooseScale(min, max);
  if (min < 0)
    return {
      nSignatures: nSamples,
      nGenes,
      values,
      description: `signed values (${scale.reason}): each sample's values are its signature`,
    };
  if (scale.scale === 'linear') for (let i = 0; i < values.length; i++) values[i] = Math.log2((values[i] as number) + 1);
  const controlMeans = new Map<string, { n: number; sum: Float64Array }>();
  facts.forEach((f, s) => {
    if (!f.isControl) return;
    const key = f.cellLine ?? '';
    const acc = controlMeans.get(key) ?? { n: 0, sum: new Float64Array(nGenes) };
    controlMeans.set(key, acc);
    acc.n++;
    for (let g = 0; g < nGenes; g++) acc.sum[g] = (acc.sum[g] as number) + (values[s * nGenes + g] as number);
  });
  const missing = [...new Set(facts.map((f) => f.cellLine ?? ''))].filter((c) => !controlMeans.has(c));
  if (missing.length > 0) {
    throw new LabError(
      'bad_input',
      `The values look like expression levels (${scale.reason}), so signatures are differences from controls, but cell line${missing.length === 1 ? '' : 's'} ${missing
        .slice(0, 5)
        .map((c) => (c === '' ? '(none named)' : c))
        .join(', ')} ha${missing.length === 1 ? 's' : 've'} no control samples`,
    );
  }
  facts.forEach((f, s) => {
    const acc = controlMeans.get(f.cellLine ?? '') as { n: number; sum: Float64Array };
    for (let g = 0; g < nGenes; g++) values[s * nGenes + g] = (values[s * nGenes + g] as number) - (acc.sum[g] as number) / acc.n;
  });
  return {
    nSignatures: nSamples,
    nGenes,
    values,
    description: `${scale.reason}; each sample's signature is its difference from the mean of the controls of its cell line${scale.scale === 'linear' ? ' (on log2(x + 1))' : ''}`,
  };
}

export const MIN_TAU_REFERENCE = 100;

/** Result rows from scores and per-signature facts, strongest mimic (highest NCS) first. */
export function connectivityRows(
  scores: ConnectivityScores,
  described: readonly {
    signature: string;
    facts: Omit<SampleFacts, 'sampleId' | 'isControl'>;
    biology: DrugBiology;
    applicability?: ConnectivityRow['applicability'];
  }[],
): ConnectivityRow[] {
  const rows = described.map((d, s) => ({
    signature: d.signature,
    drug: d.facts.drug,
    cellLine: d.facts.cellLine,
    dose: d.facts.dose,
    time: d.facts.time,
    pertType: d.facts.pertType,
    moa: d.biology.moa,
    targets: d.biology.targets,
    wtcs: scores.wtcs[s] as number,
    ncs: scores.ncs[s] as number,
    tau: scores.tau ? (scores.tau[s] as number) : null,
    correlation: scores.correlation[s] as number,
    p: scores.p ? (scores.p[s] as number) : null,
    fdr: scores.fdr ? (scores.fdr[s] ?? null) : null,
    applicability: d.applicability ?? null,
  }));
  return rows.sort((a, b) => b.ncs - a.ncs || b.wtcs - a.wtcs);
}

export function tauNote(randomQueries: number): string | null {
  return randomQueries >= MIN_TAU_REFERENCE
    ? null
    : `Tau needs a reference of at least ${MIN_TAU_REFERENCE} random queries; this query ran ${randomQueries}`;
}

export function queryDataset(
  store: Store,
  params: { datasetId: string; up: readonly string[]; down: readonly string[]; randomQueries: number; seed: number },
  checkCancelled?: () => void,
): ConnectivityResult {
  const genes = store.datasets.genes(params.datasetId);
  const query = resolveQueryGenes(genes, params.up, params.down);
  const facts = sampleFacts(store, params.datasetId);
  const signatures = signatureScores(store, params.datasetId, facts);
  const scores = scoreConnectivity(
    signatures,
    facts.map((f) => `${f.cellLine ?? ''}|${f.pertType ?? ''}`),
    query,
    {
      randomQueries: params.randomQueries,
      seed: params.seed,
      minTauReference: MIN_TAU_REFERENCE,
      ...(checkCancelled ? { checkCancelled } : {}),
    },
  );
  const biology = metadataDrugBiology(store).ofSamples(params.datasetId);
  return {
    datasetId: params.datasetId,
    runId: null,
    up: query.upMatch,
    down: query.downMatch,
    signatureScores: signatures.description,
    randomQueries: scores.randomQueries,
    tauNote: tauNote(scores.randomQueries),
    rows: connectivityRows(
      scores,
      facts.map((f, s) => ({ signature: f.sampleId, facts: f, biology: biology[s] as DrugBiology })),
    ),
  };
}
