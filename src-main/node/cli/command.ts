// What every CLI verb shares: its help text, its options, and how it reports.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { LabError } from '../../shared/api/errors.js';
import { type OpenLabOptions, openLab } from '../lab/open.js';
import type { LabService } from '../lab/service.js';
import { resolveDatabasePath } from '../store/location.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export const commonOptions = {
  db: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const commonUsage = `  --db PATH     database file (default: $CELLSHIFT_DB, else the per-user app-data folder)
  --json        machine-readable output on stdout
  -h, --help    this help`;

export function parse(command: Command, argv: string[]): ParsedArgs {
  try {
    return parseArgs({
      args: argv,
      options: { ...commonOptions, ...command.options },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    }) as ParsedArgs;
  } catch (error) {
    throw new LabError('invalid_params', `${(error as Error).message}\nRun "cellshift ${command.name} --help" for usage.`);
  }
}

/** Options that each take one text value (most do), in the order the help lists them. */
export function textOptions<const Name extends string>(...names: Name[]): Record<Name, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<Name, { type: 'string' }>;
}

/** Opens the lab in the database --db names (else the default location); the command line never seeds the demo. */
export function openCliLab(args: ParsedArgs, options: Partial<OpenLabOptions> = {}): Promise<LabService> {
  return openLab({ databasePath: resolveDatabasePath(stringOption(args, 'db')), carrier: 'cli', seedDemo: false, ...options });
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** One JSON document per line, so scripts can read output as JSON lines. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** An option that must be a number > 0, or undefined when not given. */
export function positiveNumber(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new LabError('invalid_params', `--${name} must be a positive number, not "${text}"`);
  return value;
}

/** An option that must be a whole number ≥ 1, or undefined when not given. */
export function positiveInteger(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new LabError('invalid_params', `--${name} must be a whole number of at least 1, not "${text}"`);
  return value;
}
