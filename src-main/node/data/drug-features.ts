// The drug representations a run may ask for instead of the imported fingerprint
// (TrainingConfig.drugFeatures): Morgan bits at radius 1–3 and RDKit's 2-D descriptors, rebuilt
// from each drug's canonical SMILES. Computing needs RDKit (async, once per SMILES and
// representation, cached in SQLite); training reads the cache synchronously.
import { LabError } from '../../shared/api/errors.js';
import type { DrugFeatures } from '../../shared/api/training.js';
import { Chemistry, type FeatureSpec } from '../chem/chemistry.js';
import type { EnvironmentView } from '../store/datasets.js';
import type { Store } from '../store/store.js';

export type ComputedDrugFeatures = Exclude<DrugFeatures, 'stored'>;

const MORGAN_BITS = 2048;
const morgan = (radius: number): FeatureSpec => ({ kind: 'morgan', radius, nBits: MORGAN_BITS });
const DESCRIPTORS: FeatureSpec = { kind: 'descriptors' };

const SPECS: Record<ComputedDrugFeatures, FeatureSpec[]> = {
  'morgan-r1': [morgan(1)],
  'morgan-r2': [morgan(2)],
  'morgan-r3': [morgan(3)],
  descriptors: [DESCRIPTORS],
  'morgan-r2+descriptors': [morgan(2), DESCRIPTORS],
};

/** The cache key of one part of a representation. */
function specKey(spec: FeatureSpec): string {
  return spec.kind === 'morgan' ? `morgan-r${spec.radius}-${spec.nBits}` : 'rdkit-descriptors';
}

/** Canonical SMILES of every treated environment's drug with a known structure. */
function structuresOf(view: EnvironmentView): string[] {
  return [...new Set(view.environments.flatMap((e) => (!e.isControl && e.canonicalSmiles ? [e.canonicalSmiles] : [])))].sort();
}

/** Computes (with RDKit) and caches whatever the representation still lacks for the drugs of `view`. */
export async function ensureDrugFeatures(cache: Store, view: EnvironmentView, representation: DrugFeatures): Promise<void> {
  if (representation === 'stored') return;
  const missing = SPECS[representation].flatMap((spec) =>
    structuresOf(view)
      .filter((smiles) => cache.drugFeatures.get(smiles, specKey(spec)) === null)
      .map((smiles) => ({ smiles, spec })),
  );
  if (missing.length === 0) return;
  const chemistry = await Chemistry.load();
  await chemistry.ready();
  const store = cache.db.transaction(() => {
    for (const { smiles, spec } of missing) {
      const result = chemistry.features(smiles, spec);
      // A result from an engine that was restarting says nothing about the molecule: not cached.
      if (!result.ok && result.retry) continue;
      cache.drugFeatures.put(
        smiles,
        specKey(spec),
        chemistry.rdkitVersion,
        result.ok ? { ok: true, names: result.names, features: result.values } : result,
      );
    }
  });
  store();
}

export interface DrugFeatureTable {
  /** Names of the feature coordinates, in order ("morgan r2 bit 5", "descriptor tpsa"). */
  columns: string[];
  /** Features of a drug's canonical SMILES; null when RDKit could not compute them (it keeps its one-hot code). */
  features(canonicalSmiles: string): Float32Array | null;
}

/** The cached features of every drug of `view` (synchronous); a clear error when they were never computed. */
export function drugFeatureTable(cache: Store, view: EnvironmentView, representation: ComputedDrugFeatures): DrugFeatureTable {
  const specs = SPECS[representation];
  const rows = new Map<string, Float32Array | null>();
  let columns: string[] | null = null;
  for (const smiles of structuresOf(view)) {
    const parts = specs.map((spec) => cache.drugFeatures.get(smiles, specKey(spec)));
    if (parts.some((p) => p === null)) {
      throw new LabError(
        'conflict',
        `The "${representation}" features of ${smiles} were never computed; they are computed when a run or study starts (RDKit needed).`,
      );
    }
    if (parts.every((p) => p?.ok)) {
      const ok = parts as { ok: true; names: string[]; features: Float32Array }[];
      const names = ok.flatMap((p) => p.names);
      if (columns && columns.join('\n') !== names.join('\n')) {
        throw new LabError(
          'conflict',
          `The "${representation}" features of ${smiles} have other coordinates than the other drugs' (cached by another RDKit?).`,
        );
      }
      columns = names;
      const row = new Float32Array(names.length);
      let offset = 0;
      for (const p of ok) {
        row.set(p.features, offset);
        offset += p.features.length;
      }
      rows.set(smiles, row);
    } else rows.set(smiles, null);
  }
  if (!columns)
    throw new LabError(
      'bad_input',
      `No drug of this dataset has a structure RDKit could describe, so there are no "${representation}" features.`,
    );
  return { columns, features: (smiles) => rows.get(smiles) ?? null };
}
