// Sessions, named selections and differential expression through the real LabService and
// dispatcher (validation included) on a temporary database holding the demo dataset.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { GroupMoments, welchTest } from '../../src-main/node/analysis/differential.js';
import { createDispatcher, type Dispatcher } from '../../src-main/node/lab/dispatch.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { schemaVersion } from '../../src-main/node/store/database.js';
import { latestSchemaVersion } from '../../src-main/node/store/migrations.js';
import type { DifferentialResult, ResponseEnvelope, Selection, StoredViewState } from '../../src-main/shared/api/index.js';
import { decodeSampleIndices, encodeSampleIndices } from '../../src-main/shared/api/packed.js';
import { LatentsViewState } from '../../src-main/shared/api/sessions.js';

let dir = '';
let databasePath = '';
let service: LabService;
let dispatch: Dispatcher;
let datasetId = '';
let sampleIds: string[] = [];
let environmentKeys: string[] = [];
let nextId = 1;

/** A selection's members as the positions they answer with. */
const members = (selection: Selection) => Array.from(decodeSampleIndices(selection.sampleIndices));

/**
 * Counts the serving connection's reads of every sample id (and of the selections' stored ids), and
 * its writes of a selection, while `work` runs: the dataset-read worker has its own connections, so
 * any count here is per-sample work on the serving thread.
 */
async function perSampleReadsHere<T>(work: () => Promise<T>): Promise<{ result: T; reads: string[] }> {
  const { datasets, sessions } = service.store;
  const reads: string[] = [];
  const spied = [
    [datasets, 'sampleIds'],
    [datasets, 'sampleIdsAtPositions'],
    [sessions, 'storedSelections'],
    [sessions, 'storedSelection'],
    [sessions, 'selection'],
    [sessions, 'saveSelection'],
    [sessions, 'saveCheckedSelection'],
  ] as const;
  const originals = spied.map(([object, name]) => {
    const original = (object as unknown as Record<string, (...args: unknown[]) => unknown>)[name] as (...args: unknown[]) => unknown;
    (object as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      reads.push(name);
      return original.apply(object, args);
    };
    return original;
  });
  try {
    return { result: await work(), reads };
  } finally {
    spied.forEach(([object, name], i) => {
      (object as unknown as Record<string, unknown>)[name] = originals[i];
    });
  }
}

async function call<T>(method: string, params: unknown): Promise<T> {
  const envelope = await dispatch({ id: nextId++, method, params });
  if (!envelope.ok) throw Object.assign(new Error(envelope.error.message), { code: envelope.error.code });
  return envelope.result as T;
}

async function failure(method: string, params: unknown): Promise<{ code: string; message: string }> {
  const envelope: ResponseEnvelope = await dispatch({ id: nextId++, method, params });
  assert.equal(envelope.ok, false, `${method} should have failed`);
  if (envelope.ok) throw new Error('unreachable');
  return envelope.error;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cellshift-sessions-'));
  databasePath = join(dir, 'lab.db');
  service = await openLab({ databasePath, carrier: 'browser' });
  dispatch = createDispatcher(service.handlers(), () => undefined);
  datasetId = service.store.datasets.list()[0]?.id ?? '';
  sampleIds = (await call<{ values: string[] }>('datasets.sampleColumn', { datasetId, column: 'sample id' })).values;
  environmentKeys = (await call<{ values: string[] }>('datasets.sampleColumn', { datasetId, column: 'environment key' })).values;
});

after(async () => {
  if (service) await closeLab(service);
  rmSync(dir, { recursive: true, force: true });
});

describe('view state', () => {
  test('is null before the first save, then round-trips and survives a restart', async () => {
    assert.equal(schemaVersion(service.store.db), latestSchemaVersion);
    const empty = await call<StoredViewState>('sessions.get', { view: 'latents' });
    assert.deepEqual(empty, { view: 'latents', state: null, updatedAt: null });
    const state = LatentsViewState.parse({ datasetId, datasets: { [datasetId]: { colourBy: 'target_latent', method: 'umap' } } });
    const saved = await call<StoredViewState>('sessions.save', { view: 'latents', state });
    assert.ok(saved.updatedAt);
    await closeLab(service);
    service = await openLab({ databasePath, carrier: 'browser' });
    dispatch = createDispatcher(service.handlers(), () => undefined);
    const restored = await call<StoredViewState>('sessions.get', { view: 'latents' });
    assert.deepEqual(LatentsViewState.parse(restored.state), state);
    assert.equal(
      restored.state?.datasets && (restored.state.datasets as Record<string, { colourBy: string }>)[datasetId]?.colourBy,
      'target_latent',
    );
  });

  test('refuses bad view names and non-JSON state', async () => {
    assert.equal((await failure('sessions.save', { view: 'Latents View', state: {} })).code, 'invalid_params');
    assert.equal((await failure('sessions.get', { view: '' })).code, 'invalid_params');
  });
});

