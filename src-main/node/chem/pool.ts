// A pool of RDKit workers, one per core: describing the thousands of drugs of an L1000 import is
// CPU-bound wasm work that one thread does at ~500 molecules/s, so each worker thread runs its own
// RDKit instance (a wasm instance cannot be shared between threads) and takes chunks of SMILES
// as it finishes the last one. Results come back in input order, exactly as Chemistry.describe
// would have returned them in this thread.
//
// Every worker makes its RDKit instance from the main thread's compiled module (sent as its first
// message), so the workers share one copy of RDKit's machine code and the optimising recompiles
// of its hot functions that V8 does while the first molecules go through (see rdkit.ts).
//
// With the native RDKit addon (native.ts), the import's work (no depiction, no InChIKey) runs on
// libuv threads instead, `size` batches at a time: no worker threads, no RDKit heaps to load, the
// results made once; depictions and InChIKeys still go to the workers.
//
// The pool does not start threads itself: the caller passes how (`spawn`), since where the worker
// entry lives (sources under tsx, built dist/, a packed app) is the application's business.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';

import {
  type ChemistryEngineName,
  type DescribeOptions,
  describedNatively,
  fingerprintParams,
  type MoleculeResult,
  screenSmiles,
} from './chemistry.js';
import { loadNativeRDKit, type NativeRDKitBinding } from './native.js';
import { type CompiledRDKit, compileRDKit } from './rdkit.js';

/** Module path of the worker entry, relative to src-main (or dist/main), without extension. */
export const CHEMISTRY_WORKER_ENTRY = new URL('./pool-worker.js', import.meta.url);

export interface PoolRequest {
  id: number;
  smiles: string[];
  options: DescribeOptions;
}

/** A worker's first message: its engine, and the compiled RDKit to make its wasm instance from (null: compile it). */
export interface PoolSetup {
  compiledRDKit: CompiledRDKit | null;
  engine: ChemistryEngineName;
}

export type PoolReply = { id: number; results: MoleculeResult[] } | { id: number; error: string };

export interface DescribeAllOptions extends DescribeOptions {
  /** Called after every chunk with how many structures are described so far. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** SMILES per message: large enough that messaging costs little, small enough to balance the load. */
const CHUNK = 32;
/** Chunks queued per worker, so a worker never waits for the main thread between chunks. */
const IN_FLIGHT = 2;
/** SMILES per native batch: each is one libuv task, and progress is reported per batch. */
const NATIVE_CHUNK = 128;

interface Slot {
  worker: Worker;
  busy: number;
}

export class ChemistryPool {
  readonly #spawn: () => Worker;
  readonly size: number;
  #slots: Slot[] = [];
  #nextId = 0;
  readonly #waiting = new Map<number, { slot: Slot; resolve: (results: MoleculeResult[]) => void; reject: (error: Error) => void }>();
  #closed = false;

  readonly #shareCompiled: boolean;
  readonly #native: NativeRDKitBinding | null;

  /**
   * `workers` defaults to one per core. `shareCompiled: false` lets every worker compile RDKit
   * itself, as before the pool shared the main thread's module (bench/chemistry.ts compares the two).
   * `engine: 'wasm'` keeps the import's work on the wasm workers even when native RDKit loads.
   */
  constructor(
    spawn: () => Worker,
    workers = availableParallelism(),
    options: { shareCompiled?: boolean; engine?: ChemistryEngineName } = {},
  ) {
    this.#spawn = spawn;
    this.size = Math.max(1, Math.floor(workers));
    this.#shareCompiled = options.shareCompiled ?? true;
    const native = options.engine === 'wasm' ? null : loadNativeRDKit();
    if (options.engine === 'native' && !native?.ok)
      throw new Error(`native RDKit is not available: ${native?.ok === false ? native.why : ''}`);
    this.#native = native?.ok ? native.binding : null;
  }

  /** Which engine describes an import's structures. */
  get engine(): ChemistryEngineName {
    return this.#native ? 'native' : 'wasm';
  }

