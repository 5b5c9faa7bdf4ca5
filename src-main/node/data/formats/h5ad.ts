// AnnData (.h5ad) reader via h5wasm. Observations (obs, rows of X) are samples/cells, variables
// (var, columns of X) are genes.
//
// X may be:
//   - a dense 2-D dataset [n_obs, n_vars]: read by row hyperslabs (dense.ts);
//   - a CSR group (encoding-type "csr_matrix", or the older attribute h5sparse_format = "csr") with
//     data, indices, indptr and a shape attribute: rows are read as slices of data/indices between
//     indptr[first] and indptr[end] (indptr is read once at open: 8 bytes per row);
//   - a CSC group ("csc_matrix"): each selected gene's column is read and the requested rows picked;
//     the cost of one request is the non-zeros of the selected genes.
// obs / var dataframes:
//   - anndata >= 0.8 layout: a group with attributes _index (name of the index dataset) and
//     column-order; columns are datasets (numbers, strings, booleans) or groups: "categorical"
//     (categories + codes, -1 = missing), "nullable-integer" / "nullable-boolean" /
//     "nullable-string-array" (values + mask, true = missing);
//   - anndata 0.7 layout: categorical columns are integer code datasets and their categories are
//     in obs/__categories/<column>;
//   - anndata <= 0.6 layout: a compound dataset (one field per column, "index" for the names),
//     categories in uns/<column>_categories.

import { checkIndices, findDuplicate, type GeneSelection, selectGenes, sortRequests } from './common.js';
import { asNumeric, checkFilters, type DenseReadStats, DenseSlicer, type DenseSlicerOptions, h5wasmSliceSource } from './dense.js';
import { FormatError } from './errors.js';
import {
  getDataset,
  getGroup,
  type H5Dataset,
  type H5File,
  H5FileReader,
  type H5Group,
  type H5Lib,
  H5T_COMPOUND,
  H5T_FLOAT,
  H5T_INTEGER,
  h5Guard,
  lengthOf,
  openHdf5,
  type ReadPlan,
  read1d,
  readAttribute,
  readMetaColumn,
  readStringAttribute,
  readStrings,
  requireDataset,
  shapeOf,
  toNumbers,
} from './h5.js';
import { type ExpressionSource, type MetadataTable, type MetaValue, outputArray, type PreloadedMetadata } from './types.js';

export type XEncoding = 'dense' | 'csr' | 'csc';

export interface H5adOpenOptions extends DenseSlicerOptions {
  /**
   * What to do with repeated obs/var names: 'error' (default) throws 'duplicate-id'; 'suffix'
   * makes them unique the way anndata's *_names_make_unique does ("A", "A-1", "A-2").
   */
  duplicateNames?: 'error' | 'suffix';
  /** Upper bound on the non-zeros read by one sparse slice. Default 4 Mi entries. */
  maxSparseElements?: number;
  /** obs/var names and columns already read (by the probe worker): not read again. */
  preloaded?: PreloadedMetadata;
}

const DEFAULT_MAX_SPARSE_ELEMENTS = 4 * 1024 * 1024;

interface SparseParts {
  data: H5Dataset;
  indices: H5Dataset;
  /** indptr as numbers (n_obs + 1 for CSR, n_vars + 1 for CSC). */
  indptr: Float64Array;
}

/** How X is stored: a dense slicer or the sparse parts. */
interface XStorage {
  xEncoding: XEncoding;
  xDtype: string;
  dense: DenseSlicer | null;
  sparse: SparseParts | null;
}

export class H5adReader extends H5FileReader implements ExpressionSource {
  readonly format = 'h5ad' as const;
  readonly xEncoding: XEncoding;
  /** h5wasm dtype of X (or X/data for sparse). */
  readonly xDtype: string;
  /** obs/var columns that could not be decoded (unknown encodings), with the reason. */
  readonly skippedColumns: { where: string; reason: string }[] = [];
  readonly stats: DenseReadStats & { sparseElementsRead: number } = { slices: 0, cellsRead: 0, sparseElementsRead: 0 };

  private readonly dense: DenseSlicer | null;
  private readonly sparse: SparseParts | null;
  private readonly maxSparseElements: number;

