// Thin layer over h5wasm (HDF5 compiled to WebAssembly; the node build reads the host file system
// directly through Emscripten's NODERAWFS, so files are never loaded whole).
//
// What this module adds:
// - one lazy, shared load of the library, with the Electron `navigator` workaround from h5wasm's
//   README and HDF5's error stack turned into thrown JS errors (instead of HDF5-DIAG on stderr);
// - opening a file with a signature check first (h5wasm does not throw on a non-HDF5 file unless
//   the throwing handler is on, and then only with the full HDF5 error stack), mapping HDF5's
//   messages to FormatError codes ('not-hdf5', 'truncated', 'corrupt');
// - typed readers for 1-D metadata datasets (fixed/variable strings, ints, floats, enums/bools);
// - H5FileReader, the base of the GCTX and h5ad readers (the open file and its closing).

import { open as openFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import type * as H5 from 'h5wasm/node';

import { BatchedReader, runReadSteps } from './common.js';
import { assertNonEmptyFile, FormatError } from './errors.js';
import type { MetadataTable, MetaValue, PreloadedMetadata, ReadIntoOptions } from './types.js';

export type H5Lib = typeof H5;
export type H5File = H5.File;
export type H5Dataset = H5.Dataset;
export type H5Group = H5.Group;

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

let loading: Promise<H5Lib> | null = null;

/** Loads h5wasm once per process. */
export function loadH5(): Promise<H5Lib> {
  loading ??= (async () => {
    // h5wasm's README: in Electron the Emscripten environment check trips over `navigator`.
    const navigatorDescriptor = process.versions.electron ? Object.getOwnPropertyDescriptor(globalThis, 'navigator') : undefined;
    const hideNavigator = navigatorDescriptor?.configurable === true;
    if (hideNavigator) Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true });
    try {
      const lib = (await import('h5wasm/node')) as H5Lib;
      const module = await lib.ready;
      module.activate_throwing_error_handler();
      return lib;
    } finally {
      if (hideNavigator && navigatorDescriptor) Object.defineProperty(globalThis, 'navigator', navigatorDescriptor);
    }
  })();
  return loading;
}

/**
 * Offset of the HDF5 superblock signature: 0, or a user-block size (512, 1024, 2048, ...), as the
 * HDF5 specification allows. Null if none is found.
 */
export async function findHdf5Signature(path: string): Promise<number | null> {
  const handle = await openFile(path, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(HDF5_SIGNATURE.length);
    for (let offset = 0; offset + HDF5_SIGNATURE.length <= size; offset = offset === 0 ? 512 : offset * 2) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === buffer.length && buffer.equals(HDF5_SIGNATURE)) return offset;
    }
    return null;
  } finally {
    await handle.close();
  }
}

