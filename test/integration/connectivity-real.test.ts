// Done-when of issue #18 on real L1000 data (the LJP009 A375 Level 4 plate from ../shared): a query
// built from one signature's top and bottom 50 genes ranks that signature first, and WTCS and NCS of
// every signature equal an independent numpy implementation of the published definitions
// (scripts/connectivity_reference.py, which reads the GCT itself).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { queryDataset } from '../../src-main/node/analysis/connectivity-query.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { importPaths, realL1000 } from '../shared-fixtures.js';

const plate = realL1000('l1ktools_LJP009_A375_24H_X1_B20_ZSPCQNORM_n371x978.gct');
const numpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
const skip =
  plate.skip ||
  (numpy.status === 0
    ? false
    : `python3 with numpy is needed for the reference (${numpy.stderr?.trim().split('\n').at(-1) ?? 'no /usr/bin/python3'})`);
const script = fileURLToPath(new URL('../../scripts/connectivity_reference.py', import.meta.url));

interface Reference {
  up: string[];
  down: string[];
  scores: Record<string, { wtcs: number; ncs: number }>;
}

describe('connectivity on a real L1000 plate, against an independent reference', { skip }, () => {
  let dir: string;
  let lab: LabService;
  let datasetId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-connectivity-'));
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
    datasetId = await importPaths(lab, { matrixPath: plate.path as string });
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const signature of ['LJP009_A375_24H_X1_B20:A07', 'LJP009_A375_24H_X1_B20:K15']) {
    it(`ranks ${signature} first and matches the reference for every signature`, () => {
      const reference = JSON.parse(
        execFileSync('/usr/bin/python3', [script, plate.path as string, signature, '50'], { encoding: 'utf8', maxBuffer: 1 << 26 }),
      ) as Reference;
      const result = queryDataset(lab.store, { datasetId, up: reference.up, down: reference.down, randomQueries: 100, seed: 1 });
      assert.equal(result.up.matched.length, 50);
      assert.equal(result.down.matched.length, 50);
      assert.equal(result.rows[0]?.signature, signature, "the query's own signature connects most strongly");
      assert.ok((result.rows[0]?.wtcs ?? 0) > 0.9, `its WTCS is near 1 (${result.rows[0]?.wtcs})`);
      assert.ok((result.rows[0]?.p ?? 1) <= 1 / 101 + 1e-12, 'no random query reaches it');
      assert.equal(result.rows.length, lab.store.datasets.get(datasetId).nSamples);
      let compared = 0;
      for (const row of result.rows) {
        const expected = reference.scores[row.signature];
        assert.ok(expected, `the reference scored ${row.signature}`);
        assert.ok(Math.abs(row.wtcs - expected.wtcs) < 1e-9, `${row.signature} WTCS ${row.wtcs} vs ${expected.wtcs}`);
        assert.ok(Math.abs(row.ncs - expected.ncs) < 1e-9, `${row.signature} NCS ${row.ncs} vs ${expected.ncs}`);
        compared++;
      }
      assert.ok(compared > 300);
    });
  }
});
