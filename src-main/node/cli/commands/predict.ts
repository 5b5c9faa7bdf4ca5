import { readFileSync } from 'node:fs';
import { type DrugPredictionResult, describeApplicability, type PredictConditions } from '../../../shared/api/analysis.js';
import { LabError } from '../../../shared/api/errors.js';
import { closeLab } from '../../lab/open.js';
import { type Command, commonUsage, openCliLab, positiveNumber, printJson, stringOption, textOptions } from '../command.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'predict the expression response to a drug from its SMILES with a trained model',
  usage: `cellshift predict --run RUN_ID (--smiles SMILES | --file FILE) [--cell CELL] [--dose UM --time H] [--top N] [--json]

Builds the drug's Morgan fingerprint exactly as the training data's, decodes from the predicted
environment prior, and reports the change from control per gene (top up and down by default).
  --file FILE   one drug per line: "SMILES" or "name<TAB>SMILES"
  --cell CELL   cell line, when the model's environments include cell lines
  --dose UM     dose in µM and --time H hours, when the model's environments include dose and time
  --top N       genes listed each way (default 10); --json gives every gene
${commonUsage}`,
  options: {
    ...textOptions('run', 'smiles', 'file', 'cell', 'dose', 'time', 'top'),
  },
  async run(args) {
    const runId = stringOption(args, 'run');
    if (!runId) throw new LabError('invalid_params', '--run RUN_ID is required');
    const drugs = drugsFrom(args.values.smiles, stringOption(args, 'file'));
    const top = Number(stringOption(args, 'top') ?? 10);
    const conditions: PredictConditions = {
      cellLine: stringOption(args, 'cell') ?? null,
    };
    const dose = positiveNumber(args, 'dose');
    const time = positiveNumber(args, 'time');
    if (dose !== undefined) conditions.doseMicromolar = dose;
    if (time !== undefined) conditions.timeHours = time;
    const lab = await openCliLab(args);
    let failures = 0;
    try {
      const chemistry = await lab.chemistry.load();
      for (const drug of drugs) {
        try {
          const result = await lab.analysis.predictDrug(runId, drug.smiles, conditions, chemistry);
          if (args.values.json) printJson({ name: drug.name, ...result, svg: undefined });
          else process.stdout.write(describe(drug.name, result, top));
        } catch (error) {
          if (!(error instanceof LabError) || drugs.length === 1) throw error;
          failures++;
          if (args.values.json) printJson({ name: drug.name, smiles: drug.smiles, error: error.message });
          else process.stdout.write(`${drug.name ?? drug.smiles}: ${error.message}\n\n`);
        }
      }
      return failures > 0 ? 1 : 0;
    } finally {
      await closeLab(lab);
    }
  },
};

function drugsFrom(smiles: unknown, file: string | undefined): { name: string | null; smiles: string }[] {
  if (typeof smiles === 'string' && file) throw new LabError('invalid_params', 'Give --smiles or --file, not both');
  if (typeof smiles === 'string') return [{ name: null, smiles }];
  if (!file) throw new LabError('invalid_params', 'Give --smiles SMILES or --file FILE');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LabError('bad_input', `Cannot read ${file}: ${(error as Error).message}`);
  }
  const drugs = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const [first, second] = line.split('\t');
      return second ? { name: first ?? null, smiles: second } : { name: null, smiles: first as string };
    });
  if (drugs.length === 0) throw new LabError('bad_input', `${file} lists no SMILES`);
  return drugs;
}

function describe(name: string | null, result: DrugPredictionResult, top: number): string {
  const sorted = [...result.genes].sort((a, b) => b.delta - a.delta);
  const line = (g: DrugPredictionResult['genes'][number]) => `    ${g.symbol.padEnd(12)} ${g.delta >= 0 ? '+' : ''}${g.delta.toFixed(3)}`;
  return [
    `${name ? `${name}: ` : ''}${result.canonicalSmiles}${result.cellLine ? ` in ${result.cellLine}` : ''} (run ${result.runId}, epoch ${result.epoch})${result.seenInTraining ? ' — this structure was in the training data' : ''}`,
    `  ${describeApplicability(result.applicability)}`,
    '  up:',
    ...sorted.slice(0, top).map(line),
    '  down:',
    ...sorted.slice(-top).reverse().map(line),
    '',
  ].join('\n');
}