/** The most specific line of an HDF5 error stack ("truncated file: eof = ...", "Object not found"). */
export function hdf5Cause(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const frames = [...text.matchAll(/#\d+: .*? in [\w.]+\(\): (.*)/g)];
  const last = frames.at(-1)?.[1];
  if (last) return last.trim();
  const minor = [...text.matchAll(/minor: (.*)/g)].at(-1)?.[1];
  return (minor ?? text.split('\n')[0] ?? text).trim();
}

/** Checks existence, size and signature, then opens read-only. Throws FormatError. */
export async function openHdf5(path: string): Promise<{ lib: H5Lib; file: H5File; userBlock: number }> {
  const full = resolve(path);
  await assertNonEmptyFile(full, path);
  const userBlock = await findHdf5Signature(full);
  if (userBlock === null) {
    throw new FormatError('not-hdf5', path, 'not an HDF5 file (no HDF5 signature at offset 0 or at any user-block offset)', {
      where: 'superblock',
    });
  }
  const lib = await loadH5();
  try {
    const file = new lib.File(full, 'r');
    return { lib, file, userBlock };
  } catch (error) {
    throw translateOpenError(path, error);
  }
}

function translateOpenError(path: string, error: unknown): FormatError {
  const cause = hdf5Cause(error);
  if (/truncated file/i.test(cause)) {
    return new FormatError('truncated', path, `the file is truncated (${cause})`, { where: 'superblock', cause: error });
  }
  if (/signature not found/i.test(cause)) {
    return new FormatError('not-hdf5', path, 'not an HDF5 file (HDF5 superblock signature not found)', {
      where: 'superblock',
      cause: error,
    });
  }
  return new FormatError('corrupt', path, `HDF5 could not open the file: ${cause}`, { where: 'superblock', cause: error });
}

/**
 * Told where each HDF5 access happens, before it happens. Set only inside the probe worker
 * (h5-probe.ts), whose watchdog needs to see reads progress; null everywhere else.
 */
let stepListener: ((where: string) => void) | null = null;

export function setHdf5StepListener(listener: ((where: string) => void) | null): void {
  stepListener = listener;
}

/** Runs fn, turning HDF5 library errors into FormatError('corrupt' or 'truncated') at `where`. */
export function h5Guard<T>(path: string, where: string, fn: () => T): T {
  stepListener?.(where);
  try {
    return fn();
  } catch (error) {
    if (error instanceof FormatError) throw error;
    const cause = hdf5Cause(error);
    if (/^Aborted\(/.test(cause)) {
      // HDF5 called abort() on data it could not make sense of.
      throw new FormatError('corrupt', path, 'HDF5 gave up reading it (the library aborted): the data is corrupt', { where, cause: error });
    }
    const code = /truncated|addr overflow|eoa|address.*beyond|end of file/i.test(cause) ? 'truncated' : 'corrupt';
    throw new FormatError(code, path, `HDF5 read failed: ${cause}`, { where, cause: error });
  }
}

export function getDataset(lib: H5Lib, file: H5File, path: string, where: string): H5Dataset | null {
  const entity = h5Guard(path, where, () => getEntity(lib, file, where));
  return entity instanceof lib.Dataset ? entity : null;
}

export function getGroup(lib: H5Lib, file: H5File, path: string, where: string): H5Group | null {
  const entity = h5Guard(path, where, () => getEntity(lib, file, where));
  return entity instanceof lib.Group ? entity : null;
}

/**
 * h5wasm's get() returns null for an absent path but throws when the path goes through a dataset
 * ("/X/data" with X dense): that is absent too. Any other failure is a damaged object header, and
 * is reported as such rather than as a missing dataset.
 */
function getEntity(lib: H5Lib, file: H5File, where: string): unknown {
  try {
    return file.get(where);
  } catch (error) {
    const parent = where.slice(0, where.lastIndexOf('/'));
    if (parent !== '' && getEntity(lib, file, parent) instanceof lib.Dataset) return null;
    throw error;
  }
}

export function requireDataset(lib: H5Lib, file: H5File, path: string, where: string, what: string): H5Dataset {
  const dataset = getDataset(lib, file, path, where);
  if (!dataset) throw new FormatError('missing-dataset', path, `missing ${what} (no dataset at ${where})`, { where });
  return dataset;
}

// HDF5 type classes (H5T_class_t).
export const H5T_INTEGER = 0;
export const H5T_FLOAT = 1;
export const H5T_STRING = 3;
export const H5T_COMPOUND = 6;
export const H5T_ENUM = 8;

/** Shape of a dataset, [] for a scalar. */
export function shapeOf(path: string, dataset: H5Dataset): number[] {
  return h5Guard(path, dataset.path, () => dataset.shape ?? []);
}

export function lengthOf(path: string, dataset: H5Dataset): number {
  const shape = shapeOf(path, dataset);
  if (shape.length !== 1) {
    throw new FormatError('shape-mismatch', path, `expected a 1-D dataset, found shape [${shape.join(', ')}]`, { where: dataset.path });
  }
  return shape[0] as number;
}

type Raw = ReturnType<H5Dataset['slice']>;

/**
 * Elements per HDF5 access when a whole 1-D dataset is read. Each access is one step of the probe's
 * watchdog (h5-probe.ts): LINCS 2020's 720,216 ids took 5 s in one access at load 16 and passed the
 * 10 s stall limit at load 23, so a busy machine made a sound file look damaged.
 */
export const READ_SLICE_ELEMENTS = 65_536;

/** Reads [start, end) of a 1-D dataset (whole dataset when omitted) as raw h5wasm output. */
export function read1d(path: string, dataset: H5Dataset, start?: number, end?: number): Raw {
  if (start === undefined || end === undefined) {
    const shape = h5Guard(path, dataset.path, () => dataset.shape);
    const length = shape?.length === 1 ? (shape[0] as number) : 0;
    if (length > READ_SLICE_ELEMENTS) return readInSlices(path, dataset, length);
    return h5Guard(path, dataset.path, () => dataset.value);
  }
  if (end <= start) return null;
  return h5Guard(path, dataset.path, () => dataset.slice([[start, end]]));
}

/** A whole 1-D dataset in READ_SLICE_ELEMENTS pieces, joined into what one read would return. */
function readInSlices(path: string, dataset: H5Dataset, length: number): Raw {
  const parts: Raw[] = [];
  for (let from = 0; from < length; from += READ_SLICE_ELEMENTS) {
    const to = Math.min(length, from + READ_SLICE_ELEMENTS);
    parts.push(h5Guard(path, dataset.path, () => dataset.slice([[from, to]])));
  }
  const first = parts[0];
  if (parts.every(Array.isArray)) return (parts as unknown[][]).flat() as Raw;
  if (ArrayBuffer.isView(first) && !(first instanceof DataView)) {
    const typed = first as unknown as { constructor: new (n: number) => Float64Array };
    const joined = new typed.constructor(length);
    let offset = 0;
    for (const part of parts as unknown as Float64Array[]) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined as unknown as Raw;
  }
  throw new FormatError('unsupported', path, 'could not join the pieces of a 1-D dataset', { where: dataset.path });
}

/** Any numeric typed array or array of numbers/bigints → number[] (bigints converted). */
export function toNumbers(path: string, where: string, raw: Raw): Float64Array {
  if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    const out = new Float64Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]);
    return out;
  }
  if (ArrayBuffer.isView(raw) && !(raw instanceof DataView)) {
    return Float64Array.from(raw as unknown as ArrayLike<number>);
  }
  if (typeof raw === 'number') return Float64Array.of(raw);
  if (typeof raw === 'bigint') return Float64Array.of(Number(raw));
  throw new FormatError('unsupported', path, 'expected numeric data', { where });
}

