// LabService: the composition root. It builds the lab's parts (store, jobs, training, analysis,
// chemistry, imports, files) and offers them as the LabApi through the handler table
// (handlers.ts). Plain Node: no Electron, no HTTP.

import { platform } from 'node:os';
import { join } from 'node:path';
import type { AppInfo, CreateSyntheticParams, DatasetSummary } from '../../shared/api/domain.js';
import type { LabError } from '../../shared/api/errors.js';
import type { SweepExecutor, SweepParams } from '../../shared/api/plans.js';
import type { LabEvent } from '../../shared/api/protocol.js';
import type { StudyId, StudyOptions } from '../../shared/api/studies.js';
import type { BackendName } from '../ml/backend.js';
import { databaseFailure } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { AnalysisService } from './analysis.js';
import { LabChemistry } from './chemistry.js';
import { FileGrants } from './files/grants.js';
import { labHandlers } from './handlers.js';
import { CachedStructures } from './import/structures.js';
import { importSyntheticPreset } from './import/synthetic.js';
import { demoDrugPanel, drugPanelDescription, importDrugPanel } from './import/synthetic-drugs.js';
import { ImportWorkflow } from './import/workflow.js';
import { JobRunner } from './jobs.js';
import { LatentsPrecompute } from './latents-precompute.js';
import { requirePlannedStudy } from './plans/bundle.js';
import { checkSweep, executeSweep, studyOnSlurm } from './plans/sweep.js';
import type { ServedHandlers } from './serialized-result.js';
import { runStudyOffThread } from './studies/study-thread.js';
import { TrainingManager } from './training.js';
import { appVersion } from './version.js';

export type Carrier = AppInfo['carrier'];

const DEMO_SEEDED_KEY = 'demo_dataset_seeded';
export const DEMO_NAME = 'Demo: drug panel with real structures';
export const SPARSE_DEMO_NAME = 'Demo: synthetic sparse drug effects';
/** The first-start dataset: the drug panel with real structures, or the structure-free sparse demo. */
export const DemoKind = ['drug-panel', 'sparse'] as const;
export type DemoKind = (typeof DemoKind)[number];
/** How long first start waits for RDKit (it loads in about a second) before seeding the structure-free demo. */
const DEMO_RDKIT_WAIT_MS = 30_000;

export interface LabServiceOptions {
  store: Store;
  carrier: Carrier;
  /** better_sqlite3.node for another ABI, handed to training workers too. */
  nativeBinding?: string;
  /** Force a compute backend for training (default: the fastest that works). */
  preferBackend?: BackendName;
  /** Which files this lab may open: grants, allowed folders, the upload inbox (default: grants only). */
  files?: FileGrants;
}

export class LabService {
  readonly store: Store;
  /** better_sqlite3.node for another ABI, for the connections of worker threads. */
  readonly nativeBinding?: string;
  readonly #carrier: Carrier;
  readonly #listeners = new Set<(event: LabEvent) => void>();
  readonly jobs: JobRunner;
  readonly training: TrainingManager;
  readonly analysis: AnalysisService;
  /** What the Latents view opens with, computed in the background (startBackgroundWork). */
  readonly latents: LatentsPrecompute;
  readonly files: FileGrants;
  readonly chemistry: LabChemistry;
  readonly imports: ImportWorkflow;

