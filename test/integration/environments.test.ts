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
import { prepareModelData } from '../../src-main/node/ml/training-data.js';
import type { EnvironmentSummary } from '../../src-main/shared/api/domain.js';
import { decodeSplitAssignment, type EnvironmentPage, type EnvironmentRow } from '../../src-main/shared/api/environments.js';
import type { CallContext, ResultOf } from '../../src-main/shared/api/methods.js';
import type { LabEvent } from '../../src-main/shared/api/protocol.js';
import { SPLIT_PREVIEW_GROUPS, TrainingConfig, type ValidationSplit } from '../../src-main/shared/api/training.js';
import { writeLincsFixture } from '../fixtures/lincs.js';
import { labCaller } from '../lab-call.js';

describe('environments: structures, cell lines and split previews', () => {
  let dir: string;
  let lab: LabService;
  let datasetId: string;
  /** The same samples with environments keyed by drug and cell line (a cell-line split needs them). */
  let byCellDatasetId: string;
  let environments: EnvironmentSummary[];
  let handlers: ReturnType<LabService['handlers']>;
  const call = <M extends keyof typeof handlers>(method: M, params: Parameters<(typeof handlers)[M]>[0]) =>
    resultValue((handlers[method] as (p: typeof params, c: CallContext) => ResultOf<M>)(params, { signal: new AbortController().signal }));
  const byDrug = (drug: string) => environments.find((e) => e.perturbagen === drug) as EnvironmentSummary;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-environments-'));
    const f = await writeLincsFixture(dir);
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
    // One import of the fixture, its environments keyed as asked: the id of the dataset it made.
    const ended = new Map<string, LabEvent>();
    const waiting = new Map<string, (event: LabEvent) => void>();
    lab.onEvent((event: LabEvent) => {
      if (event.type !== 'job.finished' && event.type !== 'job.failed') return;
      ended.set(event.jobId, event);
      waiting.get(event.jobId)?.(event);
    });
    const imported = async (settings: { environmentKey?: 'drug+cell'; name?: string }) => {
      const request = { matrixPath: f.gctx, sigInfoPath: f.sigInfo, pertInfoPath: f.pertInfo, geneInfoPath: f.geneInfo, ...settings };
      const { jobId } = await lab.imports.start(await lab.imports.requestFromPaths(request));
      const event = ended.get(jobId) ?? (await new Promise<LabEvent>((resolve) => waiting.set(jobId, resolve)));
      if (event.type === 'job.failed') throw new Error(event.error.message);
      return ((event as { result: unknown }).result as { id: string }).id;
    };
    datasetId = await imported({});
    byCellDatasetId = await imported({ environmentKey: 'drug+cell', name: 'keyed by drug and cell line' });
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
    const split = { kind: 'held-out-drugs', fraction: 0.5, seed: 3 } as const;
    const preview = await call('splits.preview', { datasetId, split });
    assert.deepEqual(preview.heldOutGroups.length, 2, 'half of 4 drugs');
    assert.equal(preview.heldOutGroupCount, 2);
    assert.equal(preview.trainSamples + preview.heldOutSamples, 32);
    assert.equal(preview.heldOutSamples, 12, '2 drugs × 2 cell lines × 3 replicates');
    assert.deepEqual(preview.environments, { total: environments.length, heldOut: 2, partlyHeldOut: 0 });
    const assignment = await call('splits.assignment', { datasetId, split });
    assert.deepEqual(assignment.heldOutGroups, preview.heldOutGroups);
    const places = decodeSplitAssignment(assignment);
    assert.deepEqual(
      places.map((p) => p.environmentId),
      environments.map((e) => e.id),
      'every environment, in environment order',
    );
    for (const { environmentId, place } of places) {
      const env = environments.find((e) => e.id === environmentId) as EnvironmentSummary;
      assert.equal(place === 'held out', preview.heldOutGroups.includes(env.perturbagen ?? ''), env.key);
      if (env.isControl) assert.equal(place, 'train');
    }
  });

  it('previews a scaffold split: drugs sharing a scaffold never straddle it', async () => {
    const assignment = decodeSplitAssignment(
      await call('splits.assignment', { datasetId, split: { kind: 'scaffold', fraction: 0.5, seed: 1 } }),
    );
    const scaffoldOf = (id: string) => environments.find((x) => x.id === id)?.scaffold;
    const heldScaffolds = new Set(assignment.filter((e) => e.place === 'held out').map((e) => scaffoldOf(e.environmentId)));
    for (const entry of assignment.filter((e) => e.place === 'train')) {
      const scaffold = scaffoldOf(entry.environmentId);
      if (scaffold !== null) assert.equal(heldScaffolds.has(scaffold), false, `${entry.environmentId} shares a held-out scaffold`);
    }
    assert.ok(heldScaffolds.size > 0);
  });

  it('holds out, in a preview, exactly what training holds out: every kind of split', async () => {
    const splits: [string, ValidationSplit][] = [
      [datasetId, { kind: 'random-environments', fraction: 0.4, seed: 5 }],
      [datasetId, { kind: 'held-out-drugs', fraction: 0.5, seed: 3 }],
      [datasetId, { kind: 'scaffold', fraction: 0.5, seed: 1 }],
      [datasetId, { kind: 'metadata', column: 'cell_id', validationValues: ['MCF7'] }],
      [datasetId, { kind: 'none' }],
      [byCellDatasetId, { kind: 'held-out-cell-lines', cellLines: ['MCF7'] }],
      [byCellDatasetId, { kind: 'held-out-drugs', fraction: 0.25, seed: 9 }],
      [byCellDatasetId, { kind: 'metadata', column: 'pert_id', validationValues: ['BRD-ASPIRIN', 'DMSO'] }],
    ];
    for (const [id, split] of splits) {
      const what = `${JSON.stringify(split)} of ${id === datasetId ? 'drug' : 'drug+cell'}`;
      // What a run's worker computes from its config (prepareModelData, as prepareStreamedTrainingData calls it).
      const layout = lab.store.datasets.trainingLayout(id);
      const trained = prepareModelData(
        layout,
        TrainingConfig.parse({ model: { family: 'vae' }, validation: split }),
        (column) => lab.store.datasets.sampleColumn(id, column),
        undefined,
        () => {},
      );
      const preview = await call('splits.preview', { datasetId: id, split });
      const assignment = await call('splits.assignment', { datasetId: id, split });
      assert.equal(preview.heldOutSamples, trained.validationIndices.length, what);
      assert.equal(preview.trainSamples, trained.trainIndices.length, what);
      assert.equal(assignment.heldOutSamples, preview.heldOutSamples, what);
      assert.deepEqual(preview.heldOutGroups, assignment.heldOutGroups.slice(0, SPLIT_PREVIEW_GROUPS), what);
      assert.equal(preview.heldOutGroupCount, assignment.heldOutGroups.length, what);
      // Each environment's place: every sample of it held out, some, or none, as training splits them.
      const heldOfEnvironment = new Map<string, number>();
      const samplesOfEnvironment = new Map<string, number>();
      for (const e of layout.environmentIndex) {
        const envId = layout.environments[e]?.id as string;
        samplesOfEnvironment.set(envId, (samplesOfEnvironment.get(envId) ?? 0) + 1);
      }
      for (const i of trained.validationIndices) {
        const envId = layout.environments[layout.environmentIndex[i] as number]?.id as string;
        heldOfEnvironment.set(envId, (heldOfEnvironment.get(envId) ?? 0) + 1);
      }
      const expected = layout.environments.map((e) => {
        const held = heldOfEnvironment.get(e.id) ?? 0;
        return {
          environmentId: e.id,
          place: held === 0 ? 'train' : held === samplesOfEnvironment.get(e.id) ? 'held out' : 'partly held out',
        };
      });
      assert.deepEqual(decodeSplitAssignment(assignment), expected, what);
      const keysHeld = expected
        .filter((e) => e.place !== 'train')
        .map((e) => layout.environments.find((x) => x.id === e.environmentId)?.key);
      assert.deepEqual(keysHeld.sort(), [...trained.validationEnvironments].sort(), what);
      assert.deepEqual(
        preview.environments,
        {
          total: expected.length,
          heldOut: expected.filter((e) => e.place === 'held out').length,
          partlyHeldOut: expected.filter((e) => e.place === 'partly held out').length,
        },
        what,
      );
      // And the rows of a page carry the same places.
      const rows = (await labCaller(lab)<EnvironmentPage>('environments.page', { datasetId: id, split, limit: 500 })).rows;
      for (const row of rows) assert.equal(row.place, expected.find((e) => e.environmentId === row.id)?.place, `${what}: ${row.key}`);
    }
    const partly = await call('splits.preview', { datasetId, split: { kind: 'metadata', column: 'cell_id', validationValues: ['MCF7'] } });
    assert.ok(partly.environments.partlyHeldOut > 0, 'a metadata split holds out part of an environment keyed by drug alone');
  });

  it('refuses a cell-line split on environments not keyed by cell line, saying how to fix it', async () => {
    await assert.rejects(
      async () => call('splits.preview', { datasetId, split: { kind: 'held-out-cell-lines', cellLines: ['MCF7'] } }),
      /not keyed by cell line.*drug\+cell/,
    );
  });

  describe('a page at a time (environments.page), as the views ask at LINCS size', () => {
    // Through the dispatcher: params checked by the contract, the answer served by the dataset-read worker.
    const page = (params: Record<string, unknown>) => labCaller(lab)<EnvironmentPage>('environments.page', { datasetId, ...params });
    const withoutPlace = ({ place: _place, ...summary }: EnvironmentRow) => summary;

    it('pages through the same summaries as the whole list, in order, without overlap', async () => {
      const whole = await page({ limit: 500 });
      assert.equal(whole.total, environments.length);
      assert.equal(whole.matched, environments.length);
      const byKey = [...environments].sort((a, b) => a.key.toLowerCase().localeCompare(b.key.toLowerCase()));
      assert.deepEqual(whole.rows.map(withoutPlace), byKey);
      assert.ok(
        whole.rows.every((r) => r.place === null),
        'no split asked, no place',
      );
      const pieces = [await page({ offset: 0, limit: 2 }), await page({ offset: 2, limit: 2 }), await page({ offset: 4, limit: 2 })];
      assert.deepEqual(
        pieces.flatMap((p) => p.rows.map((r) => r.id)),
        whole.rows.map((r) => r.id),
      );
      assert.deepEqual(
        pieces.map((p) => p.offset),
        [0, 2, 4],
      );
      assert.deepEqual((await page({ offset: 40 })).rows, [], 'past the end: no rows, the totals still');
    });

    it('searches drug id, name and SMILES, case-insensitively, and can leave the controls out', async () => {
      const aspirin = await page({ query: 'ASPir' });
      assert.deepEqual(
        aspirin.rows.map((r) => r.perturbagen),
        ['BRD-ASPIRIN'],
      );
      assert.equal(aspirin.matched, 1);
      assert.equal(aspirin.total, environments.length, 'the total counts every environment');
      assert.deepEqual(
        (await page({ query: 'brd-caff' })).rows.map((r) => r.drugName),
        ['caffeine'],
      );
      assert.deepEqual(
        (await page({ query: 'c1ccccc1C(=O)O' })).rows.map((r) => r.perturbagen),
        ['BRD-ASPIRIN'],
        'a SMILES fragment',
      );
      assert.equal((await page({ query: 'no such drug' })).matched, 0);
      const treated = await page({ treatedOnly: true });
      assert.equal(treated.matched, environments.filter((e) => !e.isControl).length);
      assert.ok(treated.rows.every((r) => !r.isControl));
    });

    it('sorts by samples, drug and structure either way, ties in import order', async () => {
      const most = await page({ sort: { key: 'nSamples', descending: true } });
      assert.ok(most.rows[0]?.isControl, 'the control has the most samples');
      const counts = most.rows.map((r) => r.nSamples);
      assert.deepEqual(
        counts,
        [...counts].sort((a, b) => b - a),
      );
      const fewest = await page({ sort: { key: 'nSamples', descending: false } });
      assert.equal(fewest.rows.at(-1)?.isControl, true);
      const drugs = (await page({ sort: { key: 'drug', descending: true }, treatedOnly: true })).rows.map(
        (r) => r.drugName ?? r.perturbagen ?? '',
      );
      assert.deepEqual(
        drugs,
        [...drugs].sort((a, b) => b.toLowerCase().localeCompare(a.toLowerCase())),
      );
      const statuses = (await page({ sort: { key: 'structure', descending: false }, treatedOnly: true })).rows.map((r) => r.structure);
      assert.deepEqual(statuses, ['invalid', 'parsed', 'parsed', 'parsed']);
    });

    it('counts drugs by structure over the whole dataset, whatever the search', async () => {
      const expected = { parsed: 0, invalid: 0, missing: 0 };
      for (const e of environments) if (e.structure) expected[e.structure]++;
      assert.deepEqual((await page({})).drugStructures, expected);
      assert.deepEqual((await page({ query: 'aspirin', limit: 1 })).drugStructures, expected);
      assert.deepEqual(expected, { parsed: 3, invalid: 1, missing: 0 });
      assert.equal((await page({ offset: 1 })).drugStructures, null, 'with the first page only');
    });

    it("gives each row its place under a split, as the split's preview does, and sorts by it", async () => {
      const split = { kind: 'held-out-drugs', fraction: 0.5, seed: 3 } as const;
      const assignment = decodeSplitAssignment(await call('splits.assignment', { datasetId, split }));
      const expected = new Map(assignment.map((e) => [e.environmentId, e.place]));
      const placed = await page({ split });
      for (const row of placed.rows) assert.equal(row.place, expected.get(row.id), row.key);
      const heldFirst = (await page({ split, sort: { key: 'split', descending: false } })).rows.map((r) => r.place);
      assert.deepEqual(heldFirst, ['held out', 'held out', 'train', 'train', 'train']);
      const trainFirst = (await page({ split, sort: { key: 'split', descending: true }, limit: 3 })).rows.map((r) => r.place);
      assert.deepEqual(trainFirst, ['train', 'train', 'train']);
      // A split this dataset cannot take: rows still list (splits.preview says why), an order by it is refused.
      const cellSplit = { kind: 'held-out-cell-lines', cellLines: ['MCF7'] } as const;
      assert.ok((await page({ split: cellSplit })).rows.every((r) => r.place === null));
      await assert.rejects(page({ split: cellSplit, sort: { key: 'split' } }), /not keyed by cell line/);
    });

    it('refuses bad params with a message naming the field, and an unknown dataset by name', async () => {
      await assert.rejects(page({ limit: 0 }), /invalid_params: .*params\.limit/);
      await assert.rejects(page({ limit: 501 }), /invalid_params: .*params\.limit/);
      await assert.rejects(page({ offset: -1 }), /invalid_params: .*params\.offset/);
      await assert.rejects(page({ sort: { key: 'colour', descending: false } }), /invalid_params: .*params\.sort\.key/);
      await assert.rejects(page({ sort: { key: 'split' } }), /Sorting by split needs the split/);
      await assert.rejects(page({ pageSize: 10 }), /invalid_params: .*pageSize/);
      await assert.rejects(labCaller(lab)('environments.page', { datasetId: 'nope' }), /not_found: No dataset with id "nope"/);
    });

    it('lists the cell lines, doses and times pickers offer', async () => {
      const facets = await labCaller(lab)<{ cellLines: string[]; doses: string[]; times: string[]; keyedByDoseAndTime: boolean }>(
        'environments.facets',
        { datasetId },
      );
      const expected = (pick: (e: EnvironmentSummary) => string | null, treated: boolean) =>
        [
          ...new Set(environments.filter((e) => !treated || !e.isControl).flatMap((e) => (pick(e) === null ? [] : [pick(e) as string]))),
        ].sort();
      assert.deepEqual(
        facets.cellLines,
        expected((e) => e.cellLine, false),
      );
      assert.deepEqual(
        facets.doses,
        expected((e) => e.dose, true),
      );
      assert.deepEqual(
        facets.times,
        expected((e) => e.time, true),
      );
      assert.equal(facets.keyedByDoseAndTime, false, 'keyed by drug');
      await assert.rejects(labCaller(lab)('environments.facets', { datasetId: 'nope' }), /not_found/);
    });
  });
});
