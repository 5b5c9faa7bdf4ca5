// The 'native-blas' backend's kernels: the cpu backend's kernels, with the ones a training step
// spends its time in replaced by calls into the cellshift_blas addon. Each replacement handles
// float32 data in the layouts training produces and hands anything else (int32, bool, complex,
// float32 still stored in an integer array, rank > 6, non-contiguous reduction axes) to the cpu
// kernel it replaces, so every op still works.
//
// Results equal the cpu backend's bit for bit except matmuls (BLAS sums in another order, so
// ~1e-6 relative) and exp/tanh/log (the C library may differ from V8's by one unit in the last
// place of a double, which almost never changes the float32 result). See addon.c.
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeBinding } from './addon.js';
import { kernelOutput, NativeBackend } from './backend.js';
import { RELU_GRAD } from './dense.js';
import { GAUSSIAN_NLL, GAUSSIAN_NLL_GRAD } from './nll.js';
import { BINARY_OPS, UNARY_OPS } from './ops.js';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: MathBackendCPU; attrs?: tf.NamedAttrMap };
export type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

const REDUCE_SUM = 0;
const REDUCE_MAX = 1;
const REDUCE_MIN = 2;
const REDUCE_MEAN = 3;

/** Kernel name → implementation, for backend `name`, falling back to the cpu kernels. */
export function nativeKernels(native: NativeBinding): Map<string, Kernel> {
  const cpu = (kernelName: string): Kernel => {
    const config = tf.getKernel(kernelName, 'cpu');
    if (!config) throw new Error(`the cpu backend has no ${kernelName} kernel`);
    return afterQueue(config.kernelFunc as unknown as Kernel);
  };
  const kernels = new Map<string, Kernel>();

  // ---- matmul ----
  const batchMatMul = cpu('BatchMatMul');
  /**
   * op(a)·op(b) into a new array; `init` fills the output first (then the product is added to it),
   * or for one matrix a row `bias` is added after it and `relu` applied (in the addon's matmul
   * parts, while they are in cache).
   */
  const matmul = (
    args: KernelArgs,
    init?: (out: Float32Array, rows: number, cols: number) => void,
    epilogue?: { bias: Float32Array; relu: boolean },
  ): tf.TensorInfo | null => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const transposeA = Boolean(args.attrs?.transposeA);
    const transposeB = Boolean(args.attrs?.transposeB);
    if (!floats(args.backend, a, b) || a.shape.length < 2 || b.shape.length < 2) return null;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = (transposeA ? a.shape[ra - 1] : a.shape[ra - 2]) as number;
    const kA = (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) as number;
    const kB = (transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) as number;
    const n = (transposeB ? b.shape[rb - 2] : b.shape[rb - 1]) as number;
    if (kA !== kB) return null; // the cpu kernel throws tfjs's own error message
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = tf.util.sizeFromShape(outerA);
    const batchB = tf.util.sizeFromShape(outerB);
    let outer: number[];
    if (batchA === batchB && sameShape(outerA, outerB)) outer = outerA;
    else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA;
    else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
    else return null;
    const batch = Math.max(batchA, batchB);
    if (epilogue && (batch !== 1 || epilogue.bias.length !== n)) return null;
    const out = alloc(args.backend, batch * m * n);
    init?.(out, batch * m, n);
    native.gemm(
      batch,
      m,
      n,
      kA,
      transposeA ? 1 : 0,
      transposeB ? 1 : 0,
      values(args.backend, a),
      batchA === 1 ? 0 : m * kA,
      values(args.backend, b),
      batchB === 1 ? 0 : kA * n,
      out,
      init ? 1 : 0,
      epilogue?.bias,
      epilogue?.relu ? 1 : 0,
    );
    return args.backend.makeTensorInfo([...outer, m, n], 'float32', out);
  };
  kernels.set('BatchMatMul', (args) => matmul(args) ?? batchMatMul(args));

  // A dense layer in one kernel: for one matrix with a row bias, the addon adds the bias and applies
  // the ReLU to each part of the product as BLAS finishes it (no pass of their own); otherwise the
  // bias row is copied into the output, BLAS adds the product to it, and the ReLU runs in place.
  const fusedMatMul = cpu('_FusedMatMul');
  kernels.set('_FusedMatMul', (args) => {
    const { bias, preluActivationWeights } = args.inputs as { bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const activation = args.attrs?.activation as string | undefined;
    const supported = (activation === undefined || activation === 'linear' || activation === 'relu') && !preluActivationWeights;
    const rowBias = bias && floats(args.backend, bias) && tf.util.sizeFromShape(bias.shape) === bias.shape[bias.shape.length - 1];
    if (!supported || (bias && !rowBias)) return fusedMatMul(args);
    const relu = activation === 'relu';
    if (bias) {
      const fused = matmul(args, undefined, { bias: values(args.backend, bias), relu });
      if (fused) return fused;
    }
    const fillBias = (out: Float32Array, rows: number, cols: number) => {
      const b = values(args.backend, bias as tf.TensorInfo);
      if (b.length === cols) native.copy(out, 0, i32([cols, 1]), b, 0, i32([0, 1]), i32([rows, cols]));
      else {
        // A one-element bias broadcast over the whole output, in JavaScript: after the queue.
        syncBackend(args.backend);
        out.fill(b[0] ?? 0);
      }
    };
    const product = matmul(args, bias ? fillBias : undefined);
    if (!product) return fusedMatMul(args);
    if (activation === 'relu') {
      const out = values(args.backend, product);
      if (out.length > 0) native.unary(UNARY_OPS.Relu, out, out, 0);
    }
    return product;
  });

  // ---- fills and broadcasts ----
  // The gradients of Sum and Mean broadcast dy back to x's shape (see registerBroadcastGradients);
  // the cpu kernels build such arrays element by element in JavaScript.
  const tile = cpu('Tile');
  kernels.set('Tile', (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const reps = args.attrs?.reps as number[];
    const rank = x.shape.length;
    const broadcastOnly = x.shape.every((d, i) => d === 1 || reps[i] === 1);
    if (!floats(args.backend, x) || rank === 0 || rank > 6 || reps.length !== rank || !broadcastOnly) return tile(args);
    const shape = x.shape.map((d, i) => d * (reps[i] as number));
    const size = tf.util.sizeFromShape(shape);
    const out = alloc(args.backend, size);
    if (size > 0) {
      const strides = tf.util.computeStrides(x.shape).concat([1]);
      const xStrides = x.shape.map((d, i) => (d === 1 ? 0 : (strides[i] as number)));
      native.copy(out, 0, i32(tf.util.computeStrides(shape).concat([1])), values(args.backend, x), 0, i32(xStrides), i32(shape));
    }
    return args.backend.makeTensorInfo(shape, 'float32', out);
  });
  for (const [name, value] of [
    ['ZerosLike', 0],
    ['OnesLike', 1],
  ] as const) {
    const fallback = cpu(name);
    kernels.set(name, (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype !== 'float32') return fallback(args);
      const out = writable(args.backend, tf.util.sizeFromShape(x.shape)).fill(value);
      return args.backend.makeTensorInfo(x.shape, 'float32', out);
    });
  }

  // ---- elementwise ----
  for (const [name, op] of Object.entries(BINARY_OPS)) {
    const fallback = cpu(name);
    kernels.set(name, (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      return binary(native, args.backend, op, a, b) ?? fallback(args);
    });
  }
  for (const [name, op] of Object.entries(UNARY_OPS)) {
    const fallback = cpu(name);
    kernels.set(name, (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (!floats(args.backend, x)) return fallback(args);
      const alpha = name === 'Step' ? Number(args.attrs?.alpha ?? 0) : 0;
      return unary(native, args.backend, op, x, alpha);
    });
  }
  const addN = cpu('AddN');
  kernels.set('AddN', (args) => {
    const tensors = args.inputs as unknown as tf.TensorInfo[];
    const first = tensors[0];
    if (!first || !floats(args.backend, ...tensors) || tensors.some((t) => !sameShape(t.shape, first.shape))) return addN(args);
    const out = alloc(args.backend, tf.util.sizeFromShape(first.shape));
    native.addN(
      out,
      tensors.map((t) => values(args.backend, t)),
    );
    return args.backend.makeTensorInfo(first.shape, 'float32', out);
  });

  // ---- reductions ----
  const reduction = (name: string, op: number, axisAttr: string) => {
    const fallback = cpu(name);
    kernels.set(name, (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const keepDims = Boolean(args.attrs?.keepDims);
      const axes = tf.util.parseAxisParam(args.attrs?.[axisAttr] as number | number[], x.shape).sort((p, q) => p - q);
      const first = axes[0];
      const last = axes[axes.length - 1];
      if (!floats(args.backend, x) || first === undefined || last === undefined || last - first !== axes.length - 1) return fallback(args);
      const outer = tf.util.sizeFromShape(x.shape.slice(0, first));
      const mid = tf.util.sizeFromShape(x.shape.slice(first, last + 1));
      const inner = tf.util.sizeFromShape(x.shape.slice(last + 1));
      if (mid === 0) return fallback(args);
      const out = alloc(args.backend, outer * inner);
      native.reduce(op, out, values(args.backend, x), outer, mid, inner, mid);
      const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
      return args.backend.makeTensorInfo(shape, 'float32', out);
    });
  };
  reduction('Sum', REDUCE_SUM, 'axis');
  reduction('Mean', REDUCE_MEAN, 'axis');
  reduction('Max', REDUCE_MAX, 'reductionIndices');
  reduction('Min', REDUCE_MIN, 'axis');

  const softmax = cpu('Softmax');
  kernels.set('Softmax', (args) => {
    const { logits } = args.inputs as { logits: tf.TensorInfo };
    const dim = Number(args.attrs?.dim ?? -1);
    const rank = logits.shape.length;
    if (!floats(args.backend, logits) || rank === 0 || (dim !== -1 && dim !== rank - 1)) return softmax(args);
    const cols = logits.shape[rank - 1] as number;
    const size = tf.util.sizeFromShape(logits.shape);
    if (cols === 0 || size === 0) return softmax(args);
    const out = alloc(args.backend, size);
    native.softmax(out, values(args.backend, logits), size / cols, cols);
    return args.backend.makeTensorInfo(logits.shape, 'float32', out);
  });

  // ---- data movement ----
  const splitV = cpu('SplitV');
  kernels.set('SplitV', (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!floats(args.backend, x)) return splitV(args);
    const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, args.attrs?.numOrSizeSplits as number | number[], axis);
    const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
    const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
    const along = x.shape[axis] as number;
    const source = values(args.backend, x);
    let begin = 0;
    return sizes.map((size) => {
      const shape = x.shape.slice();
      shape[axis] = size;
      const out = alloc(args.backend, outer * size * inner);
      if (out.length > 0) {
        native.copy(out, 0, i32([size * inner, 1]), source, begin * inner, i32([along * inner, 1]), i32([outer, size * inner]));
      }
      begin += size;
      return args.backend.makeTensorInfo(shape, 'float32', out);
    });
  });

  const concat = cpu('Concat');
  kernels.set('Concat', (args) => {
    const tensors = args.inputs as unknown as tf.TensorInfo[];
    const first = tensors[0];
    if (!first || tensors.length < 2 || !floats(args.backend, ...tensors)) return concat(args);
    const axis = tf.util.parseAxisParam(args.attrs?.axis as number, first.shape)[0] as number;
    const shapes = tensors.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const outer = tf.util.sizeFromShape(first.shape.slice(0, axis));
    const total = tf.util.sizeFromShape(outShape.slice(axis));
    const out = alloc(args.backend, outer * total);
    let column = 0;
    for (const t of tensors) {
      const inner = tf.util.sizeFromShape(t.shape.slice(axis));
      if (inner > 0 && outer > 0)
        native.copy(out, column, i32([total, 1]), values(args.backend, t), 0, i32([inner, 1]), i32([outer, inner]));
      column += inner;
    }
    return args.backend.makeTensorInfo(outShape, 'float32', out);
  });

  const slice = cpu('Slice');
  kernels.set('Slice', (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!floats(args.backend, x) || x.shape.length === 0 || x.shape.length > 6) return slice(args);
    const params = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs?.begin as number[], args.attrs?.size as number[]);
    const begin = params[0] as number[];
    const size = params[1] as number[];
    tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
    // A contiguous slice is a view in the cpu kernel (no copy): nothing to gain.
    if (tf.slice_util.isSliceContinous(x.shape, begin, size) || tf.util.sizeFromShape(size) === 0) return slice(args);
    const strides = tf.util.computeStrides(x.shape).concat([1]);
    const offset = begin.reduce((sum, b, i) => sum + b * (strides[i] as number), 0);
    const out = alloc(args.backend, tf.util.sizeFromShape(size));
    native.copy(out, 0, i32(tf.util.computeStrides(size).concat([1])), values(args.backend, x), offset, i32(strides), i32(size));
    return args.backend.makeTensorInfo(size, 'float32', out);
  });

  const transpose = cpu('Transpose');
  kernels.set('Transpose', (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const perm = args.attrs?.perm as number[];
    const rank = x.shape.length;
    if (!floats(args.backend, x) || rank === 0 || rank > 6 || tf.util.sizeFromShape(x.shape) === 0) return transpose(args);
    const strides = tf.util.computeStrides(x.shape).concat([1]);
    const shape = perm.map((p) => x.shape[p] as number);
    const out = alloc(args.backend, tf.util.sizeFromShape(shape));
    native.copy(
      out,
      0,
      i32(tf.util.computeStrides(shape).concat([1])),
      values(args.backend, x),
      0,
      i32(perm.map((p) => strides[p] as number)),
      i32(shape),
    );
    return args.backend.makeTensorInfo(shape, 'float32', out);
  });

  return kernels;
}