describe('named selections', () => {
  test('are created, renamed with a note, listed and deleted', async () => {
    // Ids (the command line's) are checked against the dataset and written in the worker too.
    const { result: created, reads: saveReads } = await perSampleReadsHere(() =>
      call<Selection>('selections.save', { datasetId, name: 'cluster 1', sampleIds: sampleIds.slice(0, 5) }),
    );
    assert.deepEqual(saveReads, [], 'per-sample work on the serving thread');
    assert.match(created.id, /^sel_/);
    assert.deepEqual([created.size, members(created)], [5, [0, 1, 2, 3, 4]]);
    assert.equal(created.note, '');
    const updated = await call<Selection>('selections.save', {
      datasetId,
      id: created.id,
      name: 'left cluster',
      note: 'Looks like the drug-7 responders, "tight" group',
      sampleIds: [sampleIds[9], ...sampleIds.slice(0, 5), sampleIds[0]],
    });
    assert.equal(updated.name, 'left cluster');
    assert.deepEqual([updated.size, members(updated)], [6, [0, 1, 2, 3, 4, 9]], 'duplicates dropped, in sample order');
    // Listed in the dataset-read worker: a few lassos are megabytes of ids, never read on the serving connection.
    const { result: list, reads } = await perSampleReadsHere(() => call<Selection[]>('selections.list', { datasetId }));
    assert.deepEqual(reads, [], 'selections or sample ids read on the serving thread');
    assert.deepEqual(
      list.map((s) => [s.name, s.note]),
      [['left cluster', 'Looks like the drug-7 responders, "tight" group']],
    );
    assert.deepEqual(await call('selections.delete', { id: created.id }), { deleted: true });
    assert.deepEqual(await call('selections.list', { datasetId }), []);
    assert.equal((await failure('selections.delete', { id: created.id })).code, 'not_found');
  });

  test('bad input changes nothing: unknown samples, a taken name, an unknown dataset', async () => {
    const kept = await call<Selection>('selections.save', { datasetId, name: 'kept', sampleIds: sampleIds.slice(0, 3) });
    const unknown = await failure('selections.save', { datasetId, name: 'other', sampleIds: [sampleIds[0], 'no-such-sample'] });
    assert.equal(unknown.code, 'bad_input');
    assert.match(unknown.message, /1 sample id is not in this dataset: no-such-sample/);
    const clash = await failure('selections.save', { datasetId, name: 'kept', sampleIds: sampleIds.slice(3, 6) });
    assert.equal(clash.code, 'conflict');
    const renameClash = await call<Selection>('selections.save', { datasetId, name: 'second', sampleIds: sampleIds.slice(6, 8) });
    assert.equal(
      (await failure('selections.save', { datasetId, id: renameClash.id, name: 'kept', sampleIds: sampleIds.slice(6, 8) })).code,
      'conflict',
    );
    assert.equal(
      (await failure('selections.save', { datasetId: 'ds_nope', name: 'x', sampleIds: sampleIds.slice(0, 2) })).code,
      'not_found',
    );
    assert.equal((await failure('selections.list', { datasetId: 'ds_nope' })).code, 'not_found');
    assert.equal((await failure('selections.save', { datasetId, name: '  ', sampleIds: sampleIds.slice(0, 2) })).code, 'invalid_params');
    const list = await call<Selection[]>('selections.list', { datasetId });
    assert.deepEqual(
      list.map((s) => [s.name, s.size]),
      [
        ['kept', 3],
        ['second', 2],
      ],
    );
    await call('selections.delete', { id: kept.id });
    await call('selections.delete', { id: renameClash.id });
  });
});

