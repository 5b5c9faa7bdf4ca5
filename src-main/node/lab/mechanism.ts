// A virtual screen: the connectivity query scored against the signatures a trained model predicts
// for structures never profiled, each with a note on how far it lies from the drugs the model saw.
// Here only what is cheap or already off this thread: the query checked against the genes (so a
// bad query fails before any prediction), each structure described on the chemistry pool and
// predicted in the analysis worker; the nearest training drugs (every environment's fingerprint)
// and the scores are computed in the analysis worker too (analysis/screen.ts).

import { LabError } from '../../shared/api/errors.js';
import { FingerprintOptions } from '../../shared/api/imports.js';
import type { ConnectivityResult } from '../../shared/api/mechanism.js';
import { resolveQueryGenes } from '../analysis/connectivity-query.js';
import type { DescribeOptions } from '../chem/chemistry.js';
import type { Store } from '../store/store.js';
import type { AnalysisService } from './analysis.js';
import type { LabChemistry } from './chemistry.js';

/** What a virtual screen reads of the lab. */
export interface ScreeningLab {
  store: Store;
  analysis: Pick<AnalysisService, 'predictDrug' | 'run'>;
  /** Structures are described on the chemistry pool: RDKit neither loads nor runs on the serving thread. */
  chemistry: Pick<LabChemistry, 'describeOffThread'>;
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
  resolveQueryGenes(genes, params.up, params.down);
  const chemistry = { describe: (smiles: string, options: DescribeOptions) => lab.chemistry.describeOffThread(smiles, options) };
  const fingerprint = FingerprintOptions.parse((dataset.provenance as { fingerprint?: unknown }).fingerprint ?? {});
  const values = new Float64Array(library.length * genes.length);
  const fingerprints: Uint8Array[] = [];
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
    fingerprints.push(structure.fingerprint);
  }
  return lab.analysis.run(
    'screenScores',
    {
      runId: params.runId,
      library,
      fingerprints,
      values,
      cellLine: params.cellLine,
      up: [...params.up],
      down: [...params.down],
      randomQueries: params.randomQueries,
      seed: params.seed,
    },
    signal ? { signal } : {},
  );
}
