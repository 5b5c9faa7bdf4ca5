import type { UnseenEvaluationResult } from '../../../shared/api/analysis.js';
import { LabError } from '../../../shared/api/errors.js';
import type { MoaRetrievalResult } from '../../../shared/api/mechanism.js';
import { closeLab } from '../../lab/open.js';
import { type Command, commonUsage, openCliLab, printJson, stringOption } from '../command.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: "score a run's predictions for its held-out environments against four baselines",
  usage: `cellshift eval --run RUN_ID [--json]

For every environment the run held out (unseen drugs, scaffolds, cell lines…), compares the
model's predicted mean expression with the measured one — R² over all genes and over the 50 genes
the environment moves most, Pearson r of the change from control, and direction agreement — next to
the control mean, the mean of training drugs, Tanimoto-weighted nearest neighbours, and ridge
regression from the environment representation. Says plainly which method wins.
${commonUsage}`,
  options: { run: { type: 'string' } },
  async run(args) {
    const runId = stringOption(args, 'run');
    if (!runId) throw new LabError('invalid_params', '--run RUN_ID is required');
    const lab = await openCliLab(args);
    try {
      const result = await lab.analysis.unseen(runId);
      // Known mechanisms, when the dataset carries them: does the latent space group drugs by MoA?
      const retrieval = await lab.analysis.run('moaRetrieval', { runId });
      if (args.values.json) {
        printJson(result);
        printJson(retrieval);
      } else process.stdout.write(describe(result) + describeRetrieval(retrieval));
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};

function describeRetrieval(result: MoaRetrievalResult): string {
  if (result.annotated === 0) return 'No drug of this dataset has a known MoA (moa column): MoA retrieval was not measured.\n';
  const lines = result.scores.map(
    (s) => `  ${s.method.padEnd(12)}  ${s.map === null ? `— (${s.note})` : `${s.map.toFixed(3)}   random ${s.chance?.toFixed(3)}`}`,
  );
  return [
    '',
    `Same-MoA neighbours, mean average precision over ${result.annotated} of ${result.drugs} drug environments with a known MoA:`,
    ...lines,
    result.verdict,
    '',
  ].join('\n');
}

function describe(result: UnseenEvaluationResult): string {
  if (result.scores.length === 0) return `${result.note}\n`;
  const header = ['method', 'R² all', 'R² top-50', 'r(Δ)', 'direction top-50', 'R²(Δ) top-50 DEGs', 'r(Δ) top-50 DEGs'];
  const rows = result.scores.map((s) => [
    s.method,
    s.r2.toFixed(3),
    s.r2Top50.toFixed(3),
    s.pearsonDelta.toFixed(3),
    s.directionTop50.toFixed(3),
    s.r2DeltaTop50.toFixed(3),
    s.pearsonDeltaTop50.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  const w = result.winners;
  return [
    `Run ${result.runId} (checkpoint of epoch ${result.epoch}), split "${result.split}": ${result.environments.length} held-out environments, ${result.genes} genes`,
    '',
    line(header),
    ...rows.map(line),
    '',
    "Δ is the change from the same cell line's control mean; top-50 DEGs are the 50 genes whose measured |Δ| is largest in that environment. Scores are averaged over held-out environments.",
    `Best: R² ${w.r2}, R² top-50 ${w.r2Top50}, r(Δ) ${w.pearsonDelta}, direction ${w.directionTop50}.`,
    ...(result.note ? [result.note] : []),
    '',
  ].join('\n');
}