/** A dense layer's forward as one kernel (dense.ts): inputs {x, weights, bias} → activation(x·weights + bias). */
export function denseKernel(kernelName: string, fusedMatMul: Kernel, activation: 'relu' | 'linear'): Kernel {
  return ({ inputs, backend }) => {
    const { x, weights, bias } = inputs as { x: tf.TensorInfo; weights: tf.TensorInfo; bias: tf.TensorInfo };
    if (x.shape.length !== 2 || weights.shape.length !== 2 || bias.shape.length !== 1) {
      throw new Error(`${kernelName}: x [${x.shape}], weights [${weights.shape}] and bias [${bias.shape}] must be 2-D, 2-D and 1-D`);
    }
    return fusedMatMul({
      inputs: { a: x, b: weights, bias },
      backend,
      attrs: { transposeA: false, transposeB: false, activation },
    });
  };
}

/** The fused backward of a dense ReLU layer (dense.ts): inputs {dy, y} → [dx, dbias]. */
export function reluGradKernel(native: NativeBinding): Kernel {
  return ({ inputs, backend }) => {
    const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
    if (dy.shape.length !== 2 || !sameShape(dy.shape, y.shape)) {
      throw new Error(`${RELU_GRAD}: dy [${dy.shape}] and y [${y.shape}] must be the same 2-D shape`);
    }
    const [rows, cols] = dy.shape as [number, number];
    const dx = alloc(backend, rows * cols);
    const dbias = alloc(backend, cols);
    if (cols > 0) native.reluGrad(dx, dbias, asFloats(backend, dy), asFloats(backend, y), rows, cols);
    return [backend.makeTensorInfo([rows, cols], 'float32', dx), backend.makeTensorInfo([cols], 'float32', dbias)];
  };
}