/** Reads a whole 1-D string dataset (fixed-length or variable-length, ASCII or UTF-8). */
export function readStrings(path: string, dataset: H5Dataset): string[] {
  const meta = h5Guard(path, dataset.path, () => dataset.metadata);
  if (meta.type !== H5T_STRING) {
    // Ids stored as numbers (some writers do this for gene ids): keep their decimal text.
    if (meta.type === H5T_INTEGER || meta.type === H5T_FLOAT) {
      return Array.from(toNumbers(path, dataset.path, read1d(path, dataset)), (v) => String(v));
    }
    throw new FormatError('unsupported', path, `expected strings, found HDF5 type class ${meta.type}`, { where: dataset.path });
  }
  const raw = read1d(path, dataset);
  const values = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : null;
  if (!values?.every((v) => typeof v === 'string')) {
    throw new FormatError('unsupported', path, 'could not decode string data', { where: dataset.path });
  }
  return meta.strpad === 2 ? stripSpacePadding(values as string[]) : (values as string[]);
}

/**
 * Reads a whole (or [start, end) of a) 1-D metadata dataset, typed by its HDF5 type: strings stay
 * strings, integers and floats become numbers (NaN → null), two-member FALSE/TRUE enums (h5py
 * booleans) become "true"/"false", other enums their member names. With cmapMissing (GCTX), the
 * CMap marker -666 (as "-666" or as a number) and empty strings are null too.
 */
export function readMetaColumn(path: string, dataset: H5Dataset, options: { cmapMissing?: boolean } = {}): MetaValue[] {
  const cmap = options.cmapMissing ?? true;
  const meta = h5Guard(path, dataset.path, () => dataset.metadata);
  if (meta.type === H5T_STRING) return metaFromStrings(readStrings(path, dataset), cmap);
  if (meta.type === H5T_INTEGER || meta.type === H5T_FLOAT)
    return metaFromNumbers(toNumbers(path, dataset.path, read1d(path, dataset)), cmap);
  if (meta.type === H5T_ENUM && meta.enum_type) {
    const names = enumNames(meta.enum_type.members);
    return Array.from(toNumbers(path, dataset.path, read1d(path, dataset)), (code) => names.get(code) ?? null);
  }
  throw new FormatError('unsupported', path, `metadata of HDF5 type class ${meta.type} is not supported`, { where: dataset.path });
}

/**
 * A string metadata column's values; with cmap, "" and the CMap marker "-666" are missing. The
 * array is changed in place (callers pass one they just decoded): a column of a LINCS file has
 * hundreds of thousands of values, and a copy of each is garbage for the collector.
 */
export function metaFromStrings(values: string[], cmap: boolean): MetaValue[] {
  if (!cmap) return values;
  const meta: MetaValue[] = values;
  for (let i = 0; i < meta.length; i++) if (meta[i] === '' || meta[i] === '-666') meta[i] = null;
  return meta;
}

/** A numeric metadata column's values; NaN is missing, and with cmap the CMap marker -666 too. */
export function metaFromNumbers(values: Float64Array, cmap: boolean): MetaValue[] {
  return Array.from(values, (v) => (Number.isNaN(v) || (cmap && v === -666) ? null : v));
}

/** Fixed-length strings padded with spaces (MATLAB-style writers) lose the padding. */
export function stripSpacePadding(values: string[]): string[] {
  return values.map((v) => v.replace(/ +$/, ''));
}

