// Entry point of the format readers: detect a file's format from its content and open it as a
// format-independent ExpressionSource (samples × genes, read sample-major by slices).

import { extname } from 'node:path';

import { type CsvOpenOptions, openCsvMatrix } from './csv.js';
import { type DetectedFormat, detectFormatDetailed } from './detect.js';
import { assertNonEmptyFile, FormatError } from './errors.js';
import { openGct } from './gct.js';
import { type GctxOpenOptions, openGctxH5wasm, openGctxJs } from './gctx.js';
import { probeHdf5 } from './h5-probe.js';
import { type H5adOpenOptions, openH5ad } from './h5ad.js';
import { isGzipFile } from './lines.js';
import type { TextScanOptions } from './textmatrix.js';
import type { ExpressionSource } from './types.js';

export * from './csv.js';
export * from './detect.js';
export * from './errors.js';
export * from './gct.js';
export * from './gctx.js';
export * from './h5ad.js';
export type { ValueStats } from './textmatrix.js';
export * from './types.js';

export interface OpenSourceOptions {
  /** Skip detection (the caller knows better, e.g. a user's explicit choice). */
  format?: Exclude<DetectedFormat, 'unknown'>;
  gctx?: GctxOpenOptions;
  gct?: TextScanOptions;
  h5ad?: H5adOpenOptions;
  csv?: CsvOpenOptions;
  /**
   * Read an HDF5 file's ids and metadata in the watched probe worker first (default true): a damaged
   * file then fails with an error instead of hanging this thread (see h5-probe.ts).
   */
  probe?: boolean;
  /**
   * Gives a decompressed copy of a gzip-compressed HDF5 file (HDF5 needs random access). Without
   * it such a file is refused with what to do.
   */
  unpackGzip?: (path: string) => Promise<string>;
}

const HDF5_EXTENSIONS = new Set(['.gctx', '.h5', '.hdf5', '.h5ad']);

export async function openExpressionSource(path: string, options: OpenSourceOptions = {}): Promise<ExpressionSource> {
  // A GCTX that h5js reads opens without detection's async file reads (each a thread-pool round
  // trip, slow on a busy machine), without h5wasm and without the probe worker (h5js cannot hang).
  const triedJs = options.format === undefined || options.format === 'gctx';
  if (triedJs) {
    const fast = await openGctxJs(path, options.gctx);
    if (fast) return fast;
  }
  await assertNonEmptyFile(path);
  let format: DetectedFormat | undefined = options.format;
  // A chosen HDF5 format still has to be unpacked when the file is its .gz.
  if (format === undefined || ((format === 'gctx' || format === 'h5ad') && (await isGzipFile(path)))) {
    const detection = await detectFormatDetailed(path);
    if (detection.hint) throw new FormatError('unsupported', path, detection.hint);
    if (detection.gzip && detection.hdf5Offset !== null) {
      if (!options.unpackGzip) {
        throw new FormatError(
          'unsupported',
          path,
          'gzip-compressed HDF5 (GCTX or h5ad) is read once unpacked: import it in the lab, or gunzip it first',
        );
      }
      const unpacked = await options.unpackGzip(path);
      const { unpackGzip: _, ...rest } = options;
      return openExpressionSource(unpacked, rest);
    }
    format = detection.format;
    if (format === 'unknown') {
      // A binary file named like an HDF5 format: let the HDF5 reader report what is wrong with it.
      const ext = extname(path).toLowerCase();
      if (HDF5_EXTENSIONS.has(ext)) format = ext === '.h5ad' ? 'h5ad' : 'gctx';
      else throw new FormatError('unsupported', path, `unrecognised format: ${detection.reason} (expected GCTX, GCT, h5ad, CSV or TSV)`);
    }
  }
  switch (format) {
    case 'gctx': {
      // h5js cannot hang (every structure walk is bounded), so a file it reads needs no probe worker.
      const fast = triedJs ? null : await openGctxJs(path, options.gctx);
      if (fast) return fast;
      const preloaded = options.probe === false ? undefined : await probeHdf5(path, 'gctx');
      return openGctxH5wasm(path, { ...options.gctx, ...(preloaded ? { preloaded } : {}) });
    }
    case 'gct':
      return openGct(path, options.gct);
    case 'h5ad': {
      const duplicateNames = options.h5ad?.duplicateNames;
      const preloaded = options.probe === false ? undefined : await probeHdf5(path, 'h5ad', duplicateNames ? { duplicateNames } : {});
      return openH5ad(path, { ...options.h5ad, ...(preloaded ? { preloaded } : {}) });
    }
    case 'csv':
      return openCsvMatrix(path, { delimiter: ',', ...options.csv });
    case 'tsv':
      return openCsvMatrix(path, { delimiter: '\t', ...options.csv });
  }
}
