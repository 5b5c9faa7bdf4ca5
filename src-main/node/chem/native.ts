// Finds and loads the optional cellshift_rdkit Node-API addon (native/rdkit: native RDKit, linked
// against the system's librdkit-dev), or says why it cannot. When it loads, the import's structure
// work (parent, canonical SMILES, scaffold, Morgan bits) runs natively; everything else RDKit does
// here (depictions, InChIKeys, descriptors) stays with the WebAssembly build.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  const path = findAddon();
  if (!path)
    return {
      ok: false,
      why: `the cellshift_rdkit addon is not built (no ${ADDON}; it needs librdkit-dev, then npm run build:native-rdkit)`,
    };
  try {
    const binding = createRequire(import.meta.url)(path) as NativeRDKitBinding;
    return { ok: true, binding, path, version: binding.info().rdkit };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { ok: false, why: `the cellshift_rdkit addon at ${path} failed to load: ${text.split('\n')[0]?.slice(0, 300)}` };
  }
}

function findAddon(): string | null {
  const override = process.env.CELLSHIFT_RDKIT_ADDON;
  if (override) return existsSync(override) ? override : null;
  // Up from src-main/node/chem (tsx) or dist/main/node/chem (built); in a packed Electron app the
  // addon lives in app.asar.unpacked.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    for (const root of [dir, dir.replace(/app\.asar(?=[\\/]|$)/, 'app.asar.unpacked')]) {
      if (existsSync(join(root, ADDON))) return join(root, ADDON);
    }
    dir = dirname(dir);
  }
  return null;
}