  /** @internal use openH5ad */
  constructor(
    init: XStorage & {
      path: string;
      lib: H5Lib;
      file: H5File;
      obsNames: string[];
      varNames: string[];
      options: H5adOpenOptions;
    },
  ) {
    super(init.path, init.lib, init.file, { geneIds: init.varNames, sampleIds: init.obsNames, preloaded: init.options.preloaded });
    this.xEncoding = init.xEncoding;
    this.xDtype = init.xDtype;
    this.dense = init.dense;
    this.sparse = init.sparse;
    this.maxSparseElements = Math.max(1, init.options.maxSparseElements ?? DEFAULT_MAX_SPARSE_ELEMENTS);
    if (init.options.preloaded) this.skippedColumns.push(...init.options.preloaded.skippedColumns);
  }

  protected override readMetadata(axis: 'gene' | 'sample', expected: number): MetadataTable {
    return this.readFrame(axis === 'gene' ? '/var' : '/obs', expected);
  }

  /** Rows of X (observations) restricted to the given variables, sample-major. */
  readRows(obsIndices: readonly number[], varIndices: readonly number[] | null): Float32Array {
    return this.readSync(obsIndices, varIndices);
  }

  // -------------------------------------------------------------------------------------------

  protected override planRead(obsIndices: readonly number[], varIndices: readonly number[] | null, into?: Float32Array): ReadPlan {
    const { genes, out, fileIndex, outPos } = this.prepare(obsIndices, varIndices, into);
    return { out, steps: this.steps(fileIndex, outPos, genes, out) };
  }

  protected override checkRequest(obsIndices: readonly number[], varIndices: readonly number[] | null): GeneSelection {
    const { genes } = this.prepare([], varIndices);
    checkIndices(this.path, obsIndices, this.nSamples, 'obs');
    return genes;
  }

  private prepare(obsIndices: readonly number[], varIndices: readonly number[] | null, into?: Float32Array) {
    this.openFile();
    checkIndices(this.path, obsIndices, this.nSamples, 'obs');
    const genes = selectGenes(this.path, varIndices, this.nGenes);
    const out = outputArray(obsIndices.length * genes.count, into);
    if (into && this.sparse) out.fill(0); // sparse reads only write the non-zeros
    const { fileIndex, outPos } = sortRequests(obsIndices);
    return { genes, out, fileIndex, outPos };
  }

  private steps(
    fileIndex: Int32Array,
    outPos: Int32Array,
    genes: GeneSelection,
    out: Float32Array,
  ): Iterable<Promise<void> | undefined | void> {
    if (this.dense) return this.denseSteps(fileIndex, outPos, genes, out);
    if (this.xEncoding === 'csr') return this.csrSteps(fileIndex, outPos, genes, out);
    return this.cscSteps(fileIndex, outPos, genes, out);
  }

  private *denseSteps(
    fileIndex: Int32Array,
    outPos: Int32Array,
    genes: GeneSelection,
    out: Float32Array,
  ): Generator<Promise<void> | undefined, void, undefined> {
    const dense = this.dense as DenseSlicer;
    const before = { ...dense.stats };
    yield* dense.read(fileIndex, outPos, genes, out);
    this.stats.slices += dense.stats.slices - before.slices;
    this.stats.cellsRead += dense.stats.cellsRead - before.cellsRead;
  }

  /** Reads a [start, end) range of sparse data and indices. */
  private sparseRange(parts: SparseParts, start: number, end: number): { data: ArrayLike<number>; indices: ArrayLike<number> } {
    const n = end - start;
    if (n === 0) return { data: new Float32Array(0), indices: new Int32Array(0) };
    const data = asNumeric(this.path, parts.data.path, read1d(this.path, parts.data, start, end), n);
    const indices = asNumeric(this.path, parts.indices.path, read1d(this.path, parts.indices, start, end), n);
    this.stats.slices += 2;
    this.stats.sparseElementsRead += n;
    return { data, indices };
  }