describe('a lasso saved as sample indices', () => {
  test('resolves them to ids (each once, in sample order), keeps them on a rename, and refuses what does not fit', async () => {
    // Neither the save nor the rename nor the list reads a sample id, or writes, on the serving thread.
    const { result: lasso, reads } = await perSampleReadsHere(() =>
      call<Selection>('selections.save', { datasetId, name: 'lasso', sampleIndices: encodeSampleIndices([7, 3, 3, 5]) }),
    );
    assert.deepEqual([lasso.size, members(lasso)], [3, [3, 5, 7]]);
    assert.deepEqual(service.store.sessions.selection(lasso.id).sampleIds, [sampleIds[3], sampleIds[5], sampleIds[7]], 'stored as ids');
    const renamed = await perSampleReadsHere(() =>
      call<Selection>('selections.save', { datasetId, id: lasso.id, name: 'lasso, renamed', note: 'no samples sent' }),
    );
    assert.deepEqual(
      [renamed.result.name, renamed.result.note, members(renamed.result)],
      ['lasso, renamed', 'no samples sent', members(lasso)],
    );
    const listed = await perSampleReadsHere(() => call<Selection[]>('selections.list', { datasetId }));
    assert.deepEqual(listed.result, [renamed.result]);
    assert.deepEqual([...reads, ...renamed.reads, ...listed.reads], [], 'per-sample reads on the serving thread');
    const outside = await failure('selections.save', {
      datasetId,
      name: 'outside',
      sampleIndices: encodeSampleIndices([0, sampleIds.length]),
    });
    assert.equal(outside.code, 'bad_input');
    assert.match(outside.message, new RegExp(`sample index ${sampleIds.length} is outside this dataset's 0\\.\\.${sampleIds.length - 1}`));
    const both = await failure('selections.save', {
      datasetId,
      name: 'both',
      sampleIds: sampleIds.slice(0, 2),
      sampleIndices: encodeSampleIndices([0]),
    });
    assert.equal(both.code, 'invalid_params');
    assert.equal((await failure('selections.save', { datasetId, name: 'none' })).code, 'invalid_params');
    assert.deepEqual(
      (await call<Selection[]>('selections.list', { datasetId })).map((s) => s.name),
      ['lasso, renamed'],
      'nothing stored by the refused saves',
    );
    await call('selections.delete', { id: lasso.id });
  });

  test('a selection an older lab stored as ids is listed with its indices and compared by id', async () => {
    const { db } = service.store;
    db.prepare(
      "INSERT INTO selections (id, dataset_id, name, note, sample_ids, created_at, updated_at) VALUES ('sel_old', ?, 'old', '', ?, 't', 't')",
    ).run(datasetId, JSON.stringify([sampleIds[12], sampleIds[2], sampleIds[6]]));
    const [old] = await call<Selection[]>('selections.list', { datasetId });
    assert.ok(old);
    assert.deepEqual([old.name, old.size, members(old)], ['old', 3, [2, 6, 12]]);
    const result = await call<DifferentialResult>('analysis.differential', {
      datasetId,
      groupA: { selectionId: 'sel_old' },
      groupB: { name: 'others', sampleIndices: encodeSampleIndices([0, 1, 3]) },
    });
    assert.deepEqual(
      [result.groupA, result.groupB],
      [
        { name: 'old', n: 3 },
        { name: 'others', n: 3 },
      ],
    );
    await call('selections.delete', { id: 'sel_old' });
  });

  test('a lab at schema 11 has its selections given their indices by migration 12', async () => {
    await closeLab(service);
    const db = new Database(databasePath);
    try {
      // As schema 11 left it: without v12's column and v13's listing indexes.
      db.exec('ALTER TABLE selections DROP COLUMN sample_indices; DROP INDEX environments_listing; DROP INDEX molecules_status');
      db.pragma('user_version = 11');
      db.prepare(
        "INSERT INTO selections (id, dataset_id, name, note, sample_ids, created_at, updated_at) VALUES ('sel_v11', ?, 'v11', '', ?, 't', 't')",
      ).run(datasetId, JSON.stringify([sampleIds[8], sampleIds[1]]));
    } finally {
      db.close();
    }
    service = await openLab({ databasePath, carrier: 'browser' });
    dispatch = createDispatcher(service.handlers(), () => undefined);
    assert.equal(schemaVersion(service.store.db), latestSchemaVersion);
    const stored = service.store.db.prepare("SELECT sample_indices FROM selections WHERE id = 'sel_v11'").pluck().get() as Buffer;
    assert.deepEqual(Array.from(new Int32Array(Uint8Array.from(stored).buffer)), [1, 8]);
    const { result, reads } = await perSampleReadsHere(() => call<Selection[]>('selections.list', { datasetId }));
    assert.deepEqual(reads, []);
    assert.deepEqual(
      result.map((s) => [s.name, s.size, members(s)]),
      [['v11', 2, [1, 8]]],
    );
    await call('selections.delete', { id: 'sel_v11' });
  });
});

