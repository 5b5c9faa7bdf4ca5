// Held-out splits hold out whole groups: nothing of a held-out drug, chemical series or cell line
// is seen in training, and the same seed gives the same split.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitSamples } from '../../src-main/node/ml/training-data.js';
import type { TrainingView } from '../../src-main/node/store/datasets.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';

function view(): TrainingView {
  const drugs = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9', 'd10'];
  const scaffolds: Record<string, string | null> = {
    d1: 'c1ccccc1',
    d2: 'c1ccccc1',
    d3: 'c1ccncc1',
    d4: 'c1ccncc1',
    d5: 'C1CCCCC1',
    d6: 'C1CCCCC1',
    d7: '',
    d8: '',
    d9: null,
    d10: 'c1ccc2ccccc2c1',
  };
  const environments: TrainingView['environments'] = [];
  for (const cell of ['A375', 'MCF7']) {
    environments.push({
      id: `c-${cell}`,
      key: `control | ${cell}`,
      label: '',
      isControl: true,
      representation: null,
      perturbagen: null,
      cellLine: cell,
      scaffold: null,
    });
    for (const d of drugs) {
      environments.push({
        id: `${d}-${cell}`,
        key: `${d} | ${cell}`,
        label: '',
        isControl: false,
        representation: null,
        perturbagen: d,
        cellLine: cell,
        scaffold: scaffolds[d] ?? null,
      });
    }
  }
  const environmentIndex = Int32Array.from(environments.flatMap((_, e) => [e, e, e]));
  return {
    nSamples: environmentIndex.length,
    nGenes: 1,
    geneIds: ['g'],
    expression: new Float32Array(environmentIndex.length),
    environmentIndex,
    environments,
  };
}

const noColumns = () => [];
const heldOut = (split: unknown) => {
  const v = view();
  const { validationEnvironments } = splitSamples(
    v,
    TrainingConfig.parse({ model: { family: 'env-vae' }, validation: split }).validation,
    noColumns,
  );
  return { v, keys: validationEnvironments };
};

describe('validation splits', () => {
  it('held-out drugs: every environment of a held-out drug is held out, controls never', () => {
    const { keys } = heldOut({ kind: 'held-out-drugs', fraction: 0.3, seed: 1 });
    const drugs = new Set(keys.map((k) => k.split(' | ')[0]));
    assert.equal(drugs.size, 3);
    for (const d of drugs) for (const cell of ['A375', 'MCF7']) assert.ok(keys.includes(`${d} | ${cell}`), `${d} held out in ${cell} too`);
    assert.ok(!keys.some((k) => k.startsWith('control')));
    assert.deepEqual(heldOut({ kind: 'held-out-drugs', fraction: 0.3, seed: 1 }).keys, keys, 'same seed, same split');
    assert.notDeepEqual(heldOut({ kind: 'held-out-drugs', fraction: 0.3, seed: 2 }).keys, keys);
  });

  it('scaffold split: drugs sharing a scaffold are held out together', () => {
    for (const seed of [0, 1, 2, 3, 4]) {
      const { keys } = heldOut({ kind: 'scaffold', fraction: 0.4, seed });
      const drugs = new Set(keys.map((k) => k.split(' | ')[0]));
      for (const [a, b] of [
        ['d1', 'd2'],
        ['d3', 'd4'],
        ['d5', 'd6'],
        ['d7', 'd8'],
      ]) {
        assert.equal(drugs.has(a as string), drugs.has(b as string), `seed ${seed}: ${a} and ${b} share a scaffold`);
      }
    }
  });

  it('held-out cell lines: all of that cell line, controls included; unknown lines are an error', () => {
    const { keys } = heldOut({ kind: 'held-out-cell-lines', cellLines: ['MCF7'] });
    assert.equal(keys.length, 11);
    assert.ok(keys.every((k) => k.endsWith('MCF7')));
    assert.throws(() => heldOut({ kind: 'held-out-cell-lines', cellLines: ['HeLa'] }), /No environment has cell line HeLa/);
  });

  it('random environments hold out a fraction of treated environments, per sample consistently', () => {
    const { v, keys } = heldOut({ kind: 'random-environments', fraction: 0.25, seed: 0 });
    assert.equal(keys.length, 5);
    const { validation } = splitSamples(v, { kind: 'random-environments', fraction: 0.25, seed: 0 }, noColumns);
    for (const [i, e] of v.environmentIndex.entries()) assert.equal(validation[i] === 1, keys.includes(v.environments[e]?.key ?? ''));
  });
});
