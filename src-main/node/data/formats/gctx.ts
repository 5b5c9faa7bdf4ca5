// GCTX reader (CMap's HDF5 expression format, as written by cmapPy, cmapR and cmapM).
//
// Layout (verified on cmapPy's fixtures with h5py):
//   /0/DATA/0/matrix   2-D float32 (sometimes float64), HDF5 shape [n_samples, n_genes]: the GCT
//                      matrix transposed, so one sample's profile is contiguous on disk.
//   /0/META/ROW/id     gene (GCT row) ids, fixed-length ASCII strings
//   /0/META/COL/id     sample (GCT column) ids
//   /0/META/ROW/<col>, /0/META/COL/<col>  metadata columns, one 1-D dataset each
//                      (fixed-length ASCII, <q int64, <d float64); "-666" means missing.
//   attribute "version" = "GCTX1.0" on the root (scalar or 1-element array).
// A matrix stored the other way round ([n_genes, n_samples]) is accepted and read correctly
// (layout 'genes-first'), only slower; when n_genes == n_samples the cmapPy convention is assumed.
//
// Reading never loads the matrix: requested samples are sorted, grouped into spans (contiguous or
// nearly contiguous rows, and rows sharing an HDF5 chunk), and each span is one hyperslab read of
// at most maxSliceBytes, restricted to the window of requested genes; genes are then gathered from
// the window in memory. Arbitrary gene subsets are not sliced per gene: h5wasm exposes one hyperslab
// per call, and on a 12,328-gene file one call per landmark gene (978 scattered genes, 500 samples)
// took 1.2 s against 0.01 s for reading the row window and picking the genes in JS. A contiguous
// gene range is sliced directly (the window is the range), which is what "first 978 genes" costs.
// See dense.ts for the span rules and the read path.
//
// Files are read by h5js (HDF5 in plain JavaScript, h5js.ts) when it understands their structure,
// which is what cmapPy, cmapR, cmapM, h5py and h5wasm write; otherwise, or when they are damaged, by
// h5wasm, which names what is wrong. Both give the same ids, metadata and values.

import { batchSamples, checkIndices, findDuplicate, type GeneSelection, runReadSteps, selectGenes, sortRequests } from './common.js';
import {
  checkFilters,
  type DenseLayout,
  type DenseReadStats,
  DenseSlicer,
  type DenseSlicerOptions,
  geneWindow,
  h5wasmSliceSource,
  type NumericArrayConstructor,
  type SliceSource,
  viewTypeOf,
} from './dense.js';
import { FormatError } from './errors.js';
import {
  getGroup,
  type H5Dataset,
  type H5File,
  type H5Lib,
  H5T_FLOAT,
  H5T_INTEGER,
  h5Guard,
  lengthOf,
  MatrixFileReader,
  metaFromNumbers,
  metaFromStrings,
  openHdf5,
  type ReadPlan,
  readMetaColumn,
  readStringAttribute,
  readStrings,
  requireDataset,
  shapeOf,
  stripSpacePadding,
} from './h5.js';
import { H5JsDataError, type H5JsDataset, H5JsFile, type H5JsReadOp, type H5JsType, H5JsUnsupported } from './h5js.js';
import {
  type ExpressionSource,
  type IterateOptions,
  type MetadataTable,
  type MetaValue,
  outputArray,
  type PreloadedMetadata,
  type SampleBatch,
} from './types.js';

export const GCTX_MATRIX = '/0/DATA/0/matrix';
export const GCTX_ROW_META = '/0/META/ROW';
export const GCTX_COL_META = '/0/META/COL';

export type GctxLayout = DenseLayout;

export interface GctxOpenOptions extends DenseSlicerOptions {
  /** Ids and metadata already read (by the probe worker): not read again. */
  preloaded?: PreloadedMetadata;
  /**
   * h5js: hyperslabs of at least this many bytes are read half on libuv's thread pool (default
   * POOL_READ_MIN_BYTES, 2 MiB); tests set 0 to take that path on small files.
   */
  poolReadMinBytes?: number;
}

