// The lab's chemistry: RDKit loaded once on first use, a pool of RDKit workers for large imports,
// and depictions and InChIKeys made when a structure is first shown (imports cache the rest only).
import type { EnvironmentStructure } from '../../shared/api/domain.js';
import { Chemistry, chemistryEngine, type DescribeOptions, type MoleculeResult } from '../chem/chemistry.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../chem/pool.js';
import type { Store } from '../store/store.js';
import { startWorker } from '../threads/start-worker.js';
import { CachedStructures, type StructureProgress } from './import/structures.js';

export class LabChemistry {
  readonly #store: Store;
  #chemistry: Promise<Chemistry> | null = null;
  /**
   * RDKit workers (one per core) for the structures of large imports; started on first use. Each
   * compiles RDKit itself: compiling it here to share held the serving thread ~33 ms of CPU on a
   * first prediction (bench:lincs profile at 100,000 signatures).
   */
  readonly #pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), undefined, { shareCompiled: false });

  constructor(store: Store) {
    this.#store = store;
  }

  /** Which engine describes structures, and why when it is the fallback (app.info says it). */
  get engineStatement(): string {
    const engine = chemistryEngine();
    return engine.name === 'native' ? engine.label : `${engine.label} (${engine.reason})`;
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

  /**
   * One structure described (and drawn) on a pool worker, not on the serving thread: RDKit took
   * 0.4 s there for one drug with its depiction. Where the pool cannot run, this thread does it.
   */
  async describeOffThread(smiles: string, options: DescribeOptions = {}): Promise<MoleculeResult> {
    try {
      const [result] = await this.#pool.describeAll([smiles], options);
      if (result) return result;
    } catch {
      // No worker threads here (a bundle without the worker entry, a thread that died).
    }
    return (await this.load()).describe(smiles, options);
  }

  async environmentStructure(datasetId: string, environmentId: string): Promise<EnvironmentStructure> {
    const structure = this.#store.datasets.environmentStructure(datasetId, environmentId);
    if (structure.svg !== null || structure.canonicalSmiles === null || structure.smiles === null) return structure;
    const described = await this.describeOffThread(structure.smiles);
    if (!described.ok || described.svg === null) return structure;
    this.#store.molecules.setDepiction(structure.smiles, described.svg, described.inchiKey);
    return { ...structure, svg: described.svg, inchiKey: structure.inchiKey ?? described.inchiKey };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
