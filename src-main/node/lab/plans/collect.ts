// Merging a bundle's finished shards into the lab database, then (once every task is in)
// building the plan's report exactly as if its runs had trained here. Collecting twice changes
// nothing; a shard from another plan or dataset is refused and nothing is merged.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary } from '../../../shared/api/domain.js';
import { LabError } from '../../../shared/api/errors.js';
import type { StudyResult } from '../../../shared/api/studies.js';
import { readSetting } from '../../store/plans.js';
import type { StudyLab } from '../studies/common.js';
import { recordRun, type StudyPlan } from '../studies/common.js';
import { plannedStudies, storeStudy, studyContext } from '../studies.js';
import { bundleFiles, type PlanFile, planRecord, readPlan, SHARD_INFO_KEY, ShardInfo } from './plan.js';
import { type SweepResult, sweepReport } from './sweep.js';

export interface CollectResult {
  planId: string;
  tasks: number;
  /** Merged by this call. */
  merged: number[];
  /** Already in the lab from an earlier collect. */
  alreadyCollected: number[];
  /** No finished shard yet. */
  missing: number[];
  /** The report, once every task is collected (built on the first collect that completes the plan). */
  report: (StudyResult & { artifactId: string }) | null;
  /** A sweep's table instead, likewise. */
  sweep: SweepResult | null;
  reportArtifactId: string | null;
}

export async function collectBundle(lab: StudyLab, bundleOrPlan: string): Promise<CollectResult> {
  const { bundle, plan } = readPlan(bundleOrPlan);
  if (!lab.store.datasets.exists(plan.dataset.id)) {
    throw new LabError(
      'conflict',
      `Plan ${plan.id} trained on dataset ${plan.dataset.id} ("${plan.dataset.name}"), which is not in ${lab.store.path}: collect into the lab database the bundle was written from.`,
    );
  }
  const record = lab.store.plans.register(planRecord(plan, bundle));
  const shards = checkedShards(bundle, plan);
  const collected = lab.store.plans.collected(plan.id);
  const merged: number[] = [];
  const alreadyCollected: number[] = [];
  for (const shard of shards) {
    if (collected.has(shard.info.taskIndex)) {
      alreadyCollected.push(shard.info.taskIndex);
      continue;
    }
    lab.store.plans.mergeShard(shard.path, plan.id, shard.info.taskIndex, shard.info.runId);
    collected.set(shard.info.taskIndex, shard.info.runId);
    merged.push(shard.info.taskIndex);
  }
  const missing = plan.runs.map((_, i) => i).filter((i) => !collected.has(i));
  let report: CollectResult['report'] = null;
  let sweep: CollectResult['sweep'] = null;
  if (missing.length === 0 && record.reportArtifactId === null) {
    const results = collectedRuns(lab, plan, collected);
    if (plan.evaluation.kind === 'sweep') sweep = sweepReport(lab, studyPlanOf(plan), plan.evaluation.axes, results);
    else report = await evaluateStudy(lab, plan, results);
    lab.store.plans.setReport(plan.id, (report ?? sweep)?.artifactId as string);
  }
  return {
    planId: plan.id,
    tasks: plan.runs.length,
    merged: merged.sort((a, b) => a - b),
    alreadyCollected: alreadyCollected.sort((a, b) => a - b),
    missing,
    report,
    sweep,
    reportArtifactId: report?.artifactId ?? sweep?.artifactId ?? record.reportArtifactId,
  };
}

/** Every finished shard of the bundle, each checked against the plan before anything is merged. */
function checkedShards(bundle: string, plan: PlanFile): { path: string; info: ShardInfo }[] {
  const folder = join(bundle, bundleFiles.shards);
  if (!existsSync(folder)) return [];
  const problems: string[] = [];
  const shards: { path: string; info: ShardInfo }[] = [];
  for (const name of readdirSync(folder).sort()) {
    if (!/^task-\d+\.sqlite$/.test(name)) continue; // partial copies of tasks still writing
    const path = join(folder, name);
    const raw = readSetting(path, SHARD_INFO_KEY);
    const parsed = raw === null ? null : ShardInfo.safeParse(safeJson(raw));
    if (!parsed?.success) {
      problems.push(`${name} is not a CellShift result shard`);
      continue;
    }
    const info = parsed.data;
    if (info.planId !== plan.id) problems.push(`${name} belongs to plan ${info.planId}, not ${plan.id}`);
    else if (info.datasetId !== plan.dataset.id || info.datasetSha256 !== plan.dataset.sha256) {
      problems.push(`${name} was trained on another dataset (${info.datasetId}, snapshot ${info.datasetSha256.slice(0, 12)}…)`);
    } else if (name !== `task-${info.taskIndex}.sqlite` || info.taskIndex >= plan.runs.length) {
      problems.push(`${name} says it is task ${info.taskIndex} of a ${plan.runs.length}-task plan`);
    } else shards.push({ path, info });
  }
  if (problems.length > 0) {
    throw new LabError('bad_input', `Nothing was collected from ${bundle}: ${problems.join('; ')}. Remove those files and collect again.`);
  }
  return shards;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function studyPlanOf(plan: PlanFile): StudyPlan {
  return { datasetId: plan.dataset.id, runs: plan.runs };
}

function collectedRuns(lab: StudyLab, plan: PlanFile, collected: Map<number, string>): RunSummary[] {
  return plan.runs.map((_, index) => lab.store.runs.get(collected.get(index) as string));
}

/** The study's evaluation over its collected runs, stored as the study's report. */
async function evaluateStudy(lab: StudyLab, plan: PlanFile, results: RunSummary[]): Promise<StudyResult & { artifactId: string }> {
  const { evaluation } = plan;
  if (evaluation.kind !== 'study') throw new LabError('internal', 'Not a study plan');
  const planned = plannedStudies[evaluation.study];
  if (!planned) throw new LabError('bad_input', `The ${evaluation.study} study cannot run as a plan.`);
  const context = studyContext(lab, evaluation.options);
  context.datasetIds.push(plan.dataset.id);
  for (const [index, run] of results.entries()) recordRun(context, run, (plan.runs[index] as PlanFile['runs'][number]).trial);
  const body = await planned.evaluate(context, studyPlanOf(plan), results);
  return storeStudy(context, evaluation.study, plan.createdAt, body);
}
