// The part of a virtual screen that reads the whole dataset: each screened structure's nearest
// training drug (every environment's fingerprint bits, ~50k × 1024 at LINCS size) and the
// connectivity scores of the predicted changes against random queries. Runs in the analysis
// worker; the lab describes the structures and predicts their changes (lab/mechanism.ts).
import type { ConnectivityResult, ConnectivityRow } from '../../shared/api/mechanism.js';
import { tanimoto } from '../chem/chemistry.js';
import { fingerprintBitCount } from '../data/representation-columns.js';
import type { Store } from '../store/store.js';
import { scoreConnectivity } from './connectivity.js';
import { connectivityRows, resolveQueryGenes, tauNote } from './connectivity-query.js';

export interface ScreenScoresParams {
  runId: string;
  /** The screened structures, as given (deduplicated). */
  library: string[];
  /** Each structure's fingerprint bits, in library order. */
  fingerprints: Uint8Array[];
  /** Predicted change from control per structure × gene (library order, the dataset's genes). */
  values: Float64Array;
  cellLine: string | null;
  up: string[];
  down: string[];
  randomQueries: number;
  seed: number;
}

/** Tanimoto on Morgan bits: ≥ 0.7 is a close analogue; below 0.4 the structure is new to the model. */
export function applicabilityNote(similarity: number, nearest: string | null): string {
  if (nearest === null) return 'no training drug has a usable structure to compare with';
  if (similarity >= 0.7) return `close analogue of ${nearest} (Tanimoto ${similarity.toFixed(2)}): within the model's chemical domain`;
  if (similarity >= 0.4) return `related to ${nearest} (Tanimoto ${similarity.toFixed(2)}): extrapolating moderately`;
  return `far from every training drug (nearest ${nearest}, Tanimoto ${similarity.toFixed(2)}): treat the prediction with caution`;
}

export function scoreScreen(store: Store, params: ScreenScoresParams, checkAbort: () => void): ConnectivityResult {
  const run = store.runs.get(params.runId);
  const dataset = store.datasets.get(run.datasetId);
  const genes = store.datasets.genes(dataset.id);
  const query = resolveQueryGenes(genes, params.up, params.down);
  const representations = store.datasets.representations(dataset.id);
  const nBits = fingerprintBitCount(representations.columns);
  const bitsOf = new Map(representations.rows.map((r) => [r.environmentId, r.values]));
  const drugs = store.datasets
    .environments(dataset.id)
    .filter((e) => !e.isControl && e.structure === 'parsed')
    .map((e) => ({ name: e.drugName ?? e.perturbagen ?? e.label, bits: Uint8Array.from(bitsOf.get(e.id)?.slice(0, nBits) ?? []) }));
  checkAbort();
  const applicability: ConnectivityRow['applicability'][] = params.fingerprints.map((fingerprint) => {
    let best = { name: null as string | null, similarity: 0 };
    for (const drug of drugs) {
      const similarity = drug.bits.length === fingerprint.length ? tanimoto(drug.bits, fingerprint) : 0;
      if (similarity > best.similarity || best.name === null) best = { name: drug.name, similarity };
    }
    return { nearestDrug: best.name, similarity: best.similarity, note: applicabilityNote(best.similarity, best.name) };
  });
  checkAbort();
  const scores = scoreConnectivity(
    { nSignatures: params.library.length, nGenes: genes.length, values: params.values },
    params.library.map(() => 'predicted'),
    query,
    { randomQueries: params.randomQueries, seed: params.seed },
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
      params.library.map((smiles, s) => ({
        signature: smiles,
        facts: { drug: null, cellLine: params.cellLine, dose: null, time: null, pertType: 'predicted' },
        biology: { moa: [], targets: [] },
        applicability: applicability[s] ?? null,
      })),
    ),
  };
}
