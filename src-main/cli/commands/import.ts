import { SyntheticPreset } from '../../api/domain.js';
import { LabError } from '../../api/errors.js';
import { importSyntheticPreset } from '../../data/synthetic-import.js';
import { closeLab, openLab } from '../../lab/open.js';
import { resolveDatabasePath } from '../../store/location.js';
import { type Command, commonUsage, printJson, stringOption } from '../command.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'add a dataset to the lab (synthetic benchmark presets today)',
  usage: `cellshift import --synthetic PRESET [--seed N] [--name NAME] [--db PATH] [--json]

Generates a dataset from the synthetic latent-SCM benchmark and stores it in one transaction.
  --synthetic PRESET   ${SyntheticPreset.options.join(' | ')}
  --seed N             generator seed (default 0)
  --name NAME          dataset name (default: from the preset)
${commonUsage}`,
  options: { synthetic: { type: 'string' }, seed: { type: 'string' }, name: { type: 'string' } },
  allowPositionals: true,
  async run(args) {
    if (args.positionals.length > 0) {
      throw new LabError(
        'bad_input',
        `Importing files (${args.positionals.join(', ')}) is not supported by this version yet; use --synthetic PRESET.`,
      );
    }
    const preset = SyntheticPreset.safeParse(stringOption(args, 'synthetic'));
    if (!preset.success) {
      throw new LabError('invalid_params', `--synthetic must be one of: ${SyntheticPreset.options.join(', ')}`);
    }
    const seedText = stringOption(args, 'seed') ?? '0';
    const seed = Number(seedText);
    if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) {
      throw new LabError('invalid_params', `--seed must be an integer 0..2147483647, got "${seedText}"`);
    }
    const service = await openLab({ databasePath: resolveDatabasePath(stringOption(args, 'db')), carrier: 'cli', seedDemo: false });
    try {
      const name = stringOption(args, 'name');
      const summary = importSyntheticPreset(service.store, { preset: preset.data, seed, ...(name ? { name } : {}) });
      if (args.values.json) printJson(summary);
      else process.stdout.write(`Imported ${summary.id} "${summary.name}": ${summary.nSamples} samples × ${summary.nGenes} genes\n`);
      return 0;
    } finally {
      await closeLab(service);
    }
  },
};