  private *csrSteps(fileIndex: Int32Array, outPos: Int32Array, genes: GeneSelection, out: Float32Array): Generator<void, void, undefined> {
    const parts = this.sparse as SparseParts;
    const { indptr } = parts;
    const count = genes.count;
    // gene → output column, when each gene is selected at most once; else decode full rows.
    const geneToOut = new Int32Array(this.nGenes).fill(-1);
    let duplicates = false;
    genes.indices.forEach((g, j) => {
      if ((geneToOut[g] as number) >= 0) duplicates = true;
      geneToOut[g] = j;
    });
    const fullRow = duplicates ? new Float32Array(this.nGenes) : null;
    const n = fileIndex.length;
    let from = 0;
    while (from < n) {
      const first = fileIndex[from] as number;
      const startEl = indptr[first] as number;
      let to = from + 1;
      let last = first;
      while (to < n) {
        const next = fileIndex[to] as number;
        // Merge while the span stays small; skipped rows cost their non-zeros.
        if ((indptr[next + 1] as number) - startEl > this.maxSparseElements) break;
        const gap = (indptr[next] as number) - (indptr[last + 1] as number);
        if (gap > 65536) break;
        last = next;
        to++;
      }
      const endEl = indptr[last + 1] as number;
      const { data, indices } = this.sparseRange(parts, startEl, endEl);
      for (let k = from; k < to; k++) {
        const row = fileIndex[k] as number;
        const o = (outPos[k] as number) * count;
        const a = (indptr[row] as number) - startEl;
        const b = (indptr[row + 1] as number) - startEl;
        if (fullRow) fullRow.fill(0);
        for (let e = a; e < b; e++) {
          const g = indices[e] as number;
          if (!(g >= 0 && g < this.nGenes)) {
            throw new FormatError('corrupt', this.path, `column index ${g} outside 0..${this.nGenes - 1} in row ${row}`, {
              where: parts.indices.path,
            });
          }
          if (fullRow) fullRow[g] = (fullRow[g] as number) + (data[e] as number);
          else {
            const j = geneToOut[g] as number;
            if (j >= 0) out[o + j] = (out[o + j] as number) + (data[e] as number);
          }
        }
        if (fullRow) for (let j = 0; j < count; j++) out[o + j] = fullRow[genes.indices[j] as number] as number;
      }
      from = to;
      yield;
    }
  }

  private *cscSteps(fileIndex: Int32Array, outPos: Int32Array, genes: GeneSelection, out: Float32Array): Generator<void, void, undefined> {
    const parts = this.sparse as SparseParts;
    const { indptr } = parts;
    const count = genes.count;
    // obs row → list of output rows (requests may repeat a row).
    const rowToOut = new Int32Array(this.nSamples).fill(-1);
    const extra = new Map<number, number[]>();
    for (let k = 0; k < fileIndex.length; k++) {
      const row = fileIndex[k] as number;
      if ((rowToOut[row] as number) < 0) rowToOut[row] = outPos[k] as number;
      else {
        const list = extra.get(row);
        if (list) list.push(outPos[k] as number);
        else extra.set(row, [outPos[k] as number]);
      }
    }
    // Selected genes sorted by column, remembering their output position(s).
    const order = Array.from(genes.indices.keys()).sort((a, b) => (genes.indices[a] as number) - (genes.indices[b] as number));
    let p = 0;
    while (p < order.length) {
      const gFirst = genes.indices[order[p] as number] as number;
      const startEl = indptr[gFirst] as number;
      let q = p + 1;
      let gLast = gFirst;
      while (q < order.length) {
        const g = genes.indices[order[q] as number] as number;
        if ((indptr[g + 1] as number) - startEl > this.maxSparseElements) break;
        if ((indptr[g] as number) - (indptr[gLast + 1] as number) > 65536) break;
        gLast = g;
        q++;
      }
      const { data, indices } = this.sparseRange(parts, startEl, indptr[gLast + 1] as number);
      for (let t = p; t < q; t++) {
        const j = order[t] as number;
        const g = genes.indices[j] as number;
        const a = (indptr[g] as number) - startEl;
        const b = (indptr[g + 1] as number) - startEl;
        for (let e = a; e < b; e++) {
          const row = indices[e] as number;
          if (!(row >= 0 && row < this.nSamples)) {
            throw new FormatError('corrupt', this.path, `row index ${row} outside 0..${this.nSamples - 1} in column ${g}`, {
              where: parts.indices.path,
            });
          }
          const o = rowToOut[row] as number;
          if (o >= 0) out[o * count + j] = (out[o * count + j] as number) + (data[e] as number);
        }
      }
      p = q;
      yield;
    }
    for (const [row, outs] of extra) {
      const src = (rowToOut[row] as number) * count;
      for (const o of outs) out.copyWithin(o * count, src, src + count);
    }
  }

  // -------------------------------------------------------------------------------------------
  // dataframes

