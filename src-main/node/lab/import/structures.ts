// Drug structures for an import: computed by chem/ once per SMILES and fingerprint setting,
// then served from the lab's molecule cache. Imports draw no depictions and compute no InChIKeys
// (as much work again as the rest): the lab makes both when a structure is first shown
// (LabChemistry.environmentStructure).
import type { FingerprintOptions } from '../../../shared/api/imports.js';
import type { Chemistry, MoleculeResult } from '../../chem/chemistry.js';
import type { ChemistryPool } from '../../chem/pool.js';
import type { MoleculeRepository } from '../../store/molecules.js';
import type { StructureInfo, StructureSource } from './representation.js';

/** Fewer uncached structures than this are described in this thread: a pool's start costs more. */
const POOL_MINIMUM = 64;

/** What an import leaves to the first showing of a structure. */
const IMPORT_DESCRIBE = { depict: false, inchiKey: false } as const;

export type StructureProgress = (described: number, total: number) => void;

export class CachedStructures implements StructureSource {
  readonly #chemistry: Chemistry;
  readonly #cache: MoleculeRepository;
  readonly #pool: ChemistryPool | null;
  readonly #onProgress: StructureProgress | null;

  /** Which engine describes the structures, for progress messages. */
  get engineLabel(): string {
    return this.#chemistry.engineLabel;
  }

  constructor(chemistry: Chemistry, cache: MoleculeRepository, parallel: { pool?: ChemistryPool; onProgress?: StructureProgress } = {}) {
    this.#chemistry = chemistry;
    this.#cache = cache;
    this.#pool = parallel.pool ?? null;
    this.#onProgress = parallel.onProgress ?? null;
  }

  /**
   * Describes every structure not cached yet, on the pool's workers when there are many, and
   * caches the results; describe() then finds them all in the cache.
   */
  async prefetch(smiles: readonly string[], options: FingerprintOptions): Promise<void> {
    const missing = [...new Set(smiles)].filter((s) => !this.#cache.get(s, options, this.#chemistry.engineTag));
    if (missing.length === 0) return;
    const progress = this.#onProgress;
    progress?.(0, missing.length);
    // The pool's results are cached under this Chemistry's engine tag: only a pool of the same engine may make them.
    if (this.#pool && this.#pool.engine === this.#chemistry.engine && missing.length >= POOL_MINIMUM) {
      try {
        const results = await this.#pool.describeAll(missing, {
          ...options,
          ...IMPORT_DESCRIBE,
          ...(progress ? { onProgress: progress } : {}),
        });
        for (const [i, result] of results.entries()) this.#store(missing[i] as string, options, result);
        return;
      } catch {
        // No worker threads here (a bundle without the worker entry, a thread that died): this
        // thread describes them instead, as it did before the pool existed.
      }
    }
    for (const [i, s] of missing.entries()) {
      await this.describe(s, options);
      if (i % 25 === 24 || i === missing.length - 1) {
        progress?.(i + 1, missing.length);
        // Thousands of drugs take seconds to describe: let the app answer meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  async describe(smiles: string, options: FingerprintOptions): Promise<StructureInfo> {
    const cached = this.#cache.get(smiles, options, this.#chemistry.engineTag);
    if (cached) return cached;
    // After RDKit crashed on an earlier structure, wait for the fresh instance.
    await this.#chemistry.ready();
    const result = this.#chemistry.describe(smiles, { ...options, ...IMPORT_DESCRIBE });
    return this.#store(smiles, options, result);
  }

  #store(smiles: string, options: FingerprintOptions, result: MoleculeResult): StructureInfo {
    if (result.ok) {
      const record = {
        ok: true as const,
        canonicalSmiles: result.canonicalSmiles,
        inchiKey: result.inchiKey,
        scaffoldSmiles: result.scaffoldSmiles,
        fingerprint: result.fingerprint,
        svg: result.svg,
      };
      this.#cache.put(smiles, options, record, this.#chemistry.engineTag);
      // Datasets store a drug's canonical SMILES, and the scaffold split finds the scaffold by
      // that string: without this row every drug written differently in pert_info (most of
      // them) lost its scaffold and a scaffold split silently became a per-drug split.
      if (result.canonicalSmiles !== smiles) this.#cache.put(result.canonicalSmiles, options, record, this.#chemistry.engineTag);
      return result;
    }
    // A structure is refused for good, unless the engine was only restarting.
    if (!result.retry) this.#cache.put(smiles, options, { ok: false, reason: result.reason }, this.#chemistry.engineTag);
    return { ok: false, reason: result.reason };
  }
}
