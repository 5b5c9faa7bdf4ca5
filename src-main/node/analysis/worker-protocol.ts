// Messages between the lab (serving thread) and the analysis worker. Requests carry an id; each
// gets exactly one reply. A cancel aborts the request's signal inside the worker.
import type { ErrorPayload } from '../../shared/api/errors.js';
import type { MethodName } from '../../shared/api/methods.js';
import type { BackendName } from '../ml/backend.js';
import type { AnalysisOperationName } from './operations.js';
import type { SelectionWriteName } from './selection-writes.js';
import type { StoredLatentsReadName } from './stored-latents.js';

export interface AnalysisWorkerInit {
  databasePath: string;
  nativeBinding?: string;
  preferBackend?: BackendName;
  /** Models kept in memory (each holds its dataset's expression matrix). */
  cacheSize: number;
  /** Which table a model-free read worker serves (dataset-read-worker.ts): dataset reads (the default) or stored Latents results. */
  reads?: 'dataset' | 'latents';
}

/**
 * Asks the worker to answer with the LabApi result of `method`, validated against its schema and
 * as UTF-8 JSON bytes (a 'json' reply, its buffer transferred), so the serving thread only forwards it; `extra` fields (computed
 * on the lab side) are added to the operation's result before validation.
 */
export interface SerializeAs {
  method: MethodName;
  extra?: Record<string, unknown>;
  /** The params arrive unchecked (the carrier left them to the handler): checked here against `method`'s schema. */
  checkParams?: boolean;
}

/** What a worker thread can be asked to run: an analysis, a stored Latents read or a selection's save. */
export type AnalysisCallName = AnalysisOperationName | StoredLatentsReadName | SelectionWriteName;

export type AnalysisRequest =
  | { type: 'call'; id: number; operation: AnalysisCallName; params: unknown; serializeAs?: SerializeAs }
  | { type: 'cancel'; id: number }
  | { type: 'stats'; id: number };

/** The worker's own V8 heap (threads share the process RSS, so that is reported by the process). */
export interface AnalysisWorkerStats {
  heapUsed: number;
  heapTotal: number;
  /** V8's peak of malloc'ed memory for this isolate. */
  peakMallocedMemory: number;
  externalMemory: number;
  /** Requests being computed right now. */
  running: number;
  cachedModels: string[];
}

export type AnalysisReply =
  | { type: 'result'; id: number; result: unknown }
  | { type: 'json'; id: number; bytes: Uint8Array }
  | { type: 'error'; id: number; error: ErrorPayload }
  | { type: 'stats'; id: number; stats: AnalysisWorkerStats };
