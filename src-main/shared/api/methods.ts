// The LabApi method table: every request the renderer (or a script) can make, with the
// schema of its parameters and of its result. Carriers and clients are generated from it.
import { z } from 'zod';
import {
  DifferentialParams,
  DifferentialResult,
  DrugPredictionResult,
  PriorShiftResult,
  PriorShiftRowsParams,
  PriorShiftRowsResult,
  ProjectionResult,
  SampleColumnResult,
  TopGenesResult,
  UnseenEvaluationResult,
} from './analysis.js';
import {
  AppInfo,
  ArtifactSummary,
  CreateSyntheticParams,
  DatasetDetail,
  DatasetSummary,
  EnvironmentRepresentations,
  EnvironmentStructure,
  EnvironmentSummary,
  Id,
  ImportRecord,
  JobStarted,
  MetricSeries,
  RunAction,
  RunDetail,
  RunSummary,
} from './domain.js';
import { EnvironmentFacets, EnvironmentPage, EnvironmentPageParams, SplitAssignment } from './environments.js';
import { FileGrant, FileGrantId, FileSources, FolderId, FolderListing, FolderPath } from './files.js';
import { AttachSamplesRequest, CompoundImportResult, ImportPreview, ImportRequest } from './imports.js';
import {
  ConnectivityParams,
  ConnectivityResult,
  DrugNeighboursResult,
  EnrichmentParams,
  EnrichmentResult,
  GeneSetCollection,
  ImportGeneSetsParams,
  MoaRetrievalResult,
  ScreenParams,
} from './mechanism.js';
import { SampleColumnsParams, SampleColumnsResult, SampleIdsAtParams, SampleIdsAtResult } from './packed.js';
import { BundleStatus, CollectSummary, PlanSummary, Submission, SweepExecutor, SweepParams } from './plans.js';
import { SaveSelectionParams, Selection, StoredViewState, ViewName, ViewState } from './sessions.js';
import { StudyId, StudyOptions, StudyResult } from './studies.js';
import { SplitPreview, TrainingConfig, ValidationSplit } from './training.js';

const NoParams = z.strictObject({});

