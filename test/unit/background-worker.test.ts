// Background workers (import, training, studies, model analyses) lower their own priority before
// their entry loads, so the serving thread gets a core as soon as it wakes; threads they start
// inherit it. Linux only: elsewhere nice is per process.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { BACKGROUND_NICE, startWorker } from '../../src-main/node/threads/start-worker.js';

// Each thread reports its own nice value (/proc/thread-self/stat, field 19); the reporter starts a
// plain child thread and reports the child's too.
const NICE = `
import { readFileSync } from 'node:fs';
export const nice = () => { const stat = readFileSync('/proc/thread-self/stat', 'utf8'); return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); };
`;
const CHILD = `import { parentPort } from 'node:worker_threads'; import { nice } from './nice.mjs'; parentPort.postMessage(nice());`;
const REPORTER = (folder: string) => `
import { Worker, parentPort } from 'node:worker_threads';
import { nice } from ${JSON.stringify(pathToFileURL(join(folder, 'nice.mjs')).href)};
const child = new Worker(${JSON.stringify(join(folder, 'child.mjs'))});
child.once('message', (childNice) => parentPort.postMessage({ own: nice(), child: childNice }));
`;

const folder = mkdtempSync(join(tmpdir(), 'cellshift-nice-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function report(worker: Worker): Promise<{ own: number; child: number }> {
  return new Promise((resolve, reject) => {
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('a background worker and the threads it starts run niced; a plain one does not', {
  skip: process.platform !== 'linux' && 'nice is per thread only on Linux',
}, async () => {
  // A built entry (the .js exists) and one loaded from sources (only the .ts exists: the tsx bootstrap).
  writeFileSync(join(folder, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(folder, 'nice.mjs'), NICE);
  writeFileSync(join(folder, 'child.mjs'), CHILD);
  const built = join(folder, 'reporter.mjs');
  writeFileSync(built, REPORTER(folder));
  writeFileSync(join(folder, 'sources.ts'), REPORTER(folder));
  const fromSources = pathToFileURL(join(folder, 'sources.js'));
  // Relative to the lab's own (the tests may run under `nice`).
  const lab = getPriority(0);
  const background = Math.min(19, lab + BACKGROUND_NICE);
  for (const entry of [pathToFileURL(built), fromSources]) {
    assert.deepEqual(await report(startWorker(entry, { background: true })), { own: background, child: background }, entry.href);
    assert.deepEqual(await report(startWorker(entry)), { own: lab, child: lab }, entry.href);
  }
});
