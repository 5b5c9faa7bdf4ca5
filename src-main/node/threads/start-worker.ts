// The one way the lab starts a worker thread. Worker entry points are named `*worker.ts` and
// given as the URL of their built file (`new URL('./x-worker.js', import.meta.url)`, like an
// import); when running from sources (tests, `node --import tsx`) there is no .js, so the .ts is
// loaded behind a bootstrap that registers tsx, because workers do not inherit the parent's loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * How much nicer than the lab a background worker thread runs (nice 10 for a lab at 0, at most 19:
 * a lab started under `nice` keeps its workers below it). On a 2-core machine an import (its worker and
 * chemistry pool) or a training run keeps every core busy, and the serving thread then waits for a
 * core before it can answer even `app.info` (100 ms in the full-size bench's import, with 24 ms of
 * its own CPU at most); a nicer worker gives the core back as soon as the serving thread wakes.
 */
export const BACKGROUND_NICE = 10;

export interface StartWorkerOptions extends Omit<WorkerOptions, 'eval'> {
  /**
   * Long work no request waits on turn by turn (import, training, studies, model analyses): the
   * thread lowers its own priority before its entry loads, so the threads it starts (chemistry
   * workers, OpenBLAS's pool) inherit it. Linux only, where nice is per thread; elsewhere it is
   * per process, and lowering it would slow the serving thread too.
   */
  background?: boolean;
}

export function startWorker(entry: URL, options: StartWorkerOptions = {}): Worker {
  const { background = false, ...workerOptions } = options;
  const lowerPriority = background && process.platform === 'linux';
  const built = existsSync(fileURLToPath(entry));
  if (built && !lowerPriority) return new Worker(entry, workerOptions);
  const prelude = lowerPriority
    ? `try { const os = require('node:os'); os.setPriority(0, Math.min(19, os.getPriority(0) + ${BACKGROUND_NICE})); } catch {}\n`
    : '';
  if (built) return new Worker(`${prelude}import(${JSON.stringify(entry.href)});`, { ...workerOptions, eval: true });
  const source = entry.href.replace(/\.js$/, '.ts');
  // tsx by absolute URL: an eval worker resolves bare names from the working directory, which may be anywhere (a bundle folder).
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `${prelude}import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { ...workerOptions, eval: true });
}
