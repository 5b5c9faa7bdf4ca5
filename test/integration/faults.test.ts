// Faults, for real: the importing process is killed with SIGKILL at random moments, again and again.
// Afterwards the database must pass integrity_check and hold each dataset whole or not at all,
// and every killed import must be reported as interrupted (issue: trustworthy under faults).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../src-main/node/data/random.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import { writeGctxH5wasm } from '../fixtures/formats/writers.js';

const TRIALS = 20;
const SAMPLES = 12_000;
const GENES = 978;

describe('kill -9 during imports', () => {
  let dir: string;
  let gctx: string;
  let db: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-faults-'));
    gctx = join(dir, 'level5.gctx');
    db = join(dir, 'lab.db');
    await writeGctxH5wasm(gctx, {
      rowIds: Array.from({ length: GENES }, (_, g) => String(g)),
      colIds: Array.from({ length: SAMPLES }, (_, i) => `sig${i}`),
      values: new Float32Array(SAMPLES * GENES).map((_, i) => (i % 101) / 7),
      colMeta: { pert_id: { kind: 'text', values: Array.from({ length: SAMPLES }, (_, i) => `BRD-${i % 40}`) } },
      chunks: [500, GENES],
    });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`${TRIALS} imports killed at random moments leave a sound database, whole datasets or none, each reported`, async () => {
    const rng = new Rng(2026);
    const script = `
      import { openLab } from ${JSON.stringify(new URL('../../src-main/node/lab/open.ts', import.meta.url).pathname)};
      const lab = await openLab({ databasePath: ${JSON.stringify(db)}, carrier: 'cli', seedDemo: false });
      lab.onEvent((e) => { if (e.type === 'job.finished' || e.type === 'job.failed') { process.stdout.write(e.type + '\\n'); process.exit(0); } });
      process.stdout.write('started\\n');
      await lab.imports.start(await lab.imports.requestFromPaths({ matrixPath: ${JSON.stringify(gctx)}, filter: { landmarkOnly: false } }));
    `;
    let killed = 0;
    let finished = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      // The clock starts when the import does, not at spawn: on a loaded machine start-up alone can
      // take seconds, and a kill during start-up tests nothing.
      const started = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('started')) resolve();
        });
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await Promise.race([started, exited]);
      // Kill somewhere between the start and the end of a typical import.
      const delay = rng.next() * 2500;
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, delay))]);
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        killed++;
      }
      await exited;
      if (output.includes('job.finished')) finished++;
    }
    assert.ok(killed >= TRIALS / 2, `most trials should be killed mid-way (killed ${killed}, finished ${finished})`);

    const lab = await openLab({ databasePath: db, carrier: 'cli', seedDemo: false });
    try {
      assert.equal(lab.store.db.pragma('integrity_check', { simple: true }), 'ok');
      const datasets = lab.store.datasets.list();
      for (const d of datasets) {
        assert.equal(d.nSamples, SAMPLES, `dataset ${d.id} is whole`);
        const rows = (lab.store.db.prepare('SELECT count(*) AS n FROM samples WHERE dataset_id = ?').get(d.id) as { n: number }).n;
        assert.equal(rows, SAMPLES);
      }
      const orphans = (
        lab.store.db.prepare('SELECT count(*) AS n FROM samples WHERE dataset_id NOT IN (SELECT id FROM datasets)').get() as { n: number }
      ).n;
      assert.equal(orphans, 0, 'no samples without their dataset');
      const journal = lab.store.imports.list(100);
      // Every process got as far as starting its import; one killed in its first instant may have no entry yet.
      assert.ok(journal.length <= TRIALS && journal.length >= TRIALS / 2, `${journal.length} journal entries`);
      const completed = journal.filter((j) => j.status === 'completed');
      assert.equal(completed.length, datasets.length, 'a dataset for each completed import, and only for those');
      assert.ok(
        journal.every((j) => j.status === 'completed' || j.status === 'interrupted'),
        JSON.stringify(journal.map((j) => j.status)),
      );
      // Each start marks the imports of dead processes interrupted: none is left "running".
      const interrupted = journal.filter((j) => j.status === 'interrupted');
      assert.ok(interrupted.length > 0);
      assert.ok(interrupted.every((j) => /nothing of it was stored/.test(j.message ?? '') && j.datasetId === null));
    } finally {
      await closeLab(lab);
    }
  });
});
