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

import { checkIndices, findDuplicate, type GeneSelection, selectGenes, sortRequests } from './common.js';
import { checkFilters, type DenseLayout, type DenseReadStats, DenseSlicer, type DenseSlicerOptions } from './dense.js';
import { FormatError } from './errors.js';
import {
  getGroup,
  type H5Dataset,
  type H5File,
  H5FileReader,
  type H5Lib,
  H5T_FLOAT,
  H5T_INTEGER,
  h5Guard,
  lengthOf,
  openHdf5,
  type ReadPlan,
  readMetaColumn,
  readStringAttribute,
  readStrings,
  requireDataset,
  shapeOf,
} from './h5.js';
import { type ExpressionSource, type MetadataTable, outputArray, type PreloadedMetadata } from './types.js';

export const GCTX_MATRIX = '/0/DATA/0/matrix';
export const GCTX_ROW_META = '/0/META/ROW';
export const GCTX_COL_META = '/0/META/COL';

export type GctxLayout = DenseLayout;

export interface GctxOpenOptions extends DenseSlicerOptions {
  /** Ids and metadata already read (by the probe worker): not read again. */
  preloaded?: PreloadedMetadata;
}

export class GctxReader extends H5FileReader implements ExpressionSource {
  readonly format = 'gctx' as const;
  readonly layout: GctxLayout;
  /** h5wasm dtype string of the matrix, e.g. "<f" or "<d". */
  readonly matrixDtype: string;
  /** HDF5 chunk shape of the matrix (file axes), null if contiguous. */
  readonly chunks: number[] | null;
  readonly version: string | undefined;
  /** Cumulative read statistics (for benchmarks and tests). */
  readonly stats: DenseReadStats;

  private readonly matrix: H5Dataset;
  private readonly slicer: DenseSlicer;

  /** @internal use openGctx */
  constructor(init: {
    path: string;
    lib: H5Lib;
    file: H5File;
    matrix: H5Dataset;
    rowIds: string[];
    colIds: string[];
    layout: GctxLayout;
    options: GctxOpenOptions;
  }) {
    super(init.path, init.lib, init.file, { geneIds: init.rowIds, sampleIds: init.colIds, preloaded: init.options.preloaded });
    this.matrix = init.matrix;
    this.layout = init.layout;
    const meta = h5Guard(this.path, GCTX_MATRIX, () => init.matrix.metadata);
    this.matrixDtype = h5Guard(this.path, GCTX_MATRIX, () => init.matrix.dtype as string);
    this.chunks = meta.chunks ?? null;
    this.version = readStringAttribute(init.file, 'version');
    this.slicer = new DenseSlicer(init.lib, init.path, init.matrix, init.layout, this.nGenes, init.options);
    this.stats = this.slicer.stats;
  }

  protected override readMetadata(axis: 'gene' | 'sample', expected: number): MetadataTable {
    return this.readMetadataGroup(axis === 'gene' ? GCTX_ROW_META : GCTX_COL_META, expected);
  }

  /**
   * Values of the given samples (GCT columns; any order, duplicates allowed) for the given genes
   * (GCT rows; null = all in file order), sample-major: result[i * nGenesSelected + j].
   */
  readColumns(sampleIndices: readonly number[], geneIndices: readonly number[] | null): Float32Array {
    return this.readSync(sampleIndices, geneIndices);
  }

  // -------------------------------------------------------------------------------------------

  protected override planRead(sampleIndices: readonly number[], geneIndices: readonly number[] | null, into?: Float32Array): ReadPlan {
    const genes = this.checkRequest(sampleIndices, geneIndices);
    const out = outputArray(sampleIndices.length * genes.count, into);
    const { fileIndex, outPos } = sortRequests(sampleIndices);
    return { out, steps: this.slicer.read(fileIndex, outPos, genes, out) };
  }

  protected override checkRequest(sampleIndices: readonly number[], geneIndices: readonly number[] | null): GeneSelection {
    this.openFile();
    checkIndices(this.path, sampleIndices, this.nSamples, 'sample');
    return selectGenes(this.path, geneIndices, this.nGenes);
  }

  private readMetadataGroup(where: string, expected: number): MetadataTable {
    const file = this.openFile();
    const table: MetadataTable = new Map();
    const group = getGroup(this.lib, file, this.path, where);
    if (!group) return table;
    const names = h5Guard(this.path, where, () => group.keys());
    for (const name of names) {
      if (name === 'id') continue;
      const dsPath = `${where}/${name}`;
      const dataset = requireDataset(this.lib, file, this.path, dsPath, `metadata column ${name}`);
      const length = lengthOf(this.path, dataset);
      if (length !== expected) {
        throw new FormatError('shape-mismatch', this.path, `metadata column has ${length} values but there are ${expected} ids`, {
          where: dsPath,
        });
      }
      table.set(name, readMetaColumn(this.path, dataset));
    }
    return table;
  }
}

/** Opens a GCTX file, validating its layout and ids. Throws FormatError. */
export async function openGctx(path: string, options: GctxOpenOptions = {}): Promise<GctxReader> {
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
    if (shape.length !== 2) {
      throw new FormatError('shape-mismatch', path, `the matrix must be 2-D, found shape [${shape.join(', ')}]`, { where: GCTX_MATRIX });
    }
    const rowIds = options.preloaded?.geneIds ?? readStrings(path, rowIdDs);
    const colIds = options.preloaded?.sampleIds ?? readStrings(path, colIdDs);
    const [d0, d1] = shape as [number, number];
    let layout: GctxLayout;
    if (d0 === colIds.length && d1 === rowIds.length) layout = 'samples-first';
    else if (d0 === rowIds.length && d1 === colIds.length) layout = 'genes-first';
    else {
      throw new FormatError(
        'shape-mismatch',
        path,
        `matrix shape [${d0}, ${d1}] does not match ${colIds.length} column ids × ${rowIds.length} row ids ` +
          `(expected [${colIds.length}, ${rowIds.length}], samples first)`,
        { where: GCTX_MATRIX },
      );
    }
    checkIds(path, rowIds, `${GCTX_ROW_META}/id`, 'row');
    checkIds(path, colIds, `${GCTX_COL_META}/id`, 'column');
    return new GctxReader({ path, lib, file, matrix, rowIds, colIds, layout, options });
  } catch (error) {
    try {
      file.close();
    } catch {
      // ignore: the original error matters
    }
    throw error;
  }
}

function checkIds(path: string, ids: string[], where: string, what: string): void {
  const dup = findDuplicate(ids);
  if (dup) {
    throw new FormatError('duplicate-id', path, `duplicate ${what} id "${ids[dup[0]]}" at positions ${dup[0]} and ${dup[1]}`, { where });
  }
}
