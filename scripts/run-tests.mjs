// Runs node's test runner over the given *.test.ts files and every *.test.ts below the given
// folders (Node 20's --test does not expand globs), with tsx so tests import the TypeScript
// sources directly.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const concurrencyArg = args.find((a) => a.startsWith('--concurrency='));
const paths = args.filter((a) => !a.startsWith('--'));

function findTests(path) {
  if (!existsSync(path)) {
    console.error(`${path} does not exist`);
    process.exit(1);
  }
  if (statSync(path).isFile()) {
    if (!path.endsWith('.test.ts')) {
      console.error(`${path} is not a *.test.ts file`);
      process.exit(1);
    }
    return [path];
  }
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

const files = paths.flatMap(findTests);
if (files.length === 0) {
  console.error(`No *.test.ts files in ${paths.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrencyArg?.split('=')[1] ?? 2}`, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
