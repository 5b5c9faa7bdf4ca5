// Serves model inspection from a worker thread (src-main/node/analysis/analysis-worker.ts), so a UMAP or an
// evaluation never blocks the requests and events of the thread that serves the UI, and reads of a
// dataset that need no model from a second one (analysis/dataset-read-worker.ts), so they never
// queue behind a model load. Each worker starts with its first request (the analysis worker keeps
// its model cache); if one dies (out of memory, a crash), the requests it held fail with a clear
// error and the next request starts a new one.
import type { ResourceLimits, Worker } from 'node:worker_threads';
import type {
  DrugPredictionResult,
  PredictConditions,
  PriorShiftResult,
  ProjectionResult,
  TopGenesResult,
  UnseenEvaluationResult,
} from '../../shared/api/analysis.js';
import { LabError } from '../../shared/api/errors.js';
import { FingerprintOptions } from '../../shared/api/imports.js';
import type { MethodName, ParamsOf, ResultOf } from '../../shared/api/methods.js';
import { parseParams } from '../../shared/api/protocol.js';
import { TrainingConfig } from '../../shared/api/training.js';
import { type DatasetReadName, datasetReads } from '../analysis/dataset-reads.js';
import type { AnalysisOperationName, AnalysisParams, AnalysisResult } from '../analysis/operations.js';
import { drugEnvironmentVector, takesDoseAndTime } from '../analysis/predict.js';
import { selectionWrites } from '../analysis/selection-writes.js';
import type { StoredLatentsReadName } from '../analysis/stored-latents.js';
import type {
  AnalysisCallName,
  AnalysisReply,
  AnalysisRequest,
  AnalysisWorkerInit,
  AnalysisWorkerStats,
  SerializeAs,
} from '../analysis/worker-protocol.js';
import type { DescribeOptions, MoleculeResult } from '../chem/chemistry.js';
import { fingerprintBitCount } from '../data/representation-columns.js';
import type { BackendName } from '../ml/backend.js';
import type { Store } from '../store/store.js';
import { settlingWith } from '../threads/settle.js';
import { startWorker } from '../threads/start-worker.js';
import { SerializedResult } from './serialized-result.js';

const CACHE_SIZE = 2;

/**
 * The worker threads: models (loads, projections, evaluations), dataset reads (no model) and
 * stored Latents results (no model, no scan of the samples: the view's opening never waits behind either).
 */
type Lane = 'model' | 'dataset' | 'latents';
const WORKER_ENTRIES: Record<Lane, URL> = {
  model: new URL('../analysis/analysis-worker.js', import.meta.url),
  dataset: new URL('../analysis/dataset-read-worker.js', import.meta.url),
  latents: new URL('../analysis/dataset-read-worker.js', import.meta.url),
};

export interface AnalysisServiceOptions {
  store: Store;
  /** better_sqlite3.node for another ABI (Electron), for the worker's connection. */
  nativeBinding?: string;
  preferBackend?: BackendName;
  /** Heap limits of the worker: an analysis that exceeds them fails alone instead of taking the app down. */
  resourceLimits?: ResourceLimits;
}

/** RDKit's description of one SMILES, wherever it runs. */
export type DescribeStructure = (smiles: string, options: DescribeOptions) => MoleculeResult | Promise<MoleculeResult>;

export interface CallOptions {
  /** Aborting rejects the call at once (LabError 'cancelled') and stops the work at its next check. */
  signal?: AbortSignal;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: LabError): void;
}

interface AnalysisThread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Set when the worker reported an uncaught error just before exiting. */
  failure: Error | null;
  exited: Promise<void>;
}

export class AnalysisService {
  readonly #store: Store;
  readonly #options: AnalysisServiceOptions;
  readonly #threads: Record<Lane, AnalysisThread | null> = { model: null, dataset: null, latents: null };
  #nextId = 1;
  #closed = false;

  constructor(options: AnalysisServiceOptions) {
    this.#store = options.store;
    this.#options = options;
  }

  /** Runs one entry of the analysis table in the worker. */
  run<N extends AnalysisOperationName>(operation: N, params: AnalysisParams<N>, options: CallOptions = {}): Promise<AnalysisResult<N>> {
    return this.#request({ type: 'call', operation, params }, options) as Promise<AnalysisResult<N>>;
  }