/** The fused Gaussian reconstruction loss (nll.ts): inputs {x, reconstruction} → ½ Σ_c (x − x̂)² per row. */
export function gaussianNllKernel(gaussianNll: NonNullable<NativeBinding['gaussianNll']>): Kernel {
  return ({ inputs, backend }) => {
    const { x, reconstruction } = inputs as { x: tf.TensorInfo; reconstruction: tf.TensorInfo };
    if (x.shape.length !== 2 || !sameShape(x.shape, reconstruction.shape)) {
      throw new Error(`${GAUSSIAN_NLL}: x [${x.shape}] and reconstruction [${reconstruction.shape}] must be the same 2-D shape`);
    }
    const [rows, cols] = x.shape as [number, number];
    const out = cols > 0 ? alloc(backend, rows) : writable(backend, rows).fill(0);
    if (cols > 0) gaussianNll(out, asFloats(backend, x), asFloats(backend, reconstruction), rows, cols);
    return backend.makeTensorInfo([rows], 'float32', out);
  };
}

/** Its gradient for one input (nll.ts): inputs {dy, a, b} → (dy·½)·2(a − b) row by row. */
export function gaussianNllGradKernel(gaussianNllGrad: NonNullable<NativeBinding['gaussianNllGrad']>): Kernel {
  return ({ inputs, backend }) => {
    const { dy, a, b } = inputs as { dy: tf.TensorInfo; a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.shape.length !== 2 || !sameShape(a.shape, b.shape) || !sameShape(dy.shape, [a.shape[0] as number])) {
      throw new Error(
        `${GAUSSIAN_NLL_GRAD}: a [${a.shape}] and b [${b.shape}] must be the same 2-D shape and dy [${dy.shape}] one value per row`,
      );
    }
    const [rows, cols] = a.shape as [number, number];
    const dx = alloc(backend, rows * cols);
    if (dx.length > 0) gaussianNllGrad(dx, asFloats(backend, dy), asFloats(backend, a), asFloats(backend, b), rows, cols);
    return backend.makeTensorInfo([rows, cols], 'float32', dx);
  };
}