export const methods = {
  'app.info': { params: NoParams, result: AppInfo },
  'datasets.list': { params: NoParams, result: z.array(DatasetSummary) },
  'datasets.get': { params: z.strictObject({ id: Id }), result: DatasetDetail },
  'datasets.rename': {
    params: z.strictObject({ id: Id, name: z.string().trim().min(1).max(200) }),
    result: DatasetSummary,
  },
  'datasets.delete': { params: z.strictObject({ id: Id }), result: z.strictObject({ deleted: z.literal(true) }) },
  'datasets.createSynthetic': { params: CreateSyntheticParams, result: JobStarted },
  /** Every environment at once: the CLI and scripts; views ask for a page or the facets (50k environments at LINCS size). */
  'environments.list': { params: z.strictObject({ datasetId: Id }), result: z.array(EnvironmentSummary) },
  /** One page of the environments a search keeps, sorted, with the totals. */
  'environments.page': { params: EnvironmentPageParams, result: EnvironmentPage },
  'environments.facets': { params: z.strictObject({ datasetId: Id }), result: EnvironmentFacets },
  /** Whether any environment is a control or names a perturbagen (false: a table of sample labels would help). */
  'environments.labelled': { params: z.strictObject({ datasetId: Id }), result: z.strictObject({ labelled: z.boolean() }) },
  'environments.representations': {
    params: z.strictObject({ datasetId: Id }),
    result: EnvironmentRepresentations,
  },
  'environments.structure': {
    params: z.strictObject({ datasetId: Id, environmentId: Id }),
    result: EnvironmentStructure,
  },
  'splits.preview': { params: z.strictObject({ datasetId: Id, split: ValidationSplit }), result: SplitPreview },
  'splits.assignment': { params: z.strictObject({ datasetId: Id, split: ValidationSplit }), result: SplitAssignment },
  'runs.list': { params: z.strictObject({ datasetId: Id.optional() }), result: z.array(RunSummary) },
  'runs.start': {
    params: z.strictObject({ datasetId: Id, name: z.string().trim().min(1).max(200).optional(), config: TrainingConfig }),
    result: RunSummary,
  },
  'runs.get': { params: z.strictObject({ id: Id }), result: RunDetail },
  'runs.metrics': { params: z.strictObject({ id: Id }), result: z.array(MetricSeries) },
  'runs.control': { params: z.strictObject({ id: Id, action: RunAction }), result: RunSummary },
  'runs.rename': { params: z.strictObject({ id: Id, name: z.string().trim().min(1).max(200) }), result: RunSummary },
  'runs.delete': { params: z.strictObject({ id: Id }), result: z.strictObject({ deleted: z.literal(true) }) },
  'datasets.sampleColumn': {
    params: z.strictObject({ datasetId: Id, column: z.string().min(1).max(200) }),
    result: SampleColumnResult,
  },
  /** Several columns of every sample in one answer, dictionary-encoded (packed.ts): what the Latents view colours and groups by. */
  'datasets.sampleColumns': { params: SampleColumnsParams, result: SampleColumnsResult },
  'datasets.sampleIdsAt': { params: SampleIdsAtParams, result: SampleIdsAtResult },
  'analysis.projection': {
    params: z.strictObject({
      runId: Id,
      method: z.enum(['pca', 'umap']).default('pca'),
      maxPoints: z.number().int().min(10).max(200_000).default(20_000),
    }),
    result: ProjectionResult,
  },
  'analysis.priorShift': { params: z.strictObject({ runId: Id }), result: PriorShiftResult },
  'analysis.priorShiftRows': { params: PriorShiftRowsParams, result: PriorShiftRowsResult },
  'analysis.topGenes': {
    params: z.strictObject({ runId: Id, latent: z.number().int().min(0), count: z.number().int().min(1).max(1000).default(25) }),
    result: TopGenesResult,
  },
  'analysis.differential': { params: DifferentialParams, result: DifferentialResult },
  'sessions.get': { params: z.strictObject({ view: ViewName }), result: StoredViewState },
  'sessions.save': { params: z.strictObject({ view: ViewName, state: ViewState }), result: StoredViewState },
  'selections.list': { params: z.strictObject({ datasetId: Id }), result: z.array(Selection) },
  'selections.save': { params: SaveSelectionParams, result: Selection },
  'selections.delete': { params: z.strictObject({ id: Id }), result: z.strictObject({ deleted: z.literal(true) }) },
  'files.sources': { params: NoParams, result: FileSources },
  'files.list': { params: z.strictObject({ folderId: FolderId, path: FolderPath.default('') }), result: FolderListing },
  'files.grant': { params: z.strictObject({ folderId: FolderId, path: FolderPath }), result: FileGrant },
  'files.release': { params: z.strictObject({ grantId: FileGrantId }), result: z.strictObject({ released: z.boolean() }) },
  'imports.preview': { params: z.strictObject({ request: ImportRequest }), result: ImportPreview },
  'imports.start': { params: z.strictObject({ request: ImportRequest }), result: JobStarted },
  'imports.list': { params: NoParams, result: z.array(ImportRecord) },
  'imports.interrupted': { params: NoParams, result: z.array(ImportRecord) },
  /** Adds a pert_info / compoundinfo / SMILES list file (chosen or uploaded) to the lab-wide compound library. */
  /** A job: a new dataset, the stored one's samples grouped into environments by the table. */
  'imports.attachSamples': { params: z.strictObject({ request: AttachSamplesRequest }), result: JobStarted },
  'compounds.import': { params: z.strictObject({ grantId: FileGrantId }), result: CompoundImportResult },
  'studies.start': {
    params: z.strictObject({
      id: StudyId,
      options: StudyOptions.default(StudyOptions.parse({})),
      /** Train here, or write the study's plan as a Slurm bundle (studies that run as a plan; as `study --executor`). */
      executor: SweepExecutor.default({ kind: 'local', workers: 1 }),
    }),
    result: JobStarted,
  },
  'studies.list': { params: NoParams, result: z.array(ArtifactSummary) },
  'studies.get': { params: z.strictObject({ artifactId: Id }), result: StudyResult },
  'plans.list': { params: NoParams, result: z.array(PlanSummary) },
  /**
   * A hyperparameter sweep (as `cellshift sweep`): one run per grid point, trained here or written as
   * a Slurm bundle. Refused before the job starts when the grid or a point's configuration is invalid.
   */
  'plans.sweep': { params: SweepParams, result: JobStarted },
  /** Each task's state, asked of Slurm (squeue, scontrol, sacct or the jobcomp record) and the bundle's shards. */
  'plans.status': { params: z.strictObject({ planId: Id }), result: BundleStatus },
  'plans.resubmit': { params: z.strictObject({ planId: Id }), result: z.strictObject({ submission: Submission.nullable() }) },
  'plans.collect': { params: z.strictObject({ planId: Id }), result: CollectSummary },
  'evaluation.unseen': { params: z.strictObject({ runId: Id }), result: UnseenEvaluationResult },
  'predict.drug': {
    params: z.strictObject({
      runId: Id,
      smiles: z.string().min(1).max(10_000),
      cellLine: z.string().min(1).optional(),
      /** Needed when the model's environments include dose and time. */
      doseMicromolar: z.number().positive().finite().optional(),
      timeHours: z.number().positive().finite().optional(),
    }),
    result: DrugPredictionResult,
  },
  'geneSets.list': { params: NoParams, result: z.array(GeneSetCollection) },
  'geneSets.import': { params: ImportGeneSetsParams, result: GeneSetCollection },
  'geneSets.delete': { params: z.strictObject({ id: Id }), result: z.strictObject({ deleted: z.literal(true) }) },
  'analysis.enrichment': { params: EnrichmentParams, result: EnrichmentResult },
  'mechanism.connectivity': { params: ConnectivityParams, result: ConnectivityResult },
  'mechanism.screen': { params: ScreenParams, result: ConnectivityResult },
  'mechanism.moaRetrieval': { params: z.strictObject({ runId: Id }), result: MoaRetrievalResult },
  'mechanism.neighbours': {
    params: z.strictObject({ runId: Id, environmentKey: z.string().min(1).max(1000), count: z.number().int().min(1).max(200).default(10) }),
    result: DrugNeighboursResult,
  },
  'jobs.cancel': { params: z.strictObject({ jobId: Id }), result: z.strictObject({ cancelled: z.boolean() }) },
} as const satisfies Record<string, { params: z.ZodType; result: z.ZodType }>;

export type MethodName = keyof typeof methods;
export type ParamsOf<M extends MethodName> = z.input<(typeof methods)[M]['params']>;
/** Parameters after validation (defaults applied). */
export type ValidParamsOf<M extends MethodName> = z.output<(typeof methods)[M]['params']>;
export type ResultOf<M extends MethodName> = z.output<(typeof methods)[M]['result']>;

export const methodNames = Object.keys(methods) as MethodName[];

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}

/** What a handler knows of its call besides the parameters. */
export interface CallContext {
  /** Aborted when the caller has gone (an HTTP client disconnected); long work may stop early. */
  readonly signal: AbortSignal;
}

/** What a LabApi implementation provides: one async function per method. */
export type LabHandlers = {
  [M in MethodName]: (params: ValidParamsOf<M>, context: CallContext) => Promise<ResultOf<M>> | ResultOf<M>;
};
