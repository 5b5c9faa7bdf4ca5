// The shared loader of the optional native addons: where it looks (up the folders, and beside a
// packed app's app.asar), what an override does, and that every failure is a reason, not a throw.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { findAddonFile, requireAddon, unpackedPath } from '../../src-main/node/platform/native-addon.js';

const root = mkdtempSync(join(tmpdir(), 'cellshift-addon-'));
after(() => rmSync(root, { recursive: true, force: true }));
const ADDON = join('native', 'demo', 'build', 'Release', 'demo.node');

test('finds the addon up the folders from the caller, and beside app.asar when packed', () => {
  const plain = join(root, 'plain');
  mkdirSync(join(plain, 'native', 'demo', 'build', 'Release'), { recursive: true });
  writeFileSync(join(plain, ADDON), '');
  const caller = pathToFileURL(join(plain, 'dist', 'main', 'node', 'ml', 'native', 'addon.js')).href;
  assert.equal(findAddonFile(caller, ADDON), join(plain, ADDON));

  const packed = join(root, 'resources');
  mkdirSync(join(packed, 'app.asar.unpacked', 'native', 'demo', 'build', 'Release'), { recursive: true });
  writeFileSync(join(packed, 'app.asar.unpacked', ADDON), '');
  const inAsar = pathToFileURL(join(packed, 'app.asar', 'dist', 'main', 'node', 'chem', 'native.js')).href;
  assert.equal(findAddonFile(inAsar, ADDON), join(packed, 'app.asar.unpacked', ADDON));
  assert.equal(unpackedPath(join(packed, 'app.asar')), join(packed, 'app.asar.unpacked'));

  assert.equal(findAddonFile(pathToFileURL(join(root, 'elsewhere', 'x.js')).href, ADDON), null);
});

test('an override is taken as it is, and only if it exists', () => {
  const caller = pathToFileURL(join(root, 'plain', 'dist', 'x.js')).href;
  assert.equal(findAddonFile(caller, ADDON, join(root, 'missing.node')), null);
  assert.equal(findAddonFile(caller, ADDON, join(root, 'plain', ADDON)), join(root, 'plain', ADDON));
});

test('a file that is not the addon, or does not load, gives a reason', () => {
  const notAddon = join(root, 'not-addon.cjs');
  writeFileSync(notAddon, 'module.exports = { gemm() {} };');
  const wrong = requireAddon<{ info(): unknown }>('demo', notAddon);
  assert.deepEqual(wrong, { ok: false, why: `${notAddon} is not the demo addon (it exports no info())` });

  const broken = join(root, 'broken.node');
  writeFileSync(broken, 'not a shared object');
  const failed = requireAddon<{ info(): unknown }>('demo', broken);
  assert.equal(failed.ok, false);
  assert.match(
    failed.ok ? '' : failed.why,
    new RegExp(`^the demo addon at ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed to load: \\S`),
  );

  const good = join(root, 'good.cjs');
  writeFileSync(good, 'module.exports = { info: () => ({ version: 1 }) };');
  const loaded = requireAddon<{ info(): { version: number } }>('demo', good);
  assert.equal(loaded.ok && loaded.binding.info().version, 1);
});