  private readFrame(where: string, expected: number): MetadataTable {
    const file = this.openFile();
    const table: MetadataTable = new Map();
    const compound = getDataset(this.lib, file, this.path, where);
    if (compound) return this.readCompoundFrame(compound, expected);
    const group = getGroup(this.lib, file, this.path, where);
    if (!group) return table;
    const indexName = frameIndexName(this.lib, file, this.path, where);
    const declared = readAttribute(group, 'column-order');
    const keys = h5Guard(this.path, where, () => group.keys());
    const order = Array.isArray(declared)
      ? declared.filter((name): name is string => typeof name === 'string')
      : typeof declared === 'string'
        ? [declared]
        : keys.filter((k) => k !== indexName && k !== '__categories');
    for (const name of order) {
      const columnPath = `${where}/${name}`;
      try {
        const values = this.readFrameColumn(where, name);
        if (values === null) continue;
        if (values.length !== expected) {
          throw new FormatError('shape-mismatch', this.path, `column has ${values.length} values but there are ${expected} names`, {
            where: columnPath,
          });
        }
        table.set(name, values);
      } catch (error) {
        if (error instanceof FormatError && error.code === 'unsupported') {
          this.skippedColumns.push({ where: columnPath, reason: error.detail });
          continue;
        }
        throw error;
      }
    }
    return table;
  }

  private readFrameColumn(where: string, name: string): MetaValue[] | null {
    const file = this.file as H5File;
    const columnPath = `${where}/${name}`;
    const dataset = getDataset(this.lib, file, this.path, columnPath);
    if (dataset) {
      // anndata 0.7: integer codes + categories in __categories/<name>.
      const oldCategories = getDataset(this.lib, file, this.path, `${where}/__categories/${name}`);
      if (oldCategories && readAttribute(dataset, 'categories') !== undefined) {
        return decodeCategorical(this.path, dataset, oldCategories);
      }
      if (oldCategories && isIntegerDataset(this.path, dataset)) return decodeCategorical(this.path, dataset, oldCategories);
      return readMetaColumn(this.path, dataset, { cmapMissing: false });
    }
    const group = getGroup(this.lib, file, this.path, columnPath);
    if (!group) {
      throw new FormatError('missing-dataset', this.path, `column "${name}" is listed in column-order but absent`, { where: columnPath });
    }
    const encoding = readStringAttribute(group, 'encoding-type');
    if (encoding === 'categorical') {
      const codes = requireDataset(this.lib, file, this.path, `${columnPath}/codes`, 'categorical codes');
      const categories = requireDataset(this.lib, file, this.path, `${columnPath}/categories`, 'categories');
      return decodeCategorical(this.path, codes, categories);
    }
    if (encoding === 'nullable-integer' || encoding === 'nullable-boolean' || encoding === 'nullable-string-array') {
      const values = readMetaColumn(this.path, requireDataset(this.lib, file, this.path, `${columnPath}/values`, 'values'), {
        cmapMissing: false,
      });
      const maskDs = getDataset(this.lib, file, this.path, `${columnPath}/mask`);
      const mask = maskDs ? toNumbers(this.path, maskDs.path, read1d(this.path, maskDs)) : null;
      return values.map((v, i) => {
        if (mask?.[i]) return null;
        if (encoding === 'nullable-boolean' && typeof v === 'number') return v ? 'true' : 'false';
        return v;
      });
    }
    throw new FormatError('unsupported', this.path, `column encoding "${encoding ?? 'none'}" is not supported`, { where: columnPath });
  }

  /** anndata <= 0.6: obs/var stored as one compound dataset. */
  private readCompoundFrame(dataset: H5Dataset, expected: number): MetadataTable {
    const table: MetadataTable = new Map();
    const meta = h5Guard(this.path, dataset.path, () => dataset.metadata);
    if (meta.type !== H5T_COMPOUND || !meta.compound_type) {
      throw new FormatError('unsupported', this.path, 'a dataframe stored as a non-compound dataset', { where: dataset.path });
    }
    const rows = h5Guard(this.path, dataset.path, () => dataset.value);
    if (!Array.isArray(rows) || rows.length !== expected) {
      throw new FormatError(
        'shape-mismatch',
        this.path,
        `dataframe has ${Array.isArray(rows) ? rows.length : 0} rows, expected ${expected}`,
        {
          where: dataset.path,
        },
      );
    }
    const members = meta.compound_type.members;
    members.forEach((member, m) => {
      if (member.name === 'index') return;
      const column = rows.map((row) => compoundCell((row as unknown[])[m]));
      const categories = this.file ? getDataset(this.lib, this.file, this.path, `/uns/${member.name}_categories`) : null;
      if (categories && column.every((v) => v === null || (typeof v === 'number' && Number.isInteger(v)))) {
        const labels = readMetaColumn(this.path, categories, { cmapMissing: false });
        table.set(
          member.name,
          column.map((code) => (typeof code === 'number' && code >= 0 ? (labels[code] ?? null) : null)),
        );
      } else {
        table.set(member.name, column);
      }
    });
    return table;
  }
}

