// Loads RDKit MinimalLib (the `@rdkit/rdkit` WebAssembly build) in plain Node, once per process.
//
// The package ships a CommonJS emscripten loader (`RDKit_minimal.js`, exporting `initRDKitModule`)
// next to a 7 MB `RDKit_minimal.wasm`. In Node the loader reads the .wasm with `fs` from
// `scriptDirectory + 'RDKit_minimal.wasm'`; we pass `locateFile` with the path resolved through the
// package's own export (`@rdkit/rdkit/RDKit_minimal.wasm`) so the binary is found wherever the
// package ends up (hoisted node_modules, compiled dist/, Electron's app.asar whose fs is patched).
//
// The wasm is compiled once per process (compileRDKit) and every instance is made from that
// WebAssembly.Module; a worker thread can be handed the main thread's module (useCompiledRDKit),
// because V8 keeps one copy of the machine code per module, shared by every thread's instance:
// functions one pool worker gets optimised (V8 recompiles hot wasm functions as they warm up) are
// then optimised for the other workers too, instead of each paying that warm-up for itself.
//
// Nothing here is chemistry: `Chemistry` (chemistry.ts) owns the loaded runtime and all mol handling.
import { readFile } from 'node:fs/promises';
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

/** A compiled RDKit wasm module (a WebAssembly.Module; the project's TypeScript libs leave WebAssembly untyped). */
export type CompiledRDKit = object;

/** The two WebAssembly calls used here, typed for the same reason. */
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      compile(bytes: Uint8Array): Promise<CompiledRDKit>;
      instantiate(module: CompiledRDKit, imports: object): Promise<object>;
    };
  }
).WebAssembly;

type InitRDKitModule = (options?: {
  locateFile?: (path: string, scriptDirectory: string) => string;
  instantiateWasm?: (imports: object, receive: (instance: object) => void) => object;
}) => Promise<RDKitModule>;

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
/** The compiled wasm every instance of this process is made from (compiled here, or handed over). */
let compiled: Promise<CompiledRDKit> | undefined;

/**
 * The process's compiled RDKit wasm, compiled on first use. Post it to a worker thread (a
 * WebAssembly.Module survives postMessage) and pass it to useCompiledRDKit there.
 */
export function compileRDKit(): Promise<CompiledRDKit> {
  if (!compiled) {
    const compiling = (async () => {
      const wasmPath = rdkitWasmPath();
      // Read without blocking: the serving thread compiles it for the chemistry pool on a first
      // prediction, and reading the wasm synchronously held it ~30 ms (bench:lincs profile).
      return wasmApi.compile(await readFile(wasmPath));
    })().catch((error: unknown) => {
      if (compiled === compiling) compiled = undefined;
      throw new Error(`RDKit wasm failed to compile: ${errorText(error)}`);
    });
    compiled = compiling;
  }
  return compiled;
}

/** Makes this thread's RDKit instances from a module compiled elsewhere (see compileRDKit); call before loadRDKit. */
export function useCompiledRDKit(module: CompiledRDKit): void {
  compiled = Promise.resolve(module);
}

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
    const wasm = await compileRDKit();
    // The loader waits for `receive` forever if instantiation fails: that failure ends the race instead.
    let instantiationFailed: (error: unknown) => void = () => {};
    const failure = new Promise<never>((_, reject) => {
      instantiationFailed = reject;
    });
    module = await Promise.race([
      init({
        locateFile: (file, scriptDirectory) => (file.endsWith('.wasm') ? wasmPath : scriptDirectory + file),
        // Instances come from the process's compiled module, so the loader does not compile the file again.
        instantiateWasm: (imports, receive) => {
          wasmApi.instantiate(wasm, imports).then(receive, instantiationFailed);
          return {};
        },
      }),
      failure,
    ]);
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
