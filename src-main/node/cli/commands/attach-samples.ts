import { LabError } from '../../../shared/api/errors.js';
import type { AttachSamplesResult } from '../../../shared/api/imports.js';
import { closeLab } from '../../lab/open.js';
import { type Command, commonUsage, openCliLab, printJson } from '../command.js';
import { jobResult } from './import.js';

export const attachSamplesCommand: Command = {
  name: 'attach-samples',
  summary: 'join a sample table to a dataset imported without sample metadata (makes a new dataset)',
  usage: `cellshift attach-samples DATASET TABLE [--drop-unmatched] [--json]

Groups the samples of a stored dataset (imported without sample metadata, e.g. a GCTX alone)
into environments by a sample table: sig_info / siginfo_beta (keyed by sig_id) or a CSV/TSV
keyed by its first column, with the same columns the importer reads (pert_id, cmap_name,
pert_type, cell_iname, dose and time). Drug structures come from the lab's compound library
(cellshift import --compounds FILE). The result is a NEW dataset; DATASET stays as it was.
A table without a row for every sample is refused, naming some of the missing ids.
  --drop-unmatched       leave out the samples the table does not name instead
${commonUsage}`,
  options: {
    'drop-unmatched': { type: 'boolean', default: false },
  },
  allowPositionals: true,
  async run(args) {
    if (args.positionals.length !== 2) {
      throw new LabError('invalid_params', 'Give a DATASET id and a TABLE file. See: cellshift attach-samples --help');
    }
    const [datasetId, tablePath] = args.positionals as [string, string];
    const lab = await openCliLab(args);
    try {
      // The user typed this path in their own shell: the command line may grant it.
      const { grantId } = await lab.files.trust(tablePath, 'cli', 'sig_info');
      const dropUnmatched = Boolean(args.values['drop-unmatched']);
      const result = (await jobResult(
        lab,
        () => lab.imports.attachSamples({ datasetId, table: grantId, dropUnmatched }),
        Boolean(args.values.json),
      )) as AttachSamplesResult;
      if (args.values.json) printJson(result);
      else {
        const d = result.dataset;
        process.stderr.write('\n');
        for (const warning of result.warnings) process.stdout.write(`Note: ${warning}\n`);
        process.stdout.write(
          `Made ${d.id} "${d.name}" from ${result.from}: ${d.nSamples} samples × ${d.nGenes} genes, ${d.nEnvironments} environments` +
            `${result.unmatchedDropped > 0 ? ` (${result.unmatchedDropped} unmatched samples left out)` : ''}. ${result.from} is unchanged.\n`,
        );
      }
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};
