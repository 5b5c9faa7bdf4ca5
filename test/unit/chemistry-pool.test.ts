// The pool of RDKit workers returns what Chemistry.describe returns in this thread, in input
// order, with progress counts, and refuses bad structures the same way.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';

import { Chemistry, type MoleculeResult } from '../../src-main/node/chem/chemistry.js';
import { CHEMISTRY_WORKER_ENTRY, ChemistryPool } from '../../src-main/node/chem/pool.js';
import { referenceDrugs } from '../../src-main/node/data/reference-drugs.js';
import { CachedStructures } from '../../src-main/node/lab/import/structures.js';
import type { MoleculeRecord, MoleculeRepository } from '../../src-main/node/store/molecules.js';
import { startWorker } from '../../src-main/node/threads/start-worker.js';

let pool: ChemistryPool;
let chemistry: Chemistry;

before(async () => {
  pool = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), 2);
  chemistry = await Chemistry.load();
});
after(() => pool.close());

test('pool results equal in-thread describe, in order, duplicates and bad input included', async () => {
  const drugs = referenceDrugs.slice(0, 90).map((d) => d.smiles);
  // A salt, an unparsable SMILES, a placeholder and a duplicate among real drugs.
  const smiles = [...drugs, 'CS(=O)(=O)O.Cc1ccc(C)cc1', 'C1CC(', '-666', drugs[0] as string];
  const progress: number[] = [];
  const options = { depict: false, radius: 2, nBits: 512 };
  const results = await pool.describeAll(smiles, { ...options, onProgress: (done, total) => progress.push(done / total) });
  assert.equal(results.length, smiles.length);
  const expected: MoleculeResult[] = smiles.map((s) => chemistry.describe(s, options));
  assert.deepEqual(results, expected);
  assert.equal(results.at(-3)?.ok, false);
  assert.match((results.at(-3) as { reason: string }).reason, /invalid SMILES/);
  assert.ok(progress.length >= 3, 'progress after every chunk');
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
    'counts only grow',
  );
  assert.equal(progress.at(-1), 1);
});

test('an empty list needs no worker; a closed pool says so', async () => {
  assert.deepEqual(await pool.describeAll([]), []);
  const closed = new ChemistryPool(() => startWorker(CHEMISTRY_WORKER_ENTRY, {}), 1);
  await closed.close();
  await assert.rejects(closed.describeAll(['CCO']), /chemistry pool is closed/);
});

test('an import whose pool cannot start its workers describes its structures in this thread', async () => {
  // The wasm engine's pool needs its workers (a native one runs without any).
  const broken = new ChemistryPool(() => new Worker('throw new Error("no worker entry in this bundle")', { eval: true }), 2, {
    engine: 'wasm',
  });
  const wasmChemistry = await Chemistry.load({ engine: 'wasm' });
  const stored = new Map<string, MoleculeRecord>();
  const cache = {
    get: (smiles: string) => stored.get(smiles) ?? null,
    put: (smiles: string, _key: unknown, r: MoleculeRecord) => stored.set(smiles, r),
  };
  const counts: [number, number][] = [];
  const structures = new CachedStructures(wasmChemistry, cache as unknown as MoleculeRepository, {
    pool: broken,
    onProgress: (done, total) => counts.push([done, total]),
  });
  const smiles = referenceDrugs.slice(0, 70).map((d) => d.smiles);
  const options = { radius: 2, nBits: 256, chirality: false };
  await structures.prefetch(smiles, options);
  for (const s of smiles) assert.equal(stored.get(s)?.ok, true, s);
  assert.deepEqual(counts.at(-1), [70, 70]);
  await broken.close();
});
