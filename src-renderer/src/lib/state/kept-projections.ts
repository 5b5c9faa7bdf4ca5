// The last projections the Latents view drew, kept while the window lives: coming back to the view
// shows the same scatter at once instead of asking the analysis worker to encode and project the
// samples again (seconds at 20,000 points, a minute at 200,000). Keyed by the run's epochs done:
// a run that trained further has a newer checkpoint and is projected afresh.
import type { ProjectionResult } from '../../../../src-main/shared/api/analysis.js';

/** A 200,000-point projection is ~5 MB in the renderer: two are kept at most. */
const KEPT = 2;
const kept = new Map<string, ProjectionResult>();

export function projectionKey(runId: string, epochsDone: number, method: 'pca' | 'umap', maxPoints: number): string {
  return `${runId}@${epochsDone}/${method}/${maxPoints}`;
}

export function keptProjection(key: string): ProjectionResult | null {
  const found = kept.get(key);
  if (!found) return null;
  kept.delete(key); // most recently used last
  kept.set(key, found);
  return found;
}

export function keepProjection(key: string, projection: ProjectionResult): void {
  kept.delete(key);
  kept.set(key, projection);
  while (kept.size > KEPT) kept.delete(kept.keys().next().value as string);
}
