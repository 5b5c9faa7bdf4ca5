import { closeLab } from '../../lab/open.js';
import { type Command, commonUsage, openCliLab, printJson } from '../command.js';

export const datasetsCommand: Command = {
  name: 'datasets',
  summary: 'list the datasets in the lab database',
  usage: `cellshift datasets [--db PATH] [--json]

${commonUsage}`,
  options: {},
  async run(args) {
    const service = await openCliLab(args);
    try {
      const datasets = service.store.datasets.list();
      if (args.values.json) {
        printJson(datasets);
      } else if (datasets.length === 0) {
        process.stdout.write('No datasets yet. Import one: cellshift import --help\n');
      } else {
        for (const d of datasets) {
          process.stdout.write(
            `${d.id}  ${d.name}  [${d.source}]  ${d.nSamples} samples × ${d.nGenes} genes, ${d.nEnvironments} environments\n`,
          );
        }
      }
      return 0;
    } finally {
      await closeLab(service);
    }
  },
};
