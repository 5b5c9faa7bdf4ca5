import { LabError } from '../../../shared/api/errors.js';
import { ModelFamily } from '../../../shared/api/training.js';
import { closeLab } from '../../lab/open.js';
import { writeBundle } from '../../lab/plans/bundle.js';
import { parseGrid, prepareSweep, runSweep, type SweepResult, sweepBaseConfig, sweepParameters } from '../../lab/plans/sweep.js';
import { type Command, commonUsage, openCliLab, positiveInteger, printJson, stringOption, textOptions } from '../command.js';
import { planOnSlurm, slurmCliOptions, slurmUsage } from './cluster.js';

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'train one run per point of a hyperparameter grid (here, or as a Slurm job array) and compare held-out losses',
  usage: `cellshift sweep --dataset ID --model FAMILY --grid NAME=V1,V2 [--grid NAME=V1,V2 …] [options]

  --grid NAME=V1,V2     an axis of the grid; NAME is one of ${sweepParameters.join(', ')}
                        (e.g. --grid lr=1e-3,1e-4 --grid latent=100,200: 4 runs)
  --model FAMILY        ${ModelFamily.options.join(' | ')}
  --epochs N            default 50        --seed N   training and split seed (default 0)
  --validation-fraction F   environments held out for the losses compared (default 0.2)
  --executor local      here (the default), --workers N training workers at once (default 1)
  --executor slurm      write a bundle to --bundle DIR and submit it; then cellshift collect DIR
${slurmUsage}
${commonUsage}`,
  options: {
    ...textOptions('dataset', 'model'),
    grid: { type: 'string', multiple: true },
    ...textOptions('epochs', 'seed', 'validation-fraction', 'executor', 'workers'),
    ...slurmCliOptions,
  },
  async run(args) {
    const datasetId = stringOption(args, 'dataset');
    if (!datasetId) throw new LabError('invalid_params', '--dataset ID is required (see: cellshift datasets)');
    const grid = parseGrid((args.values.grid as string[] | undefined) ?? []);
    const fraction = stringOption(args, 'validation-fraction');
    const seed = stringOption(args, 'seed') === undefined ? 0 : Number(stringOption(args, 'seed'));
    const epochs = stringOption(args, 'epochs');
    const base = sweepBaseConfig({
      family: stringOption(args, 'model'),
      ...(epochs ? { epochs: Number(epochs) } : {}),
      seed,
      validationFraction: fraction === undefined ? 0.2 : Number(fraction),
    });
    const executor = stringOption(args, 'executor') ?? 'local';
    if (executor !== 'local' && executor !== 'slurm') throw new LabError('invalid_params', '--executor is local or slurm');
    const lab = await openCliLab(args);
    try {
      const { plan, name } = prepareSweep(lab, datasetId, base, grid);
      if (executor === 'slurm') {
        return await planOnSlurm(args, (request) =>
          writeBundle(lab, { ...request, name, plan, evaluation: { kind: 'sweep', axes: grid } }),
        );
      }
      const result = await runSweep(lab, plan, grid, positiveInteger(args, 'workers') ?? 1, {
        progress: (_fraction, message) => {
          if (!args.values.json) process.stderr.write(`${message}\n`);
        },
      });
      if (args.values.json) printJson(result);
      else process.stdout.write(describeSweep(result));
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};

export function describeSweep(result: SweepResult): string {
  const width = Math.max(5, ...result.points.map((p) => p.point.length));
  const lines = [`${'point'.padEnd(width)}  run           status     final held-out loss  best`];
  for (const p of result.points) {
    lines.push(
      `${p.point.padEnd(width)}  ${p.runId.padEnd(12)}  ${p.status.padEnd(9)}  ${(p.finalValidationLoss?.toFixed(4) ?? '—').padEnd(19)}  ${p.bestValidationLoss?.toFixed(4) ?? '—'}`,
    );
  }
  lines.push(`Lowest final held-out loss: ${result.best ?? 'none (no run completed)'}. Stored as artifact ${result.artifactId}.`);
  return `${lines.join('\n')}\n`;
}
