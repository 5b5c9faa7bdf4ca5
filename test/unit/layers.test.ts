// The layer rule holds for the tree, and the check does catch what breaks it: upward imports,
// packages the contract may not load, the renderer reaching past the contract, Electron outside
// the app, a folder under no layer, files importing each other in a circle.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script (so the folder-move tooling can run and rewrite it) without declarations
import { findCycles, findViolations, importsOf, readSources } from '../../scripts/check-layers.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const check = findViolations as (files: { path: string; source: string }[]) => string[];

describe('layers', () => {
  test('no file of the tree breaks the layer rule', () => {
    const files = readSources(repo) as { path: string }[];
    assert.ok(files.length > 100, `read ${files.length} source files`);
    assert.ok(files.some((f) => f.path.endsWith('.svelte')) && files.some((f) => f.path.endsWith('.cts')));
    assert.deepEqual(check(files as { path: string; source: string }[]), []);
    assert.deepEqual(findCycles(files), []);
  });

  test('a circle between files is found (as lab/service ↔ lab/studies was)', () => {
    const cycles = findCycles([
      { path: 'src-main/node/lab/service.ts', source: "import { runStudy } from './studies.js';" },
      { path: 'src-main/node/lab/studies.ts', source: "import { train } from './studies/common.js';" },
      { path: 'src-main/node/lab/studies/common.ts', source: "import type { LabService } from '../service.js';" },
      { path: 'src-main/node/lab/jobs.ts', source: "import './service.js';" },
    ]);
    assert.deepEqual(cycles, [
      'src-main/node/lab/service.ts → src-main/node/lab/studies.ts → src-main/node/lab/studies/common.ts → src-main/node/lab/service.ts',
    ]);
  });

  test('every form of import is seen', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
      "const g = require('g');",
      "import electron = require('electron');",
      "import {\n  h,\n  type H,\n} from './h.js';",
      "/* import { x } from './commented-out.js'; */",
    ].join('\n');
    assert.deepEqual(importsOf(source), ['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js', 'g', 'electron', './h.js']);
  });

  test('a planted upward import fails, naming the file, the import and the rule', () => {
    const violations = check([
      { path: 'src-main/node/store/runs.ts', source: "import { LabService } from '../lab/service.js';" },
      { path: 'src-main/node/lab/service.ts', source: "import { Store } from '../store/store.js';" },
    ]);
    assert.equal(violations.length, 1);
    // Paths as plain strings (not regex escapes), so the folder-move script rewrites them with the tree.
    assert.ok(
      violations[0]?.startsWith('src-main/node/store/runs.ts: imports ../lab/service.js (lab); store may import only api'),
      violations[0],
    );
  });

  test('the contract imports only zod, the renderer only the contract, Electron stays in the app', () => {
    const violations = check([
      { path: 'src-main/shared/api/files.ts', source: "import { readFileSync } from 'node:fs';\nimport { z } from 'zod';" },
      {
        path: 'src-renderer/src/views/X.svelte',
        source: '<script lang="ts">\n  import type { Store } from \'../../../src-main/node/store/store.js\';\n</script>',
      },
      { path: 'src-renderer/src/lib/ok.ts', source: "import { RunSummary } from '../../../src-main/shared/api/domain.js';" },
      { path: 'src-main/node/lab/window.ts', source: "import { BrowserWindow } from 'electron';" },
      { path: 'src-main/plugins/x.ts', source: '' },
    ]);
    assert.equal(violations.length, 4, violations.join('\n'));
    assert.match(violations[0] ?? '', /files\.ts: imports package node:fs; api may import only zod$/);
    assert.match(violations[1] ?? '', /X\.svelte: imports .*store\.js \(store\); renderer may import only api$/);
    assert.match(violations[2] ?? '', /window\.ts: imports electron, which only electron, app may load$/);
    assert.match(violations[3] ?? '', /x\.ts: in no layer/);
  });

  test('the command fails on a copy of the tree with an upward import planted in it', () => {
    const copy = mkdtempSync(join(tmpdir(), 'cellshift-layers-'));
    try {
      for (const part of ['src-main', 'src-renderer', 'scripts/check-layers.mjs'])
        cpSync(join(repo, part), join(copy, part), { recursive: true });
      appendFileSync(join(copy, 'src-main/node/ml/trainer.ts'), "\nimport '../lab/service.js';\n");
      const result = spawnSync(process.execPath, [join(copy, 'scripts/check-layers.mjs')], { encoding: 'utf8' });
      assert.equal(result.status, 1);
      assert.ok(result.stderr.includes('src-main/node/ml/trainer.ts: imports ../lab/service.js (lab); ml may import only'), result.stderr);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
