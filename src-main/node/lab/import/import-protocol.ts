// Messages between the import workflow (serving thread) and the import worker thread. Each
// preview or import request gets exactly one final reply; an import reports progress meanwhile,
// and asks the serving side for the unpacked copy of a gzip-compressed matrix (the unpack cache
// and its jobs live there).
import type { DatasetSummary } from '../../../shared/api/domain.js';
import type { ErrorPayload } from '../../../shared/api/errors.js';
import type { ImportPreview, ResolvedImport } from '../../../shared/api/imports.js';
import type { ImportJob } from './session.js';

export interface ImportWorkerInit {
  databasePath: string;
  /** better_sqlite3.node for another ABI (Electron). */
  nativeBinding?: string;
}

export type ImportWorkerRequest =
  | { type: 'preview'; id: number; key: string; resolved: ResolvedImport }
  | ({ type: 'import'; id: number } & ImportJob)
  | { type: 'discard' }
  | { type: 'cancel'; id: number }
  | { type: 'unpacked'; unpackId: number; path: string }
  | { type: 'unpack-failed'; unpackId: number; error: ErrorPayload };

export type ImportWorkerReply =
  | { type: 'progress'; id: number; fraction: number | null; message: string }
  | { type: 'unpack'; id: number; unpackId: number; path: string }
  | { type: 'previewed'; id: number; preview: ImportPreview }
  | { type: 'imported'; id: number; summary: DatasetSummary }
  | { type: 'failed'; id: number; error: ErrorPayload };
