// Checkpoints: named float32 arrays packed into one buffer (a JSON header, then the data),
// small enough to keep several per run in SQLite and independent of the tfjs backend.
import * as tf from '@tensorflow/tfjs';
import type { ParameterSet } from './parameters.js';

export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array;
}

interface HeaderEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export function packArrays(arrays: readonly NamedArray[]): Buffer {
  let offset = 0;
  const entries: HeaderEntry[] = arrays.map((a) => {
    const entry = { name: a.name, shape: a.shape, offset, length: a.values.length };
    offset += a.values.length;
    return entry;
  });
  const header = Buffer.from(JSON.stringify(entries), 'utf8');
  // Pad the header so the float data starts 4-byte aligned.
  const headerBytes = Math.ceil((header.length + 4) / 4) * 4 - 4;
  const buffer = Buffer.alloc(4 + headerBytes + offset * 4);
  buffer.writeUInt32LE(headerBytes, 0);
  header.copy(buffer, 4);
  buffer.fill(0x20, 4 + header.length, 4 + headerBytes);
  const data = new Float32Array(buffer.buffer, buffer.byteOffset + 4 + headerBytes, offset);
  for (const [i, a] of arrays.entries()) data.set(a.values, (entries[i] as HeaderEntry).offset);
  return buffer;
}

export function unpackArrays(buffer: Uint8Array): NamedArray[] {
  const view = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (view.length < 4) throw new Error('Checkpoint is truncated (no header)');
  const headerBytes = view.readUInt32LE(0);
  if (4 + headerBytes > view.length) throw new Error('Checkpoint is truncated (header)');
  const entries = JSON.parse(view.subarray(4, 4 + headerBytes).toString('utf8')) as HeaderEntry[];
  // Copy the data: SQLite blobs need not be aligned for a Float32Array view.
  const bytes = new Uint8Array(view.subarray(4 + headerBytes));
  if (bytes.byteLength % 4 !== 0) throw new Error('Checkpoint is truncated (data)');
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return entries.map((e) => {
    if (e.offset + e.length > data.length) throw new Error(`Checkpoint is truncated (array ${e.name})`);
    return { name: e.name, shape: e.shape, values: data.slice(e.offset, e.offset + e.length) };
  });
}

export function snapshotParameters(params: ParameterSet, prefix: string): NamedArray[] {
  return [...params.named()].map(([name, variable]) => ({
    name: `${prefix}${name}`,
    shape: variable.shape,
    values: variable.dataSync() as Float32Array,
  }));
}

/** Assigns stored values to parameters by name; every parameter must be present with its shape. */
export function restoreParameters(params: ParameterSet, prefix: string, arrays: readonly NamedArray[]): void {
  const byName = new Map(arrays.map((a) => [a.name, a]));
  for (const [name, variable] of params.named()) {
    const stored = byName.get(`${prefix}${name}`);
    if (!stored) throw new Error(`Checkpoint lacks parameter ${prefix}${name}`);
    if (stored.shape.join('x') !== variable.shape.join('x')) {
      throw new Error(`Checkpoint parameter ${prefix}${name} has shape ${stored.shape.join('×')}, model has ${variable.shape.join('×')}`);
    }
    tf.tidy(() => variable.assign(tf.tensor(stored.values, stored.shape)));
  }
}

/** Optimiser state is positional (tfjs keys it by variable order), so it is stored in order. */
export async function snapshotOptimizer(optimizer: tf.Optimizer, prefix: string): Promise<NamedArray[]> {
  const weights = await optimizer.getWeights();
  const arrays = weights.map((w, i) => ({ name: `${prefix}${i}`, shape: w.tensor.shape, values: w.tensor.dataSync() as Float32Array }));
  // Moments come back as the optimiser's own variables; the iteration count is a fresh tensor.
  for (const w of weights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  return arrays;
}

export async function restoreOptimizer(optimizer: tf.Optimizer, prefix: string, arrays: readonly NamedArray[]): Promise<void> {
  const mine = arrays
    .filter((a) => a.name.startsWith(prefix))
    .sort((a, b) => Number(a.name.slice(prefix.length)) - Number(b.name.slice(prefix.length)));
  if (mine.length === 0) return;
  const tensors = mine.map((a, i) => ({ name: `${prefix}${i}`, tensor: tf.tensor(a.values, a.shape) }));
  await optimizer.setWeights(tensors);
  // setWeights copies them into variables of its own.
  for (const t of tensors) t.tensor.dispose();
}
