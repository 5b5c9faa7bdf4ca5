// The packaging check stands in for `npm run dist` on machines that cannot download Electron, so
// it must reject the mistakes a real build would trip over.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'scripts', 'check-packaging.mjs');

function check(configText?: string) {
  const args = [script];
  if (configText !== undefined) {
    const file = join(mkdtempSync(join(tmpdir(), 'cellshift-pack-')), 'electron-builder.yml');
    writeFileSync(file, configText);
    args.push(file);
  }
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  return { ok: run.status === 0, output: run.stdout + run.stderr };
}

test('the shipped electron-builder.yml passes', () => {
  const result = check();
  assert.ok(result.ok, result.output);
});

test('a missing target, an SVG icon, unpacked non-dependencies and unknown keys are each reported', () => {
  const shipped = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
  const broken = shipped
    .replace('target: [AppImage, deb]', 'target: [AppImage]\n  icon: resources/icon.svg')
    .replace('asarUnpack:\n', 'asarUnpack:\n  - node_modules/left-pad/**\n')
    .replace('npmRebuild: true', 'npmRebuild: true\nnotAnOption: 1');
  const result = check(broken);
  assert.equal(result.ok, false);
  assert.match(result.output, /linux\.target lacks deb/);
  assert.match(result.output, /linux\.icon is resources\/icon\.svg/);
  assert.match(result.output, /asarUnpack names left-pad/);
  assert.match(result.output, /schema/);
});