function compoundCell(value: unknown): MetaValue {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return null;
}

function isIntegerDataset(path: string, dataset: H5Dataset): boolean {
  return h5Guard(path, dataset.path, () => dataset.metadata.type) === H5T_INTEGER;
}

function decodeCategorical(path: string, codes: H5Dataset, categories: H5Dataset): MetaValue[] {
  const labels = readMetaColumn(path, categories, { cmapMissing: false });
  const raw = toNumbers(path, codes.path, read1d(path, codes));
  const out: MetaValue[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const code = raw[i] as number;
    if (code < 0) out[i] = null;
    else if (code >= labels.length) {
      throw new FormatError('corrupt', path, `category code ${code} at position ${i} but only ${labels.length} categories`, {
        where: codes.path,
      });
    } else out[i] = labels[code] as MetaValue;
  }
  return out;
}

/** Name of the dataset holding a dataframe's index (obs_names / var_names). */
function frameIndexName(lib: H5Lib, file: H5File, path: string, where: string): string {
  const group = getGroup(lib, file, path, where);
  const declared = group ? readStringAttribute(group, '_index') : undefined;
  if (declared) return declared;
  for (const candidate of ['_index', 'index']) if (getDataset(lib, file, path, `${where}/${candidate}`)) return candidate;
  return '_index';
}

function readFrameNames(lib: H5Lib, file: H5File, path: string, where: string): string[] {
  const compound = getDataset(lib, file, path, where);
  if (compound) {
    const meta = h5Guard(path, where, () => compound.metadata);
    const members = meta.compound_type?.members ?? [];
    const m = members.findIndex((member) => member.name === 'index');
    if (m < 0) throw new FormatError('missing-dataset', path, 'the dataframe has no "index" field', { where });
    const rows = h5Guard(path, where, () => compound.value);
    if (!Array.isArray(rows)) throw new FormatError('corrupt', path, 'unreadable dataframe', { where });
    return rows.map((row) => String((row as unknown[])[m]));
  }
  const group = getGroup(lib, file, path, where);
  if (!group) throw new FormatError('missing-dataset', path, `missing ${where} (the ${where.slice(1)} table)`, { where });
  const indexName = frameIndexName(lib, file, path, where);
  const dataset = requireDataset(lib, file, path, `${where}/${indexName}`, `${where.slice(1)}_names`);
  lengthOf(path, dataset);
  return readStrings(path, dataset);
}

function dedupeNames(path: string, names: string[], where: string, policy: 'error' | 'suffix'): string[] {
  const dup = findDuplicate(names);
  if (!dup) return names;
  if (policy === 'error') {
    throw new FormatError('duplicate-id', path, `duplicate name "${names[dup[0]]}" at positions ${dup[0]} and ${dup[1]}`, { where });
  }
  const seen = new Set(names);
  const counts = new Map<string, number>();
  const firstSeen = new Set<string>();
  return names.map((name) => {
    if (!firstSeen.has(name)) {
      firstSeen.add(name);
      return name;
    }
    let k = counts.get(name) ?? 0;
    let candidate: string;
    do {
      k++;
      candidate = `${name}-${k}`;
    } while (seen.has(candidate));
    counts.set(name, k);
    seen.add(candidate);
    return candidate;
  });
}

function readShapeAttr(group: H5Group, names: string[]): [number, number] | null {
  for (const name of names) {
    const value = readAttribute(group, name);
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number'))
      return [value[0] as number, value[1] as number];
  }
  return null;
}

function checkXShape(path: string, shape: readonly number[], nObs: number, nVar: number): void {
  if (shape.length === 2 && shape[0] === nObs && shape[1] === nVar) return;
  throw new FormatError('shape-mismatch', path, `X has shape [${shape.join(', ')}] but obs has ${nObs} rows and var ${nVar}`, {
    where: '/X',
  });
}

/** Opens an .h5ad file, validating X against obs/var. Throws FormatError. */
export async function openH5ad(path: string, options: H5adOpenOptions = {}): Promise<H5adReader> {
  const { lib, file } = await openHdf5(path);
  try {
    const policy = options.duplicateNames ?? 'error';
    const obsNames = options.preloaded?.sampleIds ?? dedupeNames(path, readFrameNames(lib, file, path, '/obs'), '/obs', policy);
    const varNames = options.preloaded?.geneIds ?? dedupeNames(path, readFrameNames(lib, file, path, '/var'), '/var', policy);
    const x = openX(lib, file, path, obsNames.length, varNames.length, options);
    return new H5adReader({ path, lib, file, obsNames, varNames, ...x, options });
  } catch (error) {
    try {
      file.close();
    } catch {
      // the original error matters
    }
    throw error;
  }
}

