import { writeFileSync } from 'node:fs';
import { decodeSplitAssignment, type EnvironmentPlace } from '../../../shared/api/environments.js';
import { LabError } from '../../../shared/api/errors.js';
import { ValidationSplit } from '../../../shared/api/training.js';
import { datasetReads } from '../../analysis/dataset-reads.js';
import { closeLab } from '../../lab/open.js';
import { type Command, commonUsage, openCliLab, type ParsedArgs, printJson, stringOption, textOptions } from '../command.js';

const KINDS = ['random-environments', 'held-out-drugs', 'scaffold', 'held-out-cell-lines', 'metadata', 'none'] as const;

export const splitCommand: Command = {
  name: 'split',
  summary: "what a validation split holds out of a dataset: totals, groups, and every environment's place",
  usage: `cellshift split --dataset ID [--kind K] [--fraction F] [--seed N] [--cell-lines A,B] [--column C=V[,V...]] [--csv OUT] [--json]

Previews the split a run would train with (the same choice: training's own), without training.
  --kind K          ${KINDS.join(' | ')} (default held-out-drugs;
                    --cell-lines implies held-out-cell-lines, --column implies metadata)
  --fraction F      fraction of environments, drugs or scaffolds held out (default 0.2)
  --seed N          the split's seed (default 0)
  --cell-lines A,B  the cell lines to hold out
  --column C=V,...  hold out samples whose metadata column C is one of the values
  --csv OUT         write every environment (id, key, place) as CSV
With --json: the totals and every held-out group, then one line per environment with its place.
${commonUsage}`,
  options: { ...textOptions('dataset', 'kind', 'fraction', 'seed', 'cell-lines', 'column', 'csv') },
  async run(args) {
    const datasetId = stringOption(args, 'dataset');
    if (!datasetId) throw new LabError('invalid_params', '--dataset ID is required (cellshift datasets lists them)');
    const split = splitOf(args);
    const lab = await openCliLab(args);
    try {
      const signal = new AbortController().signal;
      const assignment = await datasetReads.splitAssignment({ store: lab.store, signal }, { datasetId, split });
      const keys = lab.store.datasets.splitFacts(datasetId).environments.map((e) => e.key);
      const places = decodeSplitAssignment(assignment).map((p, i) => ({ ...p, key: keys[i] as string }));
      const csv = stringOption(args, 'csv');
      if (csv) writeFileSync(csv, placesCsv(places));
      if (args.values.json) {
        const { environmentIds: _ids, places: _places, ...totals } = assignment;
        printJson(totals);
        for (const p of places) printJson(p);
      } else process.stdout.write(describe(assignment, places));
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};

function splitOf(args: ParsedArgs): ValidationSplit {
  const cellLines = stringOption(args, 'cell-lines');
  const column = stringOption(args, 'column');
  const kind = stringOption(args, 'kind') ?? (cellLines ? 'held-out-cell-lines' : column ? 'metadata' : 'held-out-drugs');
  const number = (name: string) => {
    const text = stringOption(args, name);
    return text === undefined ? undefined : Number(text);
  };
  let given: Record<string, unknown> = { kind, fraction: number('fraction'), seed: number('seed') };
  if (kind === 'held-out-cell-lines') given = { kind, cellLines: cellLines?.split(',').filter(Boolean) ?? [] };
  if (kind === 'metadata') {
    const [name, values] = (column ?? '').split('=');
    if (!name || !values) throw new LabError('invalid_params', `--column must look like C=V[,V...], got "${column ?? ''}"`);
    given = { kind, column: name, validationValues: values.split(',') };
  }
  if (kind === 'none') given = { kind };
  const parsed = ValidationSplit.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LabError('invalid_params', `Not a split: ${issue?.path.join('.') || 'kind'}: ${issue?.message} (kinds: ${KINDS.join(', ')})`);
  }
  return parsed.data;
}

type Placed = { environmentId: string; key: string; place: EnvironmentPlace };

function placesCsv(places: readonly Placed[]): string {
  const cell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return `${['environment_id,environment,place', ...places.map((p) => [p.environmentId, p.key, p.place].map(cell).join(','))].join('\n')}\n`;
}

function describe(
  assignment: { split: ValidationSplit; trainSamples: number; heldOutSamples: number; heldOutGroups: string[]; note: string | null },
  places: readonly Placed[],
): string {
  const count = (place: EnvironmentPlace) => places.filter((p) => p.place === place).length;
  const groups = assignment.heldOutGroups;
  const shown = groups.slice(0, 20).join(', ') + (groups.length > 20 ? `, … (${groups.length - 20} more: --json or --csv)` : '');
  return [
    `Split ${JSON.stringify(assignment.split)}:`,
    `  train on ${assignment.trainSamples} samples, hold out ${assignment.heldOutSamples}`,
    `  environments: ${count('held out')} held out, ${count('partly held out')} partly, ${count('train')} train, of ${places.length}`,
    ...(groups.length > 0 ? [`  ${groups.length} groups held out whole: ${shown}`] : []),
    ...(assignment.note ? [`  ${assignment.note}`] : []),
    '',
  ].join('\n');
}
