// Starting a worker thread from the lab: the built entry (.js) next to the running code, or, when
// running from sources (tests, `node --import tsx`), the .ts entry behind a one-line bootstrap that
// registers tsx, because workers do not inherit the parent's loader.
import { existsSync } from 'node:fs';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `entry` is relative to src-main (or dist/main) without extension, e.g. 'ml/worker'. */
export function startWorker(entry: string, options: Omit<WorkerOptions, 'eval'>): Worker {
  const built = new URL(`../${entry}.js`, import.meta.url);
  if (existsSync(built)) return new Worker(built, options);
  const source = new URL(`../${entry}.ts`, import.meta.url).href;
  // By absolute URL: an eval worker resolves bare names from the working directory, which may be anywhere (a bundle folder).
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