  constructor(options: LabServiceOptions) {
    this.store = options.store;
    this.#carrier = options.carrier;
    if (options.nativeBinding) this.nativeBinding = options.nativeBinding;
    const engine = {
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.preferBackend ? { preferBackend: options.preferBackend } : {}),
    };
    this.jobs = new JobRunner(
      (event) => this.#emit(event),
      (error) => this.describeFailure(error),
    );
    this.training = new TrainingManager({ store: options.store, emit: (event) => this.#emit(event), ...engine });
    this.analysis = new AnalysisService({ store: options.store, ...engine });
    this.latents = new LatentsPrecompute(options.store, this.analysis);
    this.onEvent((event) => {
      if (event.type === 'run.status') this.latents.runStatusChanged(event.run);
    });
    this.files = options.files ?? new FileGrants();
    this.chemistry = new LabChemistry(options.store);
    this.imports = new ImportWorkflow({
      store: options.store,
      jobs: this.jobs,
      files: this.files,
      chemistry: this.chemistry,
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      datasetsChanged: () => this.datasetsChanged(),
      describeFailure: (error) => this.describeFailure(error),
    });
    // Whatever was training when the last process died is interrupted, not running.
    this.store.runs.markInterrupted();
  }

  /** A full disk, a read-only or busy database, in words naming the database and what to do; else null. */
  describeFailure(error: unknown): LabError | null {
    return databaseFailure(error, this.store.path, { db: this.store.db });
  }

  onEvent(listener: (event: LabEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * On the very first start the lab gets a demo dataset from the synthetic generator, so every
   * screen has something real to show. Deleting it later is respected: it is not recreated.
   */
  /**
   * First start: the synthetic drug panel with real structures, so Environments shows structures,
   * scaffolds and split previews at once. It needs RDKit; if RDKit fails to load or takes longer
   * than `rdkitWaitMs`, the structure-free demo ('sparse', also chosen by `--demo sparse`) is seeded
   * instead so that the lab still opens.
   */
  async ensureDemoDataset(kind: DemoKind = 'drug-panel', rdkitWaitMs = DEMO_RDKIT_WAIT_MS): Promise<DatasetSummary | null> {
    if (this.store.getSetting(DEMO_SEEDED_KEY) !== undefined) return null;
    const drugPanel = kind === 'drug-panel' ? await this.#seedDrugPanelDemo(rdkitWaitMs) : null;
    const summary = drugPanel ?? importSyntheticPreset(this.store, { preset: 'demo', seed: 0, name: SPARSE_DEMO_NAME });
    this.store.setSetting(DEMO_SEEDED_KEY, summary.id);
    this.datasetsChanged();
    return summary;
  }

  async #seedDrugPanelDemo(rdkitWaitMs: number): Promise<DatasetSummary | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), rdkitWaitMs);
    });
    try {
      const chemistry = await Promise.race([this.chemistry.load(), timeout]);
      if (chemistry === null) {
        console.warn(`CellShift: RDKit did not load within ${rdkitWaitMs} ms; the demo dataset has no structures`);
        return null;
      }
      const { dataset } = await importDrugPanel(this.store, new CachedStructures(chemistry, this.store.molecules), demoDrugPanel, {
        name: DEMO_NAME,
        description: `${drugPanelDescription} The built-in demo; its drugs' effects follow their structures.`,
      });
      return dataset;
    } catch (error) {
      console.warn(`CellShift: the drug-panel demo could not be made (${(error as Error).message}); the demo dataset has no structures`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  appInfo(): AppInfo {
    return {
      name: 'CellShift',
      version: appVersion,
      carrier: this.#carrier,
      databasePath: this.store.path,
      schemaVersion: this.store.schemaVersion,
      platform: `${platform()}-${process.arch}`,
      chemistryEngine: this.chemistry.engineStatement,
    };
  }

  createSynthetic(params: CreateSyntheticParams & { seed: number }): { jobId: string; kind: 'synthetic' } {
    return this.imports.createSynthetic({ preset: params.preset, seed: params.seed, ...(params.name ? { name: params.name } : {}) });
  }

  /** A study as a job, trained here or written as a Slurm bundle; a study that cannot be bundled, or a folder not allowed, is refused first. */
  async startStudy(
    id: StudyId,
    options: StudyOptions,
    executor: SweepExecutor = { kind: 'local', workers: 1 },
  ): Promise<{ jobId: string; kind: 'study' }> {
    if (executor.kind === 'local') {
      const { jobId } = this.jobs.start('study', (context) =>
        runStudyOffThread(this, { id, options, execution: { workers: executor.workers } }, context),
      );
      return { jobId, kind: 'study' };
    }
    requirePlannedStudy(id);
    const folder = await this.#bundleFolder(executor);
    const request = { folder, slurm: executor.slurm, submit: executor.submit };
    const { jobId } = this.jobs.start('study', (context) => studyOnSlurm(this, id, options, request, context));
    return { jobId, kind: 'study' };
  }

  /** A sweep as a job; the grid and every point are checked first, so a bad value stores nothing. */
  async startSweep(params: SweepParams): Promise<{ jobId: string; kind: 'sweep' }> {
    checkSweep(this, params);
    const executor = params.executor;
    const folder = executor.kind === 'slurm' ? await this.#bundleFolder(executor) : null;
    const { jobId } = this.jobs.start('sweep', (context) => executeSweep(this, params, async () => folder as string, context));
    return { jobId, kind: 'sweep' };
  }

  /** A new bundle folder inside an allowed folder (the renderer names it; it never gives a path). */
  async #bundleFolder(executor: Extract<SweepExecutor, { kind: 'slurm' }>): Promise<string> {
    const { real } = await this.files.folders.resolve(executor.folderId, '', 'directory');
    return join(real, executor.bundleName);
  }

  handlers(): ServedHandlers {
    return labHandlers(this);
  }

  /**
   * What a lab serving a window does beyond answering: the model-free read workers started now
   * rather than on a view's first read, and the Latents view's opening precomputed (and read into
   * its worker) for the runs it shows.
   */
  startBackgroundWork(): void {
    this.analysis.startReadWorkers();
    this.latents.start();
  }

  async close(): Promise<void> {
    this.latents.close();
    await this.training.stopAll();
    await this.jobs.stopAll();
    await this.imports.close();
    await this.files.close();
    await this.analysis.dispose();
    await this.chemistry.close();
    this.#listeners.clear();
  }

  datasetsChanged(): void {
    this.#emit({ type: 'datasets.changed', datasets: this.store.datasets.list() });
  }

  #emit(event: LabEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error('LabEvent listener failed:', error);
      }
    }
  }
}