/** Enum code → label; h5py booleans (FALSE=0, TRUE=1) map to "false"/"true". */
export function enumNames(members: Record<string, number>): Map<number, string> {
  const names = new Map(Object.entries(members).map(([name, code]) => [code, name] as const));
  if (names.size === 2 && names.get(0) === 'FALSE' && names.get(1) === 'TRUE') {
    return new Map([
      [0, 'false'],
      [1, 'true'],
    ]);
  }
  return names;
}

/** Reads an attribute as JSON-compatible data, or undefined if absent. */
export function readAttribute(entity: H5Dataset | H5Group, name: string): unknown {
  const names = Object.keys(entity.attrs);
  if (!names.includes(name)) return undefined;
  try {
    return entity.get_attribute(name, true);
  } catch {
    return undefined;
  }
}

/** A string attribute (scalar or one-element array), or undefined. */
export function readStringAttribute(entity: H5Dataset | H5Group, name: string): string | undefined {
  const value = readAttribute(entity, name);
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** The output array of a read and the lazy steps (one slice each) that fill it. */
export interface ReadPlan {
  out: Float32Array;
  /** One per hyperslab; a promise for one read off this thread (planned with `concurrent`). */
  steps: Iterable<Promise<void> | undefined | void>;
}

/**
 * Base of the matrix-file readers (HDF5 through h5wasm or through h5js): ids, each axis's metadata on
 * first use (or taken preloaded), and reads planned by planRead.
 */
export abstract class MatrixFileReader extends BatchedReader {
  readonly path: string;
  readonly nGenes: number;
  readonly nSamples: number;
  readonly #geneIds: string[];
  readonly #sampleIds: string[];
  #geneMetadata: MetadataTable | null;
  #sampleMetadata: MetadataTable | null;

  constructor(path: string, axes: { geneIds: string[]; sampleIds: string[]; preloaded?: PreloadedMetadata }) {
    super();
    this.path = path;
    this.#geneIds = axes.geneIds;
    this.#sampleIds = axes.sampleIds;
    this.nGenes = axes.geneIds.length;
    this.nSamples = axes.sampleIds.length;
    this.#geneMetadata = axes.preloaded?.geneMetadata ?? null;
    this.#sampleMetadata = axes.preloaded?.sampleMetadata ?? null;
  }

  geneIds(): string[] {
    return this.#geneIds;
  }

  sampleIds(): string[] {
    return this.#sampleIds;
  }

  geneMetadata(): MetadataTable {
    this.#geneMetadata ??= this.readMetadata('gene', this.nGenes);
    return this.#geneMetadata;
  }

  sampleMetadata(): MetadataTable {
    this.#sampleMetadata ??= this.readMetadata('sample', this.nSamples);
    return this.#sampleMetadata;
  }

  /** Reads one axis's metadata columns, `expected` entries each. */
  protected abstract readMetadata(axis: 'gene' | 'sample', expected: number): MetadataTable;

  override async readSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options: ReadIntoOptions = {},
  ): Promise<Float32Array> {
    const { out, steps } = this.planRead(sampleIndices, geneIndices, options.into, true);
    await runReadSteps(steps, options.signal);
    return out;
  }

  /** Validates a request and plans its read into `into` (checked) or a new array. */
  /** With `concurrent`, steps may be reads already running off this thread (runReadSteps waits for them). */
  protected abstract planRead(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    into?: Float32Array,
    concurrent?: boolean,
  ): ReadPlan;

  /** readSamples in one synchronous call. */
  protected readSync(sampleIndices: readonly number[], geneIndices: readonly number[] | null): Float32Array {
    const { out, steps } = this.planRead(sampleIndices, geneIndices);
    for (const _ of steps) {
      // one slice per step
    }
    return out;
  }

  abstract close(): void;
}

/** Base of the h5wasm readers: holds the open file until close(). */
export abstract class H5FileReader extends MatrixFileReader {
  protected readonly lib: H5Lib;
  protected file: H5File | null;

  constructor(path: string, lib: H5Lib, file: H5File, axes: { geneIds: string[]; sampleIds: string[]; preloaded?: PreloadedMetadata }) {
    super(path, axes);
    this.lib = lib;
    this.file = file;
  }

  close(): void {
    if (!this.file) return;
    try {
      this.file.close();
    } finally {
      this.file = null;
    }
  }

  /** The open file; throws once the reader is closed. */
  protected openFile(): H5File {
    if (!this.file) throw new Error(`${this.path}: reader is closed`);
    return this.file;
  }
}
