import { LabError } from '../../../shared/api/errors.js';
import { closeLab } from '../../lab/open.js';
import { collectBundle } from '../../lab/plans/collect.js';
import { type Command, commonUsage, openCliLab, printJson } from '../command.js';
import { describeSweep } from './sweep.js';

export const collectCommand: Command = {
  name: 'collect',
  summary: "merge a bundle's finished task shards into the lab; builds the report when every task is in",
  usage: `cellshift collect BUNDLE [--db PATH] [--json]

Merges each finished task's run (metrics, checkpoints) into the lab database the bundle was
written from. Collecting again merges only what is new; shards from another plan or dataset are
refused and nothing is merged. Once every task is collected, the study's report is built and
stored exactly as if its runs had trained here.
${commonUsage}`,
  options: {},
  allowPositionals: true,
  async run(args) {
    const bundle = args.positionals[0];
    if (!bundle) throw new LabError('invalid_params', 'Usage: cellshift collect BUNDLE');
    const lab = await openCliLab(args);
    try {
      const result = await collectBundle(lab, bundle);
      if (args.values.json) printJson(result);
      else {
        const lines = [
          `Plan ${result.planId}: merged ${result.merged.length} task(s)${result.merged.length ? ` (${result.merged.join(',')})` : ''}, ` +
            `${result.alreadyCollected.length} already collected, ${result.missing.length} of ${result.tasks} not finished yet` +
            `${result.missing.length ? ` (${result.missing.join(',')})` : ''}.`,
          result.report
            ? `Report stored (artifact ${result.report.artifactId}): ${result.report.title}.`
            : result.sweep
              ? describeSweep(result.sweep)
              : result.reportArtifactId
                ? `The report was stored earlier (artifact ${result.reportArtifactId}).`
                : 'The report is built once every task is collected.',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};
