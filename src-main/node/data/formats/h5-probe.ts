// Reading an HDF5 file's ids and metadata in a worker thread, under a watchdog, before the file is
// opened on the calling thread.
//
// Why: HDF5 runs as WebAssembly, synchronously. Some damage sends it into a loop it never leaves —
// one flipped bit in the size of a global-heap object (where variable-length strings live: AnnData
// obs names, h5py-written ids) made reading /obs/_index spin for more than 20 minutes. On the thread
// that serves the window that is a frozen app, and no timer can interrupt it. In a worker, the
// watchdog sees no progress (every HDF5 access reports where it is) and terminates it.
//
// What it costs: nothing is read twice. The worker opens the file with the ordinary reader, reads
// ids and metadata and the first sample, and hands ids and metadata back; the caller's reader
// takes them as preloaded and reads only the matrix layout and, later, the matrix. One worker is
// kept while probes come in and ended after a short idle time (its wasm heap goes with it).
import { stat } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../threads/start-worker.js';

import { FormatError, type FormatErrorCode } from './errors.js';
import { loadH5 } from './h5.js';
import type { PreloadedMetadata } from './types.js';

/** A probe fails when HDF5 makes no progress (no new access) for this long. */
export const HDF5_STALL_MS = 10_000;
/** Time for a fresh worker to start and load h5wasm. */
const WORKER_START_MS = 60_000;
/** An idle worker is ended after this long (a later probe starts a new one). */
const IDLE_MS = 30_000;
/** Files that stalled HDF5 are remembered (by path, size and time) so a retry fails at once. */
const MAX_REMEMBERED_STALLS = 16;

export type ProbeFormat = 'gctx' | 'h5ad';

export interface ProbeRequest {
  id: number;
  path: string;
  format: ProbeFormat;
  /** h5ad: what repeated obs/var names do (as the caller's reader would be told). */
  duplicateNames?: 'error' | 'suffix';
}

export type ProbeOptions = Pick<ProbeRequest, 'duplicateNames'>;

export type ProbeMessage =
  | { type: 'ready' }
  | { type: 'step'; id: number; where: string }
  | { type: 'done'; id: number; metadata: PreloadedMetadata }
  | {
      type: 'error';
      id: number;
      error: { code: FormatErrorCode; file: string; detail: string; where?: string; line?: number; column?: number } | { message: string };
    };

/** The errors the watchdog raised (a hang, as opposed to an error HDF5 reported). */
const stallErrors = new WeakSet<FormatError>();

interface Pending {
  request: ProbeRequest;
  resolve: (metadata: PreloadedMetadata) => void;
  reject: (error: unknown) => void;
}

/** One worker, one probe at a time (a queued probe must not be timed while it waits). */
class ProbeWorker {
  #worker: Worker | null = null;
  #ready: Promise<void> | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #current: Pending | null = null;
  #watchdog: NodeJS.Timeout | null = null;
  #idle: NodeJS.Timeout | null = null;
  #lastWhere = 'the superblock';
  #nextId = 1;
  /** path → the file's size and mtime when it stalled HDF5, and the error then. */
  readonly #stalls = new Map<string, { version: string; error: FormatError }>();

