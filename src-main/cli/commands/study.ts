import { describeIssues, LabError } from '../../api/errors.js';
import { StudyId, StudyOptions, type StudyResult } from '../../api/studies.js';
import { closeLab, openLab } from '../../lab/open.js';
import { runStudy, studyTitles } from '../../lab/studies.js';
import { resolveDatabasePath } from '../../store/location.js';
import { type Command, commonUsage, printJson, stringOption } from '../command.js';

export const studyCommand: Command = {
  name: 'study',
  summary: "reproduce one of the seed's experiments; stores a report next to the runs it trained",
  usage: `cellshift study NAME [--quick] [--trials N] [--seed N] [--dataset ID] [--json]

Studies (seed section):
${StudyId.options.map((id) => `  ${id.padEnd(20)} ${studyTitles[id].title} (§${studyTitles[id].seedSection})`).join('\n')}

  --quick        smaller data and fewer epochs (minutes, not hours)
  --trials N     trials per model family (default 1 for linear studies, 3 otherwise)
  --seed N       data and training seed (default 0)
  --dataset ID   for l1000-shaped: an imported L1000 dataset instead of synthetic data
${commonUsage}`,
  options: {
    quick: { type: 'boolean', default: false },
    trials: { type: 'string' },
    seed: { type: 'string' },
    dataset: { type: 'string' },
  },
  allowPositionals: true,
  async run(args) {
    const id = StudyId.safeParse(args.positionals[0]);
    if (!id.success) throw new LabError('invalid_params', `Name a study: ${StudyId.options.join(', ')}`);
    const options = StudyOptions.safeParse({
      quick: args.values.quick === true,
      ...(stringOption(args, 'trials') ? { trials: Number(stringOption(args, 'trials')) } : {}),
      ...(stringOption(args, 'seed') ? { seed: Number(stringOption(args, 'seed')) } : {}),
      ...(stringOption(args, 'dataset') ? { datasetId: stringOption(args, 'dataset') } : {}),
    });
    if (!options.success) throw new LabError('invalid_params', `Invalid study options: ${describeIssues('', options.error)}`);
    const lab = await openLab({ databasePath: resolveDatabasePath(stringOption(args, 'db')), carrier: 'cli', seedDemo: false });
    try {
      const result = await runStudy(lab, id.data, options.data, {
        progress: (_fraction, message) => {
          if (!args.values.json) process.stderr.write(`${message}\n`);
        },
      });
      if (args.values.json) printJson(result);
      else process.stdout.write(describe(result));
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
  lines.push('', `Runs: ${result.runs.map((r) => `${r.runId} (${r.family}, ${r.status})`).join(', ')}`);
  lines.push(`Diverged runs: ${result.divergedRuns}. Figures stored: ${result.figures.length}.`, '');
  return `${lines.join('\n')}\n`;
}
