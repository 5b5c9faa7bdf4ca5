// Finds and loads the cellshift_blas Node-API addon (native/blas), or says why it cannot.
//
// The addon is optional: it is built on the user's machine (npm run build:native, which needs a
// C compiler and Node's headers) and needs a BLAS library at run time (libopenblas0 on Debian,
// Accelerate on macOS). Whatever is missing, loadAddon() returns a reason instead of throwing,
// and backend selection moves on to the WebAssembly backend.
import { join } from 'node:path';
import { findAddonFile, requireAddon } from '../../platform/native-addon.js';
import { addonTimesEnabled, timedBinding } from './addon-times.js';

/** Adam's scalars as adam() and adamMany() take them, after the arrays (the same float32 steps as tf.train.adam). */
export type AdamHyperparameters = [
  beta1: number,
  oneMinusBeta1: number,
  beta2: number,
  oneMinusBeta2: number,
  oneMinusAccBeta1: number,
  oneMinusAccBeta2: number,
  epsilon: number,
  negLearningRate: number,
];

/** The kernels a training step runs, which src/stream.c also exports as queued.<name>. */
export type QueuedKernel =
  | 'gemm'
  | 'binary'
  | 'unary'
  | 'reduce'
  | 'reluGrad'
  | 'softmax'
  | 'copy'
  | 'addN'
  | 'adam'
  | 'adamMany'
  | 'gaussianNll'
  | 'gaussianNllGrad'
  | 'gaussianLatent'
  | 'gaussianLatentGrad';

