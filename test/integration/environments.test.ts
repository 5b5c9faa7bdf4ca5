// What the Environments view shows: structure status and depiction per drug, samples per cell line,
// and what a chosen split would hold out — on a real L1000-shaped import with a broken SMILES.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import { resultValue } from '../../src-main/node/lab/serialized-result.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import type { EnvironmentSummary } from '../../src-main/shared/api/domain.js';
import type { CallContext, ResultOf } from '../../src-main/shared/api/methods.js';
import type { LabEvent } from '../../src-main/shared/api/protocol.js';
import { writeLincsFixture } from '../fixtures/lincs.js';

describe('environments: structures, cell lines and split previews', () => {
  let dir: string;
  let lab: LabService;
  let datasetId: string;
  let environments: EnvironmentSummary[];
  let handlers: ReturnType<LabService['handlers']>;
  const call = <M extends keyof typeof handlers>(method: M, params: Parameters<(typeof handlers)[M]>[0]) =>
    resultValue((handlers[method] as (p: typeof params, c: CallContext) => ResultOf<M>)(params, { signal: new AbortController().signal }));
  const byDrug = (drug: string) => environments.find((e) => e.perturbagen === drug) as EnvironmentSummary;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-environments-'));
    const f = await writeLincsFixture(dir);
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
    const finished = new Promise<string>((resolve, reject) =>
      lab.onEvent((event: LabEvent) => {
        if (event.type === 'job.finished') resolve((event.result as { id: string }).id);
        if (event.type === 'job.failed') reject(new Error(event.error.message));
      }),
    );
    await lab.imports.start(
      await lab.imports.requestFromPaths({
        matrixPath: f.gctx,
        sigInfoPath: f.sigInfo,
        pertInfoPath: f.pertInfo,
        geneInfoPath: f.geneInfo,
      }),
    );
    datasetId = await finished;
    handlers = lab.handlers();
    environments = await call('environments.list', { datasetId });
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('says which drugs have a usable structure and counts samples per cell line', () => {
    assert.equal(byDrug('BRD-ASPIRIN').structure, 'parsed');
    assert.equal(byDrug('BRD-BROKEN').structure, 'invalid');
    assert.equal(byDrug('BRD-ASPIRIN').drugName, 'aspirin');
    assert.equal(byDrug('BRD-IMATINIB').scaffold?.includes('c'), true, 'imatinib has a ring scaffold');
    assert.equal(byDrug('BRD-ASPIRIN').scaffold, 'c1ccccc1');
    const control = environments.find((e) => e.isControl) as EnvironmentSummary;
    assert.equal(control.structure, null);
    assert.deepEqual(byDrug('BRD-CAFFEINE').cellLines, [
      { cellLine: 'A375', samples: 3 },
      { cellLine: 'MCF7', samples: 3 },
    ]);
    assert.deepEqual(control.cellLines, [
      { cellLine: 'A375', samples: 4 },
      { cellLine: 'MCF7', samples: 4 },
    ]);
  });

  it('draws the structure of a drug, and explains why a broken one has none', async () => {
    const keyed = () => (lab.store.db.prepare('SELECT count(*) AS n FROM molecules WHERE inchi_key IS NOT NULL').get() as { n: number }).n;
    assert.equal(keyed(), 0, 'the import computed no InChIKeys: they come with the first showing');
    const aspirin = await call('environments.structure', { datasetId, environmentId: byDrug('BRD-ASPIRIN').id });
    assert.match(aspirin.svg ?? '', /^<\?xml|<svg/);
    assert.equal(aspirin.inchiKey, 'BSYNRYMUTXBXSQ-UHFFFAOYSA-N');
    assert.ok(keyed() > 0, 'the InChIKey is kept with the drawing');
    assert.equal(aspirin.problem, null);
    const cached = lab.store.db.prepare('SELECT count(*) AS n FROM molecules WHERE smiles = ? AND svg IS NOT NULL').get(aspirin.smiles) as {
      n: number;
    };
    assert.ok(cached.n > 0, 'the drawing is kept for next time');
    const broken = await call('environments.structure', { datasetId, environmentId: byDrug('BRD-BROKEN').id });
    assert.equal(broken.svg, null);
    assert.match(broken.problem ?? '', /RDKit could not read the SMILES/);
    await assert.rejects(async () => call('environments.structure', { datasetId, environmentId: 'nope' }), /has no environment "nope"/);
  });

  it('previews a held-out-drug split: whole drugs out, controls in, counts add up', async () => {
    const preview = await call('splits.preview', { datasetId, split: { kind: 'held-out-drugs', fraction: 0.5, seed: 3 } });
    assert.equal(preview.heldOutGroups.length, 2, 'half of 4 drugs');
    assert.equal(preview.trainSamples + preview.heldOutSamples, 32);
    assert.equal(preview.heldOutSamples, 12, '2 drugs × 2 cell lines × 3 replicates');
    for (const entry of preview.environments) {
      const env = environments.find((e) => e.id === entry.environmentId) as EnvironmentSummary;
      assert.equal(entry.heldOut === 'all', preview.heldOutGroups.includes(env.perturbagen ?? ''), env.key);
      if (env.isControl) assert.equal(entry.heldOut, 'none');
    }
  });

  it('previews a scaffold split: drugs sharing a scaffold never straddle it', async () => {
    const preview = await call('splits.preview', { datasetId, split: { kind: 'scaffold', fraction: 0.5, seed: 1 } });
    const heldScaffolds = new Set(
      preview.environments.filter((e) => e.heldOut === 'all').map((e) => environments.find((x) => x.id === e.environmentId)?.scaffold),
    );
    for (const entry of preview.environments.filter((e) => e.heldOut === 'none')) {
      const env = environments.find((x) => x.id === entry.environmentId) as EnvironmentSummary;
      if (env.scaffold !== null) assert.equal(heldScaffolds.has(env.scaffold), false, `${env.key} shares a held-out scaffold`);
    }
    assert.ok(preview.heldOutSamples > 0);
  });

  it('refuses a cell-line split on environments not keyed by cell line, saying how to fix it', async () => {
    await assert.rejects(
      async () => call('splits.preview', { datasetId, split: { kind: 'held-out-cell-lines', cellLines: ['MCF7'] } }),
      /not keyed by cell line.*drug\+cell/,
    );
  });
});
