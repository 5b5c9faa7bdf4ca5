// A virtual screen: the connectivity query scored against the signatures a trained model predicts
// for structures never profiled, each with a note on how far it lies from the drugs the model saw.

import { LabError } from '../../shared/api/errors.js';
import { FingerprintOptions } from '../../shared/api/imports.js';
import type { ConnectivityResult, ConnectivityRow } from '../../shared/api/mechanism.js';
import { scoreConnectivity } from '../analysis/connectivity.js';
import { connectivityRows, resolveQueryGenes, tauNote } from '../analysis/connectivity-query.js';
import { type DescribeOptions, tanimoto } from '../chem/chemistry.js';
import { fingerprintBitCount } from '../data/representation-columns.js';
import type { Store } from '../store/store.js';
import type { AnalysisService } from './analysis.js';
import type { LabChemistry } from './chemistry.js';

/** What a virtual screen reads of the lab. */
export interface ScreeningLab {
  store: Store;
  analysis: Pick<AnalysisService, 'predictDrug'>;
  /** Structures are described on the chemistry pool: RDKit neither loads nor runs on the serving thread. */
  chemistry: Pick<LabChemistry, 'describeOffThread'>;
}

/** Tanimoto on Morgan bits: ≥ 0.7 is a close analogue; below 0.4 the structure is new to the model. */
export function applicabilityNote(similarity: number, nearest: string | null): string {
  if (nearest === null) return 'no training drug has a usable structure to compare with';
  if (similarity >= 0.7) return `close analogue of ${nearest} (Tanimoto ${similarity.toFixed(2)}): within the model's chemical domain`;
  if (similarity >= 0.4) return `related to ${nearest} (Tanimoto ${similarity.toFixed(2)}): extrapolating moderately`;
  return `far from every training drug (nearest ${nearest}, Tanimoto ${similarity.toFixed(2)}): treat the prediction with caution`;
}

export async function screenStructures(
  lab: ScreeningLab,
  params: {
    runId: string;
    smiles: readonly string[];
    cellLine: string | null;
    up: readonly string[];
    down: readonly string[];
    randomQueries: number;
    seed: number;
  },
  signal?: AbortSignal,
): Promise<ConnectivityResult> {
  const library = [...new Set(params.smiles.map((s) => s.trim()).filter((s) => s !== ''))];
  if (library.length === 0) throw new LabError('bad_input', 'The SMILES list is empty');
  const run = lab.store.runs.get(params.runId);
  const dataset = lab.store.datasets.get(run.datasetId);
  const genes = lab.store.datasets.genes(dataset.id);
  const query = resolveQueryGenes(genes, params.up, params.down);
  const chemistry = { describe: (smiles: string, options: DescribeOptions) => lab.chemistry.describeOffThread(smiles, options) };
  const fingerprint = FingerprintOptions.parse((dataset.provenance as { fingerprint?: unknown }).fingerprint ?? {});
  const representations = lab.store.datasets.representations(dataset.id);
  const nBits = fingerprintBitCount(representations.columns);
  const drugs = lab.store.datasets
    .environments(dataset.id)
    .filter((e) => !e.isControl && e.structure === 'parsed')
    .map((e) => ({
      name: e.drugName ?? e.perturbagen ?? e.label,
      bits: Uint8Array.from(representations.rows.find((r) => r.environmentId === e.id)?.values.slice(0, nBits) ?? []),
    }));
  const values = new Float64Array(library.length * genes.length);
  const applicability: ConnectivityRow['applicability'][] = [];
  for (const [s, smiles] of library.entries()) {
    const structure = await chemistry.describe(smiles, fingerprint);
    if (!structure.ok) throw new LabError('bad_input', `Cannot read SMILES ${s + 1} ("${smiles.slice(0, 80)}"): ${structure.reason}`);
    const prediction = await lab.analysis.predictDrug(
      params.runId,
      smiles,
      { cellLine: params.cellLine },
      chemistry,
      signal ? { signal } : {},
    );
    prediction.genes.forEach((g, i) => {
      values[s * genes.length + i] = g.delta;
    });
    let best = { name: null as string | null, similarity: 0 };
    for (const drug of drugs) {
      const similarity = drug.bits.length === structure.fingerprint.length ? tanimoto(drug.bits, structure.fingerprint) : 0;
      if (similarity > best.similarity || best.name === null) best = { name: drug.name, similarity };
    }
    applicability.push({ nearestDrug: best.name, similarity: best.similarity, note: applicabilityNote(best.similarity, best.name) });
  }
  const scores = scoreConnectivity(
    { nSignatures: library.length, nGenes: genes.length, values },
    library.map(() => 'predicted'),
    query,
    {
      randomQueries: params.randomQueries,
      seed: params.seed,
    },
  );
  return {
    datasetId: dataset.id,
    runId: params.runId,
    up: query.upMatch,
    down: query.downMatch,
    signatureScores: `each structure's predicted change from control (run "${run.name}"${params.cellLine ? `, cell line ${params.cellLine}` : ''}); NCS normalised within the screened library`,
    randomQueries: scores.randomQueries,
    tauNote: tauNote(scores.randomQueries),
    rows: connectivityRows(
      scores,
      library.map((smiles, s) => ({
        signature: smiles,
        facts: { drug: null, cellLine: params.cellLine, dose: null, time: null, pertType: 'predicted' },
        biology: { moa: [], targets: [] },
        applicability: applicability[s] ?? null,
      })),
    ),
  };
}
