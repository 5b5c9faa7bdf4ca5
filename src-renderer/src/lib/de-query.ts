// A differential-expression table as a connectivity query: the genes significantly up (and down)
// in group A against group B, the strongest by Welch t. Pure, so it is unit-tested without a DOM.
import type { DifferentialResult } from '../../../src-main/shared/api/analysis.js';

export interface DeQueryThresholds {
  /** At most this many genes per direction. */
  top: number;
  /** Benjamini–Hochberg adjusted p below this. */
  fdr: number;
}

export const defaultDeQueryThresholds: DeQueryThresholds = { top: 50, fdr: 0.05 };

export interface DeQueryLists {
  /** Gene ids, strongest first. */
  up: string[];
  down: string[];
}

type Gene = Pick<DifferentialResult['genes'][number], 'id' | 'difference' | 't' | 'adjustedP'>;

export function deQueryLists(genes: readonly Gene[], { top, fdr }: DeQueryThresholds): DeQueryLists {
  const n = Math.max(0, Math.floor(top));
  const significant = genes.filter((g) => g.adjustedP !== null && g.adjustedP < fdr && g.t !== null && Number.isFinite(g.t));
  const pick = (sign: 1 | -1) =>
    significant
      .filter((g) => sign * g.difference > 0)
      .sort((a, b) => sign * ((b.t as number) - (a.t as number)) || a.id.localeCompare(b.id))
      .slice(0, n)
      .map((g) => g.id);
  return { up: pick(1), down: pick(-1) };
}
