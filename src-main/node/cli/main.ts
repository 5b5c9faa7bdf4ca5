#!/usr/bin/env node
// cellshift <verb>: the headless face of the lab, driving the same LabService as the app.
import { LabError } from '../../shared/api/errors.js';
import { appVersion } from '../lab/version.js';
import { databaseFailure } from '../store/errors.js';
import { resolveDatabasePath } from '../store/location.js';
import { type Command, parse, stringOption } from './command.js';
import { attachSamplesCommand } from './commands/attach-samples.js';
import { clusterCommand } from './commands/cluster.js';
import { collectCommand } from './commands/collect.js';
import { datasetsCommand } from './commands/datasets.js';
import { evalCommand } from './commands/eval.js';
import { importCommand } from './commands/import.js';
import { predictCommand } from './commands/predict.js';
import { queryCommand } from './commands/query.js';
import { runTaskCommand } from './commands/run-task.js';
import { serveCommand } from './commands/serve.js';
import { splitCommand } from './commands/split.js';
import { startCommand } from './commands/start.js';
import { studyCommand } from './commands/study.js';
import { sweepCommand } from './commands/sweep.js';
import { trainCommand } from './commands/train.js';

const commands: Command[] = [
  startCommand,
  serveCommand,
  importCommand,
  attachSamplesCommand,
  datasetsCommand,
  splitCommand,
  trainCommand,
  evalCommand,
  predictCommand,
  queryCommand,
  studyCommand,
  sweepCommand,
  runTaskCommand,
  clusterCommand,
  collectCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `CellShift ${appVersion}: a lab for how drugs shift cell gene expression.

Usage: cellshift <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "cellshift <command> --help" for a command's options.
`;
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(overview());
    return verb === undefined ? 1 : 0;
  }
  if (verb === '--version') {
    process.stdout.write(`${appVersion}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === verb);
  if (!command) {
    process.stderr.write(`Unknown command "${verb}".\n\n${overview()}`);
    return 2;
  }
  const args = parse(command, rest);
  if (args.values.help) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    // A full disk, a read-only or busy database: say which database and what to do, not a stack.
    throw databaseFailure(error, resolveDatabasePath(stringOption(args, 'db'))) ?? error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof LabError) {
      process.stderr.write(`cellshift: ${error.message}\n`);
      process.exitCode = error.code === 'invalid_params' ? 2 : 1;
    } else {
      process.stderr.write(`cellshift: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