/** What a GctxReader needs from the open file, whichever library reads it. */
interface GctxFile {
  /** 'h5js' or 'h5wasm': which reader the file was opened with. */
  engine: 'h5js' | 'h5wasm';
  matrix: SliceSource;
  /** h5wasm-style dtype string of the matrix, e.g. "<f" or "<d". */
  matrixDtype: string;
  version: string | undefined;
  /** One metadata group's columns (not "id"), each checked to have `expected` values. */
  readMetadataGroup(where: string, expected: number): MetadataTable;
  isOpen(): boolean;
  close(): void;
  /** h5js on a compressed matrix: decodes the chunks of coming reads on the thread pool. */
  readAhead?: MatrixReadAhead;
}

/** Chunk decoding ahead of the reads, for a samples-first matrix; rows are sample indices. */
interface MatrixReadAhead {
  /** Chunk rows the matrix has (samples per chunk). */
  chunkRows: number;
  /** Starts decoding the chunks holding these rows in genes [g0, g1), up to `limit` chunks held. */
  start(rows: ArrayLike<number>, g0: number, g1: number, limit: number): number;
  /** Waits for those of them being decoded; a chunk that does not decode is a FormatError. */
  wait(rows: ArrayLike<number>, g0: number, g1: number): Promise<void>;
  /** Forgets chunks decoded for reads that will not come. */
  drop(): void;
}

export class GctxReader extends MatrixFileReader implements ExpressionSource {
  readonly format = 'gctx' as const;
  readonly layout: GctxLayout;
  /** h5wasm dtype string of the matrix, e.g. "<f" or "<d". */
  readonly matrixDtype: string;
  /** HDF5 chunk shape of the matrix (file axes), null if contiguous. */
  readonly chunks: number[] | null;
  readonly version: string | undefined;
  /** Which library reads the file (h5js when it understands the file's structure). */
  readonly engine: 'h5js' | 'h5wasm';
  /** Cumulative read statistics (for benchmarks and tests). */
  readonly stats: DenseReadStats;

  private readonly file: GctxFile;
  private readonly slicer: DenseSlicer;

  /** @internal use openGctx */
  constructor(init: { path: string; file: GctxFile; rowIds: string[]; colIds: string[]; layout: GctxLayout; options: GctxOpenOptions }) {
    super(init.path, { geneIds: init.rowIds, sampleIds: init.colIds, preloaded: init.options.preloaded });
    this.file = init.file;
    this.engine = init.file.engine;
    this.layout = init.layout;
    this.matrixDtype = init.file.matrixDtype;
    this.chunks = init.file.matrix.chunks;
    this.version = init.file.version;
    this.slicer = new DenseSlicer(init.file.matrix, init.layout, this.nGenes, init.options);
    this.stats = this.slicer.stats;
  }

  protected override readMetadata(axis: 'gene' | 'sample', expected: number): MetadataTable {
    this.assertOpen();
    return this.file.readMetadataGroup(axis === 'gene' ? GCTX_ROW_META : GCTX_COL_META, expected);
  }

  /**
   * Values of the given samples (GCT columns; any order, duplicates allowed) for the given genes
   * (GCT rows; null = all in file order), sample-major: result[i * nGenesSelected + j].
   */
  readColumns(sampleIndices: readonly number[], geneIndices: readonly number[] | null): Float32Array {
    return this.readSync(sampleIndices, geneIndices);
  }

  close(): void {
    this.file.close();
  }

  // -------------------------------------------------------------------------------------------

