import { readFileSync, writeFileSync } from 'node:fs';
import { LabError } from '../../../shared/api/errors.js';
import type { ConnectivityResult } from '../../../shared/api/mechanism.js';
import { screenStructures } from '../../lab/mechanism.js';
import { closeLab } from '../../lab/open.js';
import { type Command, commonUsage, openCliLab, printJson, stringOption, textOptions } from '../command.js';

export const queryCommand: Command = {
  name: 'query',
  summary: 'connectivity query: which signatures (or predicted structures) mimic or reverse a gene list',
  usage: `cellshift query --up FILE [--down FILE] --dataset ID [--random N] [--top N] [--csv OUT] [--json]
cellshift query --up FILE [--down FILE] --run RUN_ID --smiles FILE [--cell LINE] ...

FILE: gene ids or symbols of the dataset, one per line (or separated by tabs, commas or spaces).
With --dataset every sample is a signature (z-scores as stored; Level 3 expression as the
difference from its cell line's controls), scored with the LINCS weighted connectivity score
(WTCS), NCS per cell line and perturbagen type, Tau against N random queries of the same sizes
(N ≥ 100), a Spearman correlation, and p-values from the random queries with BH FDR.
With --run and --smiles (one SMILES per line) the run predicts each structure's signature — a
virtual screen of compounds never profiled — and each row says how close the structure is to the
drugs the model was trained on (nearest by Tanimoto).
  --random N    random queries for p-values and Tau (default 1000)
  --top N       rows to print (default 20; --csv and --json carry all)
  --csv OUT     write the whole table as CSV
${commonUsage}`,
  options: {
    ...textOptions('up', 'down', 'dataset', 'run', 'smiles', 'cell', 'random', 'top', 'csv'),
  },
  async run(args) {
    const upFile = stringOption(args, 'up');
    const downFile = stringOption(args, 'down');
    if (!upFile && !downFile) throw new LabError('invalid_params', '--up FILE (and/or --down FILE) is required');
    const datasetId = stringOption(args, 'dataset');
    const runId = stringOption(args, 'run');
    const smilesFile = stringOption(args, 'smiles');
    if (Boolean(datasetId) === Boolean(runId))
      throw new LabError('invalid_params', 'Give either --dataset ID or --run RUN_ID --smiles FILE');
    if (runId && !smilesFile) throw new LabError('invalid_params', '--run needs --smiles FILE (one SMILES per line)');
    const randomQueries = integerOption(args, 'random', 1000);
    const top = integerOption(args, 'top', 20);
    const up = upFile ? readList(upFile, /[\s,]+/) : [];
    const down = downFile ? readList(downFile, /[\s,]+/) : [];
    const lab = await openCliLab(args);
    try {
      const result = runId
        ? await screenStructures(lab, {
            runId,
            smiles: readList(smilesFile as string, /\r?\n/),
            cellLine: stringOption(args, 'cell') ?? null,
            up,
            down,
            randomQueries,
            seed: 1,
          })
        : await lab.analysis.run('connectivity', { datasetId: datasetId as string, up, down, randomQueries, seed: 1 });
      const csv = stringOption(args, 'csv');
      if (csv) writeFileSync(csv, connectivityCsv(result));
      if (args.values.json) printJson(result);
      else process.stdout.write(describe(result, top));
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};

function integerOption(args: Parameters<Command['run']>[0], name: string, fallback: number): number {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new LabError('invalid_params', `--${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function readList(path: string, separator: RegExp): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LabError('bad_input', `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
}

const COLUMNS = [
  'signature',
  'drug',
  'cellLine',
  'dose',
  'time',
  'pertType',
  'moa',
  'targets',
  'wtcs',
  'ncs',
  'tau',
  'correlation',
  'p',
  'fdr',
  'applicability',
] as const;

/** The table as CSV, with the query's facts as leading `# key: value` lines like every export. */
export function connectivityCsv(result: ConnectivityResult): string {
  const cell = (v: unknown): string => {
    const s =
      v === null || v === undefined
        ? ''
        : Array.isArray(v)
          ? v.join('|')
          : typeof v === 'object'
            ? (v as { note: string }).note
            : String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [
    `# dataset_id: ${result.datasetId}`,
    ...(result.runId ? [`# run_id: ${result.runId}`] : []),
    `# query_up: ${result.up.matched.join(' ')}`,
    `# query_down: ${result.down.matched.join(' ')}`,
    `# signatures: ${result.signatureScores}`,
    `# random_queries: ${result.randomQueries}`,
    COLUMNS.join(','),
    ...result.rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(',')),
    '',
  ].join('\n');
}

function describe(result: ConnectivityResult, top: number): string {
  const f = (v: number | null, digits = 3) => (v === null ? '—' : v.toFixed(digits));
  const lines = result.rows
    .slice(0, top)
    .map((r) =>
      [
        r.signature.slice(0, 40).padEnd(40),
        (r.drug ?? '').slice(0, 20).padEnd(20),
        (r.cellLine ?? '').padEnd(8),
        f(r.wtcs).padStart(7),
        f(r.ncs).padStart(7),
        f(r.tau, 1).padStart(6),
        f(r.p, 4).padStart(7),
        f(r.fdr, 4).padStart(7),
        r.moa.join('|') || (r.applicability?.note ?? ''),
      ].join('  '),
    );
  return [
    `Query: ${result.up.matched.length} up, ${result.down.matched.length} down genes${
      result.up.unmatched.length + result.down.unmatched.length > 0
        ? ` (not in the dataset, left out: ${[...result.up.unmatched, ...result.down.unmatched].slice(0, 10).join(', ')})`
        : ''
    }`,
    `Signatures: ${result.rows.length}; ${result.signatureScores}`,
    `p-values from ${result.randomQueries} random queries${result.tauNote ? `; ${result.tauNote}` : ''}`,
    '',
    `${'signature'.padEnd(40)}  ${'drug'.padEnd(20)}  ${'cell'.padEnd(8)}     WTCS      NCS     Tau        p      FDR  MoA / applicability`,
    ...lines,
    '',
  ].join('\n');
}
