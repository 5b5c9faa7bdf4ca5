// The one error type every format reader throws for bad input. It names the file, where inside
// the file the problem is (an HDF5 path such as "/0/DATA/0/matrix", or a line and column of a text
// file), and a machine-readable code, so the importer and the UI can say precisely what is wrong
// without parsing messages.

import { stat } from 'node:fs/promises';

export type FormatErrorCode =
  /** The file does not exist or cannot be read. */
  | 'io'
  /** The file has no content at all. */
  | 'empty-file'
  /** Expected HDF5 (by content or by the caller's choice) but no HDF5 signature was found. */
  | 'not-hdf5'
  /** The file ends before the data its header promises (HDF5 end-of-file check, or a text file cut short). */
  | 'truncated'
  /** The HDF5 library could not read an object (corrupt file, unsupported filter...). */
  | 'corrupt'
  /** A required dataset or group is absent. */
  | 'missing-dataset'
  /** Dimensions disagree (ids vs matrix, indptr vs shape, header counts vs content). */
  | 'shape-mismatch'
  /** The same id appears twice among row or column ids. */
  | 'duplicate-id'
  /** A header line of a text format is malformed (GCT version line, dimension line...). */
  | 'bad-header'
  /** A text row has a different number of fields than the header says. */
  | 'ragged-row'
  /** A cell that must hold a number does not. */
  | 'non-numeric'
  /** A text file that is not UTF-8 (Latin-1, UTF-16, binary bytes). */
  | 'bad-encoding'
  /** A table joined by id shares no id with the matrix (the wrong file, or the wrong id column). */
  | 'no-overlap'
  /** The content is valid but uses a layout or type this reader does not handle. */
  | 'unsupported'
  /** The caller asked for an index outside the matrix. */
  | 'bad-index';

export interface FormatErrorOptions {
  /** Path inside an HDF5 file ("/0/DATA/0/matrix") or a description such as "header". */
  where?: string;
  /** 1-based line of a text file. */
  line?: number;
  /** 1-based field (column) of a text file. */
  column?: number;
  /** The underlying error, if any (HDF5 library message, fs error). */
  cause?: unknown;
}

export class FormatError extends Error {
  override readonly name = 'FormatError';
  readonly code: FormatErrorCode;
  readonly file: string;
  readonly where: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** The problem alone, without the file and location prefix. */
  readonly detail: string;

  constructor(code: FormatErrorCode, file: string, detail: string, options: FormatErrorOptions = {}) {
    const location = describeLocation(options);
    super(`${file}${location ? `: ${location}` : ''}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = file;
    this.where = options.where;
    this.line = options.line;
    this.column = options.column;
    this.detail = detail;
  }
}

function describeLocation(options: FormatErrorOptions): string {
  const parts: string[] = [];
  if (options.where) parts.push(options.where);
  if (options.line !== undefined) parts.push(`line ${options.line}`);
  if (options.column !== undefined) parts.push(`column ${options.column}`);
  return parts.join(', ');
}

export function isFormatError(error: unknown): error is FormatError {
  return error instanceof FormatError;
}

/**
 * Throws FormatError 'io' unless `fullPath` is a readable regular file, and 'empty-file' when it has
 * no bytes: every reader's first check, so a missing or empty file is named the same way everywhere.
 * `shownPath` is the path as the caller gave it (used in the message).
 */
export async function assertNonEmptyFile(fullPath: string, shownPath: string = fullPath): Promise<void> {
  let size: number;
  try {
    const info = await stat(fullPath);
    if (!info.isFile()) throw new FormatError('io', shownPath, 'not a regular file');
    size = info.size;
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError('io', shownPath, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      cause: error,
    });
  }
  if (size === 0) throw new FormatError('empty-file', shownPath, 'the file is empty');
}
