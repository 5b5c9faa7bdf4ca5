#!/usr/bin/env node
// Builds the cellshift_blas addon into native/blas/build/Release/cellshift_blas.node, offline.
//
//   node native/blas/build.mjs            build; exit 1 if it cannot
//   node native/blas/build.mjs --optional build if possible; always exit 0 (for postinstall)
//
// Needs a C compiler and Node's headers (node_api.h). It uses node-gyp (npm ships one) with
// --nodedir pointing at the running Node's own headers, so node-gyp never tries to download
// them; without node-gyp it calls the C compiler directly. No BLAS is needed to build: the addon
// finds the system BLAS (libopenblas0 / Accelerate) when it is loaded.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonBuild } from '../addon-build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { log, output, nodeDir, run, loads, exit } = addonBuild('cellshift_blas', here);

function nodeGyp() {
  const require = createRequire(import.meta.url);
  const candidates = [];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a dependency of the project
  }
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(dirname(process.env.npm_execpath)), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((path) => existsSync(path)) ?? null;
}

function buildWithNodeGyp(dir) {
  const gyp = nodeGyp();
  if (!gyp) {
    log('node-gyp not found');
    return false;
  }
  return run(process.execPath, [gyp, 'rebuild', `--nodedir=${dir}`]);
}

function buildWithCompiler(dir) {
  if (process.platform === 'win32') return false;
  const cc = process.env.CC || 'cc';
  mkdirSync(dirname(output), { recursive: true });
  const flags = ['-O3', '-std=gnu11', '-ffp-contract=off', '-fno-math-errno', '-fPIC', '-Wall', '-Wextra', '-Wno-unused-parameter'];
  const link = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared', '-ldl', '-lm'];
  return run(cc, [
    ...flags,
    '-DNODE_GYP_MODULE_NAME=cellshift_blas',
    `-I${join(dir, 'include', 'node')}`,
    join(here, 'src', 'addon.c'),
    join(here, 'src', 'projection.c'),
    join(here, 'src', 'factor.c'),
    join(here, 'src', 'training.c'),
    join(here, 'src', 'sparse.c'),
    join(here, 'src', 'loss.c'),
    join(here, 'src', 'latent.c'),
    join(here, 'src', 'normal.c'),
    '-o',
    output,
    ...link,
  ]);
}

function main() {
  const dir = nodeDir();
  if (!dir) {
    log(
      `Node's headers (include/node/node_api.h) are not next to ${process.execPath}; set npm_config_nodedir to a Node source or headers folder`,
    );
    return false;
  }
  const built = buildWithNodeGyp(dir) || buildWithCompiler(dir);
  if (!built || !existsSync(output)) {
    log('build failed; training will use the WebAssembly backend');
    return false;
  }
  return loads((i) =>
    i.blas
      ? `BLAS: ${i.config || i.blas}${i.corename ? ` (${i.corename})` : ''}, ${i.threads} threads`
      : `built, but no BLAS library found at run time: ${i.error}`,
  );
}

exit(main());