describe('differential expression', () => {
  test('between two environments equals a direct Welch test of the stored rows, with BH over all genes', async () => {
    const [keyA, keyB] = [...new Set(environmentKeys)].filter((k) => k !== 'control');
    assert.ok(keyA && keyB);
    const result = await call<DifferentialResult>('analysis.differential', {
      datasetId,
      groupA: { environmentKey: keyA },
      groupB: { environmentKey: keyB },
    });
    const { nGenes, values } = service.store.datasets.readExpression(datasetId);
    const a = new GroupMoments(nGenes);
    const b = new GroupMoments(nGenes);
    environmentKeys.forEach((key, i) => {
      const row = values.subarray(i * nGenes, (i + 1) * nGenes);
      if (key === keyA) a.add(row);
      if (key === keyB) b.add(row);
    });
    assert.deepEqual(
      [result.groupA, result.groupB],
      [
        { name: keyA, n: a.n },
        { name: keyB, n: b.n },
      ],
    );
    assert.equal(result.genes.length, nGenes);
    assert.equal(result.tested, nGenes);
    // Synthetic values are signed: compared as they are, and called a mean difference.
    assert.equal(result.scale, 'log');
    assert.equal(result.effect, 'mean difference');
    assert.match(result.scaleReason, /below 0/);
    for (const g of [0, 17, nGenes - 1]) {
      const expected = welchTest(a.mean[g] as number, a.variance(g), a.n, b.mean[g] as number, b.variance(g), b.n);
      const row = result.genes[g];
      assert.ok(row);
      assert.ok(Math.abs(row.difference - expected.difference) < 1e-9);
      assert.ok(Math.abs((row.t ?? Number.NaN) - (expected.t ?? Number.NaN)) < 1e-9);
      assert.ok(Math.abs((row.p ?? Number.NaN) - (expected.p ?? Number.NaN)) <= 1e-9 * (expected.p ?? 1));
    }
    // BH over all genes: the smallest p times m is the smallest adjusted p (unless capped by a later rank).
    const ps = result.genes.map((g) => g.p ?? 1).sort((x, y) => x - y);
    const smallestAdjusted = Math.min(...result.genes.map((g) => g.adjustedP ?? 1));
    assert.ok(smallestAdjusted >= (ps[0] as number) && smallestAdjusted <= (ps[0] as number) * nGenes + 1e-15);
    // Two drugs of the demo that intervene on latents move many genes.
    assert.ok(result.genes.filter((g) => (g.adjustedP ?? 1) < 0.05).length > 0, 'some genes differ between two drugs');
  });

  test('accepts named selections and explicit samples; refuses overlaps, tiny groups and foreign samples', async () => {
    const left = await call<Selection>('selections.save', { datasetId, name: 'first ten', sampleIds: sampleIds.slice(0, 10) });
    const result = await call<DifferentialResult>('analysis.differential', {
      datasetId,
      groupA: { selectionId: left.id },
      groupB: { name: 'next ten', sampleIds: sampleIds.slice(10, 20) },
    });
    assert.deepEqual(
      [result.groupA, result.groupB],
      [
        { name: 'first ten', n: 10 },
        { name: 'next ten', n: 10 },
      ],
    );
    for (const g of result.genes) assert.ok(Number.isFinite(g.difference) && g.p !== null && g.p >= 0 && g.p <= 1);

    const overlap = await failure('analysis.differential', {
      datasetId,
      groupA: { selectionId: left.id },
      groupB: { name: 'overlapping', sampleIds: sampleIds.slice(5, 15) },
    });
    assert.equal(overlap.code, 'bad_input');
    assert.match(overlap.message, /5 samples are in both groups/);
    const tiny = await failure('analysis.differential', {
      datasetId,
      groupA: { selectionId: left.id },
      groupB: { name: 'one', sampleIds: [sampleIds[50], sampleIds[50]] },
    });
    assert.match(tiny.message, /Group B \("one"\) has 1 sample; a t-test needs at least 2/);
    const foreign = await failure('analysis.differential', {
      datasetId,
      groupA: { selectionId: left.id },
      groupB: { name: 'foreign', sampleIds: ['nope-1', 'nope-2'] },
    });
    assert.match(foreign.message, /2 sample ids are not in this dataset: nope-1, nope-2/);
    assert.equal(
      (await failure('analysis.differential', { datasetId, groupA: { environmentKey: 'no such drug' }, groupB: { selectionId: left.id } }))
        .code,
      'not_found',
    );
    const linearOnSigned = await failure('analysis.differential', {
      datasetId,
      groupA: { selectionId: left.id },
      groupB: { name: 'next ten', sampleIds: sampleIds.slice(10, 20) },
      scale: 'linear',
    });
    assert.match(linearOnSigned.message, /log2\(x \+ 1\) needs non-negative values/);
    await call('selections.delete', { id: left.id });
  });
});
