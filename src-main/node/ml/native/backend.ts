// The backend object behind 'native-blas': tfjs's MathBackendCPU (tensors are plain typed
// arrays, so the addon reads and writes them in place) plus a pool of float32 output arrays.
//
// Why the pool: a training step creates ~150 tensors of up to a few MB. Fresh typed arrays cost
// zero-filling and page faults, and their external memory makes V8 run a full mark-compact GC
// about once per step; at the sizes of the seed L1000 models that was ~a third of a step.
// Kernels that overwrite every element of their output take arrays from alloc(), and arrays of
// disposed tensors go back to the pool, but only when nothing else can still see them:
//   - never once read out (readSync/read/dataSync/data return the array itself on this backend,
//     so a caller may keep it: checkpoints do);
//   - never when a second tensor or a view (a contiguous slice is a subarray) shares it;
//   - only arrays this backend handed out itself (user arrays passed to tf.tensor are theirs).
//
// The addon may queue kernel calls (its stream, native/blas/src/stream.h): a queued call reads
// and writes its arrays later, in call order, on the addon's thread. So JavaScript syncs (waits
// for the queue) before it touches an array's contents: readSync (read goes through it), the cpu kernels (index.ts
// wraps them), and arrays JavaScript fills itself (writableArray, which first looks for a pooled
// array released before the last sync: no queued call can still hold that one). Kernels that only
// pass their arrays to the addon take them from alloc() without waiting: the queue's order keeps
// a recycled array's new writer behind its old readers.
import type { DataId, DataType, TensorInfo } from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

type BackendValues = Parameters<MathBackendCPU['write']>[0];

interface Owned {
  /** Held by a tensor's data right now. */
  held: boolean;
  /** Still safe to hand out again once released. */
  recyclable: boolean;
}

/** Arrays kept for reuse, in bytes, by default; more than this are left to the garbage collector. */
const MAX_POOLED_BYTES = 256 * 1024 * 1024;
/** Miss lengths remembered between takeAllocCounts() calls (a bound, not a budget). */
const MAX_MISSES_KEPT = 4096;

/**
 * A float32 array of length n with arbitrary contents, for values that JavaScript will write in
 * full: from the pool when `backend` is a NativeBackend (and back to it when the tensor holding it
 * is disposed), otherwise new.
 */
export function outputArray(backend: unknown, n: number): Float32Array {
  return backend instanceof NativeBackend ? backend.writableArray(n) : new Float32Array(n);
}

/** outputArray for a kernel whose addon call writes the array in full (queued or not). */
export function kernelOutput(backend: unknown, n: number): Float32Array {
  return backend instanceof NativeBackend ? backend.alloc(n) : new Float32Array(n);
}

export class NativeBackend extends MathBackendCPU {
  readonly #pool = new Map<number, Float32Array[]>();
  #pooledBytes = 0;
  readonly #owned = new WeakMap<Float32Array, Owned>();
  readonly #ownerOf = new WeakMap<ArrayBufferLike, Float32Array>();

  readonly #maxPooledBytes: number;
  /** alloc() calls the pool answered, and those that made a new array (lengths of the latter). */
  #hits = 0;
  readonly #misses: number[] = [];

  readonly #sync: () => void;
  /** Syncs so far, and the count at which each pooled array was released (older ones are idle). */
  #syncs = 0;
  readonly #releasedAt = new WeakMap<Float32Array, number>();

