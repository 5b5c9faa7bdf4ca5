// Validates the desktop packaging set-up without building packages (that needs the Electron
// runtime download, impossible offline): electron-builder's own schema and package.json checks,
// plus what electron-builder only discovers deep into a real build — the targets we promise,
// an icon it can convert, a `main` the packed files include, a deb maintainer, and that every
// native module we unpack from the asar exists.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '..');
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
const { readPackageJson, checkMetadata } = require('app-builder-lib/out/util/packageMetadata.js');
const { DebugLogger } = require('builder-util');
const { minimatch } = require('minimatch');

const problems = [];
const configFile = process.argv[2] ?? 'electron-builder.yml';
const config = await getConfig(root, configFile, null);
try {
  await validateConfiguration(config, new DebugLogger(false));
} catch (error) {
  problems.push(`${configFile} does not match electron-builder's schema:\n${error.message}`);
}
const packageFile = join(root, 'package.json');
const metadata = await readPackageJson(packageFile);
try {
  checkMetadata(metadata, metadata, packageFile, packageFile);
} catch (error) {
  problems.push(error.message);
}

const promisedTargets = { linux: ['AppImage', 'deb'], mac: ['dmg'], win: ['nsis'] };
for (const [platform, wanted] of Object.entries(promisedTargets)) {
  const raw = config[platform]?.target ?? [];
  const targets = (Array.isArray(raw) ? raw : [raw]).map((t) => (typeof t === 'string' ? t : t.target));
  for (const target of wanted) if (!targets.includes(target)) problems.push(`${platform}.target lacks ${target}`);
}

// electron-builder makes .icns/.ico/Linux sizes from one PNG of at least 512×512 (not SVG).
const resources = join(root, config.directories?.buildResources ?? 'build');
for (const platform of ['linux', 'mac', 'win']) {
  const icon = config[platform]?.icon;
  if (icon && !icon.endsWith('.png')) problems.push(`${platform}.icon is ${icon}; electron-builder needs a PNG (or .icns/.ico)`);
}
const iconPng = join(resources, 'icon.png');
if (!existsSync(iconPng)) problems.push(`${iconPng} is missing (npm run render:icon makes it from icon.svg)`);
else {
  const png = readFileSync(iconPng);
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  if (width < 512 || height < 512) problems.push(`${iconPng} is ${width}×${height}; macOS needs at least 512×512`);
}

// The deb target refuses to build without a maintainer e-mail.
const author = typeof metadata.author === 'string' ? { email: /<(.+)>/.exec(metadata.author)?.[1] } : metadata.author;
if (!config.linux?.maintainer && !author?.email) problems.push('deb needs linux.maintainer or an author e-mail in package.json');

const patterns = (config.files ?? []).flatMap((entry) => (typeof entry === 'string' ? [entry] : entry.filter));
const included = (file) => {
  let keep = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) keep &&= !minimatch(file, pattern.slice(1));
    else keep ||= minimatch(file, pattern);
  }
  return keep;
};
// package.json `main` must be what tsc emits for the Electron entry, or the packaged app opens nothing.
const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
const electronEntry = join(compilerOptions.outDir, relative(compilerOptions.rootDir, 'src-main/electron/main.ts')).replace(/\.ts$/, '.js');
if (metadata.main !== electronEntry)
  problems.push(`package.json "main" is ${metadata.main}, but the Electron entry compiles to ${electronEntry}`);
for (const file of [metadata.main, 'dist/main/electron/preload.cjs', 'dist/renderer/index.html']) {
  if (!included(file)) problems.push(`"files" does not include ${file}, which the packaged app loads`);
}

const packageJson = JSON.parse(readFileSync(packageFile, 'utf8'));
for (const pattern of config.asarUnpack ?? []) {
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(pattern)?.[1];
  if (pkg && !packageJson.dependencies?.[pkg] && !packageJson.optionalDependencies?.[pkg])
    problems.push(`asarUnpack names ${pkg}, which is not a runtime dependency`);
}
for (const nativeModule of ['better-sqlite3']) {
  if (!(config.asarUnpack ?? []).some((p) => p.includes(nativeModule)))
    problems.push(`${nativeModule} is native and must be unpacked from the asar`);
}
if (config.npmRebuild === false) problems.push('npmRebuild is off: native modules would keep the Node ABI, not Electron’s');

if (problems.length > 0) {
  console.error(`Packaging config has ${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `Packaging config valid: ${configFile} (electron-builder schema), targets ${Object.values(promisedTargets).flat().join(', ')}, icon, files, native modules.`,
);