/** A float32 tensor's values as a Float32Array (a copy only when the cpu backend kept another array type). */
export function asFloats(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array {
  const stored = backend.data.get(t.dataId).values;
  return stored instanceof Float32Array ? stored : Float32Array.from(stored as ArrayLike<number>);
}

// ---------------------------------------------------------------------------------------------

/** An output array every element of which the kernel's addon call will write (pooled on NativeBackend). */
const alloc = kernelOutput;

/** An output array JavaScript fills itself: it waits for the addon's queue first. */
function writable(backend: MathBackendCPU, n: number): Float32Array {
  syncBackend(backend);
  return alloc(backend, n);
}

function syncBackend(backend: MathBackendCPU): void {
  if (backend instanceof NativeBackend) backend.sync();
}

/**
 * A cpu kernel (JavaScript over the arrays) run after the addon's queued calls, unless it
 * touches no array contents: Reshape and Identity share the input's data, and so does Cast
 * where no value changes (the cpu kernel then returns its input's data unchanged).
 */
export function afterQueue(kernel: Kernel, kernelName?: string): Kernel {
  if (kernelName === 'Reshape' || kernelName === 'Identity') return kernel;
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo | undefined;
    const dtype = args.attrs?.dtype as tf.DataType | undefined;
    const sharesData =
      kernelName === 'Cast' && x && dtype && dtype !== 'complex64' && x.dtype !== 'complex64' && !tf.util.hasEncodingLoss(x.dtype, dtype);
    if (!sharesData) syncBackend(args.backend);
    return kernel(args);
  };
}

