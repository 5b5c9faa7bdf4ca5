// Reading selected samples of a dense 2-D HDF5 dataset by hyperslabs (used by GCTX and dense h5ad X).
//
// Requested samples are sorted and grouped into spans: runs of samples whose gaps are small (the
// skipped rows are cheaper to read than another call) or that share an HDF5 chunk along the sample
// axis (the chunk is read whole anyway). A span never exceeds maxSliceBytes and, for chunked data,
// ends on a chunk boundary so no chunk is decoded twice. Each span is one h5wasm slice restricted to
// the window [min gene, max gene] of the selection; genes are gathered from it in memory.

import type { GeneSelection } from './common.js';
import { FormatError } from './errors.js';
import { type H5Dataset, type H5Lib, H5T_FLOAT, H5T_INTEGER, h5Guard } from './h5.js';

export type DenseLayout = 'samples-first' | 'genes-first';

export interface DenseReadStats {
  /** Number of hyperslab reads issued. */
  slices: number;
  /** Matrix cells transferred from HDF5 (including gap rows and gene-window padding). */
  cellsRead: number;
}

export interface DenseSlicerOptions {
  /** Upper bound on the bytes of one HDF5 read (and of h5wasm's wasm heap growth). Default 16 MiB. */
  maxSliceBytes?: number;
  /** Skipped rows inside a span are read anyway when the gap is at most this many bytes. Default 256 KiB. */
  maxGapBytes?: number;
}

export const DEFAULT_MAX_SLICE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_GAP_BYTES = 256 * 1024;

/** Where a DenseSlicer's hyperslabs come from (h5wasm, or h5js for the files it reads). */
export interface SliceSource {
  /** Bytes per matrix cell. */
  bytesPerCell: number;
  /** HDF5 chunk shape of the matrix (file axes), null if not chunked. */
  chunks: number[] | null;
  /**
   * Reads the hyperslab ranges (file axes, [start, end) each) of `cells` values and hands it to
   * use() while it is valid. Throws FormatError.
   */
  read(ranges: [number, number][], cells: number, use: (data: NumericArray) => void): void;
  /** For float32 data: reads the hyperslab straight into out from cell `at`. */
  readInto?(ranges: [number, number][], out: Float32Array, at: number): void;
  /**
   * readInto off this thread (h5js: on libuv's thread pool), started now; null when this source
   * reads that hyperslab only synchronously. The promise settles once nothing more is written.
   */
  readIntoAsync?(ranges: [number, number][], out: Float32Array, at: number): Promise<void> | null;
}

interface Span {
  first: number;
  end: number;
  from: number;
  to: number;
}

/** HDF5 filters h5wasm decodes without plugins. */
const BUILTIN_FILTERS = new Set([1, 2, 3, 4, 5, 6]);

/** Throws 'unsupported' if the dataset needs a compression filter h5wasm does not have. */
export function checkFilters(path: string, dataset: H5Dataset): void {
  const filters = h5Guard(path, dataset.path, () => dataset.filters);
  for (const filter of filters) {
    if (!BUILTIN_FILTERS.has(filter.id)) {
      throw new FormatError(
        'unsupported',
        path,
        `compressed with HDF5 filter ${filter.id} (${filter.name || 'unknown'}), which this reader cannot decode; ` +
          'rewrite the file with gzip or no compression',
        { where: dataset.path },
      );
    }
  }
}

/** Hyperslabs of an h5wasm dataset. */
export function h5wasmSliceSource(lib: H5Lib, path: string, dataset: H5Dataset): SliceSource {
  const meta = h5Guard(path, dataset.path, () => dataset.metadata);
  const viewType = viewTypeOf(meta.type, meta.size, meta.signed);
  return {
    bytesPerCell: meta.size,
    chunks: meta.chunks ?? null,
    read: (ranges, cells, use) => readH5wasmSlice(lib, path, dataset, viewType, meta.size, ranges, cells, use),
  };
}

/**
 * Reads one hyperslab and hands it to use() while it is valid. The fast path reads straight into
 * a buffer malloc'd in the wasm heap and views it in place (h5wasm's slice() would copy it into a
 * fresh ArrayBuffer first); HDF5 converts big-endian data to little-endian on read.
 */
