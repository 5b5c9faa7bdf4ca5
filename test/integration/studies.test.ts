// The seed's studies, run as a user would: results stored, figures present, numbers honest.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDispatcher } from '../../src-main/node/lab/dispatch.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { runStudy } from '../../src-main/node/lab/studies.js';
import { modelFamilyIds } from '../../src-main/shared/api/model-families.js';
import { StudyResult } from '../../src-main/shared/api/studies.js';

describe('studies', () => {
  let dir: string;
  let lab: LabService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-studies-'));
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('study 1 (seed 6.1) recovers the true linear decoder up to a rotation', async () => {
    const result = StudyResult.parse(await runStudy(lab, 'linear-independent', StudyResult.shape.options.parse({ quick: true })));
    const alignment = result.table.find((r) => r.quantity.includes('best alignment'));
    assert.ok(alignment, 'an alignment row');
    const distance = Number(/distance ([0-9.e-]+)/.exec(alignment.measured)?.[1]);
    // Rows of M are ±1 pairs; a wrong angle of 8° already costs 1 − cos 8° ≈ 0.01, and an
    // unrelated decoder scores ~0.2 (measured on the dependent-latent study). 0.01 means recovered.
    assert.ok(distance < 0.01, `mean cosine distance at the best rotation: ${distance}`);
    assert.equal(result.runs.length, 1);
    assert.equal(result.runs[0]?.status, 'completed');
    const ood = result.figures.filter((f) => f.id.startsWith('ood-vae-direction-'));
    assert.equal(ood.length, 2);
    const curve = ood[0]?.series[0]?.points ?? [];
    const at = (t: number) => curve.find((p) => p.x === t)?.y ?? Number.NaN;
    assert.ok(at(20) > at(0) && at(-20) > at(0), 'error grows away from the training environment');
    assert.ok(result.figures.some((f) => f.id === 'alignment-vae' && f.series.length === 2));
  });

  it("study 4 (seed 6.4) at reduced size trains every registered family (the seed's five and later ones) and stores its report", async () => {
    const result = await runStudy(lab, 'nonlinear-5', StudyResult.shape.options.parse({ quick: true }));
    assert.equal(result.runs.length, modelFamilyIds().length);
    assert.deepEqual(new Set(result.runs.map((r) => r.family)), new Set(modelFamilyIds()));
    assert.ok(result.runs.every((r) => r.status === 'completed'));
    assert.equal(result.divergedRuns, 0);
    const figure = result.figures[0];
    assert.equal(figure?.series.length, modelFamilyIds().length);
    assert.ok(
      figure?.series.every((s) => s.points.length === 8),
      'one held-out point per epoch',
    );
    assert.match(result.table[0]?.measured ?? '', /vae/);
    const disentanglement = result.table.find((r) => r.quantity.startsWith('Disentanglement'));
    for (const family of ['vae', 'cvae', 'env-vae', 'translation-vae', 'adversarial-prior-ae']) {
      assert.match(disentanglement?.measured ?? '', new RegExp(`${family}: MCC 0\\.\\d+`), family);
    }
    // Families with an environment prior are also scored on which latents each environment moves.
    assert.match(disentanglement?.measured ?? '', /env-vae: MCC [0-9.]+, targets P [0-9.]+ \/ R [0-9.]+/);
    const call = createDispatcher(lab.handlers());
    const listed = (await call({ id: 1, method: 'studies.list', params: {} })) as { ok: true; result: { id: string }[] };
    assert.equal(listed.result.length, 2);
    const fetched = (await call({ id: 2, method: 'studies.get', params: { artifactId: listed.result[0]?.id } })) as {
      ok: true;
      result: unknown;
    };
    assert.equal(StudyResult.parse(fetched.result).id, 'nonlinear-5');
  });
});