  probe(path: string, format: ProbeFormat, options: ProbeOptions): Promise<PreloadedMetadata> {
    const run = this.#queue.then(() => this.#runOnce(path, format, options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** A preview that stalled is often followed by the import of the same file: 10 s once is enough. */
  async #runOnce(path: string, format: ProbeFormat, options: ProbeOptions): Promise<PreloadedMetadata> {
    const info = await stat(path);
    const version = `${info.size}:${info.mtimeMs}`;
    const stalled = this.#stalls.get(path);
    if (stalled?.version === version) throw stalled.error;
    try {
      return await this.#run(path, format, options);
    } catch (error) {
      if (error instanceof FormatError && stallErrors.has(error)) {
        this.#stalls.delete(path);
        this.#stalls.set(path, { version, error });
        if (this.#stalls.size > MAX_REMEMBERED_STALLS) this.#stalls.delete(this.#stalls.keys().next().value as string);
      }
      throw error;
    }
  }

  async #run(path: string, format: ProbeFormat, options: ProbeOptions): Promise<PreloadedMetadata> {
    if (this.#idle) clearTimeout(this.#idle);
    await this.#start(path);
    const worker = this.#worker as Worker;
    const request: ProbeRequest = { id: this.#nextId++, path, format, ...options };
    try {
      return await new Promise<PreloadedMetadata>((resolve, reject) => {
        this.#current = { request, resolve, reject };
        this.#lastWhere = 'the superblock';
        this.#arm(HDF5_STALL_MS, path);
        worker.postMessage(request);
      });
    } finally {
      this.#current = null;
      this.#disarm();
      this.#idle = setTimeout(() => this.#stop(), IDLE_MS);
      this.#idle.unref();
    }
  }

  #start(path: string): Promise<void> {
    if (this.#ready) return this.#ready;
    const worker = startWorker(new URL('./h5-probe-worker.js', import.meta.url));
    this.#worker = worker;
    this.#ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#stop();
        reject(new FormatError('io', path, `the HDF5 reader did not start within ${WORKER_START_MS / 1000} s`));
      }, WORKER_START_MS);
      worker.on('message', (message: ProbeMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else this.#onMessage(message);
      });
      worker.on('error', (error) => {
        clearTimeout(timer);
        this.#fail(new FormatError('corrupt', this.#current?.request.path ?? path, `the HDF5 reader failed: ${error.message}`));
        this.#forget(worker);
        reject(new FormatError('io', path, `the HDF5 reader could not start: ${error.message}`));
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        const file = this.#current?.request.path ?? path;
        this.#fail(new FormatError('corrupt', file, `the HDF5 reader stopped (exit code ${code}) while reading ${this.#lastWhere}`));
        this.#forget(worker);
        reject(new FormatError('io', path, `the HDF5 reader could not start (exit code ${code})`));
      });
      // After the listeners: adding a 'message' listener refs the worker again.
      worker.unref();
    });
    return this.#ready;
  }

  #onMessage(message: ProbeMessage): void {
    const current = this.#current;
    if (!current || message.type === 'ready' || message.id !== current.request.id) return;
    if (message.type === 'step') {
      this.#lastWhere = message.where;
      this.#arm(HDF5_STALL_MS, current.request.path);
    } else if (message.type === 'done') {
      current.resolve(message.metadata);
    } else {
      const e = message.error;
      current.reject(
        'code' in e
          ? new FormatError(e.code, e.file, e.detail, {
              ...(e.where !== undefined ? { where: e.where } : {}),
              ...(e.line !== undefined ? { line: e.line } : {}),
              ...(e.column !== undefined ? { column: e.column } : {}),
            })
          : new FormatError('corrupt', current.request.path, `the HDF5 reader failed: ${e.message}`),
      );
    }
  }

  #arm(ms: number, path: string): void {
    this.#disarm();
    this.#watchdog = setTimeout(() => {
      const where = this.#lastWhere;
      const error = new FormatError(
        'corrupt',
        path,
        `HDF5 made no progress for ${ms / 1000} s reading ${where}: the file is damaged there`,
        {
          where,
        },
      );
      stallErrors.add(error);
      this.#fail(error);
      this.#stop();
    }, ms);
  }

  #disarm(): void {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    this.#watchdog = null;
  }

  #fail(error: FormatError): void {
    const current = this.#current;
    this.#current = null;
    current?.reject(error);
  }

  #forget(worker: Worker): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    this.#ready = null;
  }

  #stop(): void {
    const worker = this.#worker;
    if (!worker) return;
    this.#forget(worker);
    void worker.terminate();
  }
}

// One per process, created on first use, like the h5wasm library itself (h5.ts): probes from every
// import share it, and it holds no state between probes.
let shared: ProbeWorker | null = null;

/**
 * Reads ids and metadata of a GCTX or h5ad file in the probe worker. Throws the reader's
 * FormatError, or FormatError('corrupt') naming where HDF5 stalled or crashed.
 */
export async function probeHdf5(path: string, format: ProbeFormat, options: ProbeOptions = {}): Promise<PreloadedMetadata> {
  shared ??= new ProbeWorker();
  const probing = shared.probe(path, format, options);
  // The caller opens the file next and needs h5wasm here too: compiling its 3 MB of wasm while the
  // worker probes, instead of after, takes that load off the open's critical path. The probe's
  // error, if any, is the one reported.
  const loading = loadH5().catch(() => undefined);
  const metadata = await probing;
  await loading;
  return metadata;
}