function readH5wasmSlice(
  lib: H5Lib,
  path: string,
  dataset: H5Dataset,
  View: NumericArrayConstructor | null,
  bytesPerCell: number,
  ranges: [number, number][],
  cells: number,
  use: (data: NumericArray) => void,
): void {
  const module = lib.Module;
  if (!View || !module || typeof module.get_dataset_data !== 'function') {
    const raw = h5Guard(path, dataset.path, () => dataset.slice(ranges));
    use(asNumeric(path, dataset.path, raw, cells));
    return;
  }
  const nbytes = cells * bytesPerCell;
  const ptr = module._malloc(Math.max(8, nbytes));
  if (!ptr) throw new FormatError('corrupt', path, `cannot allocate ${nbytes} bytes for a slice`, { where: dataset.path });
  try {
    const status = h5Guard(path, dataset.path, () =>
      module.get_dataset_data(
        dataset.file_id,
        dataset.path,
        ranges.map(([a, b]) => BigInt(b - a)),
        ranges.map(([a]) => BigInt(a)),
        ranges.map(() => 1n),
        BigInt(ptr),
      ),
    );
    if (status < 0) throw new FormatError('corrupt', path, `HDF5 read failed (status ${status})`, { where: dataset.path });
    // Created after the read: the wasm memory may have grown (and its buffer been replaced).
    use(new View(module.HEAPU8.buffer, ptr, cells));
  } finally {
    module._free(ptr);
  }
}

export class DenseSlicer {
  readonly stats: DenseReadStats = { slices: 0, cellsRead: 0 };
  private readonly chunkRows: number;
  private readonly bytesPerCell: number;
  private readonly maxSliceBytes: number;
  private readonly maxGapBytes: number;
  private lastSelection: GeneSelection | null = null;
  private lastWindow: [number, number] = [0, 0];

  constructor(
    private readonly source: SliceSource,
    readonly layout: DenseLayout,
    private readonly nGenes: number,
    options: DenseSlicerOptions = {},
  ) {
    this.bytesPerCell = source.bytesPerCell;
    const sampleAxis = layout === 'samples-first' ? 0 : 1;
    this.chunkRows = source.chunks ? (source.chunks[sampleAxis] ?? 1) : 0;
    this.maxSliceBytes = Math.max(1, options.maxSliceBytes ?? DEFAULT_MAX_SLICE_BYTES);
    this.maxGapBytes = Math.max(0, options.maxGapBytes ?? DEFAULT_MAX_GAP_BYTES);
  }

  /**
   * Sorted requests (file index, output position) → values written to out (sample-major). One
   * step per span; with `concurrent`, a span the source reads off this thread is a promise,
   * already started (runReadSteps waits for them all).
   */
  *read(
    fileIndex: Int32Array,
    outPos: Int32Array,
    genes: GeneSelection,
    out: Float32Array,
    concurrent = false,
  ): Generator<Promise<void> | undefined, void, undefined> {
    if (fileIndex.length === 0 || genes.count === 0) return;
    // Batches of one iteration share their selection: its window is found once.
    if (this.lastSelection !== genes) {
      this.lastSelection = genes;
      this.lastWindow = geneWindow(genes);
    }
    const window = this.lastWindow;
    for (const span of this.plan(fileIndex, window)) yield this.readSpan(span, fileIndex, outPos, genes, window, out, concurrent);
  }

  private *plan(fileIndex: Int32Array, [g0, g1]: [number, number]): Generator<Span> {
    const n = fileIndex.length;
    const rowBytes = Math.max(1, (g1 - g0) * this.bytesPerCell);
    const maxRows = Math.max(1, Math.floor(this.maxSliceBytes / rowBytes));
    const maxGapRows = Math.floor(this.maxGapBytes / Math.max(1, this.nGenes * this.bytesPerCell));
    const chunkRows = this.chunkRows;
    let from = 0;
    while (from < n) {
      const first = fileIndex[from] as number;
      let limit = first + maxRows; // exclusive bound on the span end
      if (chunkRows > 1) {
        const aligned = Math.floor(limit / chunkRows) * chunkRows;
        if (aligned > first) limit = aligned;
      }
      let to = from + 1;
      let last = first;
      while (to < n) {
        const next = fileIndex[to] as number;
        if (next >= limit) break;
        const sameChunk = chunkRows > 1 && Math.floor(next / chunkRows) === Math.floor(last / chunkRows);
        if (next - last - 1 > maxGapRows && !sameChunk) break;
        last = next;
        to++;
      }
      yield { first, end: last + 1, from, to };
      from = to;
    }
  }