  /**
   * Runs one entry of the analysis table as the LabApi method `method`: the worker validates the
   * result against that method's schema and sends it as JSON text, which the carriers forward as
   * it is (megabytes of projections and columns never parsed, validated or stringified here).
   */
  serve<M extends MethodName, N extends AnalysisOperationName>(
    method: M,
    operation: N,
    params: AnalysisParams<N>,
    options: CallOptions = {},
    extra?: Pick<SerializeAs, 'extra' | 'checkParams'>,
  ): Promise<SerializedResult<M>> {
    return this.#serve('model', method, operation, params, options, extra);
  }

  #serve<M extends MethodName>(
    lane: Lane,
    method: M,
    operation: AnalysisCallName,
    params: unknown,
    options: CallOptions,
    extra?: Pick<SerializeAs, 'extra' | 'checkParams'>,
  ): Promise<SerializedResult<M>> {
    const serializeAs: SerializeAs = { method, ...extra };
    return this.#request({ type: 'call', operation, params, serializeAs }, options, lane).then(
      (bytes) => new SerializedResult(method, bytes as Uint8Array),
    );
  }

  /**
   * A read of the dataset only (no model), served as the LabApi method `method`: in the
   * dataset-read worker, never queued behind a model load, or here when the database is in memory
   * (a worker cannot open it), so the views that list environments keep working there.
   */
  async readDataset<M extends MethodName, N extends DatasetReadName>(
    method: M,
    operation: N,
    params: AnalysisParams<N>,
    options: CallOptions = {},
  ): Promise<SerializedResult<M> | ResultOf<M>> {
    if (this.#store.path !== ':memory:') return this.#serve('dataset', method, operation, params, options);
    return (await this.#readInProcess(operation, params, options)) as ResultOf<M>;
  }

  /** A read of the dataset only, answered as its value (in the dataset-read worker unless the database is in memory). */
  async datasetValue<N extends DatasetReadName>(
    operation: N,
    params: AnalysisParams<N>,
    options: CallOptions = {},
  ): Promise<AnalysisResult<N>> {
    const value =
      this.#store.path !== ':memory:'
        ? this.#request({ type: 'call', operation, params }, options, 'dataset')
        : this.#readInProcess(operation, params, options);
    return (await value) as AnalysisResult<N>;
  }

  /**
   * Saves a selection (selection-writes.ts) in the dataset-read worker, on its own writable
   * connection, answered as selections.save; here when the database is in memory. The params may
   * come unchecked (PARAMS_CHECKED_IN_WORKER: 100k ids or 533 KB of indices): they are checked where it runs.
   */
  async saveSelection(
    params: unknown,
    options: CallOptions = {},
  ): Promise<SerializedResult<'selections.save'> | ResultOf<'selections.save'>> {
    if (this.#store.path !== ':memory:') {
      return this.#serve('dataset', 'selections.save', 'saveSelection', params, options, { checkParams: true });
    }
    const checked = parseParams('selections.save', params);
    return selectionWrites.saveSelection({ store: this.#store, signal: options.signal ?? new AbortController().signal }, checked);
  }

  /** A dataset read on this thread: only for a database in memory, which a worker cannot open. */
  #readInProcess<N extends DatasetReadName>(operation: N, params: AnalysisParams<N>, options: CallOptions): Promise<unknown> {
    const read = datasetReads[operation] as (context: { store: Store; signal: AbortSignal }, params: AnalysisParams<N>) => Promise<unknown>;
    return read({ store: this.#store, signal: options.signal ?? new AbortController().signal }, params);
  }

  /**
   * A read of the Latents view (its projection, its heatmaps' rows, a latent's genes) served as `method`: from the
   * results stored for the run's newest checkpoint, in the 'latents' worker (no model load, never
   * behind one), else computed — and stored — by the analysis worker.
   */
  async serveLatents<M extends 'analysis.projection' | 'analysis.priorShiftRows' | 'analysis.topGenes'>(
    method: M,
    stored: StoredLatentsReadName,
    computed: AnalysisOperationName,
    params: ParamsOf<M>,
    options: CallOptions = {},
  ): Promise<SerializedResult<M>> {
    if (this.#store.path !== ':memory:') {
      try {
        return await this.#serve('latents', method, stored, params, options);
      } catch (error) {
        if (!(error instanceof LabError && error.code === 'not_found')) throw error;
      }
    }
    return this.#serve('model', method, computed, params, options);
  }

  /** Reads the run's stored prior shifts into the 'latents' worker ahead of the view; false when none are stored. */
  async warmStoredLatents(runId: string, options: CallOptions = {}): Promise<boolean> {
    const { warm } = (await this.#request({ type: 'call', operation: 'warmPriorShifts', params: { runId } }, options, 'latents')) as {
      warm: boolean;
    };
    return warm;
  }

  projection(runId: string, method: 'pca' | 'umap', maxPoints: number, options?: CallOptions): Promise<ProjectionResult> {
    return this.run('projection', { runId, method, maxPoints }, options);
  }

  priorShift(runId: string, options?: CallOptions): Promise<PriorShiftResult> {
    return this.run('priorShift', { runId }, options);
  }

  topGenes(runId: string, latent: number, count: number, options?: CallOptions): Promise<TopGenesResult> {
    return this.run('topGenes', { runId, latent, count }, options);
  }

  unseen(runId: string, options?: CallOptions): Promise<UnseenEvaluationResult> {
    return this.run('unseen', { runId }, options);
  }

  /** The structure is read here, where RDKit is loaded; the model runs in the worker. */
  async predictDrug(
    runId: string,
    smiles: string,
    conditions: PredictConditions,
    chemistry: { describe: DescribeStructure },
    options?: CallOptions,
  ): Promise<DrugPredictionResult> {
    const { params, described } = await this.#drugPrediction(runId, smiles, conditions, (s, o) => chemistry.describe(s, o));
    return { ...(await this.run('predictDrug', params, options)), ...described };
  }

  /**
   * predictDrug as the LabApi's 'predict.drug': the structure described by `describe` (the lab's
   * chemistry pool, off this thread), the result validated and serialized in the worker.
   */
  async servePredictDrug(
    runId: string,
    smiles: string,
    conditions: PredictConditions,
    describe: DescribeStructure,
    options?: CallOptions,
  ): Promise<SerializedResult<'predict.drug'>> {
    const { params, described } = await this.#drugPrediction(runId, smiles, conditions, describe);
    return this.serve('predict.drug', 'predictDrug', params, options, { extra: described });
  }

  /** The worker's parameters for a new drug, and what the lab adds to the worker's answer. */
  async #drugPrediction(
    runId: string,
    smiles: string,
    conditions: PredictConditions,
    describe: DescribeStructure,
  ): Promise<{ params: AnalysisParams<'predictDrug'>; described: Omit<DrugPredictionResult, keyof AnalysisResult<'predictDrug'>> }> {
    const run = this.#store.runs.get(runId);
    const dataset = this.#store.datasets.get(run.datasetId);
    const { drugFeatures, cellContext } = TrainingConfig.parse(this.#store.runs.config(runId));
    if (cellContext !== 'one-hot') {
      throw new LabError(
        'conflict',
        `Run "${run.name}" sees cell lines by their basal profiles; predicting from a new SMILES needs a run trained on the cell lines' one-hot codes.`,
      );
    }
    if (drugFeatures !== 'stored') {
      throw new LabError(
        'conflict',
        `Run "${run.name}" was trained on the drug representation "${drugFeatures}"; predicting from a new SMILES needs a run trained on the imported fingerprint.`,
      );
    }
    // The layout only: every environment's vector is megabytes at LINCS size, and not needed here.
    const representations = this.#store.datasets.representationLayout(dataset.id);
    if (!representations.kind.startsWith('morgan')) {
      throw new LabError(
        'conflict',
        `Dataset "${dataset.name}" describes its environments by ${representations.kind}, not drug structures: there is nothing to compute from a SMILES.`,
      );
    }
    const fingerprint = FingerprintOptions.parse((dataset.provenance as { fingerprint?: unknown }).fingerprint ?? {});
    const structure = await describe(smiles, fingerprint);
    if (!structure.ok) throw new LabError('bad_input', `Cannot read the SMILES: ${structure.reason}`);
    const environment = drugEnvironmentVector(representations.columns, fingerprint, structure.fingerprint, conditions);
    const fingerprintBits = fingerprintBitCount(representations.columns);
    const { cellLine } = conditions;
    const atDoseAndTime = takesDoseAndTime(representations.columns);
    return {
      params: { runId, environment, cellLine, fingerprintBits },
      described: {
        smiles,
        canonicalSmiles: structure.canonicalSmiles,
        svg: structure.svg,
        cellLine,
        doseMicromolar: atDoseAndTime ? (conditions.doseMicromolar ?? null) : null,
        timeHours: atDoseAndTime ? (conditions.timeHours ?? null) : null,
      },
    };
  }

  /** Starts the model-free read workers ahead of their first reads (a served lab's start), so a view's first read does not wait for them. */
  startReadWorkers(): void {
    if (this.#store.path === ':memory:' || this.#closed) return;
    for (const lane of ['dataset', 'latents'] as const) this.#idle(this.#ensureThread(lane)); // idle: not keeping the process alive
  }

  /** The worker's heap (null when no worker is running); for benchmarks and diagnostics. */
  async workerStats(): Promise<AnalysisWorkerStats | null> {
    if (!this.#threads.model) return null;
    return (await this.#request({ type: 'stats' }, {}, 'model')) as AnalysisWorkerStats;
  }

  /** Stops the workers; requests still waiting fail as cancelled. */
  async dispose(): Promise<void> {
    this.#closed = true;
    for (const thread of Object.values(this.#threads)) {
      if (!thread) continue;
      this.#rejectAll(thread, new LabError('cancelled', 'The lab is closing; the analysis was stopped.'));
      await thread.worker.terminate();
      await thread.exited;
    }
  }

  #request(
    message: { type: 'call'; operation: AnalysisCallName; params: unknown; serializeAs?: SerializeAs } | { type: 'stats' },
    options: CallOptions,
    lane: Lane = 'model',
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LabError('cancelled', 'The lab is closing.'));
    if (options.signal?.aborted) return Promise.reject(new LabError('cancelled', 'The analysis was cancelled'));
    let thread: AnalysisThread;
    try {
      thread = this.#ensureThread(lane);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!thread.pending.delete(id)) return;
        this.#post(thread, { type: 'cancel', id });
        this.#idle(thread);
        reject(new LabError('cancelled', 'The analysis was cancelled'));
      };
      const settle = () => options.signal?.removeEventListener('abort', onAbort);
      thread.pending.set(id, settlingWith({ resolve, reject }, settle));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // Keep the process alive while a request waits (an idle worker does not, see #idle).
      thread.worker.ref();
      this.#post(thread, { ...message, id } as AnalysisRequest);
    });
  }

  #post(thread: AnalysisThread, request: AnalysisRequest): void {
    thread.worker.postMessage(request);
  }

  #idle(thread: AnalysisThread): void {
    if (thread.pending.size === 0) thread.worker.unref();
  }

  #ensureThread(lane: Lane): AnalysisThread {
    const running = this.#threads[lane];
    if (running) return running;
    if (this.#store.path === ':memory:') {
      throw new LabError('conflict', 'Analysis needs a database file (its worker opens its own connection).');
    }
    const init: AnalysisWorkerInit = {
      databasePath: this.#store.path,
      cacheSize: CACHE_SIZE,
      ...(lane === 'latents' ? { reads: 'latents' as const } : {}),
      ...(this.#options.nativeBinding ? { nativeBinding: this.#options.nativeBinding } : {}),
      ...(this.#options.preferBackend ? { preferBackend: this.#options.preferBackend } : {}),
    };
    const worker = startWorker(WORKER_ENTRIES[lane], {
      workerData: init,
      // The model lane's analyses run for seconds to minutes; the read lanes answer the view's reads.
      background: lane === 'model',
      ...(this.#options.resourceLimits ? { resourceLimits: this.#options.resourceLimits } : {}),
    });
    const thread: AnalysisThread = {
      worker,
      pending: new Map(),
      failure: null,
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
    worker.on('message', (reply: AnalysisReply) => {
      const pending = thread.pending.get(reply.id);
      if (!pending) return; // cancelled meanwhile
      thread.pending.delete(reply.id);
      this.#idle(thread);
      if (reply.type === 'error') pending.reject(LabError.fromPayload(reply.error));
      else pending.resolve(reply.type === 'stats' ? reply.stats : reply.type === 'json' ? reply.bytes : reply.result);
    });
    worker.on('error', (error) => {
      thread.failure = error;
    });
    worker.once('exit', (code) => {
      if (this.#threads[lane] === thread) this.#threads[lane] = null;
      this.#rejectAll(thread, this.#crashError(thread.failure, code));
    });
    this.#threads[lane] = thread;
    return thread;
  }

  #crashError(failure: Error | null, code: number): LabError {
    const outOfMemory = (failure as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const limit = this.#options.resourceLimits?.maxOldGenerationSizeMb;
    const why = outOfMemory
      ? `it ran out of memory${limit ? ` (limit ${limit} MB)` : ''}`
      : failure
        ? `it failed: ${failure.message}`
        : `it exited with code ${code}`;
    return new LabError('internal', `The analysis worker stopped before answering (${why}). The next request starts a new one.`);
  }

  #rejectAll(thread: AnalysisThread, error: LabError): void {
    const pending = [...thread.pending.values()];
    thread.pending.clear();
    for (const p of pending) p.reject(error);
  }
}