  /**
   * Describes every SMILES (duplicates included, each in its place). Structures RDKit refuses
   * come back as InvalidMolecule like Chemistry.describe's; the promise rejects only if a worker
   * thread itself fails (cannot load RDKit, dies) or the signal aborts.
   */
  async describeAll(smiles: readonly string[], options: DescribeAllOptions = {}): Promise<MoleculeResult[]> {
    if (this.#closed) throw new Error('the chemistry pool is closed');
    const { onProgress, signal, ...describe } = options;
    if (this.#native && describe.depict === false && describe.inchiKey === false) {
      return this.#describeNatively(this.#native, smiles, options);
    }
    const results = new Array<MoleculeResult>(smiles.length);
    const chunks: { start: number; smiles: string[] }[] = [];
    for (let start = 0; start < smiles.length; start += CHUNK) chunks.push({ start, smiles: smiles.slice(start, start + CHUNK) });
    // Without a compiled module here (RDKit missing), each worker loads RDKit itself and reports why it cannot.
    const compiled = chunks.length > 0 && this.#shareCompiled ? await compileRDKit().catch(() => null) : null;
    const slots = this.#start(Math.min(this.size, chunks.length), compiled);
    let done = 0;
    let next = 0;
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        reject(error);
      };
      const onAbort = () => fail(new Error('describing structures was cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (slot: Slot) => {
        while (!failed && slot.busy < IN_FLIGHT && next < chunks.length) {
          const chunk = chunks[next++] as { start: number; smiles: string[] };
          this.#send(slot, chunk.smiles, describe).then((described) => {
            for (const [i, result] of described.entries()) results[chunk.start + i] = result;
            done += described.length;
            onProgress?.(done, smiles.length);
            if (done === smiles.length) {
              signal?.removeEventListener('abort', onAbort);
              resolve();
            } else feed(slot);
          }, fail);
        }
      };
      if (smiles.length === 0) resolve();
      for (const slot of slots) feed(slot);
    });
    return results;
  }

  /** The import's work on native RDKit, `size` batches at a time on libuv threads, in input order. */
  async #describeNatively(native: NativeRDKitBinding, smiles: readonly string[], options: DescribeAllOptions): Promise<MoleculeResult[]> {
    const params = fingerprintParams(options);
    const results = new Array<MoleculeResult>(smiles.length);
    // Refused before RDKit (empty, placeholders, too large) as Chemistry.describe refuses them.
    const accepted: { index: number; smiles: string }[] = [];
    for (const [index, s] of smiles.entries()) {
      const screened = screenSmiles(s, options.maxAtoms);
      if (typeof screened === 'string') accepted.push({ index, smiles: screened });
      else results[index] = screened;
    }
    let done = smiles.length - accepted.length;
    let next = 0;
    const runBatches = async () => {
      while (next < accepted.length) {
        if (options.signal?.aborted || this.#closed) throw new Error('describing structures was cancelled');
        const batch = accepted.slice(next, next + NATIVE_CHUNK);
        next += batch.length;
        const described = await native.describeAsync(
          batch.map((b) => b.smiles),
          params.radius,
          params.nBits,
          params.chirality,
        );
        for (const [i, item] of batch.entries()) results[item.index] = describedNatively(described[i], params);
        done += batch.length;
        options.onProgress?.(done, smiles.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.size, Math.ceil(accepted.length / NATIVE_CHUNK)) }, runBatches));
    if (accepted.length === 0) options.onProgress?.(done, smiles.length);
    return results;
  }

  /** Ends the worker threads (pending calls reject). */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #start(wanted: number, compiled: CompiledRDKit | null): Slot[] {
    while (this.#slots.length < wanted) {
      const worker = this.#spawn();
      worker.postMessage({ compiledRDKit: compiled, engine: this.engine } satisfies PoolSetup);
      const slot: Slot = { worker, busy: 0 };
      worker.unref();
      worker.on('message', (reply: PoolReply) => this.#settle(reply));
      const broken = (why: string) => {
        this.#slots = this.#slots.filter((s) => s !== slot);
        for (const [id, waiting] of this.#waiting) {
          if (waiting.slot !== slot) continue;
          this.#waiting.delete(id);
          waiting.reject(new Error(`a chemistry worker thread ${why}`));
        }
      };
      worker.on('error', (error) => broken(`failed: ${error.message}`));
      worker.on('exit', (code) => broken(`exited (code ${code})`));
      this.#slots.push(slot);
    }
    return this.#slots.slice(0, wanted);
  }

  #send(slot: Slot, smiles: string[], options: DescribeOptions): Promise<MoleculeResult[]> {
    const id = this.#nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { slot, resolve, reject });
      // Refs the worker while it has work, so the process waits for the results.
      slot.worker.ref();
      slot.worker.postMessage({ id, smiles, options } satisfies PoolRequest);
    });
  }

  #settle(reply: PoolReply): void {
    const waiting = this.#waiting.get(reply.id);
    if (!waiting) return;
    this.#waiting.delete(reply.id);
    const slot = waiting.slot;
    if (--slot.busy === 0) slot.worker.unref();
    if ('error' in reply) waiting.reject(new Error(`a chemistry worker failed: ${reply.error}`));
    else waiting.resolve(reply.results);
  }
}
