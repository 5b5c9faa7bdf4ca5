#!/usr/bin/env node
// Issue #17, the folder moves: "runtimes visible in the tree". Run from (or with the path of) a
// CellShift checkout whose working tree is clean:
//
//   node scripts/relayout.mjs [REPO] [--dry-run]
//
// It computes every rewrite from the tree it runs on (no fixed list of importers), so files added
// by other branches are handled: (1) each file's new path from MOVES; (2) every relative specifier
// (import/export/import()/require()/`new URL('…', import.meta.url)`) in .ts/.cts/.mts/.svelte/
// .js/.mjs/.cjs files below src-main, src-renderer, test, bench, scripts and the repo root,
// re-pointed from the file's new place to its target's new place; (3) repo-rooted path strings
// (`src-main/shared/api/…`, `dist/main/node/cli/…`) in every tracked text file (configs, scripts, tests,
// docs, the layer table in scripts/check-layers.mjs), rewritten by the same table; (4) `git mv`,
// then the rewritten contents written and tidied by Biome's safe fixes (import order, format). It prints what it moved and changed. Re-running on an
// already moved tree finds nothing to move and changes nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';

/**
 * Old repo path → new repo path. A folder moves with everything below it; a file entry (with
 * extension) moves that file, and also matches specifiers naming it as .js. Longest match wins,
 * so a file or sub-folder entry overrides its folder's.
 */
export const MOVES = {
  // What both sides (Node and the renderer) import: the contract.
  'src-main/shared/api': 'src-main/shared/api',
  // Electron-only code: the main process and preload.
  'src-main/electron': 'src-main/electron',
  // Node-only code, one folder per layer.
  'src-main/node/threads': 'src-main/node/threads',
  'src-main/node/store': 'src-main/node/store',
  'src-main/node/chem': 'src-main/node/chem',
  'src-main/node/data': 'src-main/node/data',
  'src-main/node/ml': 'src-main/node/ml',
  'src-main/node/analysis': 'src-main/node/analysis',
  'src-main/node/lab': 'src-main/node/lab',
  'src-main/node/server': 'src-main/node/server',
  'src-main/node/app': 'src-main/node/app',
  'src-main/node/cli': 'src-main/node/cli',
  // Import workflows (they write to the store) leave data/, which keeps file parsers and generators.
  'src-main/node/lab/import': 'src-main/node/lab/import',
  'src-main/node/lab/import/synthetic.ts': 'src-main/node/lab/import/synthetic.ts',
  'src-main/node/lab/import/synthetic-drugs.ts': 'src-main/node/lab/import/synthetic-drugs.ts',
  // One naming rule for worker entry points: <job>-worker.ts.
  'src-main/node/ml/training-worker.ts': 'src-main/node/ml/training-worker.ts',
  'src-main/node/analysis/analysis-worker.ts': 'src-main/node/analysis/analysis-worker.ts',
};

/** Build output mirrors src-main (tsconfig rootDir src-main → outDir dist/main). */
const BUILD_ROOTS = [['src-main/', 'dist/main/']];

const SOURCE = /\.(ts|cts|mts|svelte|js|mjs|cjs)$/;
const SOURCE_ROOTS = ['src-main/', 'src-renderer/', 'test/', 'bench/', 'scripts/'];
const TEXT = /\.(ts|cts|mts|svelte|js|mjs|cjs|json|ya?ml|md|html|css|sh|txt)$|(^|\/)(run|Makefile|\.gitignore)$/;
const SKIP_TEXT = /(^|\/)(package-lock\.json|node_modules\/)/;

