// Names the synchronous work the serving thread does per call (parsing a request, checking params,
// a handler's synchronous part, checking and encoding a result, sending an event), for benches and
// tests that want to know *what* held the thread, not only that something did. Nothing is timed
// unless someone subscribes to the channel (bench/load.ts's server child, the serving-thread test):
// then each task publishes { label, ms, cpuMs?, bytes? }.
import { channel } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

export const SERVING_TASK_CHANNEL = 'cellshift:serving-task';

export interface ServingTask {
  /** What ran, e.g. "analysis.differential: params" or "POST /api/call: JSON.parse". */
  label: string;
  /** Wall time of the synchronous work (performance.now()): load stretches it. */
  ms: number;
  /** The thread's own CPU time for it (Linux, main thread): load does not stretch it. */
  cpuMs?: number;
  /** Size of the text parsed, when that is what it was. */
  bytes?: number;
}

const servingTasks = channel(SERVING_TASK_CHANNEL);
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** This thread's CPU time (ms) when it is the main thread on Linux (its task id is the pid), else null. */
function mainThreadCpuMs(): number | null {
  if (!isMainThread || process.platform !== 'linux') return null;
  try {
    return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

/** Runs `work` and, when anyone listens, publishes how long it held the thread. */
export function timedServingTask<T>(label: string, work: () => T, bytes?: number): T {
  if (!servingTasks.hasSubscribers) return work();
  const cpu0 = mainThreadCpuMs();
  const t0 = performance.now();
  try {
    return work();
  } finally {
    const ms = performance.now() - t0;
    const cpu1 = cpu0 === null ? null : mainThreadCpuMs();
    const task: ServingTask = { label, ms };
    if (cpu0 !== null && cpu1 !== null) task.cpuMs = cpu1 - cpu0;
    if (bytes !== undefined) task.bytes = bytes;
    servingTasks.publish(task);
  }
}
