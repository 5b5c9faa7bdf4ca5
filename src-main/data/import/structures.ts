// Drug structures for an import: computed by chem/ once per SMILES and fingerprint setting,
// then served from the lab's molecule cache.
import type { FingerprintOptions } from '../../api/imports.js';
import type { Chemistry } from '../../chem/chemistry.js';
import type { MoleculeRepository } from '../../store/molecules.js';
import type { StructureInfo, StructureSource } from './representation.js';

export class CachedStructures implements StructureSource {
  readonly #chemistry: Chemistry;
  readonly #cache: MoleculeRepository;

  constructor(chemistry: Chemistry, cache: MoleculeRepository) {
    this.#chemistry = chemistry;
    this.#cache = cache;
  }

  async describe(smiles: string, options: FingerprintOptions): Promise<StructureInfo> {
    const cached = this.#cache.get(smiles, options);
    if (cached) return cached;
    // After RDKit crashed on an earlier structure, wait for the fresh instance.
    await this.#chemistry.ready();
    const result = this.#chemistry.describe(smiles, options);
    if (result.ok) {
      const record = {
        ok: true as const,
        canonicalSmiles: result.canonicalSmiles,
        inchiKey: result.inchiKey,
        scaffoldSmiles: result.scaffoldSmiles,
        fingerprint: result.fingerprint,
        svg: result.svg,
      };
      this.#cache.put(smiles, options, record);
      // Datasets store a drug's canonical SMILES, and the scaffold split finds the scaffold by
      // that string: without this row every drug written differently in pert_info (most of
      // them) lost its scaffold and a scaffold split silently became a per-drug split.
      if (result.canonicalSmiles !== smiles) this.#cache.put(result.canonicalSmiles, options, record);
      return result;
    }
    // A structure is refused for good, unless the engine was only restarting.
    if (!result.retry) this.#cache.put(smiles, options, { ok: false, reason: result.reason });
    return { ok: false, reason: result.reason };
  }
}
