// The one way the lab starts a worker thread. Worker entry points are named `*worker.ts` and
// given as the URL of their built file (`new URL('./x-worker.js', import.meta.url)`, like an
// import); when running from sources (tests, `node --import tsx`) there is no .js, so the .ts is
// loaded behind a bootstrap that registers tsx, because workers do not inherit the parent's loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (existsSync(fileURLToPath(entry))) return new Worker(entry, options);
  const source = entry.href.replace(/\.js$/, '.ts');
  // tsx by absolute URL: an eval worker resolves bare names from the working directory, which may be anywhere (a bundle folder).
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
