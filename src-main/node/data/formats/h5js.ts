// A small HDF5 reader in plain JavaScript, for the structures GCTX writers produce: superblock
// versions 0–3, object headers v1 and v2, groups as symbol tables (B-tree v1 + local heap) or as
// compact link messages, datasets that are compact, contiguous or chunked with a B-tree v1 chunk
// index, deflate and shuffle filters, numeric and string (fixed-length and variable-length) types.
//
// Why: h5wasm costs about a second per process and per thread before it reads a byte (a 4 MB
// loader to parse, 3.5 MB of wasm to decode, compile and initialise), and every chunk it reads goes
// through Emscripten's file layer. h5py, the reference, reads a 5,000-sample GCTX in ~0.1 s. Here
// chunks are read with one positional read each and inflated by Node's zlib.
//
// Anything else (dense link or attribute storage, v4 layouts, other filters, shared messages,
// big-endian matrices, enums, files that do not parse) throws H5JsUnsupported, and the caller falls
// back to h5wasm, which reads everything HDF5 can and names what is wrong with a damaged file. The
// parser never loops on what the file says without a bound: every size is checked against the file
// size and every structure walk against the nodes already visited.

import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync, readv, readvSync } from 'node:fs';
import { inflate, inflateSync, type ZlibOptions } from 'node:zlib';

/** The file uses a feature this reader does not implement, or does not parse: use h5wasm. */
export class H5JsUnsupported extends Error {
  override name = 'H5JsUnsupported';
}

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The superblock's offset: 0 or a user-block size (512, 1024, 2048, ...), as the HDF5 format allows. */
function findSignature(fd: number, size: number): number {
  const head = Buffer.alloc(SIGNATURE.length);
  for (let at = 0; at + SIGNATURE.length <= size; at = at === 0 ? 512 : at * 2) {
    if (readSync(fd, head, 0, head.length, at) === head.length && head.equals(SIGNATURE)) return at;
  }
  return unsupported('no HDF5 signature');
}

function unsupported(what: string): never {
  throw new H5JsUnsupported(what);
}

const UNDEFINED_ADDRESS = -1;

