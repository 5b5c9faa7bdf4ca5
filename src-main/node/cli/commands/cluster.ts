// Plans on a Slurm cluster from the command line: writing and submitting a bundle (for `study`
// and `sweep`), and `cellshift cluster status|submit|resubmit BUNDLE`.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeIssues, LabError } from '../../../shared/api/errors.js';
import type { BundleRequest } from '../../lab/plans/bundle.js';
import { type PlanFile, SlurmOptions } from '../../lab/plans/plan.js';
import { type BundleStatus, bundleStatus, resubmitFailed, slurmAvailable, submitBundle } from '../../lab/plans/slurm.js';
import { type Command, commonUsage, type ParsedArgs, positiveInteger, printJson, stringOption, textOptions } from '../command.js';

export const slurmCliOptions = {
  ...textOptions('bundle', 'partition', 'time', 'cpus-per-task', 'mem', 'account'),
  'no-submit': { type: 'boolean', default: false },
  command: { type: 'string' },
} as const;

export const slurmUsage = `  --bundle DIR         the bundle folder (new or empty); copy it to a login node if this machine has no Slurm
  --partition P --time T --cpus-per-task N --mem M --account A
                       passed to sbatch as #SBATCH directives
  --no-submit          write the bundle only (submit later: cd DIR && sbatch submit.sbatch)
  --command CMD        how the tasks start cellshift on the compute nodes (default: this installation)`;

/** Writes the bundle with the command line's Slurm options, submits it when sbatch is here, and says what next. */
export async function planOnSlurm(
  args: ParsedArgs,
  write: (request: Omit<BundleRequest, 'name' | 'plan' | 'evaluation'>) => Promise<{ bundle: string; plan: PlanFile }>,
): Promise<number> {
  const folder = stringOption(args, 'bundle');
  if (!folder) throw new LabError('invalid_params', '--executor slurm needs --bundle DIR: the folder to write the bundle to');
  const slurm = SlurmOptions.safeParse({
    partition: stringOption(args, 'partition'),
    time: stringOption(args, 'time'),
    cpusPerTask: positiveInteger(args, 'cpus-per-task'),
    mem: stringOption(args, 'mem'),
    account: stringOption(args, 'account'),
  });
  if (!slurm.success) throw new LabError('invalid_params', `Invalid Slurm options: ${describeIssues('', slurm.error)}`);
  const command = stringOption(args, 'command');
  const { bundle, plan } = await write({
    folder,
    slurm: slurm.data,
    ...(command ? { command: command.split(/\s+/).filter(Boolean) } : {}),
  });
  const submit = args.values['no-submit'] !== true && slurmAvailable();
  const submission = submit ? submitBundle(bundle) : null;
  if (args.values.json) printJson({ bundle, planId: plan.id, tasks: plan.runs.length, jobId: submission?.jobId ?? null });
  else {
    process.stdout.write(
      `Wrote plan ${plan.id} (${plan.runs.length} tasks) to ${bundle}\n` +
        (submission
          ? `Submitted job array ${submission.jobId}.\n`
          : `Not submitted${args.values['no-submit'] ? '' : ' (sbatch is not on PATH here)'}: copy the folder to a login node and run there\n  cd ${bundle} && sbatch submit.sbatch\n`) +
        `Progress: cellshift cluster status ${bundle}\nWhen done: cellshift collect ${bundle}\n`,
    );
  }
  return 0;
}

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'a plan bundle on Slurm: status of its tasks, submit, re-submit failed tasks',
  usage: `cellshift cluster status BUNDLE [--watch SECONDS] [--json]
cellshift cluster submit BUNDLE          submit every task (a bundle written without submitting)
cellshift cluster resubmit BUNDLE [--tasks 3,7]   re-submit failed tasks (all failed ones by default)

Task states come from Slurm itself: squeue, scontrol show job, sacct where accounting exists, else
the cluster's jobcomp/filetxt completion record; a task is done when its result shard exists.
${commonUsage}`,
  options: { watch: { type: 'string' }, tasks: { type: 'string' } },
  allowPositionals: true,
  async run(args) {
    const [action, bundle] = args.positionals;
    if (!bundle || !['status', 'submit', 'resubmit'].includes(action ?? '')) {
      throw new LabError('invalid_params', 'Usage: cellshift cluster status|submit|resubmit BUNDLE');
    }
    if (action === 'submit') {
      const submission = submitBundle(bundle);
      if (args.values.json) printJson(submission);
      else process.stdout.write(`Submitted job array ${submission.jobId} (tasks ${submission.tasks.join(',')}).\n`);
      return 0;
    }
    if (action === 'resubmit') {
      const tasks = stringOption(args, 'tasks')?.split(',').map(Number);
      const submission = resubmitFailed(bundle, tasks);
      if (args.values.json) printJson({ submission });
      else
        process.stdout.write(
          submission
            ? `Re-submitted tasks ${submission.tasks.join(',')} as job array ${submission.jobId}.\n`
            : 'No failed task to re-submit.\n',
        );
      return 0;
    }
    const watch = positiveInteger(args, 'watch');
    for (;;) {
      const status = bundleStatus(bundle);
      if (args.values.json) printJson(status);
      else process.stdout.write(describeStatus(status, bundle));
      const active = status.counts.pending + status.counts.running;
      if (!watch || active === 0) return status.counts.failed > 0 ? 1 : 0;
      await sleep(watch * 1000);
    }
  },
};

export function describeStatus(status: BundleStatus, bundle: string): string {
  const c = status.counts;
  const lines = [
    `${status.name} (plan ${status.planId}): ${c.done} done, ${c.running} running, ${c.pending} pending, ${c.failed} failed` +
      `${c['not submitted'] ? `, ${c['not submitted']} not submitted` : ''}${c.unknown ? `, ${c.unknown} unknown` : ''} of ${status.tasks.length}`,
  ];
  for (const t of status.tasks) {
    if (t.state === 'done') continue;
    lines.push(
      `  task ${t.index}: ${t.state}${t.slurmState ? ` (${t.slurmState} per ${t.source}${t.jobId ? `, job ${t.jobId}` : ''})` : ''}${t.reason ? ` — ${t.reason}` : ''}`,
    );
    if (t.state === 'failed' || t.state === 'running') for (const line of t.logTail) lines.push(`      | ${line}`);
  }
  if (c.failed > 0) lines.push(`Re-submit the failed tasks: cellshift cluster resubmit ${bundle}`);
  return `${lines.join('\n')}\n`;
}