  /**
   * The request is checked once, not again for every batch: each batch is a slice of the checked
   * sample list with the same genes (before, every batch re-checked its samples and all the genes
   * and found the gene window anew: cold JS that h5py does not run).
   */
  override iterateSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options: IterateOptions = {},
  ): AsyncGenerator<SampleBatch, void, undefined> {
    const genes = this.checkRequest(sampleIndices, geneIndices);
    const ahead = this.layout === 'samples-first' ? this.file.readAhead : undefined;
    const [g0, g1] = geneWindow(genes);
    let position = 0;
    const batches = batchSamples(sampleIndices, genes.count, options, async (indices, into) => {
      this.assertOpen();
      const { out, steps, fileIndex } = this.planChecked(indices, genes, into, true);
      if (ahead) {
        // This batch's chunks, then those of the samples after it (at least four chunk rows, so
        // both cores have work while this batch is copied out and used).
        const later = sampleIndices.slice(
          position + indices.length,
          position + indices.length + Math.max(indices.length, 4 * ahead.chunkRows),
        );
        const limit = 2 * ahead.start(fileIndex, g0, g1, Number.POSITIVE_INFINITY) + 8;
        ahead.start(
          later.sort((a, b) => a - b),
          g0,
          g1,
          limit,
        );
        await ahead.wait(fileIndex, g0, g1);
      }
      position += indices.length;
      await runReadSteps(steps, options.signal);
      return out;
    });
    if (!ahead) return batches;
    return (async function* dropUnused() {
      try {
        yield* batches;
      } finally {
        ahead.drop();
      }
    })();
  }

  protected override planRead(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    into?: Float32Array,
    concurrent = false,
  ): ReadPlan {
    return this.planChecked(sampleIndices, this.checkRequest(sampleIndices, geneIndices), into, concurrent);
  }

  private planChecked(
    sampleIndices: readonly number[],
    genes: GeneSelection,
    into: Float32Array | undefined,
    concurrent: boolean,
  ): ReadPlan & { fileIndex: Int32Array } {
    const out = outputArray(sampleIndices.length * genes.count, into);
    const { fileIndex, outPos } = sortRequests(sampleIndices);
    return { out, steps: this.slicer.read(fileIndex, outPos, genes, out, concurrent), fileIndex };
  }

  protected override checkRequest(sampleIndices: readonly number[], geneIndices: readonly number[] | null): GeneSelection {
    this.assertOpen();
    checkIndices(this.path, sampleIndices, this.nSamples, 'sample');
    return selectGenes(this.path, geneIndices, this.nGenes);
  }

  private assertOpen(): void {
    if (!this.file.isOpen()) throw new Error(`${this.path}: reader is closed`);
  }
}

function metadataLengthError(path: string, where: string, length: number, expected: number): FormatError {
  return new FormatError('shape-mismatch', path, `metadata column has ${length} values but there are ${expected} ids`, { where });
}

/** The matrix's layout from its shape and the id counts. Throws FormatError('shape-mismatch'). */
function layoutOf(path: string, shape: number[], nRows: number, nCols: number): GctxLayout {
  if (shape.length !== 2) {
    throw new FormatError('shape-mismatch', path, `the matrix must be 2-D, found shape [${shape.join(', ')}]`, { where: GCTX_MATRIX });
  }
  const [d0, d1] = shape as [number, number];
  if (d0 === nCols && d1 === nRows) return 'samples-first';
  if (d0 === nRows && d1 === nCols) return 'genes-first';
  throw new FormatError(
    'shape-mismatch',
    path,
    `matrix shape [${d0}, ${d1}] does not match ${nCols} column ids × ${nRows} row ids ` + `(expected [${nCols}, ${nRows}], samples first)`,
    { where: GCTX_MATRIX },
  );
}

// ---------------------------------------------------------------------------------------------
// h5wasm

