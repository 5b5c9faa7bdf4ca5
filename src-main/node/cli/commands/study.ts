import { writeFileSync } from 'node:fs';
import { describeIssues, LabError } from '../../../shared/api/errors.js';
import {
  ComparisonMetric,
  comparisonMetricLabels,
  StudyId,
  StudyOptions,
  type StudyResult,
  splitComparisonCsv,
} from '../../../shared/api/studies.js';
import { DrugFeatures } from '../../../shared/api/training.js';
import { closeLab } from '../../lab/open.js';
import { writeStudyBundle } from '../../lab/plans/bundle.js';
import { plannedStudies, runStudy, studyTitles } from '../../lab/studies.js';
import { type Command, commonUsage, openCliLab, positiveInteger, printJson, stringOption, textOptions } from '../command.js';
import { planOnSlurm, slurmCliOptions, slurmUsage } from './cluster.js';

export const studyCommand: Command = {
  name: 'study',
  summary: "reproduce one of the seed's experiments; stores a report next to the runs it trained",
  usage: `cellshift study NAME [--quick] [--trials N] [--epochs N] [--seed N] [--dataset ID] [--csv FILE] [--json]
                      [--executor local [--workers N] | --executor slurm --bundle DIR [SLURM OPTIONS]]

Studies (seed section):
${StudyId.options.map((id) => `  ${id.padEnd(20)} ${studyTitles[id].title} (§${studyTitles[id].seedSection})`).join('\n')}

  --quick        smaller data and fewer epochs (minutes, not hours)
  --trials N     trials per model family (default 1 for linear studies, 3 otherwise; 2 for a quick split comparison)
  --epochs N     epochs per run instead of the study's own (nonlinear-5, l1000-shaped, split-comparison, structure-help)
  --families A,B model families to train instead of the study's own (structure-help), e.g. cvae
  --drug-features A,B  structure-help: drug representations to train and score on (default stored), of
                 ${DrugFeatures.options.join(', ')}
  --shift-heads K  structure-help: train the drug-shift VAE as an ensemble of K drug networks
  --splits A,B   structure-help: only these splits (held-out-drugs, scaffold, random-environments for
                 the dose-response split), when the dataset allows them
  --seed N       data and training seed (default 0)
  --dataset ID   for l1000-shaped, split-comparison and structure-help: an imported dataset instead of
                 synthetic L1000-shaped data (real drug structures, effects that follow them)
  --csv FILE     split-comparison: also write the model-vs-baseline table as CSV

Where the runs train (studies that are independent runs: ${Object.keys(plannedStudies).join(', ')}):
  --executor local     here (the default), --workers N training workers at once (default 1)
  --executor slurm     write a bundle to --bundle DIR (dataset snapshot, plan, sbatch job array)
                       and submit it with sbatch when Slurm is on PATH; then "cellshift cluster
                       status DIR", "cellshift cluster resubmit DIR", "cellshift collect DIR"
${slurmUsage}
${commonUsage}`,
  options: {
    quick: { type: 'boolean', default: false },
    ...textOptions(
      'trials',
      'epochs',
      'families',
      'drug-features',
      'splits',
      'shift-heads',
      'seed',
      'dataset',
      'csv',
      'executor',
      'workers',
    ),
    ...slurmCliOptions,
  },
  allowPositionals: true,
  async run(args) {
    const id = StudyId.safeParse(args.positionals[0]);
    if (!id.success) throw new LabError('invalid_params', `Name a study: ${StudyId.options.join(', ')}`);
    const options = StudyOptions.safeParse({
      quick: args.values.quick === true,
      ...(stringOption(args, 'trials') ? { trials: Number(stringOption(args, 'trials')) } : {}),
      ...(stringOption(args, 'epochs') ? { epochs: Number(stringOption(args, 'epochs')) } : {}),
      ...(stringOption(args, 'families') ? { families: (stringOption(args, 'families') as string).split(',').map((f) => f.trim()) } : {}),
      ...(stringOption(args, 'drug-features')
        ? { drugFeatures: (stringOption(args, 'drug-features') as string).split(',').map((f) => f.trim()) }
        : {}),
      ...(stringOption(args, 'shift-heads') ? { shiftHeads: Number(stringOption(args, 'shift-heads')) } : {}),
      ...(stringOption(args, 'splits') ? { splits: (stringOption(args, 'splits') as string).split(',').map((f) => f.trim()) } : {}),
      ...(stringOption(args, 'seed') ? { seed: Number(stringOption(args, 'seed')) } : {}),
      ...(stringOption(args, 'dataset') ? { datasetId: stringOption(args, 'dataset') } : {}),
    });
    if (!options.success) throw new LabError('invalid_params', `Invalid study options: ${describeIssues('', options.error)}`);
    const csv = stringOption(args, 'csv');
    if (csv && id.data !== 'split-comparison') throw new LabError('invalid_params', '--csv is for the split-comparison study');
    const executor = stringOption(args, 'executor') ?? 'local';
    if (executor !== 'local' && executor !== 'slurm') throw new LabError('invalid_params', '--executor is local or slurm');
    const workers = positiveInteger(args, 'workers') ?? 1;
    const lab = await openCliLab(args);
    const progress = {
      progress: (_fraction: number | null, message: string) => {
        if (!args.values.json) process.stderr.write(`${message}\n`);
      },
    };
    try {
      if (executor === 'slurm')
        return await planOnSlurm(args, (request) => writeStudyBundle(lab, id.data, options.data, request, progress));
      const result = await runStudy(lab, id.data, options.data, progress, { workers });
      if (csv && result.comparison) writeFileSync(csv, splitComparisonCsv(result.comparison));
      if (args.values.json) printJson(result);
      else process.stdout.write(describe(result) + (csv ? `Table written to ${csv}\n` : ''));
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};

function describe(result: StudyResult): string {
  const lines = [`\n${result.title} (seed §${result.seedSection})`, ''];
  for (const row of result.table) {
    lines.push(`• ${row.quantity}`, `    seed observed: ${row.seedObserved}`, `    measured:      ${row.measured}`);
  }
  if (result.comparison) lines.push('', ...comparisonLines(result.comparison));
  lines.push('', `Runs: ${result.runs.map((r) => `${r.runId} (${r.family}, ${r.status})`).join(', ')}`);
  lines.push(`Diverged runs: ${result.divergedRuns}. Figures stored: ${result.figures.length}.`, '');
  return `${lines.join('\n')}\n`;
}

/** The model-vs-baseline table as aligned text: one block per split, mean ± std per metric. */
function comparisonLines(comparison: NonNullable<StudyResult['comparison']>): string[] {
  const metrics = ComparisonMetric.options;
  const header = ['method', ...metrics.map((m) => comparisonMetricLabels[m])];
  const lines: string[] = [];
  for (const split of comparison.splits.filter((s) => s.ran)) {
    const rows = split.rows.map((r) => [
      `${r.method}${r.failed > 0 ? ` (${r.failed} of ${r.runs} failed)` : ''}`,
      ...metrics.map((m) => {
        const s = r.metrics[m];
        const text = s.mean === null ? '—' : s.std === null ? s.mean.toFixed(3) : `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}`;
        return split.winners[m] === r.method ? `${text} *` : text;
      }),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
    lines.push(`${split.kind} (* best):`, line(header), ...rows.map(line), '');
  }
  return lines;
}
