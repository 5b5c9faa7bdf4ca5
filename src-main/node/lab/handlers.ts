// The LabApi's handler table: each method of the contract mapped onto the part of the lab that
// does it. It names the parts it uses (LabParts) rather than the service that composes them.
import type { AppInfo, CreateSyntheticParams } from '../../shared/api/domain.js';
import { LabError } from '../../shared/api/errors.js';
import type { CallContext, MethodName } from '../../shared/api/methods.js';
import type { SweepExecutor, SweepParams } from '../../shared/api/plans.js';
import type { StudyId, StudyOptions } from '../../shared/api/studies.js';
import type { Store } from '../store/store.js';
import type { AnalysisService } from './analysis.js';
import type { LabChemistry } from './chemistry.js';
import type { FileGrants } from './files/grants.js';
import { importGeneSets } from './gene-sets.js';
import type { ImportWorkflow } from './import/workflow.js';
import type { JobRunner } from './jobs.js';
import type { LatentsPrecompute } from './latents-precompute.js';
import { type ScreeningLab, screenStructures } from './mechanism.js';
import { bundleStatus, resubmitFailed } from './plans/slurm.js';
import { listSelections, saveSelection } from './selections.js';
import type { ServedHandlers } from './serialized-result.js';
import type { StudyLab } from './studies/common.js';
import { collectOffThread } from './studies/study-thread.js';
import type { TrainingManager } from './training.js';

/** Handlers that check their own params in the analysis worker; the carriers leave them unchecked (createJsonDispatcher). */
export const PARAMS_CHECKED_IN_WORKER: ReadonlySet<MethodName> = new Set(['analysis.differential', 'selections.save']);

export interface LabParts extends ScreeningLab, StudyLab {
  store: Store;
  jobs: JobRunner;
  training: TrainingManager;
  analysis: AnalysisService;
  files: FileGrants;
  chemistry: LabChemistry;
  imports: ImportWorkflow;
  latents: LatentsPrecompute;
  appInfo(): AppInfo;
  createSynthetic(params: CreateSyntheticParams & { seed: number }): { jobId: string; kind: 'synthetic' };
  startStudy(id: StudyId, options: StudyOptions, executor?: SweepExecutor): Promise<{ jobId: string; kind: 'study' }>;
  startSweep(params: SweepParams): Promise<{ jobId: string; kind: 'sweep' }>;
  datasetsChanged(): void;
  describeFailure(error: unknown): LabError | null;
}

/** Every handler, with failures of the machine (disk full, database busy) rethrown as specific LabErrors. */
export function labHandlers(lab: LabParts): ServedHandlers {
  return withDescribedFailures(handlerTable(lab), (error) => lab.describeFailure(error));
}

