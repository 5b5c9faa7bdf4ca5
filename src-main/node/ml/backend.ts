// Picks the TensorFlow.js backend that training runs on: the fastest one that actually works on
// this machine, verified before it is settled, with a human sentence saying why.
//
// Order: 'tensorflow' (the optional native @tensorflow/tfjs-node, libtensorflow), then
// 'native-blas' (the cpu backend with system-BLAS matmuls and C kernels from the optional
// cellshift_blas addon, native/blas: see src-main/node/ml/native), then 'wasm'
// (@tensorflow/tfjs-backend-wasm, a real dependency), then 'cpu' (pure JavaScript, always there).
//
// What we measured about the wasm backend under Node 20 (tfjs-backend-wasm 4.22):
// - Emscripten reads the binary with fs.readFileSync(prefix + fileName). The prefix is
//   concatenated, not joined, so it needs a trailing separator; a plain path and a file:// URL
//   both work. Passing usePlatformFetch=true breaks (fetch() rejects plain paths) with an
//   uncaught exception, so we never do. Without setWasmPaths the prefix is the bundle's
//   __dirname, which works from node_modules but not once the JS is bundled or packed in an
//   asar, hence the explicit, resolved path.
// - It loads tfjs-backend-wasm-simd.wasm (Node 20 has wasm SIMD). The threaded-simd build is
//   never chosen: the WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false when IS_NODE, and
//   forcing it fails because Emscripten hands worker_threads a blob: URL (ERR_WORKER_PATH).
//   setThreadsCount() therefore has no effect in Node and getThreadsCount() reports 1.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { unpackedPath } from '../platform/native-addon.js';
import { NATIVE_BACKEND, registerNativeBackend } from './native/index.js';
import { patchWasmTransposedMatMul } from './native/wasm-matmul.js';

export type BackendName = 'tensorflow' | 'native-blas' | 'wasm' | 'cpu';

export interface BackendChoice {
  name: BackendName;
  /** Threads the backend computes with, when known (null: managed by libtensorflow). */
  threads: number | null;
  /** A human sentence saying why this backend was chosen (and why faster ones were not). */
  reason: string;
}

export interface SelectBackendOptions {
  /** Use this backend or fail (no fallback). */
  prefer?: BackendName;
  /** Requested thread count for wasm; only honoured on its first initialisation. */
  threads?: number;
}

/** Fastest first; selection takes the first that works. */
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow', NATIVE_BACKEND, 'wasm', 'cpu'];
const TFJS_NODE = '@tensorflow/tfjs-node';

const LABELS: Record<BackendName, string> = {
  tensorflow: 'native TensorFlow (tfjs-node)',
  'native-blas': 'system BLAS + native kernels',
  wasm: 'WebAssembly',
  cpu: 'pure JavaScript',
};

/** A backend that initialised and passed the check, or why it did not. */
type Attempt = { ok: true; threads: number | null; detail: string } | { ok: false; why: string };

let current: BackendChoice | null = null;
let pending: Promise<BackendChoice> | null = null;
let wasmPathsConfigured = false;

/**
 * Selects, initialises and verifies a backend, then makes it tf's active backend.
 *
 * Idempotent: once a backend is settled, later calls return the same object without
 * re-initialising anything (re-activating it if other code switched tf away). A `prefer` naming
 * a different backend switches to it; if it cannot be initialised this throws and the previous
 * backend, if any, stays active.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  // Serialise callers: backend initialisation mutates the global tf engine.
  while (pending) {
    await pending.catch(() => undefined);
  }
  const settled = current;
  if (settled && (options.prefer === undefined || options.prefer === settled.name)) {
    if (tf.getBackend() !== settled.name) await tf.setBackend(settled.name);
    return settled;
  }
  const run = options.prefer ? selectPreferred(options.prefer, options.threads) : selectAuto(options.threads);
  pending = run;
  try {
    current = await run;
    return current;
  } catch (error) {
    if (settled) await tf.setBackend(settled.name);
    throw error;
  } finally {
    pending = null;
  }
}

/** One line for the CLI and UI, e.g. "wasm backend (WebAssembly, 1 thread): ...". */
export function describeBackend(choice: BackendChoice): string {
  const threads = choice.threads === null ? '' : `, ${threadText(choice.threads)}`;
  return `${choice.name} backend (${LABELS[choice.name]}${threads}): ${oneLine(choice.reason)}`;
}

