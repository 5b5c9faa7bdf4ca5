// better-sqlite3 is a V8-ABI addon: the copy npm built for Node cannot load inside Electron.
// Packaged apps get an Electron build from electron-builder; in development we keep a second,
// Electron-ABI copy in a cache folder (so the plain-Node CLI and tests keep theirs) and tell
// Electron's main process where it is.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const NATIVE_BINDING_ENV_VAR = 'CELLSHIFT_SQLITE_BINDING';

export function prepareElectronSqlite(electronVersion: string, cacheRoot: string, log: (line: string) => void): string {
  const require = createRequire(import.meta.url);
  const source = dirname(require.resolve('better-sqlite3/package.json'));
  const target = join(cacheRoot, `electron-${electronVersion}-${process.platform}-${process.arch}`, 'better-sqlite3');
  const binding = join(target, 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(binding)) return binding;

  log(`Preparing better-sqlite3 for Electron ${electronVersion} (once) in ${target}`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, filter: (path) => !path.includes(`${join(source, 'build')}`) });

  const prebuild = spawnSync(
    process.execPath,
    [require.resolve('prebuild-install/bin.js'), '--runtime', 'electron', '--target', electronVersion, '--arch', process.arch],
    { cwd: target, stdio: 'inherit' },
  );
  if (prebuild.status !== 0 || !existsSync(binding)) {
    log('No prebuilt binary could be fetched; building from source against Electron headers.');
    const gyp = spawnSync(
      process.execPath,
      [
        require.resolve('node-gyp/bin/node-gyp.js'),
        'rebuild',
        '--release',
        `--target=${electronVersion}`,
        `--arch=${process.arch}`,
        '--dist-url=https://electronjs.org/headers',
      ],
      { cwd: target, stdio: 'inherit' },
    );
    if (gyp.status !== 0 || !existsSync(binding)) {
      throw new Error(`Could not build better-sqlite3 for Electron ${electronVersion}; browser mode still works: npm run serve`);
    }
  }
  return binding;
}
