import { SyntheticPreset } from '../../../shared/api/domain.js';
import { describeIssues, LabError } from '../../../shared/api/errors.js';
import { EnvironmentKey, ResolvedImport, type ResolvedImportInput } from '../../../shared/api/imports.js';
import type { LabEvent } from '../../../shared/api/protocol.js';
import { importSyntheticPreset } from '../../lab/import/synthetic.js';
import { closeLab } from '../../lab/open.js';
import type { LabService } from '../../lab/service.js';
import { type Command, commonUsage, openCliLab, type ParsedArgs, printJson, stringOption, textOptions } from '../command.js';
import { describeCompoundImport, formatPreview } from './import-preview.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'add a dataset: an L1000 GCTX/GCT (+ LINCS tables), AnnData .h5ad, CSV/TSV, or a synthetic benchmark',
  usage: `cellshift import FILE [LINCS tables] [filter] [options]
cellshift import --synthetic PRESET [--seed N] [--name NAME]
cellshift import --compounds FILE        add compounds to the lab's library (no dataset)

Imports expression data in one transaction: it lands whole or not at all. The format is read
from the file's content (GCTX, GCT 1.2/1.3, h5ad, CSV, TSV), gzip-compressed or not (a .gctx.gz
or .h5ad.gz is unpacked once into a cache beside the database; tables are read through gunzip).
  --sig-info FILE        sig_info / siginfo_beta (sig_id → pert_id, pert_type, cell, dose, time)
  --pert-info FILE       pert_info / compoundinfo_beta (pert_id → name, canonical_smiles, target, moa);
                         also added to the lab's compound library, which later imports use
  --gene-info FILE       gene_info / geneinfo_beta (pr_gene_id or gene_id → symbol, landmark)
  --compounds FILE       add a compound table to the library (with or without a FILE to import)
  --metadata FILE        sample metadata table for CSV/TSV matrices (first column = sample id)
  --key KEY              environments by ${EnvironmentKey.options.join(' | ')} (default drug)
  --pert-types A,B       pert_type values kept (default trt_cp,ctl_vehicle,ctl_untrt)
  --cells A,B  --doses A,B  --times A,B   keep only these
  --all-genes            keep all genes, not only the 978 landmarks
  --min-replicates N     drop environments with fewer samples (default 1)
  --max-samples N        keep at most N samples (a quick look)
  --radius N --bits N --chirality   Morgan fingerprint settings (default 2, 1024, off)
  --non-finite POLICY    reject | zero | drop-sample (default reject)
  --unlabelled MODE      a matrix without sample metadata: one-environment | each-sample (default one-environment)
  --preview              show what would be imported, write nothing (--json: the preview as JSON)
  --synthetic PRESET     ${SyntheticPreset.options.join(' | ')} (with --seed N)
  --name NAME            dataset name
${commonUsage}`,
  options: {
    ...textOptions(
      'synthetic',
      'seed',
      'name',
      'sig-info',
      'pert-info',
      'gene-info',
      'compounds',
      'metadata',
      'format',
      'key',
      'pert-types',
      'cells',
      'doses',
      'times',
    ),
    'all-genes': { type: 'boolean', default: false },
    ...textOptions('min-replicates', 'max-samples', 'radius', 'bits'),
    chirality: { type: 'boolean', default: false },
    ...textOptions('non-finite', 'unlabelled'),
    preview: { type: 'boolean', default: false },
  },
  allowPositionals: true,
  async run(args) {
    const synthetic = stringOption(args, 'synthetic');
    if (synthetic !== undefined && args.positionals.length > 0) {
      throw new LabError('invalid_params', 'Give either a FILE or --synthetic PRESET, not both');
    }
    const compounds = stringOption(args, 'compounds');
    if (synthetic === undefined && compounds === undefined && args.positionals.length !== 1) {
      throw new LabError(
        'invalid_params',
        'Give exactly one FILE to import (or --synthetic PRESET, or --compounds FILE). See: cellshift import --help',
      );
    }
    if (args.positionals.length > 1) throw new LabError('invalid_params', 'Give exactly one FILE to import. See: cellshift import --help');
    const paths = synthetic === undefined && args.positionals.length === 1 ? fileRequest(args) : null;
    const lab = await openCliLab(args);
    try {
      if (synthetic !== undefined) return importSynthetic(lab.store, synthetic, args);
      if (compounds !== undefined) {
        const added = await lab.imports.addCompounds(compounds);
        if (args.values.json) printJson(added);
        else process.stdout.write(`${describeCompoundImport(added)}\n`);
      }
      if (paths === null) return 0;
      // The user typed these paths in their own shell: the command line may grant them.
      const request = await lab.imports.requestFromPaths(paths);
      if (args.values.preview) {
        const stopProgress = args.values.json ? () => {} : showProgress(lab);
        const preview = await lab.imports.preview(request).finally(stopProgress);
        if (args.values.json) printJson(preview);
        else process.stdout.write(formatPreview(preview));
        return 0;
      }
      const summary = await jobResult(lab, () => lab.imports.start(request), Boolean(args.values.json));
      const s = summary as { id: string; name: string; nSamples: number; nGenes: number; nEnvironments: number };
      if (args.values.json) printJson(summary);
      else
        process.stderr.write(
          `\nImported ${s.id} "${s.name}": ${s.nSamples} samples × ${s.nGenes} genes, ${s.nEnvironments} environments\n`,
        );
      return 0;
    } finally {
      await closeLab(lab);
    }
  },
};

