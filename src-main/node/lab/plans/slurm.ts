// The Slurm executor: submits a bundle's job array with sbatch, reads each task's state from
// Slurm itself (squeue; scontrol show job while the controller remembers it; sacct where
// accounting exists; else the jobcomp/filetxt completion record) and re-submits failed tasks.
// Scheduling is Slurm's: this only asks and reports.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LabError } from '../../../shared/api/errors.js';
import { type BundleStatus, Submission, type TaskState, type TaskStatus } from '../../../shared/api/plans.js';

export type { BundleStatus, TaskState, TaskStatus } from '../../../shared/api/plans.js';

import { bundleFiles, logPath, readPlan, shardPath } from './plan.js';

export function slurmAvailable(): boolean {
  try {
    execFileSync('sbatch', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function slurm(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (error) {
    const e = error as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new LabError('conflict', `${command} is not on PATH: run this on a machine with Slurm (a login node).`);
    // Jobs the controller has forgotten: the other sources say how they ended.
    if (/Invalid job id/i.test(e.stderr ?? '')) return '';
    throw new LabError('internal', `${command} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function submissions(bundle: string): Submission[] {
  const path = join(bundle, bundleFiles.jobs);
  if (!existsSync(path)) return [];
  return z.array(Submission).parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** Submits the given tasks (all by default) as one job array; returns its job id. */
export function submitBundle(bundleOrPlan: string, tasks?: number[]): Submission {
  const { bundle, plan } = readPlan(bundleOrPlan);
  const indices = tasks ?? plan.runs.map((_, i) => i);
  const wrong = indices.filter((i) => !Number.isInteger(i) || i < 0 || i >= plan.runs.length);
  if (wrong.length > 0)
    throw new LabError('invalid_params', `Plan ${plan.id} has tasks 0 to ${plan.runs.length - 1}, not ${wrong.join(', ')}.`);
  if (indices.length === 0) throw new LabError('invalid_params', 'No tasks to submit.');
  const out = execSbatch(bundle, ['--parsable', `--array=${indices.join(',')}`, bundleFiles.script]);
  const jobId = out.trim().split(';')[0] as string;
  if (!/^\d+$/.test(jobId)) throw new LabError('internal', `sbatch answered "${out.trim()}", not a job id`);
  const submission: Submission = { jobId, tasks: indices, submittedAt: new Date().toISOString() };
  writeFileSync(join(bundle, bundleFiles.jobs), `${JSON.stringify([...submissions(bundle), submission], null, 2)}\n`);
  return submission;
}

function execSbatch(bundle: string, args: string[]): string {
  try {
    // From the bundle folder: the script's paths (plan, logs, shards) are relative to it.
    return execFileSync('sbatch', args, { cwd: bundle, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (error) {
    const e = error as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new LabError('conflict', 'sbatch is not on PATH: copy the bundle to a login node and submit it there.');
    throw new LabError('bad_input', `sbatch refused the job: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Tasks that ended without a shard and are not queued again: re-submitted as one new array. */
export function resubmitFailed(bundleOrPlan: string, only?: number[]): Submission | null {
  const status = bundleStatus(bundleOrPlan);
  // Unknown: neither queued nor done, and Slurm no longer says how it ended; re-running it is safe.
  const failed = status.tasks
    .filter((t) => t.state === 'failed' || t.state === 'not submitted' || t.state === 'unknown')
    .map((t) => t.index);
  const chosen = only ? only.filter((i) => failed.includes(i)) : failed;
  if (only) {
    const refused = only.filter((i) => !failed.includes(i));
    if (refused.length > 0) {
      const states = refused.map((i) => `${i} is ${status.tasks[i]?.state ?? 'not a task'}`).join(', ');
      throw new LabError('conflict', `Only failed tasks are re-submitted: ${states}.`);
    }
  }
  return chosen.length === 0 ? null : submitBundle(bundleOrPlan, chosen);
}

type Fields = Record<string, string>;

/** `Key=Value Key=Value …` lines (scontrol -o, jobcomp/filetxt). */
function parseFields(line: string): Fields {
  const fields: Fields = {};
  for (const match of line.matchAll(/(\S+?)=(\S*)/g)) fields[match[1] as string] ??= match[2] as string;
  return fields;
}

const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'RESIZING']);

export function bundleStatus(bundleOrPlan: string): BundleStatus {
  const { bundle, plan } = readPlan(bundleOrPlan);
  const subs = submissions(bundle);
  const known = new Map<string, { state: string; reason: string | null; source: TaskStatus['source'] }>(); // "job_task" → state
  const jobIds = subs.map((s) => s.jobId);
  if (jobIds.length > 0) {
    for (const line of slurm('squeue', ['-h', '-r', '-j', jobIds.join(','), '-o', '%i|%T|%r']).split('\n')) {
      const [id, state, reason] = line.trim().split('|');
      if (id && state) known.set(id, { state, reason: reason && reason !== 'None' ? reason : null, source: 'squeue' });
    }
    for (const jobId of jobIds) {
      for (const fields of scontrolJobs(jobId)) remember(known, fields, 'scontrol');
    }
    const accounted = sacctStates(jobIds);
    for (const [id, state] of accounted) if (!known.has(id)) known.set(id, { state, reason: null, source: 'sacct' });
    if (accounted.size === 0) for (const fields of jobcompRecords(new Set(jobIds))) remember(known, fields, 'jobcomp');
  }
  const tasks = plan.runs.map((_, index) => taskStatus(bundle, index, subs, known));
  const counts = { done: 0, pending: 0, running: 0, failed: 0, 'not submitted': 0, unknown: 0 } satisfies Record<TaskState, number>;
  for (const t of tasks) counts[t.state]++;
  return { planId: plan.id, name: plan.name, submissions: subs, tasks, counts };
}

function remember(
  known: Map<string, { state: string; reason: string | null; source: TaskStatus['source'] }>,
  fields: Fields,
  source: TaskStatus['source'],
): void {
  if (!fields.JobState) return;
  const exit = fields.ExitCode && fields.ExitCode !== '0:0' ? `exit code ${fields.ExitCode}` : null;
  const reason = [fields.Reason && fields.Reason !== 'None' ? fields.Reason : null, exit].filter(Boolean).join(', ') || null;
  // Tasks still pending (or cancelled while pending) share one record: ArrayTaskId=6-8,10%2.
  const ids =
    fields.ArrayJobId && fields.ArrayTaskId ? expandTaskIds(fields.ArrayTaskId).map((t) => `${fields.ArrayJobId}_${t}`) : [fields.JobId];
  for (const id of ids) if (id && !known.has(id)) known.set(id, { state: fields.JobState, reason, source });
}

function expandTaskIds(spec: string): number[] {
  return (
    spec
      .split('%')[0]
      ?.split(',')
      .flatMap((part) => {
        const [from, to] = part.split('-').map(Number);
        if (from === undefined || !Number.isInteger(from)) return [];
        return to === undefined ? [from] : Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
      }) ?? []
  );
}

function scontrolJobs(jobId: string): Fields[] {
  try {
    return execFileSync('scontrol', ['show', 'job', '-o', jobId], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    })
      .split('\n')
      .filter((l) => l.trim())
      .map(parseFields);
  } catch {
    return []; // the controller has forgotten the job (MinJobAge): the other sources say how it ended
  }
}

/** Task states from accounting, or an empty map when accounting storage is disabled. */
function sacctStates(jobIds: string[]): Map<string, string> {
  const states = new Map<string, string>();
  try {
    const out = execFileSync('sacct', ['-n', '-P', '-X', '-j', jobIds.join(','), '-o', 'JobID,State'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    for (const line of out.split('\n')) {
      const [id, state] = line.trim().split('|');
      if (id && state) states.set(id, (state.split(' ')[0] as string).replace(/\+$/, ''));
    }
  } catch {
    // no accounting here
  }
  return states;
}

/** The jobcomp/filetxt completion record, when the cluster keeps one. */
function jobcompRecords(jobIds: Set<string>): Fields[] {
  let location: string | undefined;
  try {
    const config = execFileSync('scontrol', ['show', 'config'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    const type = /^JobCompType\s*=\s*(\S+)/m.exec(config)?.[1];
    if (type !== 'jobcomp/filetxt') return [];
    location = /^JobCompLoc\s*=\s*(\S+)/m.exec(config)?.[1];
  } catch {
    return [];
  }
  if (!location || !existsSync(location)) return [];
  return readFileSync(location, 'utf8')
    .split('\n')
    .map(parseFields)
    .filter((f) => f.ArrayJobId !== undefined && jobIds.has(f.ArrayJobId));
}

function taskStatus(
  bundle: string,
  index: number,
  subs: Submission[],
  known: Map<string, { state: string; reason: string | null; source: TaskStatus['source'] }>,
): TaskStatus {
  const latest = subs.filter((s) => s.tasks.includes(index)).at(-1) ?? null;
  const logTail = tail(logPath(bundle, index), 5);
  const base = { index, jobId: latest ? `${latest.jobId}_${index}` : null, logTail };
  if (existsSync(shardPath(bundle, index))) {
    return {
      ...base,
      state: 'done',
      slurmState: latest ? (known.get(`${latest.jobId}_${index}`)?.state ?? null) : null,
      source: 'shard',
      reason: null,
    };
  }
  if (!latest) return { ...base, state: 'not submitted', slurmState: null, source: null, reason: null };
  const entry = known.get(`${latest.jobId}_${index}`) ?? (latest.tasks.length === 1 ? known.get(latest.jobId) : undefined);
  if (!entry)
    return {
      ...base,
      state: 'unknown',
      slurmState: null,
      source: null,
      reason: 'Slurm no longer reports this task and no completion record names it',
    };
  const state: TaskState = entry.state === 'PENDING' ? 'pending' : ACTIVE.has(entry.state) ? 'running' : 'failed';
  // COMPLETED without a shard: the task ended but wrote no result (its log says why).
  return { ...base, state, slurmState: entry.state, source: entry.source, reason: entry.reason };
}

function tail(path: string, lines: number): string[] {
  if (!existsSync(path)) return [];
  const size = statSync(path).size;
  const text = readFileSync(path, 'utf8').slice(Math.max(0, size - 8192));
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(-lines);
}
