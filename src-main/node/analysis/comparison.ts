// Model-versus-baseline comparison across validation splits: per-trial scores summarised as
// mean ± std, the winner of each metric, and a verdict in plain words. Pure functions, so the
// wording is tested on hand-made numbers and always names the computed winner.
import {
  type ComparisonMetric,
  ComparisonMetric as ComparisonMetricSchema,
  type ComparisonSplitKind,
  comparisonMetricLabels,
  type SplitComparison,
} from '../../shared/api/studies.js';

type Split = SplitComparison['splits'][number];
type Row = Split['rows'][number];
type Summary = Row['metrics'][ComparisonMetric];

export const splitLabels: Record<ComparisonSplitKind, string> = {
  'random-environments': 'random-environment',
  'held-out-drugs': 'held-out-drug',
  scaffold: 'scaffold',
};

/** Mean and sample standard deviation of the trials that produced a number. */
export function summarise(values: readonly (number | null)[]): Summary {
  const kept = values.map((v) => (v !== null && Number.isFinite(v) ? v : null));
  const finite = kept.filter((v): v is number => v !== null);
  if (finite.length === 0) return { mean: null, std: null, values: kept };
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const std = finite.length > 1 ? Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / (finite.length - 1)) : null;
  return { mean, std, values: kept };
}

/** Highest mean per metric (ties go to the row listed first). */
export function winners(rows: readonly Row[]): Record<ComparisonMetric, string | null> {
  const out = {} as Record<ComparisonMetric, string | null>;
  for (const metric of ComparisonMetricSchema.options) {
    let best: Row | null = null;
    for (const row of rows) {
      const m = row.metrics[metric].mean;
      if (m !== null && (best === null || m > (best.metrics[metric].mean as number))) best = row;
    }
    out[metric] = best?.method ?? null;
  }
  return out;
}

function show(s: Summary): string {
  if (s.mean === null) return 'n/a';
  return s.std === null ? s.mean.toFixed(2) : `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}`;
}

function best(rows: readonly Row[], metric: ComparisonMetric): Row | null {
  return rows.reduce<Row | null>((b, r) => {
    const m = r.metrics[metric].mean;
    return m !== null && (b === null || m > (b.metrics[metric].mean as number)) ? r : b;
  }, null);
}

/**
 * One sentence per metric, e.g. "ridge wins R² (0.41 ± 0.02 vs the best model, env-vae,
 * 0.33 ± 0.05)", then the count of metrics won by models and by baselines.
 */
export function verdict(kind: ComparisonSplitKind, rows: readonly Row[], heldOut: Split['heldOut']): string {
  const models = rows.filter((r) => r.kind === 'model');
  const baselines = rows.filter((r) => r.kind === 'baseline');
  const average = (k: 'environments' | 'drugs' | 'scaffolds') =>
    heldOut.length === 0 ? 0 : Math.round(heldOut.reduce((s, h) => s + h[k], 0) / heldOut.length);
  const head =
    `On the ${splitLabels[kind]} split (${heldOut.length} trial${heldOut.length === 1 ? '' : 's'}; ` +
    `${average('environments')} held-out environments from ${average('drugs')} drugs` +
    `${kind === 'scaffold' ? ` in ${average('scaffolds')} scaffolds` : ''} per trial)`;
  const failedModels = models.filter((m) => m.runs > 0 && m.failed === m.runs).map((m) => m.method);
  const parts: string[] = [];
  let modelWins = 0;
  let baselineWins = 0;
  for (const metric of ComparisonMetricSchema.options) {
    const winner = best(rows, metric);
    if (!winner) continue;
    const rival = winner.kind === 'model' ? best(baselines, metric) : best(models, metric);
    if (winner.kind === 'model') modelWins++;
    else baselineWins++;
    const w = winner.metrics[metric];
    const subject = winner.kind === 'model' ? `the model ${winner.method}` : winner.method;
    let sentence = `${subject} wins ${comparisonMetricLabels[metric]} (${show(w)}`;
    if (rival) {
      const r = rival.metrics[metric];
      sentence += ` vs the best ${rival.kind}, ${rival.method}, ${show(r)}`;
      const spread = Math.max(w.std ?? 0, r.std ?? 0);
      if (spread > 0 && (w.mean as number) - (r.mean as number) < spread) sentence += '; within one std over trials';
    } else {
      sentence += models.length === 0 || failedModels.length === models.length ? '; no model run completed' : '';
    }
    parts.push(`${sentence})`);
  }
  if (parts.length === 0) return `${head}: nothing could be scored.`;
  const tally = models.length === 0 ? '' : ` Models win ${modelWins} of ${modelWins + baselineWins} metrics, baselines ${baselineWins}.`;
  const failures = failedModels.length > 0 ? ` Every run of ${failedModels.join(', ')} diverged or failed.` : '';
  return `${head}: ${parts.join('; ')}.${tally}${failures}`;
}
