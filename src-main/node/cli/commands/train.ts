import { readFileSync } from 'node:fs';
import { type RunSummary, SyntheticPreset, stoppedRunStatuses } from '../../../shared/api/domain.js';
import { describeIssues, LabError } from '../../../shared/api/errors.js';
import type { LabEvent } from '../../../shared/api/protocol.js';
import { ModelFamily, settingDefault, settingFields, TrainingConfig, withSettings } from '../../../shared/api/training.js';
import { importSyntheticPreset } from '../../lab/import/synthetic.js';
import { closeLab } from '../../lab/open.js';
import type { LabService } from '../../lab/service.js';
import type { BackendName } from '../../ml/backend.js';
import { type Command, commonUsage, openCliLab, type ParsedArgs, printJson, stringOption, textOptions } from '../command.js';

const EXIT_CODES: Record<string, number> = { completed: 0, cancelled: 130, diverged: 3, failed: 1, interrupted: 1 };

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model on a dataset, with live progress; the run lands in the lab history',
  usage: `cellshift train --dataset ID|synthetic[:PRESET] --model FAMILY [options]
cellshift train --resume RUN_ID

Trains in a worker thread, storing every epoch's metrics and checkpoint; Ctrl-C cancels and
keeps the last checkpoint (resume later with --resume).
  --dataset ID             a dataset id (see: cellshift datasets), or "synthetic[:PRESET]" to
                           generate one first (${SyntheticPreset.options.join(', ')}; default demo)
  --model FAMILY           ${ModelFamily.options.join(' | ')}
${settingsUsage()}
  --validation-fraction F  hold out this fraction of environments (default 0.2)
  --validation-column C=V[,V...]  hold out samples whose metadata column C is one of V
  --config FILE            a JSON TrainingConfig; flags override it
  --backend tensorflow|native-blas|wasm|cpu  force a compute backend
  --name NAME              run name
${commonUsage}`,
  options: {
    ...textOptions('dataset', 'model'),
    ...Object.fromEntries(settingFields().map((f) => [f.setting.flag, { type: 'string' as const }])),
    ...textOptions('validation-fraction', 'validation-column', 'config', 'backend', 'name', 'resume'),
  },
  async run(args) {
    const backend = stringOption(args, 'backend');
    if (backend !== undefined && !['tensorflow', 'native-blas', 'wasm', 'cpu'].includes(backend)) {
      throw new LabError('invalid_params', `--backend must be tensorflow, native-blas, wasm or cpu, got "${backend}"`);
    }
    const lab = await openCliLab(args, backend ? { preferBackend: backend as BackendName } : {});
    try {
      const resume = stringOption(args, 'resume');
      const json = args.values.json === true;
      const done = follow(lab, json);
      const run = resume ? lab.training.control(resume, 'resume') : startRun(lab, args);
      if (!json) process.stderr.write(`Run ${run.id} "${run.name}" on dataset ${run.datasetId}\n`);
      const onSigint = () => {
        process.stderr.write('\nCancelling (the last checkpoint is kept)…\n');
        lab.training.control(run.id, 'cancel');
      };
      process.once('SIGINT', onSigint);
      const final = await done(run.id);
      process.off('SIGINT', onSigint);
      if (json) printJson({ type: 'run.final', run: final });
      else process.stderr.write(`\n${describeFinal(final)}\n`);
      return EXIT_CODES[final.status] ?? 1;
    } finally {
      await closeLab(lab);
    }
  },
};

function startRun(lab: LabService, args: ParsedArgs): RunSummary {
  const datasetArg = stringOption(args, 'dataset');
  if (!datasetArg) throw new LabError('invalid_params', '--dataset is required (an id, or "synthetic")');
  // Validate everything before generating anything, so a typo leaves no stray dataset behind.
  const config = TrainingConfig.safeParse(configFromArgs(args));
  if (!config.success) throw new LabError('invalid_params', `Invalid training configuration: ${describeIssues('', config.error)}`);
  let datasetId = datasetArg;
  if (datasetArg === 'synthetic' || datasetArg.startsWith('synthetic:')) {
    const preset = SyntheticPreset.safeParse(datasetArg.split(':')[1] ?? 'demo');
    if (!preset.success) throw new LabError('invalid_params', `Unknown synthetic preset; one of: ${SyntheticPreset.options.join(', ')}`);
    datasetId = importSyntheticPreset(lab.store, { preset: preset.data, seed: 0 }).id;
  } else if (!lab.store.datasets.exists(datasetArg)) {
    throw new LabError('not_found', `No dataset with id "${datasetArg}" (see: cellshift datasets)`);
  }
  const name = stringOption(args, 'name');
  return lab.training.start(datasetId, config.data, name);
}

