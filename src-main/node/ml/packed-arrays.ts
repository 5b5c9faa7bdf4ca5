// Named float32 arrays packed into one buffer (a JSON header, then the data): checkpoints, and the
// Latents results stored per run (analysis/stored-latents.ts). No TensorFlow.js here.

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
