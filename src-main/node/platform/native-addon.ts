// Finds and loads one of the lab's optional Node-API addons (native/blas, native/rdkit), or says why
// it cannot. Both addons are built on the user's machine and may be missing or broken; callers
// get a reason instead of an exception and fall back to their JavaScript or WebAssembly path.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A packed Electron app keeps native files beside app.asar, in app.asar.unpacked. */
export function unpackedPath(path: string): string {
  return path.replace(/app\.asar(?=[\\/]|$)/, 'app.asar.unpacked');
}

/**
 * The addon's file, looked for up the folders from `fromUrl` (the source tree under tsx, dist/ when
 * built, app.asar.unpacked when packed), or at `override` when one is given.
 */
export function findAddonFile(fromUrl: string, relativePath: string, override?: string): string | null {
  if (override) return existsSync(override) ? override : null;
  let dir = dirname(fileURLToPath(fromUrl));
  for (let depth = 0; depth < 6; depth++) {
    for (const root of [dir, unpackedPath(dir)]) {
      const candidate = join(root, relativePath);
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

export type AddonRequire<T> = { ok: true; binding: T } | { ok: false; why: string };

/**
 * Loads the addon at `path`; a load failure (missing library, wrong ABI) comes back as its first
 * line. Both addons export `info()`; a file without it (a wrong override) is not taken for one.
 */
export function requireAddon<T extends { info(): unknown }>(name: string, path: string): AddonRequire<T> {
  try {
    const binding = createRequire(import.meta.url)(path) as Partial<T> | null;
    if (typeof binding?.info !== 'function') return { ok: false, why: `${path} is not the ${name} addon (it exports no info())` };
    return { ok: true, binding: binding as T };
  } catch (error) {
    return { ok: false, why: `the ${name} addon at ${path} failed to load: ${firstLine(error)}` };
  }
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n').find((line) => line.trim() !== '') ?? text).trim().slice(0, 300);
}