function h5wasmGctxFile(path: string, lib: H5Lib, file: H5File, matrix: H5Dataset): GctxFile {
  let open = true;
  return {
    engine: 'h5wasm',
    matrix: h5wasmSliceSource(lib, path, matrix),
    matrixDtype: h5Guard(path, GCTX_MATRIX, () => matrix.dtype as string),
    version: readStringAttribute(file, 'version'),
    readMetadataGroup(where, expected) {
      const table: MetadataTable = new Map();
      const group = getGroup(lib, file, path, where);
      if (!group) return table;
      const names = h5Guard(path, where, () => group.keys());
      for (const name of names) {
        if (name === 'id') continue;
        const dsPath = `${where}/${name}`;
        const dataset = requireDataset(lib, file, path, dsPath, `metadata column ${name}`);
        const length = lengthOf(path, dataset);
        if (length !== expected) throw metadataLengthError(path, dsPath, length, expected);
        table.set(name, readMetaColumn(path, dataset));
      }
      return table;
    },
    isOpen: () => open,
    close() {
      if (!open) return;
      open = false;
      file.close();
    },
  };
}

/** Opens a GCTX file with h5wasm, validating its layout and ids. Throws FormatError. */
export async function openGctxH5wasm(path: string, options: GctxOpenOptions = {}): Promise<GctxReader> {
  const { lib, file } = await openHdf5(path);
  try {
    const matrix = requireDataset(lib, file, path, GCTX_MATRIX, 'the expression matrix');
    const rowIdDs = requireDataset(lib, file, path, `${GCTX_ROW_META}/id`, 'the row (gene) ids');
    const colIdDs = requireDataset(lib, file, path, `${GCTX_COL_META}/id`, 'the column (sample) ids');
    const meta = h5Guard(path, GCTX_MATRIX, () => matrix.metadata);
    if (meta.type !== H5T_FLOAT && meta.type !== H5T_INTEGER) {
      throw new FormatError('unsupported', path, `the matrix must be numeric, found HDF5 type class ${meta.type}`, { where: GCTX_MATRIX });
    }
    checkFilters(path, matrix);
    const shape = shapeOf(path, matrix);
    if (shape.length !== 2) layoutOf(path, shape, 0, 0);
    const rowIds = options.preloaded?.geneIds ?? readStrings(path, rowIdDs);
    const colIds = options.preloaded?.sampleIds ?? readStrings(path, colIdDs);
    const layout = layoutOf(path, shape, rowIds.length, colIds.length);
    checkIds(path, checkedIds(rowIds), `${GCTX_ROW_META}/id`, 'row');
    checkIds(path, checkedIds(colIds), `${GCTX_COL_META}/id`, 'column');
    return new GctxReader({ path, file: h5wasmGctxFile(path, lib, file, matrix), rowIds, colIds, layout, options });
  } catch (error) {
    try {
      file.close();
    } catch {
      // ignore: the original error matters
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// h5js

/** h5wasm's dtype string for a numeric type ("<f", "<d", "<i", ">H", ...). */
function dtypeString(type: H5JsType): string {
  if (type.kind === 'float') return `${type.littleEndian ? '<' : '>'}${type.size === 4 ? 'f' : 'd'}`;
  if (type.kind !== 'int') return 'unknown';
  const code = ({ 1: 'b', 2: 'h', 4: 'i', 8: 'q' } as Record<number, string>)[type.size] ?? '?';
  return `${type.littleEndian ? '<' : '>'}${type.signed ? code : code.toUpperCase()}`;
}

/** A 1-D numeric dataset's values as numbers (int64 through Number, as h5wasm's reader does). */
function h5jsNumbers(dataset: H5JsDataset): Float64Array {
  const type = dataset.type;
  const bytes = dataset.readAll();
  const n = dataset.count;
  const out = new Float64Array(n);
  if (type.kind === 'float') {
    for (let i = 0; i < n; i++)
      out[i] =
        type.size === 4
          ? type.littleEndian
            ? bytes.readFloatLE(i * 4)
            : bytes.readFloatBE(i * 4)
          : type.littleEndian
            ? bytes.readDoubleLE(i * 8)
            : bytes.readDoubleBE(i * 8);
  } else if (type.kind === 'int') {
    const { size, signed, littleEndian } = type;
    for (let i = 0; i < n; i++) {
      const at = i * size;
      if (size === 8) {
        const v = signed
          ? littleEndian
            ? bytes.readBigInt64LE(at)
            : bytes.readBigInt64BE(at)
          : littleEndian
            ? bytes.readBigUInt64LE(at)
            : bytes.readBigUInt64BE(at);
        out[i] = Number(v);
      } else if (signed) out[i] = littleEndian ? bytes.readIntLE(at, size) : bytes.readIntBE(at, size);
      else out[i] = littleEndian ? bytes.readUIntLE(at, size) : bytes.readUIntBE(at, size);
    }
  }
  return out;
}

/** A 1-D dataset's strings, as readStrings gives them (numbers as their decimal text). */
function h5jsStrings(file: H5JsFile, dataset: H5JsDataset): string[] {
  const type = dataset.type;
  if (type.kind === 'int' || type.kind === 'float') return Array.from(h5jsNumbers(dataset), (v) => String(v));
  const values = file.decodeStrings(type, dataset.readAll(), dataset.count);
  return type.kind === 'string' && type.pad === 2 ? stripSpacePadding(values) : values;
}

function h5jsMetaColumn(file: H5JsFile, dataset: H5JsDataset): MetaValue[] {
  const kind = dataset.type.kind;
  if (kind === 'string' || kind === 'vlen-string') return metaFromStrings(h5jsStrings(file, dataset), true);
  return metaFromNumbers(h5jsNumbers(dataset), true);
}

/**
 * Hyperslabs smaller than this are read on this thread: a thread-pool round trip costs two
 * wake-ups, which on a busy machine take longer than copying a 1 MB chunk.
 */
const POOL_READ_MIN_BYTES = 2 * 1024 * 1024;

/** Hyperslabs of the matrix by positional reads, into one reused aligned buffer or straight into the output. */
function h5jsSliceSource(path: string, matrix: H5JsDataset, View: NumericArrayConstructor, poolReadMinBytes: number): SliceSource {
  let buffer = Buffer.alloc(0);
  const element = matrix.elementSize;
  const readRows = (ranges: [number, number][], into: Buffer) => {
    const [[r0, r1], [c0, c1]] = ranges as [[number, number], [number, number]];
    try {
      matrix.readRows2d(r0, r1, c0, c1, into);
    } catch (error) {
      throw h5jsReadError(path, GCTX_MATRIX, 'the matrix', error);
    }
  };
  return {
    bytesPerCell: element,
    chunks: matrix.layout.kind === 'chunked' ? matrix.layout.chunk : null,
    read(ranges, cells, use) {
      const bytes = cells * element;
      // A fresh ArrayBuffer (not Node's pool) keeps the typed view aligned.
      if (buffer.length < bytes) buffer = Buffer.from(new ArrayBuffer(Math.max(bytes, buffer.length * 2)));
      readRows(ranges, buffer);
      use(new View(buffer.buffer, buffer.byteOffset, cells));
    },
    ...(View === Float32Array
      ? {
          readInto(ranges: [number, number][], out: Float32Array, at: number) {
            const cells = ranges.reduce((n, [a, b]) => n * (b - a), 1);
            readRows(ranges, Buffer.from(out.buffer, out.byteOffset + at * 4, cells * 4));
          },
          readIntoAsync(ranges: [number, number][], out: Float32Array, at: number) {
            const [[r0, r1], [c0, c1]] = ranges as [[number, number], [number, number]];
            const target = new Uint8Array(out.buffer, out.byteOffset + at * 4, (r1 - r0) * (c1 - c0) * 4);
            if (target.length < poolReadMinBytes) return null;
            let reads: H5JsReadOp[] | null;
            try {
              reads = matrix.planRows2d(r0, r1, c0, c1, target);
            } catch (error) {
              throw h5jsReadError(path, GCTX_MATRIX, 'the matrix', error);
            }
            if (!reads) return null;
            return matrix.file.readVectors(reads).catch((error: unknown) => {
              throw h5jsReadError(path, GCTX_MATRIX, 'the matrix', error);
            });
          },
        }
      : {}),
  };
}

/** A problem h5js met reading values of a file it opened: damage, named as such. */
function h5jsReadError(path: string, where: string, what: string, error: unknown): unknown {
  if (!(error instanceof H5JsDataError || error instanceof H5JsUnsupported)) return error;
  const code = /beyond the end of the file|ended early/.test(error.message) ? 'truncated' : 'corrupt';
  const damage = code === 'truncated' ? 'the file is truncated' : 'the HDF5 data is corrupt';
  return new FormatError(code, path, `${damage} (reading ${what}: ${error.message})`, { where, cause: error });
}

function h5jsGctxFile(
  path: string,
  file: H5JsFile,
  matrix: H5JsDataset,
  View: NumericArrayConstructor,
  columns: Map<string, Map<string, H5JsDataset>>,
  poolReadMinBytes: number,
): GctxFile {
  return {
    engine: 'h5js',
    matrix: h5jsSliceSource(path, matrix, View, poolReadMinBytes),
    matrixDtype: dtypeString(matrix.type),
    version: file.stringAttribute(file.resolve('/') as number, 'version'),
    readMetadataGroup(where, expected) {
      const table: MetadataTable = new Map();
      for (const [name, dataset] of columns.get(where) ?? []) {
        const dsPath = `${where}/${name}`;
        if (dataset.shape.length !== 1) {
          throw new FormatError('shape-mismatch', path, `expected a 1-D dataset, found shape [${dataset.shape.join(', ')}]`, {
            where: dsPath,
          });
        }
        if (dataset.count !== expected) throw metadataLengthError(path, dsPath, dataset.count, expected);
        try {
          table.set(name, h5jsMetaColumn(file, dataset));
        } catch (error) {
          throw h5jsReadError(path, dsPath, 'the metadata', error);
        }
      }
      return table;
    },
    isOpen: () => !file.isClosed,
    close: () => file.close(),
    ...(matrix.filtered ? { readAhead: h5jsReadAhead(path, matrix) } : {}),
  };
}

function h5jsReadAhead(path: string, matrix: H5JsDataset): MatrixReadAhead {
  return {
    chunkRows: matrix.layout.chunk[0] as number,
    start(rows, g0, g1, limit) {
      const cells = matrix.chunkCells(rows, g0, g1);
      matrix.readAhead(cells, limit);
      return cells.length;
    },
    async wait(rows, g0, g1) {
      try {
        await matrix.waitFor(matrix.chunkCells(rows, g0, g1));
      } catch (error) {
        throw h5jsReadError(path, GCTX_MATRIX, 'the matrix', error);
      }
    },
    drop: () => matrix.dropReadAhead(),
  };
}

/**
 * Opens a GCTX file with h5js, or returns null when h5js does not read this file (not HDF5, a
 * structure it does not implement, damage, a missing file: anything openGctxH5wasm should report on).
 * Synchronous inside: on a busy machine every thread-pool round trip of async fs costs a wake-up.
 */
export async function openGctxJs(path: string, options: GctxOpenOptions = {}): Promise<GctxReader | null> {
  let file: H5JsFile | null = null;
  try {
    file = H5JsFile.open(path);
    const at = (where: string): number => {
      const address = (file as H5JsFile).resolve(where);
      if (address === null || !(file as H5JsFile).isDataset(address)) throw new H5JsUnsupported(`no dataset at ${where}`);
      return address;
    };
    const matrix = file.dataset(at(GCTX_MATRIX), GCTX_MATRIX);
    const type = matrix.type;
    // Little-endian numbers that a typed array views as they are (HDF5 would convert the others).
    const View =
      (type.kind === 'float' || type.kind === 'int') && type.littleEndian
        ? viewTypeOf(type.kind === 'float' ? H5T_FLOAT : H5T_INTEGER, type.size, type.kind === 'int' && type.signed)
        : null;
    if (!View) throw new H5JsUnsupported(`matrix type ${dtypeString(type)}`);
    if (matrix.shape.length !== 2) throw new H5JsUnsupported('matrix rank');
    const rowIdDs = file.dataset(at(`${GCTX_ROW_META}/id`), `${GCTX_ROW_META}/id`);
    const colIdDs = file.dataset(at(`${GCTX_COL_META}/id`), `${GCTX_COL_META}/id`);
    for (const ds of [rowIdDs, colIdDs]) if (ds.shape.length !== 1) throw new H5JsUnsupported('id shape');
    // Every metadata column's header now, so a type h5js cannot decode sends the file to h5wasm.
    const columns = new Map<string, Map<string, H5JsDataset>>();
    for (const group of [GCTX_ROW_META, GCTX_COL_META]) {
      const address = file.resolve(group) as number;
      const members = new Map<string, H5JsDataset>();
      for (const [name, member] of file.links(address)) {
        if (name === 'id') continue;
        if (!file.isDataset(member)) throw new H5JsUnsupported(`${group}/${name} is not a dataset`);
        members.set(name, file.dataset(member, `${group}/${name}`));
      }
      columns.set(group, members);
    }
    const rows = options.preloaded ? checkedIds(options.preloaded.geneIds) : h5jsIds(file, rowIdDs);
    const cols = options.preloaded ? checkedIds(options.preloaded.sampleIds) : h5jsIds(file, colIdDs);
    const layout = layoutOf(path, matrix.shape, rows.ids.length, cols.ids.length);
    checkIds(path, rows, `${GCTX_ROW_META}/id`, 'row');
    checkIds(path, cols, `${GCTX_COL_META}/id`, 'column');
    const [rowIds, colIds] = [rows.ids, cols.ids];
    matrix.prepare();
    return new GctxReader({
      path,
      file: h5jsGctxFile(path, file, matrix, View, columns, options.poolReadMinBytes ?? POOL_READ_MIN_BYTES),
      rowIds,
      colIds,
      layout,
      options,
    });
  } catch {
    // h5wasm reads it, or reports what is wrong with it in its own words.
    file?.close();
    return null;
  }
}

/** Opens a GCTX file (h5js when it reads it, else h5wasm), validating its layout and ids. Throws FormatError. */
export async function openGctx(path: string, options: GctxOpenOptions = {}): Promise<GctxReader> {
  return (await openGctxJs(path, options)) ?? openGctxH5wasm(path, options);
}

/** Ids and their first duplicate (positions), or null. */
interface CheckedIds {
  ids: string[];
  duplicate: [number, number] | null;
}

function checkedIds(ids: string[]): CheckedIds {
  return { ids, duplicate: findDuplicate(ids) };
}

/** An id dataset's strings, its duplicates found on the bytes when they decide it (decodeUniqueStrings). */
function h5jsIds(file: H5JsFile, dataset: H5JsDataset): CheckedIds {
  const decoded = dataset.type.kind === 'string' ? file.decodeUniqueStrings(dataset.type, dataset.readAll(), dataset.count) : null;
  return decoded ? { ids: decoded.values, duplicate: decoded.duplicate } : checkedIds(h5jsStrings(file, dataset));
}

function checkIds(path: string, { ids, duplicate: dup }: CheckedIds, where: string, what: string): void {
  if (dup) {
    throw new FormatError('duplicate-id', path, `duplicate ${what} id "${ids[dup[0]]}" at positions ${dup[0]} and ${dup[1]}`, { where });
  }
}