// ---------------------------------------------------------------------------------------------

async function selectAuto(threads: number | undefined): Promise<BackendChoice> {
  const skipped: string[] = [];
  for (const name of BACKEND_ORDER) {
    const attempt = await attemptBackend(name, threads);
    if (attempt.ok) {
      const prefix = skipped.length > 0 ? `${skipped.join('; ')}; ` : '';
      return { name, threads: attempt.threads, reason: `${prefix}using ${attempt.detail}` };
    }
    skipped.push(attempt.why);
  }
  throw new Error(`No TensorFlow.js backend works: ${skipped.join('; ')}`);
}

async function selectPreferred(name: BackendName, threads: number | undefined): Promise<BackendChoice> {
  if (!BACKEND_ORDER.includes(name)) throw new Error(`Unknown backend '${String(name)}' (expected one of ${BACKEND_ORDER.join(', ')})`);
  const attempt = await attemptBackend(name, threads);
  if (!attempt.ok) throw new Error(`The requested '${name}' backend cannot be used: ${attempt.why}`);
  return { name, threads: attempt.threads, reason: `requested with prefer: '${name}'; using ${attempt.detail}` };
}

async function attemptBackend(name: BackendName, threads: number | undefined): Promise<Attempt> {
  switch (name) {
    case 'tensorflow':
      return attemptTensorflow(threads);
    case 'native-blas':
      return attemptNative(threads);
    case 'wasm':
      return attemptWasm(threads);
    case 'cpu':
      return attemptCpu();
  }
}

async function attemptTensorflow(threads: number | undefined): Promise<Attempt> {
  try {
    // A variable specifier keeps tsc from resolving the optional package's (absent) types.
    // Importing it registers the 'tensorflow' backend (and makes it active) as a side effect.
    const specifier: string = TFJS_NODE;
    await import(specifier);
  } catch (error) {
    return {
      ok: false,
      why: isModuleNotFound(error) ? `tfjs-node not installed (${errorText(error)})` : `tfjs-node failed to load (${errorText(error)})`,
    };
  }
  const failure = await activateAndVerify('tensorflow');
  if (failure) return { ok: false, why: `tfjs-node is installed but its native backend does not work (${failure})` };
  const note = threads === undefined ? '' : ` (the threads option does not apply; libtensorflow sizes its own thread pool)`;
  return { ok: true, threads: null, detail: `native TensorFlow via tfjs-node${note}` };
}

async function attemptNative(threads: number | undefined): Promise<Attempt> {
  const status = registerNativeBackend(threads === undefined ? {} : { threads });
  if (!status.ok) return { ok: false, why: `native BLAS backend unavailable (${status.why})` };
  const failure = await activateAndVerify(NATIVE_BACKEND);
  if (failure) return { ok: false, why: `native BLAS backend failed (${failure})` };
  return { ok: true, threads: status.threads, detail: status.detail };
}

async function attemptWasm(threads: number | undefined): Promise<Attempt> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  let simd: boolean;
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Importing the package registered these flags. In Node the multithread one is always false,
    // so the binary is the SIMD build when the runtime has wasm SIMD, else the plain one.
    simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    const binary = simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
    const dir = wasmDistDir();
    if (!existsSync(dir + binary)) return { ok: false, why: `WebAssembly backend unavailable (${binary} missing from ${dir})` };
    if (!wasmPathsConfigured) {
      // Both only take effect before the first initialisation (and setWasmPaths throws after a
      // failed one). Not tf.findBackend('wasm') to check: that starts the initialisation.
      wasm.setWasmPaths(dir);
      if (threads !== undefined) wasm.setThreadsCount(Math.max(1, Math.floor(threads)));
      wasmPathsConfigured = true;
    }
  } catch (error) {
    return { ok: false, why: `WebAssembly backend unavailable (${errorText(error)})` };
  }
  const before = processListeners();
  const failure = await activateAndVerify('wasm');
  removeEmscriptenListeners(before);
  if (failure) return { ok: false, why: `WebAssembly backend failed (${failure})` };
  // tfjs-backend-wasm multiplies transposed operands ~9x slower than plain ones; backprop is
  // mostly such products. Transposing first makes wasm training ~4x faster (native/wasm-matmul.ts).
  patchWasmTransposedMatMul(true);
  let actual = 1;
  try {
    actual = wasm.getThreadsCount();
  } catch {
    // Only throws before initialisation, which activateAndVerify just completed.
  }
  const multithread = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  let note = '';
  if (threads !== undefined && threads !== actual) {
    note = multithread
      ? ` (requested ${threadText(threads)}; the thread count is fixed at the first initialisation)`
      : ` (requested ${threadText(threads)}, but tfjs-backend-wasm runs single-threaded in Node)`;
  }
  return { ok: true, threads: actual, detail: `WebAssembly ${simd ? 'with' : 'without'} SIMD, ${threadText(actual)}${note}` };
}

