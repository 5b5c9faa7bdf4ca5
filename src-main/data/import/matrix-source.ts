// What every expression file looks like to the importer, whatever its format: genes and samples
// with ids and metadata columns, and expression read a block of samples at a time.
export type MetadataColumnValues = (string | number | null)[];

export interface MatrixSource {
  readonly path: string;
  readonly format: string;
  readonly geneIds: readonly string[];
  readonly sampleIds: readonly string[];
  /** Per-gene columns (e.g. pr_gene_symbol, pr_is_lm), aligned with geneIds. */
  readonly geneMetadata: ReadonlyMap<string, MetadataColumnValues>;
  /** Per-sample columns (e.g. pert_id, cell_id), aligned with sampleIds. */
  readonly sampleMetadata: ReadonlyMap<string, MetadataColumnValues>;
  /**
   * Expression of the given samples (ascending indices) restricted to the given genes (null: all),
   * samples × genes, row-major.
   */
  readSamples(sampleIndices: readonly number[], geneIndices: readonly number[] | null): Promise<Float32Array>;
  close(): Promise<void> | void;
}