/** The JSON config (if any) with flags laid over it; zod validates the result. */
function configFromArgs(args: ParsedArgs): Record<string, unknown> {
  const file = stringOption(args, 'config');
  let base: Record<string, unknown> = {};
  if (file) {
    try {
      base = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new LabError('bad_input', `Cannot read --config ${file}: ${(error as Error).message}`);
    }
  }
  const number = (flag: string) => {
    const text = stringOption(args, flag);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) throw new LabError('invalid_params', `--${flag} must be a number, got "${text}"`);
    return value;
  };
  const fields = settingFields();
  const values = Object.fromEntries(
    fields.map((f) => [f.key, f.setting.input.kind === 'choice' ? stringOption(args, f.setting.flag) : number(f.setting.flag)]),
  );
  const family = stringOption(args, 'model');
  const config = withSettings(base, fields, values);
  if (family !== undefined) (config.model as Record<string, unknown>).family = family;
  const fraction = number('validation-fraction');
  const column = stringOption(args, 'validation-column');
  if (fraction !== undefined && column !== undefined) {
    throw new LabError('invalid_params', 'Give either --validation-fraction or --validation-column, not both');
  }
  if (fraction !== undefined) config.validation = { kind: 'random-environments', fraction, seed: (config.seed as number) ?? 0 };
  if (column !== undefined) {
    const [name, values] = column.split('=');
    if (!name || !values) throw new LabError('invalid_params', `--validation-column must look like split=validation, got "${column}"`);
    config.validation = { kind: 'metadata', column: name, validationValues: values.split(',') };
  }
  return config;
}

/** Subscribes before the run starts, so no event is missed; resolves with the final run. */
function follow(lab: LabService, json: boolean): (runId: string) => Promise<RunSummary> {
  let target: string | null = null;
  let resolveFinal: ((run: RunSummary) => void) | null = null;
  const early: LabEvent[] = [];
  const bar = new ProgressLine(json);
  const handle = (event: LabEvent) => {
    if (!('runId' in event) && event.type !== 'run.status') return;
    const runId = event.type === 'run.status' ? event.run.id : 'runId' in event ? event.runId : null;
    if (target === null) {
      early.push(event);
      return;
    }
    if (runId !== target) return;
    if (json && event.type !== 'run.progress') printJson(event);
    if (event.type === 'run.progress') bar.step(event);
    if (event.type === 'run.epoch') bar.epoch(event);
    if (event.type === 'run.status') {
      bar.status(event.run);
      if (stoppedRunStatuses.includes(event.run.status) && !lab.training.isActive(event.run.id)) resolveFinal?.(event.run);
    }
  };
  lab.onEvent(handle);
  return (runId) =>
    new Promise((resolve) => {
      target = runId;
      resolveFinal = resolve;
      for (const event of early.splice(0)) handle(event);
    });
}

class ProgressLine {
  readonly #quiet: boolean;
  readonly #tty = process.stderr.isTTY === true;
  #lastEpoch = '';

  constructor(quiet: boolean) {
    this.#quiet = quiet;
  }

  status(run: RunSummary): void {
    if (this.#quiet) return;
    if (run.status === 'running' && run.backend) {
      process.stderr.write(`Training on ${run.backend}${run.threads ? ` (${run.threads} thread${run.threads > 1 ? 's' : ''})` : ''}\n`);
    }
  }

  step(event: Extract<LabEvent, { type: 'run.progress' }>): void {
    if (this.#quiet || !this.#tty) return;
    const width = 24;
    const filled = Math.round((width * event.batchInEpoch) / event.batchesPerEpoch);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    process.stderr.write(`\r  epoch ${event.epoch} [${bar}] loss ${format(event.metrics.loss)} ${this.#lastEpoch}   `);
  }

  epoch(event: Extract<LabEvent, { type: 'run.epoch' }>): void {
    this.#lastEpoch = `| last epoch: val ${format(event.validation?.loss)} ${Math.round(event.samplesPerSecond)} samples/s`;
    if (this.#quiet) return;
    const line =
      `epoch ${event.epoch}: train loss ${format(event.train.loss)} (reconstruction ${format(event.train.reconstruction)})` +
      ` · held-out loss ${format(event.validation?.loss)}, mse ${format(event.validation?.mse)}` +
      ` · ${Math.round(event.samplesPerSecond)} samples/s`;
    process.stderr.write(`${this.#tty ? '\r\x1b[K' : ''}${line}\n`);
  }
}

function format(value: number | undefined): string {
  return value === undefined ? '—' : Math.abs(value) >= 1000 ? value.toExponential(2) : value.toFixed(4);
}

function describeFinal(run: RunSummary): string {
  const best = run.bestValidationLoss === null ? '' : `, best held-out loss ${format(run.bestValidationLoss)}`;
  switch (run.status) {
    case 'completed':
      return `Completed ${run.epochsDone} epochs${best}. Run id: ${run.id}`;
    case 'cancelled':
      return `Cancelled after ${run.epochsDone} epochs${best}. Resume: cellshift train --resume ${run.id}`;
    default:
      return `${run.status}: ${run.message ?? 'no message'} (${run.epochsDone} epochs done). Run id: ${run.id}`;
  }
}

/** One help line per setting, from the contract (a family's own settings say which family reads them). */
function settingsUsage(): string {
  return settingFields()
    .map(({ setting, family }) => {
      const flag = `  --${setting.flag} ${setting.placeholder}`;
      return `${flag.padEnd(27)}${flag.length >= 27 ? '  ' : ''}${setting.help} (default ${String(settingDefault(setting))}${family ? `; ${family} only` : ''})`;
    })
    .join('\n');
}