async function attemptCpu(): Promise<Attempt> {
  const failure = await activateAndVerify('cpu');
  if (failure) return { ok: false, why: `CPU backend failed (${failure})` };
  return { ok: true, threads: 1, detail: 'the pure-JavaScript CPU backend, 1 thread' };
}

/** Makes `name` the active backend and checks a small matmul; returns why it failed, or null. */
async function activateAndVerify(name: BackendName): Promise<string | null> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend('${name}') resolved false`;
    if (tf.getBackend() !== name) return `tf.getBackend() is '${tf.getBackend()}' after tf.setBackend('${name}')`;
    // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([7, 8, 9, 10, 11, 12], [3, 2])));
    const values = await product.data();
    tf.dispose(product);
    const expected = [58, 64, 139, 154];
    const wrong = expected.findIndex((value, i) => Math.abs((values[i] ?? Number.NaN) - value) > 1e-5);
    if (values.length !== expected.length || wrong !== -1) {
      return `a test matmul gave [${Array.from(values).join(', ')}] instead of [${expected.join(', ')}]`;
    }
    return null;
  } catch (error) {
    return errorText(error);
  }
}

interface ProcessListeners {
  uncaughtException: NodeJS.UncaughtExceptionListener[];
  unhandledRejection: NodeJS.UnhandledRejectionListener[];
}

function processListeners(): ProcessListeners {
  return { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
}

// Emscripten's Node glue (run when the wasm module is instantiated) adds process listeners that
// only rethrow: `function(ex){if(!(ex instanceof ExitStatus)){throw ex}}` and
// `function(reason){throw reason}`. They change nothing about crashing, but every later uncaught
// error in the app is then reported from inside the minified glue (its whole 30 kB line printed
// to stderr), and an app-level 'uncaughtException' handler would no longer prevent the crash.
// Remove exactly those (new since `before`, with that source), restoring Node's default.
const EMSCRIPTEN_RETHROWERS = new Set(['function(ex){if(!(exinstanceofExitStatus)){throwex}}', 'function(reason){throwreason}']);

function isNewRethrower(listener: unknown, before: readonly unknown[]): boolean {
  return !before.includes(listener) && EMSCRIPTEN_RETHROWERS.has(String(listener).replace(/[\s;]/g, ''));
}

function removeEmscriptenListeners(before: ProcessListeners): void {
  for (const listener of process.listeners('uncaughtException')) {
    if (isNewRethrower(listener, before.uncaughtException)) process.removeListener('uncaughtException', listener);
  }
  for (const listener of process.listeners('unhandledRejection')) {
    if (isNewRethrower(listener, before.unhandledRejection)) process.removeListener('unhandledRejection', listener);
  }
}

/** The folder holding the package's .wasm files, with the trailing separator Emscripten needs. */
function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  // Packaged Electron app: electron-builder unpacks the .wasm files next to app.asar.
  const unpacked = unpackedPath(dir);
  if (unpacked !== dir && existsSync(unpacked)) dir = unpacked;
  return dir.endsWith(sep) ? dir : dir + sep;
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && errorText(error).includes(TFJS_NODE);
}

function errorText(error: unknown): string {
  const raw =
    error instanceof Error
      ? error.message
      : typeof (error as { message?: unknown })?.message === 'string'
        ? (error as { message: string }).message
        : String(error);
  const line = (raw.split('\n').find((l) => l.trim() !== '') ?? raw).trim().replace(/ imported from .*$/, '');
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function threadText(n: number): string {
  return `${n} ${n === 1 ? 'thread' : 'threads'}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