  private readSpan(
    span: Span,
    fileIndex: Int32Array,
    outPos: Int32Array,
    genes: GeneSelection,
    [g0, g1]: [number, number],
    out: Float32Array,
    concurrent: boolean,
  ): Promise<void> | undefined {
    const width = g1 - g0;
    const rows = span.end - span.first;
    const ranges: [number, number][] =
      this.layout === 'samples-first'
        ? [
            [span.first, span.end],
            [g0, g1],
          ]
        : [
            [g0, g1],
            [span.first, span.end],
          ];
    this.stats.slices++;
    this.stats.cellsRead += rows * width;
    if (this.source.readInto && this.isDirect(span, fileIndex, outPos, genes, width)) {
      // The span is exactly the output's next rows: read straight into them, no copy in between.
      const at = (outPos[span.from] as number) * width;
      const reading = concurrent ? this.source.readIntoAsync?.(ranges, out, at) : null;
      if (reading) return reading;
      this.source.readInto(ranges, out, at);
      return;
    }
    this.source.read(ranges, rows * width, (data) => this.scatter(data, span, fileIndex, outPos, genes, g0, width, rows, out));
    return;
  }

  /** Every row of the span, once, in file order, landing on consecutive output rows, all genes of the window. */
  private isDirect(span: Span, fileIndex: Int32Array, outPos: Int32Array, genes: GeneSelection, width: number): boolean {
    if (this.layout !== 'samples-first' || genes.runStart === null || genes.count !== width) return false;
    if (span.to - span.from !== span.end - span.first) return false;
    const base = outPos[span.from] as number;
    for (let k = span.from; k < span.to; k++) {
      if (fileIndex[k] !== span.first + (k - span.from) || outPos[k] !== base + (k - span.from)) return false;
    }
    return true;
  }

  private scatter(
    data: NumericArray,
    span: Span,
    fileIndex: Int32Array,
    outPos: Int32Array,
    genes: GeneSelection,
    g0: number,
    width: number,
    rows: number,
    out: Float32Array,
  ): void {
    const count = genes.count;
    const idx = genes.indices;
    const contiguous = genes.runStart !== null;
    const wholeRows = this.layout === 'samples-first' && contiguous && count === width && data instanceof Float32Array;
    for (let k = span.from; k < span.to; k++) {
      const r = (fileIndex[k] as number) - span.first;
      const o = (outPos[k] as number) * count;
      if (wholeRows) {
        // Extend over following requests that are consecutive both in the file and in the output.
        let run = 1;
        while (
          k + run < span.to &&
          fileIndex[k + run] === (fileIndex[k] as number) + run &&
          outPos[k + run] === (outPos[k] as number) + run
        ) {
          run++;
        }
        out.set(data.subarray(r * width, (r + run) * width), o);
        k += run - 1;
        continue;
      }
      if (this.layout === 'samples-first') {
        const rowStart = r * width;
        if (contiguous && data instanceof Float32Array) {
          out.set(data.subarray(rowStart, rowStart + count), o);
        } else {
          const base = rowStart - g0;
          for (let j = 0; j < count; j++) out[o + j] = data[base + (idx[j] as number)] as number;
        }
      } else {
        for (let j = 0; j < count; j++) out[o + j] = data[((idx[j] as number) - g0) * rows + r] as number;
      }
    }
  }
}

export function geneWindow(genes: GeneSelection): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = -1;
  for (const g of genes.indices) {
    if (g < lo) lo = g;
    if (g > hi) hi = g;
  }
  return [lo, hi + 1];
}

export type NumericArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export type NumericArrayConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NumericArray;

export function viewTypeOf(type: number, size: number, signed: boolean): NumericArrayConstructor | null {
  if (type === H5T_FLOAT) return size === 4 ? Float32Array : size === 8 ? Float64Array : null;
  if (type !== H5T_INTEGER) return null;
  if (size === 1) return signed ? Int8Array : Uint8Array;
  if (size === 2) return signed ? Int16Array : Uint16Array;
  if (size === 4) return signed ? Int32Array : Uint32Array;
  return null; // 64-bit integers: h5wasm's slice() path converts them
}

/** Checks an h5wasm slice result is a numeric typed array of the expected length (bigints converted). */
export function asNumeric(path: string, where: string, raw: unknown, expected: number): NumericArray {
  let data: NumericArray;
  if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    data = Float64Array.from(raw, (v) => Number(v));
  } else if (ArrayBuffer.isView(raw) && !(raw instanceof DataView) && !(raw instanceof Uint8ClampedArray)) {
    data = raw as NumericArray;
  } else if (typeof raw === 'number' && expected === 1) {
    data = Float64Array.of(raw);
  } else {
    throw new FormatError('unsupported', path, 'the slice did not return numeric data', { where });
  }
  if (data.length !== expected) {
    throw new FormatError('corrupt', path, `a slice returned ${data.length} values, expected ${expected}`, { where });
  }
  return data;
}
