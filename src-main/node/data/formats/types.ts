// Shapes shared by the format readers.
//
// Vocabulary: a "gene" is a measured feature (GCT row, AnnData var, L1000 probe), a "sample" is one
// profile (GCT column, AnnData obs, L1000 signature). Every reader hands out values sample-major:
// for k requested samples and g requested genes, value (sample i, gene j) is at index i * g + j,
// which is the layout the store keeps per sample (one float32 vector per sample).

/** A metadata cell: text, number, or null for missing ("-666", empty, NaN, masked). */
export type MetaValue = string | number | null;

/** Metadata columns in file order; every array has one entry per row/sample/gene. */
export type MetadataTable = Map<string, MetaValue[]>;

/**
 * Ids and metadata of an HDF5 file read ahead (by the probe worker, h5-probe.ts), so that opening
 * the file on the calling thread reads only the matrix layout. Same values the reader would read.
 */
export interface PreloadedMetadata {
  geneIds: string[];
  sampleIds: string[];
  geneMetadata: MetadataTable;
  sampleMetadata: MetadataTable;
  /** h5ad columns the reader skipped (unknown encodings). */
  skippedColumns: { where: string; reason: string }[];
}

export interface ReadOptions {
  /** Checked between slices; when aborted the read throws the signal's reason. */
  signal?: AbortSignal;
}

export interface ReadIntoOptions extends ReadOptions {
  /**
   * Write the values here (length at least samples × genes) and return a view of it, instead of
   * allocating a new array: lets a caller reuse one buffer across reads.
   */
  into?: Float32Array;
}

export interface IterateOptions extends ReadOptions {
  /** Upper bound on the bytes of one batch's values. Default 16 MiB. */
  maxBatchBytes?: number;
  /**
   * Yield every batch in the same buffer (each batch's values are valid only until the next one is
   * requested). Saves allocating, zeroing and collecting a fresh array per batch.
   */
  reuseBuffer?: boolean;
}

export interface SampleBatch {
  /** Positions in the caller's sampleIndices array covered by this batch (start inclusive). */
  start: number;
  end: number;
  /** Values for samples start..end-1, sample-major, (end - start) × nGenesSelected. */
  values: Float32Array;
}

/** Uniform, format-independent view used by the importer. */
export interface ExpressionSource {
  readonly format: 'gctx' | 'gct' | 'h5ad' | 'csv' | 'tsv';
  readonly path: string;
  readonly nGenes: number;
  readonly nSamples: number;
  geneIds(): string[];
  sampleIds(): string[];
  geneMetadata(): MetadataTable;
  sampleMetadata(): MetadataTable;
  /**
   * Reads the given samples (any order, duplicates allowed) restricted to the given genes (null =
   * all, in file order), sample-major. The caller bounds memory by the size of the request.
   */
  readSamples(sampleIndices: readonly number[], geneIndices: readonly number[] | null, options?: ReadIntoOptions): Promise<Float32Array>;
  /**
   * Reads the given samples in batches whose values stay under maxBatchBytes (default 16 MiB),
   * yielding each batch in request order.
   */
  iterateSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options?: IterateOptions,
  ): AsyncGenerator<SampleBatch, void, undefined>;
  close(): void;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

/** The output array of a read: a view of options.into when given (checked), else a new array. */
export function outputArray(length: number, into: Float32Array | undefined): Float32Array {
  if (!into) return new Float32Array(length);
  if (into.length < length) throw new RangeError(`output buffer holds ${into.length} values, ${length} needed`);
  return into.subarray(0, length);
}
