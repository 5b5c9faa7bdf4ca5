// The lab's chemistry: RDKit loaded once on first use, a pool of RDKit workers for large imports,
// and depictions and InChIKeys made when a structure is first shown (imports cache the rest only).
import type { EnvironmentStructure } from '../../shared/api/domain.js';
import { Chemistry } from '../chem/chemistry.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../chem/pool.js';
import type { Store } from '../store/store.js';
import { startWorker } from '../threads/start-worker.js';
import { CachedStructures, type StructureProgress } from './import/structures.js';

export class LabChemistry {
  readonly #store: Store;
  #chemistry: Promise<Chemistry> | null = null;
  /** RDKit workers (one per core) for the structures of large imports; started on first use. */
  readonly #pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}));

  constructor(store: Store) {
    this.#store = store;
  }

  /** RDKit loads once, on the first call that needs structures. */
  load(): Promise<Chemistry> {
    this.#chemistry ??= Chemistry.load();
    return this.#chemistry;
  }

  /** An import's structure source: the molecule cache, then the pool for what is not cached. */
  async structures(onProgress?: StructureProgress): Promise<CachedStructures> {
    return new CachedStructures(await this.load(), this.#store.molecules, {
      pool: this.#pool,
      ...(onProgress ? { onProgress } : {}),
    });
  }

  async environmentStructure(datasetId: string, environmentId: string): Promise<EnvironmentStructure> {
    const structure = this.#store.datasets.environmentStructure(datasetId, environmentId);
    if (structure.svg !== null || structure.canonicalSmiles === null || structure.smiles === null) return structure;
    const described = (await this.load()).describe(structure.smiles);
    if (!described.ok || described.svg === null) return structure;
    this.#store.molecules.setDepiction(structure.smiles, described.svg, described.inchiKey);
    return { ...structure, svg: described.svg, inchiKey: structure.inchiKey ?? described.inchiKey };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