/** The functions src/addon.c exports (all arrays are the cpu backend's own, never copied). */
export interface NativeBinding {
  gemm(
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    a: Float32Array,
    strideA: number,
    b: Float32Array,
    strideB: number,
    c: Float32Array,
    /** 1: add the product to c's contents (BLAS beta = 1) instead of overwriting them. */
    accumulate?: number,
    /** One matrix only: a row of n values added to every row of c after the product (empty: none). */
    bias?: Float32Array,
    /** 1: then c = max(0, c), NaN kept (a dense ReLU layer). */
    relu?: number,
  ): void;
  binary(
    op: number,
    out: Float32Array,
    a: Float32Array,
    b: Float32Array,
    shape: Int32Array,
    stridesA: Int32Array,
    stridesB: Int32Array,
  ): void;
  unary(op: number, out: Float32Array, x: Float32Array, alpha: number): void;
  reduce(op: number, out: Float32Array, x: Float32Array, outer: number, mid: number, inner: number, scale: number): void;
  /** dx = dy·step(y) and dbias = column sums of dx, over [rows, cols] (a dense ReLU layer's backward). */
  reluGrad(dx: Float32Array, dbias: Float32Array, dy: Float32Array, y: Float32Array, rows: number, cols: number): void;
  softmax(out: Float32Array, x: Float32Array, rows: number, cols: number): void;
  copy(
    out: Float32Array,
    outOffset: number,
    outStrides: Int32Array,
    x: Float32Array,
    xOffset: number,
    xStrides: Int32Array,
    shape: Int32Array,
  ): void;
  addN(out: Float32Array, inputs: Float32Array[]): void;
  adam(
    wOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    ...hyperparameters: AdamHyperparameters
  ): void;
  /** adam() for every variable k (wOut[k], …, v[k]) in one call (src/training.c); absent from addons built before it. */
  adamMany?(
    wOut: Float32Array[],
    mOut: Float32Array[],
    vOut: Float32Array[],
    w: Float32Array[],
    g: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    ...hyperparametersAndScale: [...AdamHyperparameters, gradScale?: number]
  ): void;
  /** True when adamMany reads a trailing gradScale (every g multiplied by it first); absent from older addons. */
  adamManyScales?: boolean;
  /** out[k] = Σ arrays[k][i]² (squares rounded to float32, summed in double) (src/training.c); absent from older addons. */
  sumSquares?(out: Float32Array, arrays: Float32Array[]): void;
  /** out[r] = ½ Σ_c (x[r, c] − y[r, c])² over [rows, cols] (src/loss.c); absent from older addons. */
  gaussianNll?(out: Float32Array, x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  /** dx[r, c] = (dy[r]·½)·2(a[r, c] − b[r, c]): gaussianNll's gradient for a (src/loss.c); absent from older addons. */
  gaussianNllGrad?(dx: Float32Array, dy: Float32Array, a: Float32Array, b: Float32Array, rows: number, cols: number): void;
  /**
   * A VAE's latent block (src/latent.c): z = μ + e^{logVar/2}·ε and the KL of q to the prior per
   * row, from the encoder's raw [μ | a] ([rows, 2·latent]) and, for a learnt prior, the prior
   * net's raw [p | s] (empty: N(0, I)). Absent from older addons.
   */
  gaussianLatent?(
    z: Float32Array,
    kl: Float32Array,
    posterior: Float32Array,
    noise: Float32Array,
    prior: Float32Array,
    rows: number,
    latent: number,
    logVarBound: number,
    priorBound: number,
    temperature: number,
  ): void;
  /** gaussianLatent's gradients for posterior and prior from dz and dkl (each may be empty: no gradient). */
  gaussianLatentGrad?(
    dPosterior: Float32Array,
    dPrior: Float32Array,
    dz: Float32Array,
    dkl: Float32Array,
    posterior: Float32Array,
    noise: Float32Array,
    prior: Float32Array,
    rows: number,
    latent: number,
    logVarBound: number,
    priorBound: number,
    temperature: number,
  ): void;
  /**
   * Rng.fillNormal's next out.length normals from the sfc32 words in `state` (advanced in place),
   * bit for bit (src/normal.c); returns the spare of an odd length. Absent from older addons.
   */
  normalFill?(out: Float32Array, state: Int32Array): number | undefined;
  /**
   * In place: a symmetric positive definite p×p matrix (row-major) becomes L⁻¹ of its Cholesky
   * factor, zero above the diagonal; returns 0, or the 1-based pivot where a is not positive
   * definite (src/factor.c). Absent when the BLAS has no LAPACK or the addon predates it.
   */
  choleskyInverse?(a: Float64Array, p: number): number;
  /** Projection kernels (src/projection.c); absent from addons built before them. */
  knnSelect?(
    dots: Float32Array,
    rows: number,
    cols: number,
    rowNorms: Float32Array,
    colNorms: Float32Array,
    rowOffset: number,
    colOffset: number,
    k: number,
    indices: Int32Array,
    distances: Float32Array,
  ): void;
  nnDescent?(
    points: Float32Array,
    n: number,
    d: number,
    k: number,
    indices: Int32Array,
    squared: Float32Array,
    iterations: number,
    delta: number,
    rngState: Uint32Array,
  ): void;
  umapEpochs?(
    head: Int32Array,
    tail: Int32Array,
    epochsPerSample: Float64Array,
    epochOfNextSample: Float64Array,
    epochOfNextNegativeSample: Float64Array,
    embedding: Float32Array,
    nVertices: number,
    fromEpoch: number,
    toEpoch: number,
    nEpochs: number,
    a: number,
    b: number,
    gamma: number,
    initialAlpha: number,
    negativeSampleRate: number,
    rngState: Uint32Array,
  ): void;
  info(): {
    blas: string;
    error: string;
    config: string;
    corename: string;
    threads: number;
    kernelThreads: number;
    /** How long the addon's idle threads spin before sleeping (absent in addons built before it). */
    spinMicroseconds?: number;
    /** Where the elementwise loops run: on the OpenMP team of an OpenMP BLAS, or the addon's own pool (absent in addons built before it). */
    loopThreads?: 'openmp' | 'own';
    /** That OpenMP team's idle policy as libgomp read it (e.g. "OMP_WAIT_POLICY=PASSIVE"); empty on the own pool. */
    openmpWait?: string;
    /** Whether this thread's calls are queued on the addon's stream (absent in addons built before it). */
    stream?: boolean;
  };
  setThreads(n: number): void;
  /**
   * Waits until every queued call has run (src/stream.c), and throws the first failure among
   * them; absent from addons built before the stream (their calls all run before they return).
   */
  sync?(): void;
  /**
   * The same kernels, queued on this thread's stream (src/stream.h): they check their arguments
   * and return; the work runs in call order on the addon's thread. Read or write their arrays
   * only after sync(). Absent from addons built before the stream.
   */
  queued?: Pick<NativeBinding, QueuedKernel>;
  /** Queue calls on the stream (true, the default unless CELLSHIFT_STREAM=0) or run each at once (false). */
  setStream?(on: boolean): void;
  /**
   * This thread's stream so far (for benches): calls run, wake-ups of its thread, its time running
   * them, JavaScript's time waiting and, of that, running parts of them, and the stream thread's
   * time waiting for JavaScript's last part.
   */
  streamStats?(): { tasks: number; wakes: number; busyMs: number; waitMs: number; helpMs: number; lagMs: number };
  /** Sets that spin, in microseconds (0: sleep at once); absent in addons built before it. */
  setSpin?(microseconds: number): void;
}

export type AddonLoad = { ok: true; binding: NativeBinding; path: string; blas: string } | { ok: false; why: string };

const ADDON = join('native', 'blas', 'build', 'Release', 'cellshift_blas.node');

let cached: AddonLoad | null = null;

/** Loads the addon once per thread; CELLSHIFT_NATIVE_ADDON=path overrides where it is looked for,
 *  CELLSHIFT_NATIVE=0 turns it off, CELLSHIFT_KERNEL_TIMES=1 times every call (addon-times.ts). */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  cached = load();
  return cached;
}

function load(): AddonLoad {
  if (process.env.CELLSHIFT_NATIVE === '0') return { ok: false, why: 'turned off by CELLSHIFT_NATIVE=0' };
  const path = findAddonFile(import.meta.url, ADDON, process.env.CELLSHIFT_NATIVE_ADDON);
  if (!path) return { ok: false, why: `the cellshift_blas addon is not built: no ${ADDON}, run npm run build:native` };
  const loaded = requireAddon<NativeBinding>('cellshift_blas', path);
  if (!loaded.ok) return loaded;
  const info = loaded.binding.info();
  if (!info.blas) return { ok: false, why: `the cellshift_blas addon found no BLAS library: ${info.error || 'none tried'}` };
  const binding = addonTimesEnabled() ? timedBinding(loaded.binding) : loaded.binding;
  return { ok: true, binding, path, blas: describeBlas(info) };
}

/** e.g. "OpenBLAS 0.3.21, OpenMP build (SkylakeX)", or the library's file name for other BLAS builds. */
function describeBlas(info: ReturnType<NativeBinding['info']>): string {
  const build = / USE_OPENMP\b/.test(info.config) ? ', OpenMP build' : '';
  const name = info.config ? `${info.config.split(' ').slice(0, 2).join(' ')}${build}` : info.blas;
  return info.corename ? `${name} (${info.corename})` : name;
}
