// Loads RDKit MinimalLib (the `@rdkit/rdkit` WebAssembly build) in plain Node, once per process.
//
// The package ships a CommonJS emscripten loader (`RDKit_minimal.js`, exporting `initRDKitModule`)
// next to a 7 MB `RDKit_minimal.wasm`. In Node the loader reads the .wasm with `fs` from
// `scriptDirectory + 'RDKit_minimal.wasm'`; we pass `locateFile` with the path resolved through the
// package's own export (`@rdkit/rdkit/RDKit_minimal.wasm`) so the binary is found wherever the
// package ends up (hoisted node_modules, compiled dist/, Electron's app.asar whose fs is patched).
//
// Nothing here is chemistry: `Chemistry` (chemistry.ts) owns the loaded runtime and all mol handling.
import { createRequire } from 'node:module';
import type { Log, MainModule, Mol } from '@rdkit/rdkit';

export type RDKitModule = MainModule;
export type RDKitMol = Mol;

export interface RDKitRuntime {
  readonly module: RDKitModule;
  /** RDKit release compiled into the wasm, e.g. "2026.09.1" (part of any fingerprint cache key). */
  readonly version: string;
  /**
   * Captures RDKit's log (parse errors, sanitization failures) instead of letting the wasm print it
   * to stderr; read after a failed parse to tell the user why, and clear before each parse.
   */
  readonly log: Log | null;
  /** Milliseconds spent compiling and instantiating the wasm. */
  readonly loadMs: number;
}

type InitRDKitModule = (options?: { locateFile?: (path: string, scriptDirectory: string) => string }) => Promise<RDKitModule>;

const require = createRequire(import.meta.url);

// The one piece of module-level state, and why it cannot live on an instance: every call to
// initRDKitModule compiles the wasm and allocates a fresh heap (~150-200 ms and tens of MB), and
// Chemistry.load() is called independently by importers, prediction and the CLI. Caching the
// *promise* (not a mutable singleton object) makes concurrent first callers share one
// instantiation and keeps the runtime immutable once created. A failed load clears the cache so a
// later call can retry, and so does discarding a runtime RDKit crashed in (discardRDKit). Each worker thread has its own module scope, hence its own instance, which
// is what wasm requires (an instance cannot be shared across threads).
let pending: Promise<RDKitRuntime> | undefined;
/** The runtime `pending` resolved to. */
let current: RDKitRuntime | undefined;
/** Runtimes that crashed (a trap inside the wasm) and must not be used again. */
const discarded = new WeakSet<RDKitRuntime>();

/** Returns the process-wide RDKit runtime, instantiating the wasm on first use. */
export function loadRDKit(): Promise<RDKitRuntime> {
  if (!pending) {
    const loading: Promise<RDKitRuntime> = instantiate().then(
      (runtime) => {
        if (pending === loading) current = runtime;
        return runtime;
      },
      (error: unknown) => {
        if (pending === loading) pending = undefined;
        throw error;
      },
    );
    pending = loading;
  }
  return pending;
}

/**
 * Marks a runtime as broken (RDKit crashed inside it): the next loadRDKit() instantiates a fresh
 * one, and every holder of the old one can tell (isDiscarded) that it must switch.
 */
export function discardRDKit(runtime: RDKitRuntime): void {
  discarded.add(runtime);
  if (current === runtime) {
    current = undefined;
    pending = undefined;
  }
}

export function isDiscarded(runtime: RDKitRuntime): boolean {
  return discarded.has(runtime);
}

/** Absolute path of the RDKit MinimalLib wasm binary inside node_modules. */
export function rdkitWasmPath(): string {
  return require.resolve('@rdkit/rdkit/RDKit_minimal.wasm');
}

async function instantiate(): Promise<RDKitRuntime> {
  const started = performance.now();
  let init: InitRDKitModule;
  let wasmPath: string;
  try {
    init = require('@rdkit/rdkit') as InitRDKitModule;
    wasmPath = rdkitWasmPath();
  } catch (error) {
    throw new Error(`RDKit (@rdkit/rdkit) is not installed or incomplete: ${errorText(error)}`);
  }
  let module: RDKitModule;
  try {
    module = await init({ locateFile: (file, scriptDirectory) => (file.endsWith('.wasm') ? wasmPath : scriptDirectory + file) });
  } catch (error) {
    throw new Error(`RDKit wasm failed to load from ${wasmPath}: ${errorText(error)}`);
  }
  // 'rdApp.*' covers rdApp.error / warning / info; capturing also silences the stderr echo.
  const log = module.set_log_capture('rdApp.*');
  return { module, version: module.version(), log, loadMs: performance.now() - started };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