function handlerTable(lab: LabParts): ServedHandlers {
  const { store, training, analysis, files, imports, jobs } = lab;
  return {
    'app.info': () => lab.appInfo(),
    'datasets.list': () => store.datasets.list(),
    'datasets.get': ({ id }) => store.datasets.get(id),
    'datasets.rename': ({ id, name }) => {
      const renamed = store.datasets.rename(id, name);
      lab.datasetsChanged();
      return renamed;
    },
    'datasets.delete': ({ id }) => {
      store.datasets.delete(id);
      lab.datasetsChanged();
      void imports.pruneUnpacked();
      return { deleted: true as const };
    },
    'datasets.createSynthetic': (params) => lab.createSynthetic(params),
    // These read every sample (seconds at LINCS size): in the analysis worker, off the serving thread.
    // Results of megabytes come back from the worker validated and serialized (analysis.serve).
    'environments.list': (params, { signal }) => analysis.readDataset('environments.list', 'environments', params, { signal }),
    'environments.page': (params, { signal }) => analysis.readDataset('environments.page', 'environmentsPage', params, { signal }),
    'environments.facets': (params, { signal }) => analysis.readDataset('environments.facets', 'environmentFacets', params, { signal }),
    'environments.labelled': ({ datasetId }) => ({ labelled: store.datasets.hasLabelledEnvironments(datasetId) }),
    'environments.representations': (params, { signal }) =>
      analysis.readDataset('environments.representations', 'representations', params, { signal }),
    'environments.structure': ({ datasetId, environmentId }) => lab.chemistry.environmentStructure(datasetId, environmentId),
    'splits.preview': (params, { signal }) => analysis.readDataset('splits.preview', 'splitPreview', params, { signal }),
    'splits.assignment': (params, { signal }) => analysis.readDataset('splits.assignment', 'splitAssignment', params, { signal }),
    'runs.list': ({ datasetId }) => training.list(datasetId),
    'runs.start': ({ datasetId, name, config }) => {
      const run = training.start(datasetId, config, name);
      lab.latents.watch(run.id); // what Latents opens with, computed when it completes
      return run;
    },
    'runs.get': ({ id }) => training.detail(id),
    'runs.metrics': ({ id }) => training.metrics(id),
    'runs.control': ({ id, action }) => {
      if (action === 'resume') lab.latents.watch(id);
      return training.control(id, action);
    },
    'runs.rename': ({ id, name }) => store.runs.rename(id, name),
    'runs.delete': ({ id }) => {
      training.delete(id);
      return { deleted: true as const };
    },
    'datasets.sampleColumn': (params, { signal }) => analysis.readDataset('datasets.sampleColumn', 'sampleColumn', params, { signal }),
    'datasets.sampleColumns': (params, { signal }) => analysis.readDataset('datasets.sampleColumns', 'sampleColumns', params, { signal }),
    'datasets.sampleIdsAt': (params, { signal }) => analysis.readDataset('datasets.sampleIdsAt', 'idsOfSamples', params, { signal }),
    'analysis.projection': (params, { signal }) =>
      analysis.serveLatents('analysis.projection', 'storedProjection', 'projection', params, { signal }),
    'analysis.priorShift': (params, { signal }) => analysis.serve('analysis.priorShift', 'priorShift', params, { signal }),
    'analysis.priorShiftRows': (params, { signal }) =>
      analysis.serveLatents('analysis.priorShiftRows', 'storedPriorShiftRows', 'priorShiftRows', params, { signal }),
    'analysis.topGenes': (params, { signal }) =>
      analysis.serveLatents('analysis.topGenes', 'storedTopGenes', 'topGenes', params, { signal }),
    // Its params (the lasso's sample ids: 100k strings) are checked in the worker (PARAMS_CHECKED_IN_WORKER).
    'analysis.differential': (params, { signal }) =>
      analysis.serve('analysis.differential', 'differential', params, { signal }, { checkParams: true }),
    'sessions.get': ({ view }) => store.sessions.view(view),
    'sessions.save': ({ view, state }) => store.sessions.saveView(view, state),
    'selections.list': ({ datasetId }, context) => listSelections(analysis, datasetId, context),
    // Its params (a lasso's packed indices, or the command line's ids) are checked in the worker too.
    'selections.save': (params, context) => saveSelection(analysis, params, context),
    'selections.delete': ({ id }) => {
      store.sessions.deleteSelection(id);
      return { deleted: true as const };
    },
    'files.sources': () => files.sources(),
    'files.list': ({ folderId, path }) => files.listFolder(folderId, path),
    'files.grant': ({ folderId, path }) => files.grantInFolder(folderId, path),
    'files.release': async ({ grantId }) => ({ released: await imports.releaseFile(grantId) }),
    'imports.preview': ({ request }) => imports.preview(request),
    'imports.start': ({ request }) => imports.start(request),
    'imports.list': () => store.imports.list(),
    'imports.interrupted': () => imports.interrupted,
    'imports.attachSamples': ({ request }) => imports.attachSamples(request),
    'compounds.import': ({ grantId }) => imports.addCompoundsFromGrant(grantId),
    'studies.start': ({ id, options, executor }) => lab.startStudy(id, options, executor),
    'studies.list': () => store.artifacts.list('study'),
    'studies.get': ({ artifactId }) => JSON.parse(store.artifacts.content(artifactId).toString('utf8')),
    'plans.list': () => store.plans.list().map(({ plan: _plan, ...p }) => ({ ...p, collected: store.plans.collected(p.id).size })),
    'plans.sweep': (params) => lab.startSweep(params),
    'plans.status': ({ planId }) => bundleStatus(bundleOf(store, planId)),
    'plans.resubmit': ({ planId }) => ({ submission: resubmitFailed(bundleOf(store, planId)) }),
    'plans.collect': async ({ planId }, { signal }) => {
      const { report: _report, sweep: _sweep, ...summary } = await collectOffThread(lab, bundleOf(store, planId), signal);
      return summary;
    },
    'evaluation.unseen': (params, { signal }) => analysis.serve('evaluation.unseen', 'unseen', params, { signal }),
    'predict.drug': async ({ runId, smiles, cellLine, doseMicromolar, timeHours }, { signal }) =>
      analysis.servePredictDrug(
        runId,
        smiles,
        {
          cellLine: cellLine ?? null,
          ...(doseMicromolar !== undefined ? { doseMicromolar } : {}),
          ...(timeHours !== undefined ? { timeHours } : {}),
        },
        (structure, options) => lab.chemistry.describeOffThread(structure, options),
        { signal },
      ),
    'geneSets.list': () => store.geneSets.list(),
    'geneSets.import': (params) => importGeneSets(store, params),
    'geneSets.delete': ({ id }) => {
      store.geneSets.delete(id);
      return { deleted: true as const };
    },
    'analysis.enrichment': (params, { signal }) => analysis.serve('analysis.enrichment', 'enrichment', params, { signal }),
    'mechanism.connectivity': (params, { signal }) => analysis.serve('mechanism.connectivity', 'connectivity', params, { signal }),
    'mechanism.screen': (params, { signal }) => screenStructures(lab, params, signal),
    'mechanism.moaRetrieval': (params, { signal }) => analysis.serve('mechanism.moaRetrieval', 'moaRetrieval', params, { signal }),
    'mechanism.neighbours': (params, { signal }) => analysis.serve('mechanism.neighbours', 'drugNeighbours', params, { signal }),
    'jobs.cancel': ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }),
  };
}

function bundleOf(store: Store, planId: string): string {
  const plan = store.plans.get(planId);
  if (!plan.bundlePath) throw new LabError('conflict', `Plan "${plan.name}" ran here and has no bundle.`);
  return plan.bundlePath;
}

function withDescribedFailures(handlers: ServedHandlers, describe: (error: unknown) => LabError | null): ServedHandlers {
  const wrapped: Record<string, (params: never, context: CallContext) => unknown> = {};
  for (const [method, handler] of Object.entries(handlers) as unknown as [string, (params: never, context: CallContext) => unknown][]) {
    wrapped[method] = async (params, context) => {
      try {
        return await handler(params, context);
      } catch (error) {
        throw describe(error) ?? error;
      }
    };
  }
  return wrapped as unknown as ServedHandlers;
}