// Specifiers: static import/export … from, bare import, import(), require(), new URL(…, import.meta.url).
const SPECIFIER =
  /((?:^|[\s;}])(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*)(['"])([^'"]+)\2|((?:^|[\s;}])import\s*)(['"])([^'"]+)\5|(\bimport\s*\(\s*)(['"])([^'"]+)\8(?=\s*\))|(\brequire\s*\(\s*)(['"])([^'"]+)\11(?=\s*\))|(\bnew\s+URL\s*\(\s*)(['"])([^'"]+)\14(?=\s*,\s*import\.meta\.url)/gm;

const stripExt = (p) => p.replace(/\.(ts|cts|mts|js|cjs|mjs)$/, '');
const EXT_PAIRS = { '.js': ['.ts', '.js', '.mjs'], '.cjs': ['.cts', '.cjs'], '.mjs': ['.mts', '.mjs'] };

/** The new path of a repo path (a file or a specifier's target), or the same path. */
export function movedPath(path, moves = MOVES) {
  let best = null;
  for (const [from, to] of Object.entries(moves)) {
    let moved = null;
    if (/\.[a-z]+$/.test(from)) {
      // A file entry also matches its target named with another extension (x.js for x.ts).
      if (stripExt(path) === stripExt(from) && path !== stripExt(path)) moved = stripExt(to) + posix.extname(path);
    } else if (path === from || path.startsWith(`${from}/`)) {
      moved = to + path.slice(from.length);
    }
    if (moved !== null && (!best || from.length > best.from.length)) best = { from, moved };
  }
  return best ? best.moved : path;
}

function git(repo, args) {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Rewrites every relative specifier of a file that moves from `oldFile` to `newFile`. */
export function rewriteSpecifiers(source, oldFile, newFile, exists, moves = MOVES) {
  const changes = [];
  const text = source.replace(SPECIFIER, (...m) => {
    const groups = m.slice(1, 16);
    for (let i = 0; i < 15; i += 3) {
      const [, quote, spec] = groups.slice(i, i + 3);
      if (spec === undefined) continue;
      if (!spec.startsWith('./') && !spec.startsWith('../')) return m[0];
      const target = posix.normalize(posix.join(posix.dirname(oldFile), spec));
      const newTarget = movedPath(resolveTarget(target, exists), moves);
      const written = sameExtension(target, resolveTarget(target, exists), newTarget);
      if (newFile === oldFile && written === target) return m[0];
      let next = posix.relative(posix.dirname(newFile), written);
      if (!next.startsWith('.')) next = `./${next}`;
      if (spec.endsWith('/') && !next.endsWith('/')) next += '/';
      if (next === spec) return m[0];
      changes.push(`${spec} → ${next}`);
      // Every alternative ends with the quoted specifier (what follows is only looked ahead at).
      return `${m[0].slice(0, m[0].length - (spec.length + 2))}${quote}${next}${quote}`;
    }
    return m[0];
  });
  return { text, changes };
}

/** The file a specifier names: x.js may be x.ts on disk (and .cjs a .cts). */
function resolveTarget(target, exists) {
  if (exists(target)) return target;
  const ext = posix.extname(target);
  for (const candidate of EXT_PAIRS[ext] ?? []) {
    const file = target.slice(0, -ext.length) + candidate;
    if (exists(file)) return file;
  }
  return target;
}

/** The moved target, written with the extension the specifier used. */
function sameExtension(written, onDisk, moved) {
  if (written === onDisk) return moved;
  return stripExt(moved) + posix.extname(written);
}

/** Repo-rooted path strings (src-main/…, dist/main/…), longest old path first. */
export function rewriteRootedPaths(text, moves = MOVES) {
  const pairs = [];
  for (const [from, to] of Object.entries(moves)) {
    pairs.push([from, to]);
    for (const [src, out] of BUILD_ROOTS) {
      if (from.startsWith(src)) pairs.push([out + from.slice(src.length), out + to.slice(src.length)]);
    }
  }
  pairs.sort((a, b) => b[0].length - a[0].length);
  // One pass over the text, so a replaced path is never replaced again.
  const escaped = pairs.map(([from]) => stripExt(from).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  const pattern = new RegExp(`(?<![\\w.-])(${escaped.join('|')})(\\.(?:ts|cts|js|cjs|mjs))?(?=[/'"\`\\s,)\\]*:]|$)`, 'gm');
  let count = 0;
  const out = text.replace(pattern, (match, path, ext = '') => {
    const entry = pairs.find(([from]) => stripExt(from) === path && (/\.[a-z]+$/.test(from) ? ext !== '' : true));
    if (!entry) return match;
    const [from, to] = entry;
    const isFile = /\.[a-z]+$/.test(from);
    count++;
    return isFile ? stripExt(to) + ext : to + ext;
  });
  return { text: out, count };
}

/** Folders the moves emptied (git does not track folders, but editors and readdir would show them). */
function removeEmptyFolders(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.isDirectory()) removeEmptyFolders(join(folder, entry.name));
  }
  if (readdirSync(folder).length === 0) rmdirSync(folder);
}

function main() {
  const args = process.argv.slice(2);
  const dryRun = args.includes('--dry-run');
  const repo = resolve(args.find((a) => !a.startsWith('--')) ?? '.');
  if (!existsSync(join(repo, 'src-main'))) throw new Error(`${repo} is not a CellShift checkout (no src-main)`);
  if (!dryRun && git(repo, ['status', '--porcelain', '--untracked-files=no']).trim() !== '') {
    throw new Error('The working tree has uncommitted changes; commit or stash them first, so the move is one reviewable commit.');
  }
  const files = git(repo, ['ls-files', '-z']).split('\0').filter(Boolean);
  const known = new Set(files);
  const exists = (p) => known.has(p);
  const moves = files.map((f) => [f, movedPath(f)]).filter(([a, b]) => a !== b);
  const newPathOf = new Map(moves);

  const writes = new Map();
  let specifierChanges = 0;
  let pathChanges = 0;
  for (const file of files) {
    if (!TEXT.test(file) || SKIP_TEXT.test(file)) continue;
    const original = readFileSync(join(repo, file), 'utf8');
    let text = original;
    const target = newPathOf.get(file) ?? file;
    if (SOURCE.test(file) && (SOURCE_ROOTS.some((r) => file.startsWith(r)) || !file.includes('/'))) {
      const result = rewriteSpecifiers(text, file, target, exists);
      text = result.text;
      specifierChanges += result.changes.length;
    }
    const rooted = rewriteRootedPaths(text);
    text = rooted.text;
    pathChanges += rooted.count;
    if (text !== original || target !== file) writes.set(file, { target, text, changed: text !== original });
  }

  console.log(`${moves.length} files move, ${specifierChanges} relative specifiers and ${pathChanges} rooted paths change.`);
  for (const [from, to] of moves) console.log(`  move ${from} → ${to}`);
  for (const [file, { changed }] of writes) if (changed) console.log(`  edit ${newPathOf.get(file) ?? file}`);
  if (dryRun) return;
  for (const [from, to] of moves) {
    mkdirSync(dirname(join(repo, to)), { recursive: true });
    git(repo, ['mv', from, to]);
  }
  for (const [, { target, text, changed }] of writes) if (changed) writeFileSync(join(repo, target), text);
  removeEmptyFolders(join(repo, 'src-main'));
  // Re-pointed imports sort differently and may change line lengths: Biome's safe fixes tidy both.
  const edited = [...writes.values()].filter((w) => w.changed).map((w) => w.target);
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/@biomejs/biome/bin/biome'), 'check', '--write', ...edited], {
      cwd: repo,
      stdio: 'inherit',
    });
  } catch {
    console.log('Biome left findings (see above); run `npm run lint` and fix them by hand.');
  }
  console.log('Done. Next: npm run lint && npm run typecheck && node scripts/check-layers.mjs && npm run test:unit');
}

if (import.meta.url === `file://${process.argv[1]}`) main();