  /**
   * @param maxPooledBytes how many bytes of arrays the pool keeps (tests use a small one).
   * @param sync waits until the addon has run every queued call (its sync()).
   */
  constructor(maxPooledBytes = MAX_POOLED_BYTES, sync: () => void = () => {}) {
    super();
    this.#maxPooledBytes = maxPooledBytes;
    this.#sync = sync;
    // MathBackendCPU prints "install tfjs-node to speed things up" on its first write; this
    // backend is the speed-up, so the advice would only mislead.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** Waits until the addon has run every queued call: array contents are then final. */
  sync(): void {
    this.#sync();
    this.#syncs++;
  }

  /**
   * alloc() for an array JavaScript itself fills: a pooled array released before the last sync
   * (no queued call can still hold it), else a new one rather than waiting for the queue (it
   * joins the pool when released, so the next step finds an idle one).
   */
  writableArray(n: number): Float32Array {
    const list = this.#pool.get(n);
    const idle = list ? list.findLastIndex((array) => (this.#releasedAt.get(array) ?? -1) < this.#syncs) : -1;
    if (!list || idle < 0) return this.alloc(n, true);
    if (idle !== list.length - 1) list.push(...list.splice(idle, 1));
    return this.alloc(n);
  }

  /** A float32 array of length n with arbitrary contents, for an output an addon call writes in full (`fresh`: never a pooled one). */
  alloc(n: number, fresh = false): Float32Array {
    const list = this.#pool.get(n);
    const reused = fresh ? undefined : list?.pop();
    let array: Float32Array;
    if (list && reused) {
      this.#pooledBytes -= reused.byteLength;
      array = reused;
      this.#touch(n, list);
      this.#hits++;
    } else {
      array = new Float32Array(n);
      if (this.#misses.length < MAX_MISSES_KEPT) this.#misses.push(n);
      this.#ownerOf.set(array.buffer, array);
    }
    this.#owned.set(array, { held: false, recyclable: true });
    return array;
  }

  /** Arrays currently pooled and their bytes (for tests and benchmarks). */
  poolStats(): { arrays: number; bytes: number } {
    let arrays = 0;
    for (const list of this.#pool.values()) arrays += list.length;
    return { arrays, bytes: this.#pooledBytes };
  }

  /** alloc() calls answered from the pool and the lengths of those that were not, since the last
   *  call (for benchmarks: a miss in a steady training step is a fresh array, zeroed and
   *  page-faulted in). */
  takeAllocCounts(): { hits: number; misses: number[] } {
    const counts = { hits: this.#hits, misses: this.#misses.splice(0) };
    this.#hits = 0;
    return counts;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    this.#track(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.#track(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    this.sync();
    // has() first: data.get() of an unknown id would move the data here from another backend.
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    if (values instanceof Float32Array) {
      const owned = this.#owned.get(values);
      if (owned) owned.recyclable = false;
    }
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (released && values instanceof Float32Array && !this.data.has(dataId)) this.#release(values);
    return released;
  }

  override disposeIntermediateTensorInfo(tensorInfo: TensorInfo): void {
    this.disposeData(tensorInfo.dataId);
  }

  override dispose(): void {
    this.sync();
    this.#pool.clear();
    this.#pooledBytes = 0;
    super.dispose();
  }

  /** New tensor data: the first holder of an owned array keeps it recyclable; anything else
   *  sharing its memory (a view, a second tensor) makes it permanent. */
  #track(values: BackendValues): void {
    if (!ArrayBuffer.isView(values)) return;
    const owner = this.#ownerOf.get(values.buffer);
    const owned = owner && this.#owned.get(owner);
    if (!owner || !owned) return;
    if (values !== owner || owned.held) owned.recyclable = false;
    owned.held = true;
  }

  #release(values: Float32Array): void {
    const owned = this.#owned.get(values);
    if (!owned) return;
    this.#owned.delete(values);
    if (!owned.recyclable || values.byteLength > this.#maxPooledBytes) return;
    this.#makeRoom(values.byteLength, values.length);
    if (this.#pooledBytes + values.byteLength > this.#maxPooledBytes) return;
    const list = this.#pool.get(values.length) ?? [];
    list.push(values);
    this.#releasedAt.set(values, this.#syncs);
    this.#touch(values.length, list);
    this.#pooledBytes += values.byteLength;
  }

  /** Moves a length to the end of the pool's order: most recently used last. */
  #touch(length: number, list: Float32Array[]): void {
    this.#pool.delete(length);
    this.#pool.set(length, list);
  }

  /** Drops pooled arrays of the lengths used least recently (other than `keep`) until `bytes` fit.
   *  Without this, a pool filled by one model or batch size (a sweep, a previous run in the same
   *  worker) would send every array of the next one to the allocator: batch 1024 after 64 and 256
   *  ran at less than half its speed. */
  #makeRoom(bytes: number, keep: number): void {
    for (const [length, list] of this.#pool) {
      if (this.#pooledBytes + bytes <= this.#maxPooledBytes) return;
      if (length === keep) continue;
      while (list.length > 0 && this.#pooledBytes + bytes > this.#maxPooledBytes) {
        this.#pooledBytes -= (list.pop() as Float32Array).byteLength;
      }
      if (list.length === 0) this.#pool.delete(length);
    }
  }
}
