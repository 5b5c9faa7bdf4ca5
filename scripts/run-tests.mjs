// Runs node's test runner over every *.test.ts below the given folders (Node 20's --test does
// not expand globs), with tsx so tests import the TypeScript sources directly.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const concurrencyArg = args.find((a) => a.startsWith('--concurrency='));
const folders = args.filter((a) => !a.startsWith('--'));

function findTests(folder) {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

const files = folders.flatMap(findTests);
if (files.length === 0) {
  console.error(`No *.test.ts files under ${folders.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrencyArg?.split('=')[1] ?? 2}`, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
