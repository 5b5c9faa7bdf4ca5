// Finds and loads the optional cellshift_rdkit Node-API addon (native/rdkit: native RDKit, linked
// against the system's librdkit-dev), or says why it cannot. When it loads, the import's structure
// work (parent, canonical SMILES, scaffold, Morgan bits) runs natively; everything else RDKit does
// here (depictions, InChIKeys, descriptors) stays with the WebAssembly build.
import { join } from 'node:path';
import { findAddonFile, requireAddon } from '../platform/native-addon.js';

/** One SMILES as the addon describes it; `error` when RDKit refuses it. */
export type NativeDescribed =
  | { canonicalSmiles: string; removedFragments: string[]; scaffoldSmiles: string | null; fingerprint: Uint8Array; error?: undefined }
  | { error: string };

export interface NativeRDKitBinding {
  describe(smiles: string[], radius: number, nBits: number, chirality: boolean): NativeDescribed[];
  /** The same work on a libuv thread, off the calling JavaScript thread. */
  describeAsync(smiles: string[], radius: number, nBits: number, chirality: boolean): Promise<NativeDescribed[]>;
  info(): { rdkit: string; boost: string };
}

export type NativeRDKitLoad = { ok: true; binding: NativeRDKitBinding; path: string; version: string } | { ok: false; why: string };

const ADDON = join('native', 'rdkit', 'build', 'Release', 'cellshift_rdkit.node');

let cached: NativeRDKitLoad | null = null;

/**
 * Loads the addon once per thread. CELLSHIFT_CHEMISTRY=wasm turns it off (the WebAssembly build
 * does all the work); CELLSHIFT_RDKIT_ADDON=path says where it is.
 */
export function loadNativeRDKit(): NativeRDKitLoad {
  cached ??= load();
  return cached;
}

function load(): NativeRDKitLoad {
  if (process.env.CELLSHIFT_CHEMISTRY === 'wasm') return { ok: false, why: 'turned off by CELLSHIFT_CHEMISTRY=wasm' };
  const path = findAddonFile(import.meta.url, ADDON, process.env.CELLSHIFT_RDKIT_ADDON);
  if (!path)
    return {
      ok: false,
      why: `the cellshift_rdkit addon is not built (no ${ADDON}; it needs librdkit-dev, then npm run build:native-rdkit)`,
    };
  const loaded = requireAddon<NativeRDKitBinding>('cellshift_rdkit', path);
  return loaded.ok ? { ok: true, binding: loaded.binding, path, version: loaded.binding.info().rdkit } : loaded;
}