/** Validates X (dense dataset, or CSR/CSC group) against the obs × var shape. */
function openX(lib: H5Lib, file: H5File, path: string, nObs: number, nVar: number, options: H5adOpenOptions): XStorage {
  const xDataset = getDataset(lib, file, path, '/X');
  if (xDataset) {
    const meta = h5Guard(path, '/X', () => xDataset.metadata);
    if (meta.type !== H5T_FLOAT && meta.type !== H5T_INTEGER) {
      throw new FormatError('unsupported', path, `X must be numeric, found HDF5 type class ${meta.type}`, { where: '/X' });
    }
    checkFilters(path, xDataset);
    checkXShape(path, shapeOf(path, xDataset), nObs, nVar);
    const dense = new DenseSlicer(h5wasmSliceSource(lib, path, xDataset), 'samples-first', nVar, options);
    return { xEncoding: 'dense', xDtype: h5Guard(path, '/X', () => xDataset.dtype as string), dense, sparse: null };
  }
  const xGroup = getGroup(lib, file, path, '/X');
  if (!xGroup) throw new FormatError('missing-dataset', path, 'missing /X (the expression matrix)', { where: '/X' });
  const encoding = readStringAttribute(xGroup, 'encoding-type') ?? readStringAttribute(xGroup, 'h5sparse_format');
  const kind: XEncoding | null =
    encoding === 'csr_matrix' || encoding === 'csr' ? 'csr' : encoding === 'csc_matrix' || encoding === 'csc' ? 'csc' : null;
  if (!kind)
    throw new FormatError('unsupported', path, `X is a group with encoding "${encoding ?? 'none'}" (expected csr_matrix or csc_matrix)`, {
      where: '/X',
    });
  const shape = readShapeAttr(xGroup, ['shape', 'h5sparse_shape']);
  if (!shape) throw new FormatError('missing-dataset', path, 'sparse X has no shape attribute', { where: '/X' });
  checkXShape(path, shape, nObs, nVar);
  const data = requireDataset(lib, file, path, '/X/data', 'sparse X data');
  const indices = requireDataset(lib, file, path, '/X/indices', 'sparse X indices');
  const indptrDs = requireDataset(lib, file, path, '/X/indptr', 'sparse X indptr');
  for (const ds of [data, indices, indptrDs]) checkFilters(path, ds);
  const dataMeta = h5Guard(path, '/X/data', () => data.metadata);
  if (dataMeta.type !== H5T_FLOAT && dataMeta.type !== H5T_INTEGER) {
    throw new FormatError('unsupported', path, `X/data must be numeric, found HDF5 type class ${dataMeta.type}`, { where: '/X/data' });
  }
  const major = kind === 'csr' ? nObs : nVar;
  const indptr = toNumbers(path, '/X/indptr', read1d(path, indptrDs));
  if (indptr.length !== major + 1) {
    throw new FormatError('shape-mismatch', path, `indptr has ${indptr.length} entries, expected ${major + 1}`, { where: '/X/indptr' });
  }
  const nnz = lengthOf(path, data);
  const nIdx = lengthOf(path, indices);
  if (nnz !== nIdx) {
    throw new FormatError('shape-mismatch', path, `X/data has ${nnz} entries but X/indices has ${nIdx}`, { where: '/X/indices' });
  }
  for (let i = 0; i < indptr.length; i++) {
    const v = indptr[i] as number;
    if (v < (i === 0 ? 0 : (indptr[i - 1] as number)) || v > nnz || (i === 0 && v !== 0)) {
      throw new FormatError('corrupt', path, `indptr[${i}] = ${v} is not a non-decreasing offset within 0..${nnz}`, {
        where: '/X/indptr',
      });
    }
  }
  if (indptr[major] !== nnz) {
    throw new FormatError('shape-mismatch', path, `indptr ends at ${indptr[major]} but X/data has ${nnz} entries`, {
      where: '/X/indptr',
    });
  }
  return {
    xEncoding: kind,
    xDtype: h5Guard(path, '/X/data', () => data.dtype as string),
    dense: null,
    sparse: { data, indices, indptr },
  };
}
