// Type-checks and compiles the Electron shell against Electron's own types. The `electron`
// package is optional: when it is absent the shell is skipped (browser mode still works),
// unless CELLSHIFT_REQUIRE_ELECTRON_TYPES=1 (CI) demands it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const checkOnly = process.argv.includes('--check');
const require = createRequire(import.meta.url);
let typesPath = null;
try {
  typesPath = require.resolve('electron/electron.d.ts');
} catch {
  typesPath = null;
}

if (!typesPath || !existsSync(typesPath)) {
  const message =
    'Electron shell: skipped, the optional "electron" package is not installed. ' +
    'To type-check it without the binary: ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm install';
  if (process.env.CELLSHIFT_REQUIRE_ELECTRON_TYPES === '1') {
    console.error(`${message}\n(CELLSHIFT_REQUIRE_ELECTRON_TYPES=1: failing)`);
    process.exit(1);
  }
  console.log(message);
  process.exit(0);
}

const tsc = require.resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.electron.json', ...(checkOnly ? ['--noEmit'] : [])], {
  stdio: 'inherit',
});
if (result.status === 0) console.log(`Electron shell: ${checkOnly ? 'type-checked' : 'built'} against ${typesPath}`);
process.exit(result.status ?? 1);
