// Resolves which runs and datasets a figure shows into full provenance, from what the renderer
// already holds: the run list (model, seed, backend), the dataset list (name, content hash) and
// app.info (version).
import type { DatasetSummary, RunSummary } from '../../../../src-main/shared/api/domain.js';
import { buildProvenance, type Provenance, type ProvenanceRun } from './provenance.js';

export interface ProvenanceScope {
  runIds?: string[];
  datasetIds?: string[];
  extra?: Record<string, string | number | null | undefined>;
}

export interface ProvenanceSources {
  app: { name: string; version: string } | null;
  runs: RunSummary[];
  datasets: DatasetSummary[];
}

export function resolveProvenance(title: string, scope: ProvenanceScope, sources: ProvenanceSources, now = new Date()): Provenance {
  const runs: ProvenanceRun[] = (scope.runIds ?? []).map((id) => {
    const run = sources.runs.find((r) => r.id === id);
    return run
      ? { id, name: run.name, model: run.model, seed: run.seed, backend: run.backend, datasetId: run.datasetId }
      : { id, name: id, model: 'unknown', seed: null, backend: null, datasetId: 'unknown' };
  });
  const datasetIds = [...new Set([...runs.map((r) => r.datasetId), ...(scope.datasetIds ?? [])])];
  const datasets = datasetIds.flatMap((id) => {
    const dataset = sources.datasets.find((d) => d.id === id);
    return dataset ? [{ id, name: dataset.name, contentHash: dataset.contentHash }] : [];
  });
  return buildProvenance({ title, app: sources.app, runs, datasets, ...(scope.extra ? { extra: scope.extra } : {}), exportedAt: now });
}
