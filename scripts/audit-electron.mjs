// Static security audit of the Electron shell (and the page it loads) with Doyensec's
// electronegativity; fails on any HIGH-severity finding. Medium ones are printed for review.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const cli = join(require.resolve('@doyensec/electronegativity/package.json'), '..', 'dist', 'index.js');
const out = mkdtempSync(join(tmpdir(), 'electronegativity-'));
let high = [];
let findings = 0;
try {
  // One scan over the shell and the page it loads, so global checks see both (CSP lives in the page).
  const app = join(out, 'app');
  cpSync('src-main/electron', app, { recursive: true });
  cpSync('src-renderer/index.html', join(app, 'index.html'));
  const csv = join(out, 'findings.csv');
  const run = spawnSync(process.execPath, [cli, '-i', app, '-r', '-v', 'false', '-e', '40.0.0', '-o', csv], { encoding: 'utf8' });
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    throw new Error('electronegativity failed');
  }
  const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).filter(Boolean);
  findings = rows.length;
  for (const row of rows) console.log(row);
  high = rows.filter((row) => /"HIGH"/.test(row));
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (high.length > 0) {
  console.error(`electronegativity: ${high.length} HIGH-severity finding(s):\n${high.join('\n')}`);
  process.exit(1);
}
console.log(`electronegativity: ${findings} finding(s), none of high severity`);