/** Runs a lab job to its end, progress on stderr (unless quiet); Ctrl-C cancels it. */
export function jobResult(lab: LabService, start: () => Promise<{ jobId: string }>, quiet: boolean): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    let jobId: string | null = null;
    const early: LabEvent[] = [];
    const handle = (event: LabEvent) => {
      if (!('jobId' in event)) return;
      if (jobId === null) return void early.push(event);
      if (event.jobId !== jobId) return;
      if (event.type === 'job.progress' && !quiet) process.stderr.write(`\r${event.message}${' '.repeat(20)}`);
      if (event.type === 'job.finished') resolve(event.result);
      if (event.type === 'job.failed') reject(LabError.fromPayload(event.error));
    };
    lab.onEvent(handle);
    start().then((started) => {
      jobId = started.jobId;
      for (const event of early.splice(0)) handle(event);
      process.once('SIGINT', () => lab.jobs.cancel(started.jobId));
    }, reject);
  });
}

function list(args: ParsedArgs, name: string): string[] | undefined {
  return stringOption(args, name)
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function integer(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new LabError('invalid_params', `--${name} must be an integer, got "${text}"`);
  return value;
}

function fileRequest(args: ParsedArgs): ResolvedImport {
  const input: ResolvedImportInput = {
    matrixPath: args.positionals[0] as string,
    ...(stringOption(args, 'format') ? { format: stringOption(args, 'format') as ResolvedImportInput['format'] } : {}),
    ...(stringOption(args, 'sig-info') ? { sigInfoPath: stringOption(args, 'sig-info') } : {}),
    ...(stringOption(args, 'pert-info') ? { pertInfoPath: stringOption(args, 'pert-info') } : {}),
    ...(stringOption(args, 'gene-info') ? { geneInfoPath: stringOption(args, 'gene-info') } : {}),
    ...(stringOption(args, 'metadata') ? { sampleMetadataPath: stringOption(args, 'metadata') } : {}),
    ...(stringOption(args, 'name') ? { name: stringOption(args, 'name') } : {}),
    ...(stringOption(args, 'key') ? { environmentKey: stringOption(args, 'key') as ResolvedImportInput['environmentKey'] } : {}),
    ...(stringOption(args, 'non-finite') ? { nonFinite: stringOption(args, 'non-finite') as ResolvedImportInput['nonFinite'] } : {}),
    ...(stringOption(args, 'unlabelled')
      ? { unlabelledSamples: stringOption(args, 'unlabelled') as ResolvedImportInput['unlabelledSamples'] }
      : {}),
    filter: {
      ...(list(args, 'pert-types') ? { pertTypes: list(args, 'pert-types') } : {}),
      ...(list(args, 'cells') ? { cellLines: list(args, 'cells') } : {}),
      ...(list(args, 'doses') ? { doses: list(args, 'doses') } : {}),
      ...(list(args, 'times') ? { times: list(args, 'times') } : {}),
      landmarkOnly: args.values['all-genes'] !== true,
      ...(integer(args, 'min-replicates') !== undefined ? { minReplicates: integer(args, 'min-replicates') } : {}),
      ...(integer(args, 'max-samples') !== undefined ? { maxSamples: integer(args, 'max-samples') } : {}),
    },
    fingerprint: {
      ...(integer(args, 'radius') !== undefined ? { radius: integer(args, 'radius') } : {}),
      ...(integer(args, 'bits') !== undefined ? { nBits: integer(args, 'bits') } : {}),
      chirality: args.values.chirality === true,
    },
  };
  const parsed = ResolvedImport.safeParse(input);
  if (!parsed.success) throw new LabError('invalid_params', `Invalid import options: ${describeIssues('', parsed.error)}`);
  return parsed.data;
}

function importSynthetic(store: Parameters<typeof importSyntheticPreset>[0], preset: string, args: ParsedArgs): number {
  const parsed = SyntheticPreset.safeParse(preset);
  if (!parsed.success) throw new LabError('invalid_params', `--synthetic must be one of: ${SyntheticPreset.options.join(', ')}`);
  const seedText = stringOption(args, 'seed') ?? '0';
  const seed = Number(seedText);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) {
    throw new LabError('invalid_params', `--seed must be an integer 0..2147483647, got "${seedText}"`);
  }
  const name = stringOption(args, 'name');
  const summary = importSyntheticPreset(store, { preset: parsed.data, seed, ...(name ? { name } : {}) });
  if (args.values.json) printJson(summary);
  else process.stdout.write(`Imported ${summary.id} "${summary.name}": ${summary.nSamples} samples × ${summary.nGenes} genes\n`);
  return 0;
}

/** Progress of work a preview starts (unpacking a .gctx.gz), on stderr; returns how to stop. */
function showProgress(lab: LabService): () => void {
  let shown = false;
  const off = lab.onEvent((event) => {
    if (event.type !== 'job.progress') return;
    shown = true;
    process.stderr.write(`\r${event.message}${' '.repeat(20)}`);
  });
  return () => {
    off();
    if (shown) process.stderr.write('\n');
  };
}