/** Little-endian cursor over a buffer, with the file's offset and length sizes. */
class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    readonly sizes: { offset: number; length: number },
    pos = 0,
  ) {
    this.pos = pos;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) unsupported(`structure overruns its block (${this.pos} + ${n} > ${this.buf.length})`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  /** Unsigned integer of n bytes (1–8); all ones → UNDEFINED_ADDRESS; beyond 2^53 → unsupported. */
  uint(n: number): number {
    this.need(n);
    // Addresses, lengths and chunk offsets are 8 or 4 bytes: two or one 32-bit reads, not a
    // byte loop (a chunk B-tree has three such fields per chunk).
    if (n === 8) {
      const lo = this.buf.readUInt32LE(this.pos);
      const hi = this.buf.readUInt32LE(this.pos + 4);
      this.pos += 8;
      if (lo === 0xffffffff && hi === 0xffffffff) return UNDEFINED_ADDRESS;
      if (hi >= 0x200000) unsupported('an integer field beyond 2^53');
      return hi * 0x100000000 + lo;
    }
    if (n === 4) {
      const v = this.buf.readUInt32LE(this.pos);
      this.pos += 4;
      return v === 0xffffffff ? UNDEFINED_ADDRESS : v;
    }
    let allOnes = true;
    let v = 0;
    for (let i = n - 1; i >= 0; i--) {
      const b = this.buf[this.pos + i] as number;
      if (b !== 0xff) allOnes = false;
      v = v * 256 + b;
    }
    this.pos += n;
    if (allOnes) return UNDEFINED_ADDRESS;
    if (!Number.isSafeInteger(v)) unsupported('an integer field beyond 2^53');
    return v;
  }
  offset(): number {
    return this.uint(this.sizes.offset);
  }
  length(): number {
    return this.uint(this.sizes.length);
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  signature(text: string): void {
    if (this.bytes(text.length).toString('latin1') !== text) unsupported(`expected signature ${text}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Datatypes and dataspaces

export type H5JsType =
  | { kind: 'int'; size: number; littleEndian: boolean; signed: boolean }
  | { kind: 'float'; size: number; littleEndian: boolean }
  | { kind: 'string'; size: number; pad: number; utf8: boolean }
  | { kind: 'vlen-string'; utf8: boolean };

function parseDatatype(c: Cursor): H5JsType {
  const classAndVersion = c.u8();
  const typeClass = classAndVersion & 0x0f;
  const b0 = c.u8();
  const b1 = c.u8();
  c.u8();
  const size = c.u32();
  if (typeClass === 0 || typeClass === 1) {
    const bitOffset = c.u16();
    const precision = c.u16();
    if (bitOffset !== 0 || precision !== size * 8) unsupported('a numeric type with padding bits');
    const littleEndian = (b0 & 0x01) === 0;
    if (typeClass === 0) {
      if (![1, 2, 4, 8].includes(size)) unsupported(`a ${size}-byte integer`);
      return { kind: 'int', size, littleEndian, signed: (b0 & 0x08) !== 0 };
    }
    if (b0 & 0x40) unsupported('VAX floats');
    if (size !== 4 && size !== 8) unsupported(`a ${size}-byte float`);
    // Only IEEE 754 layouts (sign bit, exponent and mantissa where IEEE puts them) are viewed as they are.
    const [expAt, expBits, mantAt, mantBits] = [c.u8(), c.u8(), c.u8(), c.u8()];
    const bias = c.u32();
    const ieee = size === 4 ? [23, 8, 0, 23, 127, 31] : [52, 11, 0, 52, 1023, 63];
    if ([expAt, expBits, mantAt, mantBits, bias, b1].join() !== ieee.join()) unsupported('a float that is not IEEE 754');
    return { kind: 'float', size, littleEndian };
  }
  if (typeClass === 3) return { kind: 'string', size, pad: b0 & 0x0f, utf8: b0 >> 4 === 1 };
  if (typeClass === 9 && (b0 & 0x0f) === 1) return { kind: 'vlen-string', utf8: (b1 & 0x0f) === 1 };
  return unsupported(`HDF5 type class ${typeClass}`);
}

function parseDataspace(c: Cursor): number[] {
  const version = c.u8();
  const rank = c.u8();
  const flags = c.u8();
  if (version === 1) c.skip(5);
  else if (version === 2) {
    const type = c.u8();
    if (type === 0) return [];
    if (type === 2) unsupported('a null dataspace');
  } else unsupported(`dataspace version ${version}`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(c.length());
  if (flags & 0x01) for (let i = 0; i < rank; i++) c.length(); // maximum dimensions
  return dims;
}

// ---------------------------------------------------------------------------------------------
// Object headers

interface Message {
  type: number;
  data: Buffer;
}

const MSG_DATASPACE = 0x01;
const MSG_LINK_INFO = 0x02;
const MSG_DATATYPE = 0x03;
const MSG_LINK = 0x06;
const MSG_LAYOUT = 0x08;
const MSG_FILTERS = 0x0b;
const MSG_ATTRIBUTE = 0x0c;
const MSG_CONTINUATION = 0x10;
const MSG_SYMBOL_TABLE = 0x11;
const MSG_ATTRIBUTE_INFO = 0x15;

interface Layout {
  kind: 'compact' | 'contiguous' | 'chunked';
  /** compact: the data; contiguous: address and size; chunked: B-tree address and chunk dims. */
  data?: Buffer;
  address: number;
  size: number;
  chunk: number[];
}

interface Filter {
  id: number;
  values: number[];
}

export interface H5JsChunkIndex {
  // Indexed by the chunk's position in the chunk grid, row-major.
  address: Float64Array;
  size: Float64Array;
  filterMask: Uint32Array;
}

/** One vectored read: `bytes` bytes from a file address, filling `views` in order. */
export interface H5JsReadOp {
  address: number;
  views: Uint8Array[];
  bytes: number;
}

/** The views left once the first n bytes have been read (a short vectored read). */
function dropBytes(views: Uint8Array[], n: number): Uint8Array[] {
  let skip = n;
  let i = 0;
  while (i < views.length && skip >= (views[i] as Uint8Array).length) skip -= (views[i++] as Uint8Array).length;
  const rest = views.slice(i);
  if (skip > 0 && rest.length > 0) rest[0] = (rest[0] as Uint8Array).subarray(skip);
  return rest;
}

/** An open HDF5 file: synchronous positional reads, parsed object headers cached by address. */
export class H5JsFile {
  readonly fd: number;
  readonly fileSize: number;
  private readonly base: number;
  private readonly sizes: { offset: number; length: number };
  private readonly rootAddress: number;
  private readonly headers = new Map<number, Message[]>();
  private closed = false;
  /** Vectored reads on the thread pool not yet finished: the descriptor is closed after the last. */
  private inFlight = 0;

  private constructor(fd: number, fileSize: number, superblockAt: number) {
    this.fd = fd;
    this.fileSize = fileSize;
    const head = this.readAbsolute(superblockAt, Math.min(256, fileSize - superblockAt));
    const version = head[8] as number;
    let endOfFile = UNDEFINED_ADDRESS;
    if (version === 0 || version === 1) {
      const sizes = { offset: head[13] as number, length: head[14] as number };
      this.sizes = sizes;
      const c = new Cursor(head, sizes, 24 + (version === 1 ? 4 : 0));
      this.checkSizes();
      c.offset(); // base address: HDF5 uses the superblock's position (below)
      c.offset(); // free-space info
      endOfFile = c.offset();
      c.offset(); // driver information
      // root group symbol table entry: link name offset, object header address
      c.offset();
      this.rootAddress = c.offset();
    } else if (version === 2 || version === 3) {
      const sizes = { offset: head[9] as number, length: head[10] as number };
      this.sizes = sizes;
      this.checkSizes();
      const c = new Cursor(head, sizes, 12);
      c.offset(); // base address
      const extension = c.offset();
      if (extension !== UNDEFINED_ADDRESS) unsupported('a superblock extension');
      endOfFile = c.offset();
      this.rootAddress = c.offset();
      verifyChecksum(head, 0, c.pos, 'the superblock');
    } else {
      unsupported(`superblock version ${version}`);
    }
    // Addresses are relative to the superblock (HDF5 adjusts a stored base address that differs).
    this.base = superblockAt;
    // HDF5 refuses a file shorter than its end-of-file address (a truncated file). Behind a user
    // block that address counts the user block too (h5py: base 512, end of file = the file size).
    if (endOfFile === UNDEFINED_ADDRESS || endOfFile > fileSize) unsupported('a truncated file');
  }

  private checkSizes(): void {
    if (![2, 4, 8].includes(this.sizes.offset) || ![2, 4, 8].includes(this.sizes.length)) unsupported('unusual offset or length sizes');
  }

  /** Opens the file whose HDF5 superblock is at superblockAt (0 or a user-block size). */
  static open(path: string, superblockAt?: number): H5JsFile {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      return new H5JsFile(fd, size, superblockAt ?? findSignature(fd, size));
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A read still running on the thread pool would otherwise fill its buffers from whatever file
    // reuses the descriptor number.
    if (this.inFlight === 0) closeSync(this.fd);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private readAbsolute(at: number, length: number, into?: Buffer, intoOffset = 0): Buffer {
    if (this.closed) throw new Error('file is closed');
    if (at < 0 || length < 0 || at + length > this.fileSize) unsupported(`a read beyond the end of the file (${at} + ${length})`);
    const buf = into ?? Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, intoOffset + done, length - done, at + done);
      if (n === 0) unsupported('the file ended early');
      done += n;
    }
    return buf;
  }

  /**
   * Runs vectored positional reads, half of them on libuv's thread pool (all queued at once, so
   * the pool's threads go from one to the next without waking this thread) and the other half on
   * this thread meanwhile: on two free cores the kernel's copies from the page cache run on both,
   * and on a busy machine this thread still does its half at its own pace instead of waiting for
   * wake-ups. Every read settles before the promise does (the buffers are the caller's); the
   * first failure is then thrown.
   */
  async readVectors(ops: readonly H5JsReadOp[]): Promise<void> {
    const pooled = Math.ceil(ops.length / 2);
    const onPool = ops.slice(0, pooled).map((op) => this.readVector(op));
    let failure: { error: unknown } | null = null;
    for (let i = pooled; i < ops.length && failure === null; i++) {
      const op = ops[i] as H5JsReadOp;
      try {
        this.readVectorSync(op);
      } catch (error) {
        failure = { error };
      }
    }
    for (const settled of await Promise.allSettled(onPool)) if (settled.status === 'rejected') failure ??= { error: settled.reason };
    if (failure !== null) throw failure.error;
  }

  /** One vectored read on this thread. */
  readVectorSync(op: H5JsReadOp): void {
    let views = op.views;
    let position = this.vectorStart(op);
    let left = op.bytes;
    while (left > 0) {
      const n = readvSync(this.fd, views, position);
      if (n === 0) unsupported('the file ended early');
      left -= n;
      position += n;
      if (left > 0) views = dropBytes(views, n);
    }
  }

  /** Where a vectored read starts in the file, checked to lie inside it. */
  private vectorStart(op: H5JsReadOp): number {
    if (this.closed) throw new Error('file is closed');
    const at = this.base + op.address;
    if (op.address === UNDEFINED_ADDRESS || at + op.bytes > this.fileSize)
      unsupported(`a read beyond the end of the file (${at} + ${op.bytes})`);
    return at;
  }

  private async readVector(op: H5JsReadOp): Promise<void> {
    const at = this.vectorStart(op);
    let views = op.views;
    let position = at;
    let left = op.bytes;
    this.inFlight++;
    try {
      while (left > 0) {
        const n = await new Promise<number>((resolve, reject) =>
          readv(this.fd, views, position, (error, bytes) => (error ? reject(error) : resolve(bytes))),
        );
        if (n === 0) unsupported('the file ended early');
        left -= n;
        position += n;
        if (left > 0) views = dropBytes(views, n);
      }
    } finally {
      this.inFlight--;
      if (this.closed && this.inFlight === 0) closeSync(this.fd);
    }
  }

  /** Reads `length` bytes at a file address (relative to the base address). */
  read(address: number, length: number, into?: Buffer): Buffer {
    if (address === UNDEFINED_ADDRESS) unsupported('an undefined address');
    return this.readAbsolute(this.base + address, length, into);
  }

  /** Reads `length` bytes at a file address into `into` from byte `offset` (no view per call). */
  readAt(address: number, length: number, into: Buffer, offset: number): void {
    if (address === UNDEFINED_ADDRESS) unsupported('an undefined address');
    if (offset < 0 || offset + length > into.length)
      throw new RangeError(`a read of ${length} bytes at ${offset} past a ${into.length}-byte buffer`);
    this.readAbsolute(this.base + address, length, into, offset);
  }

  get offsetSize(): number {
    return this.sizes.offset;
  }

  cursorOver(buf: Buffer): Cursor {
    return new Cursor(buf, this.sizes);
  }

  cursor(address: number, length: number): Cursor {
    return new Cursor(this.read(address, Math.min(length, this.fileSize - this.base - address)), this.sizes);
  }

  // --- object headers ---

  messages(address: number): Message[] {
    let cached = this.headers.get(address);
    if (!cached) {
      cached = this.parseHeader(address);
      this.headers.set(address, cached);
    }
    return cached;
  }

  private parseHeader(address: number): Message[] {
    const first = this.read(address, 4);
    const messages: Message[] = [];
    const blocks: [number, number][] = [];
    const seen = new Set<number>();
    if (first.toString('latin1') === 'OHDR') {
      const c = this.cursor(address, 64);
      c.skip(4);
      if (c.u8() !== 2) unsupported('object header version');
      const flags = c.u8();
      if (flags & 0x20) c.skip(16);
      if (flags & 0x10) c.skip(4);
      const chunk0 = c.uint(1 << (flags & 0x03));
      const prefix = c.pos;
      const whole = this.read(address, prefix + chunk0 + 4);
      verifyChecksum(whole, 0, prefix + chunk0, 'an object header');
      const creationOrder = (flags & 0x04) !== 0;
      this.parseV2Block(whole.subarray(prefix, prefix + chunk0), creationOrder, messages, blocks);
      while (blocks.length > 0) {
        const [at, length] = blocks.shift() as [number, number];
        if (seen.has(at) || seen.size > 10_000) unsupported('a looping object header');
        seen.add(at);
        const block = this.read(at, length);
        if (block.toString('latin1', 0, 4) !== 'OCHK') unsupported('a continuation block without its signature');
        verifyChecksum(block, 0, length - 4, 'an object header continuation');
        this.parseV2Block(block.subarray(4, length - 4), creationOrder, messages, blocks);
      }
    } else {
      const c = this.cursor(address, 16);
      if (c.u8() !== 1) unsupported('object header version');
      c.skip(1);
      const count = c.u16();
      c.skip(4);
      const size = c.u32();
      blocks.push([address + 16, size]);
      while (blocks.length > 0 && messages.length < count) {
        const [at, length] = blocks.shift() as [number, number];
        if (seen.has(at) || seen.size > 10_000) unsupported('a looping object header');
        seen.add(at);
        const block = new Cursor(this.read(at, length), this.sizes);
        while (block.pos + 8 <= block.buf.length && messages.length < count) {
          const type = block.u16();
          const msgSize = block.u16();
          const flags = block.u8();
          block.skip(3);
          const data = block.bytes(msgSize);
          this.addMessage(type, flags, data, messages, blocks);
        }
      }
    }
    return messages;
  }

  private parseV2Block(buf: Buffer, creationOrder: boolean, messages: Message[], blocks: [number, number][]): void {
    const c = new Cursor(buf, this.sizes);
    const headerSize = creationOrder ? 6 : 4;
    while (c.pos + headerSize <= buf.length) {
      const type = c.u8();
      const size = c.u16();
      const flags = c.u8();
      if (creationOrder) c.skip(2);
      this.addMessage(type, flags, c.bytes(size), messages, blocks);
    }
  }

  private addMessage(type: number, flags: number, data: Buffer, messages: Message[], blocks: [number, number][]): void {
    if (type === MSG_CONTINUATION) {
      const c = new Cursor(data, this.sizes);
      blocks.push([c.offset(), c.length()]);
      return;
    }
    if (flags & 0x02 && type !== 0) unsupported('a shared header message');
    messages.push({ type, data });
  }

  message(address: number, type: number): Message | undefined {
    return this.messages(address).find((m) => m.type === type);
  }

  // --- groups ---

  /** Names and object header addresses of a group's members. */
  links(address: number): Map<string, number> {
    const out = new Map<string, number>();
    const messages = this.messages(address);
    const table = messages.find((m) => m.type === MSG_SYMBOL_TABLE);
    if (table) {
      const c = new Cursor(table.data, this.sizes);
      const btree = c.offset();
      const heap = this.localHeap(c.offset());
      this.walkGroupTree(btree, heap, out, new Set());
      return out;
    }
    const info = messages.find((m) => m.type === MSG_LINK_INFO);
    if (info) {
      const c = new Cursor(info.data, this.sizes);
      c.u8();
      const flags = c.u8();
      if (flags & 0x01) c.skip(8);
      if (c.offset() !== UNDEFINED_ADDRESS) unsupported('dense link storage');
    }
    for (const m of messages) {
      if (m.type !== MSG_LINK) continue;
      const c = new Cursor(m.data, this.sizes);
      if (c.u8() !== 1) unsupported('link message version');
      const flags = c.u8();
      const linkType = flags & 0x08 ? c.u8() : 0;
      if (flags & 0x04) c.skip(8);
      if (flags & 0x10) c.u8();
      const nameLength = c.uint(1 << (flags & 0x03));
      const name = c.bytes(nameLength).toString('utf8');
      if (linkType !== 0) unsupported('a soft or external link');
      out.set(name, c.offset());
    }
    return out;
  }

  private localHeap(address: number): Buffer {
    const c = this.cursor(address, 8 + 3 * this.sizes.length);
    c.signature('HEAP');
    c.skip(4);
    const size = c.length();
    c.length();
    return this.read(c.offset(), size);
  }

  private walkGroupTree(address: number, heap: Buffer, out: Map<string, number>, seen: Set<number>): void {
    if (seen.has(address) || seen.size > 100_000) unsupported('a looping group B-tree');
    seen.add(address);
    const c = this.cursor(address, 24 + 2 * this.sizes.offset);
    c.signature('TREE');
    if (c.u8() !== 0) unsupported('a group B-tree of another type');
    const level = c.u8();
    const entries = c.u16();
    const node = this.cursor(address, 8 + 2 * this.sizes.offset + (2 * entries + 1) * Math.max(this.sizes.length, this.sizes.offset) + 8);
    node.pos = 8 + 2 * this.sizes.offset;
    for (let i = 0; i < entries; i++) {
      node.length(); // key
      const child = node.offset();
      if (level > 0) this.walkGroupTree(child, heap, out, seen);
      else this.readSymbolNode(child, heap, out);
    }
  }

  private readSymbolNode(address: number, heap: Buffer, out: Map<string, number>): void {
    const c = this.cursor(address, 8);
    c.signature('SNOD');
    c.skip(2);
    const count = c.u16();
    const entrySize = 2 * this.sizes.offset + 24;
    const node = this.cursor(address + 8, count * entrySize);
    for (let i = 0; i < count; i++) {
      node.pos = i * entrySize;
      const nameOffset = node.offset();
      const header = node.offset();
      if (nameOffset < 0 || nameOffset >= heap.length) unsupported('a link name outside the local heap');
      const end = heap.indexOf(0, nameOffset);
      out.set(heap.toString('utf8', nameOffset, end < 0 ? heap.length : end), header);
    }
  }

  /** The object header address at a path ("/0/DATA/0/matrix"), or null if a member is absent. */
  resolve(path: string): number | null {
    let address = this.rootAddress;
    for (const part of path.split('/').filter((p) => p !== '')) {
      if (!this.isGroup(address)) return null;
      const next = this.links(address).get(part);
      if (next === undefined) return null;
      address = next;
    }
    return address;
  }

  isGroup(address: number): boolean {
    return this.messages(address).some((m) => m.type === MSG_SYMBOL_TABLE || m.type === MSG_LINK || m.type === MSG_LINK_INFO);
  }

  isDataset(address: number): boolean {
    return this.message(address, MSG_LAYOUT) !== undefined;
  }

  dataset(address: number, where: string): H5JsDataset {
    return new H5JsDataset(this, address, where);
  }

  // --- attributes ---

  /** A string attribute (scalar or 1-element) of an object; undefined if absent or not a string. */
  stringAttribute(address: number, name: string): string | undefined {
    const messages = this.messages(address);
    const info = messages.find((m) => m.type === MSG_ATTRIBUTE_INFO);
    if (info) {
      const c = new Cursor(info.data, this.sizes);
      c.u8();
      const flags = c.u8();
      if (flags & 0x01) c.skip(2);
      if (c.offset() !== UNDEFINED_ADDRESS) unsupported('dense attribute storage');
    }
    for (const m of messages) {
      if (m.type !== MSG_ATTRIBUTE) continue;
      const c = new Cursor(m.data, this.sizes);
      const version = c.u8();
      const flags = c.u8();
      if (version > 1 && flags !== 0) unsupported('a shared attribute type');
      const nameSize = c.u16();
      const typeSize = c.u16();
      const spaceSize = c.u16();
      if (version === 3) c.u8();
      else if (version !== 1 && version !== 2) unsupported(`attribute version ${version}`);
      const pad = (n: number) => (version === 1 ? Math.ceil(n / 8) * 8 : n);
      const nameBytes = c.bytes(pad(nameSize));
      const end = nameBytes.indexOf(0);
      const attrName = nameBytes.toString('utf8', 0, end < 0 || end > nameSize ? nameSize : end);
      const typeCursor = new Cursor(c.bytes(pad(typeSize)), this.sizes);
      const spaceCursor = new Cursor(c.bytes(pad(spaceSize)), this.sizes);
      if (attrName !== name) continue;
      const type = parseDatatype(typeCursor);
      const dims = parseDataspace(spaceCursor);
      const count = dims.reduce((a, b) => a * b, 1);
      if (type.kind !== 'string' && type.kind !== 'vlen-string') return undefined;
      if (count !== 1) return undefined;
      const data = c.buf.subarray(c.pos);
      return this.decodeStrings(type, data, 1)[0];
    }
    return undefined;
  }

  // --- data ---

  /** Decodes n strings of a string type from raw dataset or attribute bytes (as h5wasm does). */
  decodeStrings(type: H5JsType, data: Buffer, n: number): string[] {
    if (type.kind === 'string') {
      if (data.length < n * type.size) unsupported('string data shorter than its dataspace');
      // Bytes below 0x80 read the same in ASCII and UTF-8 (h5wasm's TextDecoders): plain ASCII
      // takes the latin1 path, where equal bytes are equal strings.
      if (isAscii(data.subarray(0, n * type.size))) return decodeAsciiRecords(data, n, type.size, false).values;
      // h5wasm: TextDecoder('ascii' | 'utf-8'), cut at the first NUL.
      const out: string[] = new Array(n);
      const size = type.size;
      const decoder = new TextDecoder(type.utf8 ? 'utf-8' : 'ascii');
      for (let i = 0; i < n; i++) {
        const start = i * size;
        let end = start;
        while (end < start + size && data[end] !== 0) end++;
        out[i] = decoder.decode(data.subarray(start, end));
      }
      return out;
    }
    const out: string[] = new Array(n);
    if (type.kind !== 'vlen-string') unsupported('not strings');
    // Each element: length (4), global heap collection address, object index (4).
    const c = new Cursor(data, this.sizes);
    const collections = new Map<number, Map<number, Buffer>>();
    for (let i = 0; i < n; i++) {
      const length = c.u32();
      const collection = c.offset();
      const index = c.u32();
      if (length === 0 && (collection === 0 || collection === UNDEFINED_ADDRESS)) {
        out[i] = '';
        continue;
      }
      let objects = collections.get(collection);
      if (!objects) {
        objects = this.globalHeap(collection);
        collections.set(collection, objects);
      }
      const object = objects.get(index);
      if (!object || object.length < length) unsupported('a variable-length string outside its global heap');
      const bytes = object.subarray(0, length);
      const nul = bytes.indexOf(0);
      const text = nul < 0 ? bytes : bytes.subarray(0, nul);
      out[i] = type.utf8 ? text.toString('utf8') : text.toString('latin1');
    }
    return out;
  }

  /**
   * Ids: decodeStrings, and the first two records holding the same id, found by their bytes in the
   * same pass (no second pass hashing the strings). Null when the bytes do not decide it (not
   * plain ASCII fixed-length strings, or space-padded ones, whose padding is stripped later).
   */
  decodeUniqueStrings(type: H5JsType, data: Buffer, n: number): { values: string[]; duplicate: [number, number] | null } | null {
    if (type.kind !== 'string' || type.pad === 2) return null;
    if (data.length < n * type.size) unsupported('string data shorter than its dataspace');
    if (!isAscii(data.subarray(0, n * type.size))) return null;
    return decodeAsciiRecords(data, n, type.size, true);
  }

  private globalHeap(address: number): Map<number, Buffer> {
    const head = this.cursor(address, 8 + this.sizes.length);
    head.signature('GCOL');
    head.skip(4);
    const size = head.length();
    if (size < 8 + this.sizes.length) unsupported('a global heap collection too small');
    const c = new Cursor(this.read(address, size), this.sizes, 8 + this.sizes.length);
    const objects = new Map<number, Buffer>();
    while (c.pos + 8 + this.sizes.length <= size) {
      const index = c.u16();
      c.skip(6);
      const objectSize = c.length();
      if (index === 0) break; // free space
      const data = c.bytes(objectSize);
      objects.set(index, data);
      c.skip(Math.min((8 - (objectSize % 8)) % 8, size - c.pos));
    }
    return objects;
  }

  /** Every chunk of a chunked dataset (B-tree v1, raw data), keyed by its grid position. */
  chunkIndex(btree: number, rank: number, chunk: number[], shape: number[]): H5JsChunkIndex {
    const gridDims = shape.map((d, i) => Math.ceil(d / (chunk[i] as number)));
    const total = gridDims.reduce((a, b) => a * b, 1);
    const present = new Uint8Array(total);
    const address = new Float64Array(total);
    const size = new Float64Array(total);
    const filterMask = new Uint32Array(total);
    let found = 0;
    const seen = new Set<number>();
    const keySize = 8 + 8 * (rank + 1);
    const visit = (node: number, depth: number): void => {
      if (seen.has(node) || depth > 64) unsupported('a looping chunk B-tree');
      seen.add(node);
      const head = this.cursor(node, 8);
      head.signature('TREE');
      if (head.u8() !== 1) unsupported('a chunk B-tree of another type');
      const level = head.u8();
      const entries = head.u16();
      const offsetSize = this.sizes.offset;
      const body = this.cursor(node, 8 + 2 * offsetSize + entries * (keySize + offsetSize) + keySize);
      body.need(8 + 2 * offsetSize + entries * (keySize + offsetSize) + keySize);
      // The node's bounds are checked once above; entries are read through a DataView (builtins
      // even in cold code) rather than six Cursor calls per chunk.
      const view = new DataView(body.buf.buffer, body.buf.byteOffset, body.buf.length);
      let at = 8 + 2 * offsetSize;
      for (let i = 0; i < entries; i++) {
        const chunkSize = view.getUint32(at, true);
        const mask = view.getUint32(at + 4, true);
        let cell = 0;
        for (let d = 0; d < rank; d++) {
          const offset = uint64At(view, at + 8 + 8 * d);
          const dimChunk = chunk[d] as number;
          if (offset % dimChunk !== 0 || offset >= (shape[d] as number)) unsupported('a chunk at an unaligned or outside offset');
          cell = cell * (gridDims[d] as number) + offset / dimChunk;
        }
        at += keySize;
        const child = offsetAt(view, at, offsetSize);
        at += offsetSize;
        if (level > 0) visit(child, depth + 1);
        else {
          if (present[cell]) unsupported('a chunk listed twice');
          if (child === UNDEFINED_ADDRESS || this.base + child + chunkSize > this.fileSize)
            unsupported('a chunk beyond the end of the file');
          present[cell] = 1;
          address[cell] = child;
          size[cell] = chunkSize;
          filterMask[cell] = mask;
          found++;
        }
      }
    };
    if (btree !== UNDEFINED_ADDRESS && total > 0) visit(btree, 0);
    // Chunks never written hold the fill value; h5wasm handles those.
    if (found !== total) unsupported(`${total - found} of ${total} chunks not allocated`);
    return { address, size, filterMask };
  }
}

/** An 8-byte little-endian unsigned field; all ones → UNDEFINED_ADDRESS; beyond 2^53 → unsupported. */
function uint64At(view: DataView, at: number): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (lo === 0xffffffff && hi === 0xffffffff) return UNDEFINED_ADDRESS;
  if (hi >= 0x200000) unsupported('an integer field beyond 2^53');
  return hi * 0x100000000 + lo;
}

/** A file address of `size` bytes (2, 4 or 8, checked at open), as Cursor.offset reads it. */
function offsetAt(view: DataView, at: number, size: number): number {
  if (size === 8) return uint64At(view, at);
  const v = size === 4 ? view.getUint32(at, true) : view.getUint16(at, true);
  return v === (size === 4 ? 0xffffffff : 0xffff) ? UNDEFINED_ADDRESS : v;
}

/** Values of a string dataset looked at before deciding whether interning its values pays. */
const INTERN_PROBE = 2048;

/**
 * Repeating columns with fewer records than this are interned by their strings (internSlices):
 * the byte loop below pays once V8 has optimised it, which takes tens of thousands of records; at
 * 20,000 it ran mostly unoptimised (~0.5 µs a record) and was compiled again on a background thread.
 */
const BYTE_INTERN_MIN_RECORDS = 65_536;

/**
 * Records of `size` characters of text, each cut at its first NUL; a value seen before gets the
 * string of its first occurrence (one Map lookup of the slice, a V8 builtin hashing it), unless the
 * first INTERN_PROBE values are mostly distinct.
 */
function internSlices(text: string, n: number, size: number): string[] {
  const values: string[] = new Array(n);
  const first = new Map<string, string>();
  let interning = true;
  let nul = -1;
  for (let i = 0, start = 0; i < n; i++, start += size) {
    // The next NUL at or after a value's start, kept until passed.
    if (nul < start) {
      nul = text.indexOf('\0', start);
      if (nul < 0) nul = Number.POSITIVE_INFINITY;
    }
    const value = text.slice(start, Math.min(nul, start + size));
    if (!interning) {
      values[i] = value;
      continue;
    }
    const seen = first.get(value);
    if (seen === undefined) first.set(value, value);
    values[i] = seen ?? value;
    if (i === INTERN_PROBE && first.size > INTERN_PROBE / 2) interning = false;
  }
  return values;
}

/**
 * n fixed-length ASCII records of `size` bytes, each cut at its first NUL, as strings: one latin1
 * decode of the whole dataset, each value a slice of it. Records are hashed by their bytes
 * (FNV-1a, computed while looking for the NUL) into an open-addressing table of [record, hash]
 * pairs in one Int32Array, and equal bytes are found there, before any string is made:
 * - unique (ids): the first two records holding the same value are reported (every record keeps its own string);
 * - otherwise (metadata columns, which repeat a few values — cell lines, perturbation types —
 *   hundreds of thousands of times): a repeat gets the string of the value's first record, so
 *   no string is made for it and the collector has nothing to copy. A column whose first
 *   INTERN_PROBE values are mostly distinct, or that fills the table, is sliced without hashing.
 * Before, each value was sliced, then looked up in a Map (repeats) or hashed again by its
 * characters (ids); at 473,647 ids the duplicate check alone took about as long as the decoding.
 */
export function decodeAsciiRecords(
  data: Uint8Array,
  n: number,
  size: number,
  unique: boolean,
): { values: string[]; duplicate: [number, number] | null } {
  const text = Buffer.from(data.buffer, data.byteOffset, n * size).toString('latin1');
  if (!unique && n < BYTE_INTERN_MIN_RECORDS) return { values: internSlices(text, n, size), duplicate: null };
  const values: string[] = new Array(n);
  let capacity = 16;
  while (capacity < 2 * (unique ? n : INTERN_PROBE)) capacity *= 2;
  const mask = capacity - 1;
  const table = new Int32Array(2 * capacity).fill(-1);
  const lengths = new Int32Array(n);
  let hashing = n > 1;
  let distinct = 0;
  let duplicate: [number, number] | null = null;
  let nul = -1;
  for (let i = 0; i < n; i++) {
    const start = i * size;
    const limit = start + size;
    if (!hashing) {
      // Past the hashed part: the next NUL at or after a value's start, found by String#indexOf (a
      // V8 builtin) and kept until passed.
      if (nul < start) {
        nul = text.indexOf('\0', start);
        if (nul < 0) nul = Number.POSITIVE_INFINITY;
      }
      values[i] = text.slice(start, Math.min(nul, limit));
      continue;
    }
    let hash = 0x811c9dc5;
    let end = start;
    for (; end < limit; end++) {
      const byte = data[end] as number;
      if (byte === 0) break;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    const length = end - start;
    lengths[i] = length;
    let slot = hash & mask;
    let same = -1;
    for (let j = table[2 * slot] as number; j >= 0; slot = (slot + 1) & mask, j = table[2 * slot] as number) {
      if (table[2 * slot + 1] !== hash || lengths[j] !== length) continue;
      const other = j * size;
      let k = 0;
      while (k < length && data[other + k] === data[start + k]) k++;
      if (k === length) {
        same = j;
        break;
      }
    }
    if (same >= 0 && !unique) {
      values[i] = values[same] as string;
      continue;
    }
    values[i] = text.slice(start, end);
    if (same >= 0) {
      duplicate = [same, i];
      hashing = false;
      continue;
    }
    table[2 * slot] = i;
    table[2 * slot + 1] = hash;
    distinct++;
    if (!unique && ((i === INTERN_PROBE && distinct > INTERN_PROBE / 2) || 2 * distinct >= capacity)) hashing = false;
  }
  return { values, duplicate };
}

/**
 * Bytes skipped per row above which a contiguous hyperslab is read row by row rather than in
 * spans of whole rows: a positioned read costs about what copying this much from the page cache does.
 */
const NARROW_WINDOW_GAP = 16 * 1024;

/** Bytes per vectored read of a hyperslab (a 1 MB chunk is read as two pieces, one per core). */
const READ_PIECE_BYTES = 512 * 1024;

/** Vectors per read (Linux's IOV_MAX is 1024; libuv caps a longer list and reads it short). */
const MAX_READ_VECTORS = 1022;

/** A dataset's type, shape, layout and filters, and whole or hyperslab reads of its data. */
export class H5JsDataset {
  readonly type: H5JsType;
  readonly shape: number[];
  readonly layout: Layout;
  readonly filters: Filter[];
  private index: H5JsChunkIndex | null = null;

  constructor(
    readonly file: H5JsFile,
    readonly address: number,
    readonly where: string,
  ) {
    const messages = file.messages(address);
    const find = (type: number, what: string): Cursor => {
      const m = messages.find((x) => x.type === type);
      if (!m) unsupported(`${where} has no ${what}`);
      return file.cursorOver(m.data);
    };
    this.type = parseDatatype(find(MSG_DATATYPE, 'datatype'));
    this.shape = parseDataspace(find(MSG_DATASPACE, 'dataspace'));
    this.layout = this.parseLayout(find(MSG_LAYOUT, 'layout'));
    const pipeline = messages.find((x) => x.type === MSG_FILTERS);
    this.filters = pipeline ? parseFilters(file.cursorOver(pipeline.data)) : [];
    for (const f of this.filters) if (f.id !== 1 && f.id !== 2) unsupported(`HDF5 filter ${f.id}`);
    if (this.filters.length > 0 && this.layout.kind !== 'chunked') unsupported('filters on unchunked data');
  }

  get elementSize(): number {
    const t = this.type;
    return t.kind === 'vlen-string' ? 8 + this.file.offsetSize : t.size;
  }

  get count(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  private parseLayout(c: Cursor): Layout {
    const version = c.u8();
    if (version !== 3) unsupported(`layout version ${version}`);
    const layoutClass = c.u8();
    if (layoutClass === 0) {
      const size = c.u16();
      return { kind: 'compact', data: c.bytes(size), address: UNDEFINED_ADDRESS, size, chunk: [] };
    }
    if (layoutClass === 1) {
      const address = c.offset();
      const size = c.length();
      return { kind: 'contiguous', address, size, chunk: [] };
    }
    if (layoutClass === 2) {
      const dimensionality = c.u8();
      const address = c.offset();
      const chunk: number[] = [];
      for (let i = 0; i < dimensionality; i++) chunk.push(c.u32());
      if (dimensionality !== this.shape.length + 1 || chunk.some((d) => d === 0)) unsupported('chunk dimensions');
      if (chunk[dimensionality - 1] !== this.elementSize) unsupported('a chunk element size other than the type size');
      return { kind: 'chunked', address, size: 0, chunk: chunk.slice(0, -1) };
    }
    return unsupported(`layout class ${layoutClass}`);
  }

  /** Builds the chunk index now (a chunked dataset's structure is then fully checked). */
  prepare(): void {
    if (this.layout.kind === 'chunked')
      this.index ??= this.file.chunkIndex(this.layout.address, this.shape.length, this.layout.chunk, this.shape);
  }

  /** The whole dataset's bytes, in file order. */
  readAll(): Buffer {
    const bytes = this.count * this.elementSize;
    const layout = this.layout;
    if (layout.kind === 'compact') {
      if ((layout.data as Buffer).length < bytes) unsupported('compact data shorter than its dataspace');
      return layout.data as Buffer;
    }
    if (layout.kind === 'contiguous') {
      if (layout.address === UNDEFINED_ADDRESS) unsupported('data never written');
      return this.file.read(layout.address, bytes);
    }
    if (this.shape.length === 1) {
      const out = Buffer.alloc(bytes);
      this.readRows2d(0, this.shape[0] as number, 0, 1, out, true);
      return out;
    }
    if (this.shape.length !== 2) unsupported('a chunked dataset of rank other than 1 or 2');
    const out = Buffer.alloc(bytes);
    this.readRows2d(0, this.shape[0] as number, 0, this.shape[1] as number, out, false);
    return out;
  }

  /**
   * The hyperslab [r0, r1) × [c0, c1) of a 2-D dataset as vectored reads straight into out
   * (row-major, as readRows2d writes it), for H5JsFile.readVectors; null when it is not read that
   * way (compact data, compressed chunks, a window across chunk columns, or a narrow window of
   * wide contiguous rows, which readRows2d reads row by row). Each output row is one read vector
   * and the bytes between rows go to a scratch vector, so the kernel puts every value in its
   * place (no compaction afterwards) and the reads write disjoint parts of out.
   */
  planRows2d(r0: number, r1: number, c0: number, c1: number, out: Uint8Array): H5JsReadOp[] | null {
    if (this.shape.length !== 2 || r1 <= r0 || c1 <= c0) return null;
    const element = this.elementSize;
    const cols = this.shape[1] as number;
    const width = (c1 - c0) * element;
    if (out.length < (r1 - r0) * width) throw new RangeError(`a ${(r1 - r0) * width}-byte hyperslab into a ${out.length}-byte buffer`);
    const layout = this.layout;
    const ops: H5JsReadOp[] = [];
    if (layout.kind === 'contiguous') {
      const rowBytes = cols * element;
      if (layout.address === UNDEFINED_ADDRESS || rowBytes - width >= NARROW_WINDOW_GAP) return null;
      this.stridedReads(layout.address + r0 * rowBytes + c0 * element, rowBytes, width, r1 - r0, out, 0, ops);
      return ops;
    }
    if (layout.kind !== 'chunked') return null;
    this.prepare();
    const index = this.index as H5JsChunkIndex;
    const [cr, cc] = layout.chunk as [number, number];
    const gc = Math.floor(c0 / cc);
    if (gc !== Math.floor((c1 - 1) / cc)) return null;
    const chunkRowBytes = cc * element;
    const chunkBytes = cr * chunkRowBytes;
    const gridCols = Math.ceil(cols / cc);
    for (let gr = Math.floor(r0 / cr); gr * cr < r1; gr++) {
      const cell = gr * gridCols + gc;
      if (!this.isRaw(index, cell)) return null;
      if ((index.size[cell] as number) < chunkBytes) unsupported('a chunk smaller than its shape');
      const rowLo = Math.max(r0, gr * cr);
      const rowHi = Math.min(r1, (gr + 1) * cr);
      const address = (index.address[cell] as number) + (rowLo - gr * cr) * chunkRowBytes + (c0 - gc * cc) * element;
      this.stridedReads(address, chunkRowBytes, width, rowHi - rowLo, out, (rowLo - r0) * width, ops);
    }
    return ops;
  }

  /** Reads of `rows` rows of `width` bytes, `stride` bytes apart in the file, onto consecutive rows of out from `at`. */
  private stridedReads(address: number, stride: number, width: number, rows: number, out: Uint8Array, at: number, ops: H5JsReadOp[]): void {
    const gap = stride - width;
    // Pieces of about READ_PIECE_BYTES, so a chunk's rows are shared among the pool's threads;
    // at most MAX_READ_VECTORS vectors each (Linux's IOV_MAX is 1024).
    const perPiece = Math.max(1, Math.min(gap === 0 ? rows : MAX_READ_VECTORS >> 1, Math.floor(READ_PIECE_BYTES / stride)));
    if (gap > 0 && (!this.gapSink || this.gapSink.length < gap)) this.gapSink = new Uint8Array(gap);
    const sink = gap > 0 ? (this.gapSink as Uint8Array).subarray(0, gap) : null;
    for (let r = 0; r < rows; r += perPiece) {
      const n = Math.min(perPiece, rows - r);
      const base = out.byteOffset + at + r * width;
      if (!sink) {
        ops.push({ address: address + r * stride, views: [new Uint8Array(out.buffer, base, n * width)], bytes: n * width });
        continue;
      }
      const views: Uint8Array[] = new Array(2 * n - 1);
      for (let i = 0; i < n; i++) {
        views[2 * i] = new Uint8Array(out.buffer, base + i * width, width);
        if (i < n - 1) views[2 * i + 1] = sink;
      }
      ops.push({ address: address + r * stride, views, bytes: n * stride - gap });
    }
  }

  /** Where the bytes between the rows of a vectored read go (every read may share it: never read back). */
  private gapSink: Uint8Array | null = null;

  /**
   * Copies the hyperslab [r0, r1) × [c0, c1) of a 2-D dataset (or [r0, r1) of a 1-D one, with
   * c0 = 0, c1 = 1) into out, row-major, with one positional read per chunk or contiguous row run.
   */
  readRows2d(r0: number, r1: number, c0: number, c1: number, out: Buffer, oneD = false): void {
    const element = this.elementSize;
    const cols = oneD ? 1 : (this.shape[1] as number);
    const width = (c1 - c0) * element;
    const layout = this.layout;
    if (layout.kind !== 'chunked') {
      if (layout.kind === 'compact' || layout.address === UNDEFINED_ADDRESS) {
        const all = this.readAll();
        for (let r = r0; r < r1; r++) all.copy(out, (r - r0) * width, (r * cols + c0) * element, (r * cols + c1) * element);
        return;
      }
      if (c0 === 0 && c1 === cols) {
        this.file.read(layout.address + r0 * cols * element, (r1 - r0) * width, out.subarray(0, (r1 - r0) * width));
        return;
      }
      const rowBytes = cols * element;
      if (rowBytes - width >= NARROW_WINDOW_GAP) {
        // A narrow window of wide rows (978 landmarks of 12,328 genes): one positioned read per
        // row straight into its output row reads 8% of the bytes a read of whole rows would.
        for (let r = r0; r < r1; r++) this.file.readAt(layout.address + r * rowBytes + c0 * element, width, out, (r - r0) * width);
        return;
      }
      const spanBytes = Math.min((r1 - r0) * rowBytes, 16 * 1024 * 1024);
      if (!this.scratch || this.scratch.length < spanBytes) this.scratch = Buffer.allocUnsafe(spanBytes);
      const span = this.scratch;
      const rowsPerRead = Math.max(1, Math.floor(spanBytes / rowBytes));
      for (let r = r0; r < r1; r += rowsPerRead) {
        const n = Math.min(rowsPerRead, r1 - r);
        this.file.read(layout.address + r * rowBytes, n * rowBytes, span.subarray(0, n * rowBytes));
        for (let i = 0; i < n; i++) span.copy(out, (r - r0 + i) * width, i * rowBytes + c0 * element, i * rowBytes + c1 * element);
      }
      return;
    }
    this.prepare();
    const index = this.index as H5JsChunkIndex;
    const [cr, cc] = oneD ? [layout.chunk[0] as number, 1] : (layout.chunk as [number, number]);
    const gridCols = Math.ceil(cols / cc);
    const chunkBytes = cr * cc * element;
    const target = plain(out);
    // The columns asked for lie in one column of chunks (the landmark window of a GCTX does):
    // unfiltered chunks are then read straight into the output, see readRawRows.
    const oneChunkColumn = Math.floor(c0 / cc) === Math.floor((c1 - 1) / cc);
    for (let gr = Math.floor(r0 / cr); gr * cr < r1; gr++) {
      for (let gc = Math.floor(c0 / cc); gc * cc < c1; gc++) {
        const cell = gr * gridCols + gc;
        const rowLo = Math.max(r0, gr * cr);
        const rowHi = Math.min(r1, (gr + 1) * cr);
        const colLo = Math.max(c0, gc * cc);
        const colHi = Math.min(c1, (gc + 1) * cc);
        const bytes = (colHi - colLo) * element;
        if (oneChunkColumn && this.isRaw(index, cell)) {
          this.readRawRows(
            index,
            cell,
            chunkBytes,
            cc * element,
            rowLo - gr * cr,
            rowHi - rowLo,
            (colLo - gc * cc) * element,
            width,
            target,
            (rowLo - r0) * width,
          );
          continue;
        }
        const data = this.chunk(index, cell, chunkBytes);
        if (colLo === gc * cc && colHi - colLo === cc && c1 - c0 === cc) {
          // whole chunk rows landing on whole output rows: one copy
          const from = (rowLo - gr * cr) * cc * element;
          target.set(plain(data).subarray(from, from + (rowHi - rowLo) * bytes), (rowLo - r0) * width);
          continue;
        }
        // Plain Uint8Array views: their subarray and set are V8 builtins (Buffer#copy goes through JS per call).
        const source = plain(data);
        for (let r = rowLo; r < rowHi; r++) {
          const from = ((r - gr * cr) * cc + (colLo - gc * cc)) * element;
          target.set(source.subarray(from, from + bytes), (r - r0) * width + (colLo - c0) * element);
        }
      }
    }
  }

  /** Whether a chunk is stored as it is (no filter, or every filter skipped for it). */
  private isRaw(index: H5JsChunkIndex, cell: number): boolean {
    const mask = index.filterMask[cell] as number;
    for (let i = 0; i < this.filters.length; i++) if ((mask & (1 << i)) === 0) return false;
    return true;
  }

  /**
   * Rows [first, first + rows) of an unfiltered chunk, `width` bytes from byte `skip` of each
   * chunk row, into out at `at` (output rows `width` apart): one vectored read per up to
   * MAX_READ_VECTORS / 2 rows, each output row one vector and the bytes between rows a shared
   * scratch vector, so the kernel puts every value in its place. Before, the rows were read with
   * the chunk's row stride and moved down with one copyWithin per row: a 1 MB memmove and 256 calls
   * of cold JavaScript per chunk, and a loop hot enough for V8 to spend background CPU compiling it.
   */
  private readRawRows(
    index: H5JsChunkIndex,
    cell: number,
    chunkBytes: number,
    rowBytes: number,
    first: number,
    rows: number,
    skip: number,
    width: number,
    out: Uint8Array,
    at: number,
  ): void {
    if ((index.size[cell] as number) < chunkBytes) unsupported('a chunk smaller than its shape');
    const address = (index.address[cell] as number) + first * rowBytes + skip;
    if (width === rowBytes) {
      this.file.read(address, rows * width, asBuffer(out, at, rows * width));
      return;
    }
    const perRead = MAX_READ_VECTORS >> 1;
    for (let r = 0; r < rows; r += perRead) {
      const n = Math.min(perRead, rows - r);
      this.file.readVectorSync({
        address: address + r * rowBytes,
        views: this.rowVectors(out, at + r * width, n, width, rowBytes - width),
        bytes: n * rowBytes - (rowBytes - width),
      });
    }
  }

  /**
   * Read vectors for n output rows of `width` bytes from out[at], `gap` bytes apart in the file.
   * Kept per output position: a reused batch buffer gets the same vectors for every chunk, so no
   * views are made per batch. Vectors of a buffer since detached (length 0) are made anew.
   */
  private rowVectors(out: Uint8Array, at: number, n: number, width: number, gap: number): Uint8Array[] {
    if (this.vectorsFor !== out.buffer) {
      this.vectorsFor = out.buffer;
      this.vectorCache.clear();
    }
    const start = out.byteOffset + at;
    const cached = this.vectorCache.get(start);
    if (cached && cached.length === 2 * n - 1 && cached[0]?.length === width && (n === 1 || cached[1]?.length === gap)) return cached;
    if (!this.gapSink || this.gapSink.length < gap) this.gapSink = new Uint8Array(gap);
    const sink = this.gapSink.subarray(0, gap);
    const views: Uint8Array[] = new Array(2 * n - 1);
    for (let i = 0; i < n; i++) {
      views[2 * i] = new Uint8Array(out.buffer, start + i * width, width);
      if (i < n - 1) views[2 * i + 1] = sink;
    }
    // Bounded: a batch of whole chunk rows has one entry per chunk.
    if (this.vectorCache.size >= 64) this.vectorCache.clear();
    this.vectorCache.set(start, views);
    return views;
  }

  private vectorsFor: ArrayBufferLike | null = null;
  private readonly vectorCache = new Map<number, Uint8Array[]>();
  private scratch: Buffer | null = null;
  /** Chunks decoded ahead (readAhead), each taken once by chunk(). */
  private readonly decoded = new Map<number, Buffer>();
  /** Chunks being decoded on the thread pool, by cell. */
  private readonly pending = new Map<number, Promise<Buffer>>();

  /** Whether any chunk needs decoding (deflate or shuffle): only then is reading ahead worth it. */
  get filtered(): boolean {
    return this.layout.kind === 'chunked' && this.filters.length > 0;
  }

  /**
   * The grid cells of a 2-D chunked dataset holding the given rows (sorted) in columns [c0, c1),
   * in reading order.
   */
  chunkCells(sortedRows: ArrayLike<number>, c0: number, c1: number): number[] {
    if (this.layout.kind !== 'chunked' || this.shape.length !== 2 || sortedRows.length === 0 || c1 <= c0) return [];
    const [cr, cc] = this.layout.chunk as [number, number];
    const gridCols = Math.ceil((this.shape[1] as number) / cc);
    const cells: number[] = [];
    let last = -1;
    for (let i = 0; i < sortedRows.length; i++) {
      const gr = Math.floor((sortedRows[i] as number) / cr);
      if (gr === last) continue;
      last = gr;
      for (let gc = Math.floor(c0 / cc); gc * cc < c1; gc++) cells.push(gr * gridCols + gc);
    }
    return cells;
  }

  /**
   * Starts decoding these chunks on libuv's thread pool (zlib's async inflate), several at once:
   * h5py inflates one chunk after another on one thread, here both cores work while the caller
   * uses the chunks already decoded. At most `limit` chunks are held decoded or in flight.
   */
  readAhead(cells: readonly number[], limit: number): void {
    if (!this.filtered) return;
    this.prepare();
    const index = this.index as H5JsChunkIndex;
    for (const cell of cells) {
      if (this.decoded.size + this.pending.size >= limit) return;
      if (this.decoded.has(cell) || this.pending.has(cell) || this.isRaw(index, cell)) continue;
      const decoding = this.decodeAsync(index, cell);
      // A failure is reported by the waitFor() of the read that needs the chunk, not here.
      decoding.catch(() => {});
      this.pending.set(cell, decoding);
    }
  }

  /** Waits until these chunks, if being decoded, are ready; rejects with the first one that failed. */
  async waitFor(cells: readonly number[]): Promise<void> {
    for (const cell of cells) {
      const decoding = this.pending.get(cell);
      if (!decoding) continue;
      try {
        this.decoded.set(cell, await decoding);
      } finally {
        this.pending.delete(cell);
      }
    }
  }

  /** Drops chunks decoded ahead and not used (an iteration that stopped early). */
  dropReadAhead(): void {
    this.decoded.clear();
    this.pending.clear();
  }

  private async decodeAsync(index: H5JsChunkIndex, cell: number): Promise<Buffer> {
    const chunkBytes = this.chunkBytes();
    let data: Buffer = this.file.read(index.address[cell] as number, index.size[cell] as number);
    const active = this.activeFilters(index, cell);
    for (let i = active.length - 1; i >= 0; i--) {
      if ((active[i] as Filter).id === 1) data = await inflateChunkAsync(data, chunkBytes, this.where);
      else data = unshuffle(data, this.elementSize);
    }
    return checkDecoded(data, chunkBytes, this.where);
  }

  private chunkBytes(): number {
    return this.layout.chunk.reduce((a, b) => a * b, 1) * this.elementSize;
  }

  private activeFilters(index: H5JsChunkIndex, cell: number): Filter[] {
    const mask = index.filterMask[cell] as number;
    return this.filters.filter((_, i) => (mask & (1 << i)) === 0);
  }

  /** One chunk's decoded bytes (valid until the next call). */
  private chunk(index: H5JsChunkIndex, cell: number, chunkBytes: number): Buffer {
    const ready = this.decoded.get(cell);
    if (ready) {
      this.decoded.delete(cell);
      return ready;
    }
    const address = index.address[cell] as number;
    const stored = index.size[cell] as number;
    const active = this.activeFilters(index, cell);
    if (active.length === 0) {
      if (stored < chunkBytes) unsupported('a chunk smaller than its shape');
      if (!this.scratch || this.scratch.length < chunkBytes) this.scratch = Buffer.allocUnsafe(chunkBytes);
      return this.file.read(address, chunkBytes, this.scratch.subarray(0, chunkBytes));
    }
    let data: Buffer = this.file.read(address, stored);
    // Filters were applied in pipeline order when writing: undo them in reverse.
    for (let i = active.length - 1; i >= 0; i--) {
      const filter = active[i] as Filter;
      if (filter.id === 1) data = inflateChunk(data, chunkBytes, this.where);
      else data = unshuffle(data, this.elementSize);
    }
    return checkDecoded(data, chunkBytes, this.where);
  }
}

function checkDecoded(data: Buffer, chunkBytes: number, where: string): Buffer {
  if (data.length < chunkBytes) throw new H5JsDataError(`a chunk decoded to ${data.length} bytes, expected ${chunkBytes}`, where);
  return data;
}

/** Damaged data found while reading values (after the structure parsed): a specific read error. */
export class H5JsDataError extends Error {
  override name = 'H5JsDataError';
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
  }
}

/**
 * Jenkins' lookup3 hashlittle with seed 0, as HDF5 checksums its newer metadata (superblock v2/v3,
 * v2 object headers): a damaged header is then refused as HDF5 would refuse it.
 */
export function lookup3(data: Uint8Array, start: number, end: number): number {
  let length = end - start;
  let a = (0xdeadbeef + length) >>> 0;
  let b = a;
  let c = a;
  let k = start;
  const rot = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;
  const word = (at: number) =>
    ((data[at] as number) | ((data[at + 1] as number) << 8) | ((data[at + 2] as number) << 16) | ((data[at + 3] as number) << 24)) >>> 0;
  while (length > 12) {
    a = (a + word(k)) >>> 0;
    b = (b + word(k + 4)) >>> 0;
    c = (c + word(k + 8)) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c;
  // The tail, byte by byte (the C switch falls through from 12 down to 1).
  const tail = [0, 0, 0];
  for (let i = 0; i < length; i++)
    tail[Math.floor(i / 4)] = ((tail[Math.floor(i / 4)] as number) + ((data[k + i] as number) << (8 * (i % 4)))) >>> 0;
  a = (a + (tail[0] as number)) >>> 0;
  b = (b + (tail[1] as number)) >>> 0;
  c = (c + (tail[2] as number)) >>> 0;
  c = ((c ^ b) - rot(b, 14)) >>> 0;
  a = ((a ^ c) - rot(c, 11)) >>> 0;
  b = ((b ^ a) - rot(a, 25)) >>> 0;
  c = ((c ^ b) - rot(b, 16)) >>> 0;
  a = ((a ^ c) - rot(c, 4)) >>> 0;
  b = ((b ^ a) - rot(a, 14)) >>> 0;
  c = ((c ^ b) - rot(b, 24)) >>> 0;
  return c;
}

/** The 4-byte checksum stored at `end` must be lookup3 of [start, end). */
function verifyChecksum(buf: Buffer, start: number, end: number, what: string): void {
  if (end + 4 > buf.length) unsupported(`${what} without its checksum`);
  if (lookup3(buf, start, end) !== buf.readUInt32LE(end)) unsupported(`${what} fails its checksum`);
}

function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

function asBuffer(bytes: Uint8Array, at: number, length: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, length);
}

function inflateChunk(data: Buffer, expected: number, where: string): Buffer {
  try {
    return inflateSync(data, inflateOptions(expected));
  } catch (error) {
    throw inflateError(error, where);
  }
}

function inflateChunkAsync(data: Buffer, expected: number, where: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    inflate(data, inflateOptions(expected), (error, out) => (error ? reject(inflateError(error, where)) : resolve(out)));
  });
}

/**
 * The whole chunk in one output buffer: with zlib's default 16 KiB chunkSize a 1 MB chunk came out
 * in 64 pieces, joined by a copy (and the JS loop around them cost as much CPU as inflating).
 */
function inflateOptions(expected: number): ZlibOptions {
  return { maxOutputLength: Math.max(expected, 1), chunkSize: Math.max(64, expected) };
}

function inflateError(error: unknown, where: string): H5JsDataError {
  return new H5JsDataError(`a deflate-compressed chunk does not decompress (${(error as Error).message})`, where);
}

function unshuffle(data: Buffer, element: number): Buffer {
  if (element <= 1) return data;
  const n = Math.floor(data.length / element);
  const out = Buffer.allocUnsafe(data.length);
  for (let b = 0; b < element; b++) {
    const from = b * n;
    for (let i = 0; i < n; i++) out[i * element + b] = data[from + i] as number;
  }
  // bytes past the last whole element are left as they are (HDF5 does the same)
  data.copy(out, n * element, n * element);
  return out;
}

function parseFilters(c: Cursor): Filter[] {
  const version = c.u8();
  const count = c.u8();
  if (version === 1) c.skip(6);
  else if (version !== 2) unsupported(`filter pipeline version ${version}`);
  const filters: Filter[] = [];
  for (let i = 0; i < count; i++) {
    const id = c.u16();
    const nameLength = version === 1 || id >= 256 ? c.u16() : 0;
    c.u16(); // flags
    const nValues = c.u16();
    if (nameLength > 0) c.skip(version === 1 ? Math.ceil(nameLength / 8) * 8 : nameLength);
    const values: number[] = [];
    for (let v = 0; v < nValues; v++) values.push(c.u32());
    if (version === 1 && nValues % 2 === 1) c.skip(4);
    filters.push({ id, values });
  }
  return filters;
}