/** True when every tensor is float32 and stored as a Float32Array. (Not always so: the cpu
 *  backend's Cast from bool or int32 to float32 keeps the original Uint8Array/Int32Array.) */
function floats(backend: MathBackendCPU, ...tensors: tf.TensorInfo[]): boolean {
  return tensors.every((t) => t.dtype === 'float32' && backend.data.get(t.dataId)?.values instanceof Float32Array);
}

function values(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

function i32(list: readonly number[]): Int32Array {
  return Int32Array.from(list);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function unary(native: NativeBinding, backend: MathBackendCPU, op: number, x: tf.TensorInfo, alpha: number): tf.TensorInfo {
  const out = alloc(backend, tf.util.sizeFromShape(x.shape));
  if (out.length > 0) native.unary(op, out, values(backend, x), alpha);
  return backend.makeTensorInfo(x.shape, 'float32', out);
}

/** a op b with numpy broadcasting, or null when the dtypes are not both float32. */
function binary(native: NativeBinding, backend: MathBackendCPU, op: number, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | null {
  if (!floats(backend, a, b)) return null;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const size = tf.util.sizeFromShape(outShape);
  const plan = collapse(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
  if (plan.shape.length > 6) return null;
  const out = alloc(backend, size);
  if (size > 0) native.binary(op, out, values(backend, a), values(backend, b), i32(plan.shape), i32(plan.a), i32(plan.b));
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** Element strides of `shape` read as `outShape` (right-aligned; 0 where broadcast). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = outShape.length - shape.length + i;
    const extent = shape[i] as number;
    strides[d] = extent === 1 ? 0 : stride;
    stride *= extent;
  }
  return strides;
}

/** Drops size-1 dimensions and merges neighbours both operands walk contiguously. */
function collapse(shape: readonly number[], sa: readonly number[], sb: readonly number[]): { shape: number[]; a: number[]; b: number[] } {
  const out = { shape: [] as number[], a: [] as number[], b: [] as number[] };
  for (let d = 0; d < shape.length; d++) {
    const extent = shape[d] as number;
    if (extent === 1) continue;
    const last = out.shape.length - 1;
    if (last >= 0 && out.a[last] === (sa[d] as number) * extent && out.b[last] === (sb[d] as number) * extent) {
      out.shape[last] = (out.shape[last] as number) * extent;
      out.a[last] = sa[d] as number;
      out.b[last] = sb[d] as number;
    } else {
      out.shape.push(extent);
      out.a.push(sa[d] as number);
      out.b.push(sb[d] as number);
    }
  }
  if (out.shape.length === 0) return { shape: [1], a: [0], b: [0] };
  return out;
}
