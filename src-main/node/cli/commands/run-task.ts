import { LabError } from '../../../shared/api/errors.js';
import { runTask } from '../../lab/plans/task.js';
import { type Command, printJson, stringOption } from '../command.js';

export const runTaskCommand: Command = {
  name: 'run-task',
  summary: "train one task of a plan bundle (what each Slurm array task runs); writes the task's result shard",
  usage: `cellshift run-task PLAN --index I

  PLAN       a bundle's plan.json (or the bundle folder)
  --index I  the task, 0 to tasks − 1 (in a job array: $SLURM_ARRAY_TASK_ID)

Reads the bundle's dataset snapshot read-only, trains in a scratch database on local disk
($SLURM_TMPDIR, $TMPDIR or the system's), and publishes shards/task-I.sqlite when the run ends.
Needs no lab database. Exits non-zero when the run did not finish, so Slurm marks the task failed.
  --json        machine-readable output on stdout
  -h, --help    this help`,
  options: { index: { type: 'string' } },
  allowPositionals: true,
  async run(args) {
    const plan = args.positionals[0];
    const indexText = stringOption(args, 'index');
    if (!plan || indexText === undefined) throw new LabError('invalid_params', 'Usage: cellshift run-task PLAN --index I');
    const index = Number(indexText);
    if (!Number.isInteger(index) || index < 0) throw new LabError('invalid_params', `--index must be a task number, not "${indexText}"`);
    const run = await runTask(plan, index, (line) => {
      if (!args.values.json) process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    });
    if (args.values.json) printJson(run);
    return 0;
  },
};
