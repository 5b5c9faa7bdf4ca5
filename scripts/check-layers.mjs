// The layer rule, as data, and its check: which folder may import which. Layers import only
// downward (api ← store ← data/chem ← ml ← analysis ← lab ← server/cli/app, with platform and
// threads below all Node layers), the contract (api) imports only zod, the renderer only the
// contract, and Electron is loaded only by the app.
// Run: node scripts/check-layers.mjs (exit 1 and one line per violation); test/unit/layers.test.ts
// runs it in `npm test`, with the check that no files import each other in a circle. Folders are
// repo-relative; a file under no layer is itself a violation, so a new folder gets a place in this
// table.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each layer: its folders, the layers it may import, and (when listed) the only packages it may import. */
export const layers = [
  { name: 'api', folders: ['src-main/shared/api'], may: [], packages: ['zod'] },
  { name: 'platform', folders: ['src-main/node/platform'], may: [] },
  { name: 'threads', folders: ['src-main/node/threads'], may: [] },
  { name: 'store', folders: ['src-main/node/store'], may: ['api', 'platform', 'threads'] },
  { name: 'chem', folders: ['src-main/node/chem'], may: ['api', 'platform', 'threads'] },
  { name: 'data', folders: ['src-main/node/data'], may: ['api', 'platform', 'threads', 'store', 'chem'] },
  { name: 'ml', folders: ['src-main/node/ml'], may: ['api', 'platform', 'threads', 'store', 'chem', 'data'] },
  { name: 'analysis', folders: ['src-main/node/analysis'], may: ['api', 'platform', 'threads', 'store', 'chem', 'data', 'ml'] },
  { name: 'lab', folders: ['src-main/node/lab'], may: ['api', 'platform', 'threads', 'store', 'chem', 'data', 'ml', 'analysis'] },
  {
    name: 'server',
    folders: ['src-main/node/server'],
    may: ['api', 'platform', 'threads', 'store', 'chem', 'data', 'ml', 'analysis', 'lab'],
  },
  {
    name: 'app',
    folders: ['src-main/node/app'],
    may: ['api', 'platform', 'threads', 'store', 'chem', 'data', 'ml', 'analysis', 'lab', 'server'],
  },
  {
    name: 'electron',
    folders: ['src-main/electron'],
    may: ['api', 'platform', 'threads', 'store', 'chem', 'data', 'ml', 'analysis', 'lab', 'server', 'app'],
  },
  {
    name: 'cli',
    folders: ['src-main/node/cli'],
    may: ['api', 'platform', 'threads', 'store', 'chem', 'data', 'ml', 'analysis', 'lab', 'server', 'app'],
  },
  { name: 'renderer', folders: ['src-renderer'], may: ['api'] },
];

/**
 * Packages only some layers may load, whatever else they import. The app layer (plain Node) only
 * resolves the `electron` package to find the binary; Electron's APIs are used in app/electron.
 */
export const confinedPackages = { electron: ['electron', 'app'] };

/** Where the checked sources live, and which files count. */
export const sourceRoots = ['src-main', 'src-renderer'];
const SOURCE = /\.(ts|cts|mts|svelte|js|mjs|cjs)$/;

// Static imports and re-exports, side-effect imports, import(), require(), `import x = require()`.
const IMPORT =
  /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|[\s;}])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function importsOf(source) {
  const specifiers = [];
  for (const match of source.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(IMPORT)) {
    specifiers.push(match[1] ?? match[2] ?? match[3] ?? match[4]);
  }
  return specifiers;
}

/** The layer of the innermost folder holding the file (app/electron is not app). */
function layerOf(file, rules) {
  let best = null;
  for (const layer of rules) {
    for (const folder of layer.folders) {
      if ((file === folder || file.startsWith(`${folder}/`)) && (!best || folder.length > best.folder.length)) best = { layer, folder };
    }
  }
  return best?.layer;
}

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The violations in a set of files (paths repo-relative with forward slashes, sources as text):
 * one message each, naming the file, the import and the rule it breaks.
 */
export function findViolations(files, rules = layers, confined = confinedPackages) {
  const violations = [];
  for (const { path, source } of files) {
    const layer = layerOf(path, rules);
    if (!layer) {
      violations.push(`${path}: in no layer; give its folder a place in scripts/check-layers.mjs`);
      continue;
    }
    for (const specifier of importsOf(source)) {
      if (specifier.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(path), specifier));
        const to = layerOf(target, rules);
        if (to && to !== layer && !layer.may.includes(to.name)) {
          violations.push(`${path}: imports ${specifier} (${to.name}); ${layer.name} may import only ${describe(layer.may)}`);
        }
        continue;
      }
      const name = packageName(specifier);
      if (layer.packages && !layer.packages.includes(name)) {
        violations.push(`${path}: imports package ${name}; ${layer.name} may import only ${describe(layer.packages)}`);
      }
      const allowed = confined[name];
      if (allowed && !allowed.includes(layer.name)) {
        violations.push(`${path}: imports ${name}, which only ${describe(allowed)} may load`);
      }
    }
  }
  return violations;
}

/** Import cycles between files (each named once, as a chain that returns to its start). */
export function findCycles(files) {
  const known = new Set(files.map((f) => f.path));
  const resolve = (from, specifier) => {
    const target = posix.normalize(posix.join(posix.dirname(from), specifier));
    const candidates = [target, target.replace(/\.js$/, '.ts'), target.replace(/\.cjs$/, '.cts'), target.replace(/\.mjs$/, '.mts')];
    return candidates.find((c) => known.has(c));
  };
  const graph = new Map(
    files.map((f) => [
      f.path,
      importsOf(f.source)
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(f.path, s))
        .filter(Boolean),
    ]),
  );
  const cycles = [];
  const state = new Map();
  const stack = [];
  const visit = (file) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

function describe(names) {
  return names.length === 0 ? 'itself' : names.join(', ');
}

/** Every source file below the roots of a checkout, read from disk. */
export function readSources(root, roots = sourceRoots) {
  return roots.flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts'))
      .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
      .filter((file) => !file.split(sep).includes('node_modules'))
      .map((file) => ({ path: relative(root, file).split(sep).join('/'), source: readFileSync(file, 'utf8') })),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const sources = readSources(root);
  const violations = [...findViolations(sources), ...findCycles(sources).map((cycle) => `import cycle: ${cycle}`)];
  for (const line of violations) console.error(line);
  if (violations.length > 0) process.exit(1);
  console.log('Layers: no import crosses a layer upward, and no file imports itself through others.');
}
