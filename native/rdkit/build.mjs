#!/usr/bin/env node
// Builds the cellshift_rdkit addon (native RDKit for the import's structure work) into
// native/rdkit/build/Release/cellshift_rdkit.node, offline.
//
//   node native/rdkit/build.mjs            build; exit 1 if it cannot
//   node native/rdkit/build.mjs --optional build if possible; always exit 0 (for postinstall)
//
// Needs a C++17 compiler, Node's headers (node_api.h) and RDKit's C++ headers and libraries
// (Debian/Ubuntu: apt install librdkit-dev; elsewhere set RDKIT_PREFIX to a prefix with
// include/rdkit and lib, e.g. a conda environment). Without them the app describes structures
// with RDKit's WebAssembly build instead, so --optional skips with a one-line reason.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonBuild } from '../addon-build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { log, output, nodeDir, run, loads, exit } = addonBuild('cellshift_rdkit', here);
const LIBRARIES = [
  'ChemTransforms',
  'Fingerprints',
  'Descriptors',
  'SmilesParse',
  'SubstructMatch',
  'DataStructs',
  'GraphMol',
  'RDGeneral',
];

/** The prefix holding include/rdkit/GraphMol/GraphMol.h and RDKit's libraries. */
function rdkitPrefix() {
  const candidates = [process.env.RDKIT_PREFIX, process.env.CONDA_PREFIX, '/usr', '/usr/local', '/opt/homebrew'].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, 'include', 'rdkit', 'GraphMol', 'GraphMol.h'))) ?? null;
}

function main() {
  if (process.platform === 'win32') {
    log('not built on Windows (no system RDKit to link); structures use the WebAssembly build');
    return false;
  }
  const node = nodeDir();
  if (!node) {
    log(`skipped: Node's headers (include/node/node_api.h) are not next to ${process.execPath}; set npm_config_nodedir`);
    return false;
  }
  const rdkit = rdkitPrefix();
  if (!rdkit) {
    log('skipped: RDKit headers not found (apt install librdkit-dev, or set RDKIT_PREFIX); structures use the WebAssembly build');
    return false;
  }
  mkdirSync(dirname(output), { recursive: true });
  const libDir = [join(rdkit, 'lib'), join(rdkit, 'lib64')].find((dir) => existsSync(dir)) ?? join(rdkit, 'lib');
  const link = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared'];
  const built = run(process.env.CXX || 'c++', [
    '-O2',
    '-std=c++17',
    '-fPIC',
    '-Wall',
    '-Wno-unused-parameter',
    '-DNAPI_VERSION=8',
    `-I${join(node, 'include', 'node')}`,
    `-I${join(rdkit, 'include', 'rdkit')}`,
    join(here, 'src', 'addon.cc'),
    '-o',
    output,
    ...link,
    `-L${libDir}`,
    `-Wl,-rpath,${libDir}`,
    ...LIBRARIES.map((name) => `-lRDKit${name}`),
  ]);
  if (!built || !existsSync(output)) {
    log('build failed; structures use the WebAssembly build');
    return false;
  }
  return loads((i) => `RDKit ${i.rdkit}: structures will be described natively`);
}

exit(main());
