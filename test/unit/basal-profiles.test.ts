// cellContext "basal": a cell line is described by its untreated expression (mean of its control
// samples, scaled per gene across the training cell lines) instead of its one-hot code, so a cell
// line never trained on still has a description.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cellColumn, fingerprintColumn } from '../../src-main/node/data/representation-columns.js';
import { prepareModelData, prepareTrainingData, withBasalProfiles } from '../../src-main/node/ml/training-data.js';
import type { TrainingView } from '../../src-main/node/store/datasets.js';
import { LabError } from '../../src-main/shared/api/errors.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';

const CELLS = ['A375', 'MCF7', 'PC3'];
/** Control expression (2 genes) of each cell line; its two controls sit ±1 around it. */
const BASAL: Record<string, [number, number]> = { A375: [1, 10], MCF7: [3, 10], PC3: [8, 4] };

/** Two fingerprint bits, one-hot cell lines; per cell line a control and two drugs, 2 samples each. */
function view(options: { controlsOf?: string[] } = {}): TrainingView {
  const controlsOf = options.controlsOf ?? CELLS;
  const columns = [fingerprintColumn(0), fingerprintColumn(1), ...CELLS.map(cellColumn)];
  const environments: TrainingView['environments'] = [];
  const expression: number[] = [];
  const environmentIndex: number[] = [];
  CELLS.forEach((cell, c) => {
    const oneHot = (bits: [number, number]) => Float32Array.from([...bits, ...CELLS.map((_, k) => (k === c ? 1 : 0))]);
    const add = (id: string, isControl: boolean, bits: [number, number], values: [number, number][]) => {
      environments.push({
        id,
        key: id,
        label: id,
        isControl,
        representation: oneHot(bits),
        perturbagen: isControl ? null : id,
        cellLine: cell,
        scaffold: null,
      });
      for (const v of values) {
        environmentIndex.push(environments.length - 1);
        expression.push(...v);
      }
    };
    const [g0, g1] = BASAL[cell] as [number, number];
    if (controlsOf.includes(cell))
      add(
        `control|${cell}`,
        true,
        [0, 0],
        [
          [g0 - 1, g1 + 1],
          [g0 + 1, g1 - 1],
        ],
      );
    add(
      `d1|${cell}`,
      false,
      [1, 0],
      [
        [g0 + 5, g1],
        [g0 + 5, g1],
      ],
    );
    add(
      `d2|${cell}`,
      false,
      [0, 1],
      [
        [g0, g1 - 5],
        [g0, g1 - 5],
      ],
    );
  });
  return {
    nSamples: environmentIndex.length,
    nGenes: 2,
    geneIds: ['g0', 'g1'],
    expression: Float32Array.from(expression),
    environmentIndex: Int32Array.from(environmentIndex),
    environments,
    representationColumns: columns,
  };
}

const environmentsOfCells = (v: TrainingView, cells: string[]) =>
  new Set(v.environments.flatMap((e, i) => (cells.includes(e.cellLine ?? '') ? [i] : [])));

describe('basal profiles as the cell line input', () => {
  it('replaces the one-hot code by the control mean, scaled with the training cell lines only', () => {
    const stored = view();
    const basal = withBasalProfiles(stored, environmentsOfCells(stored, ['A375', 'MCF7']));
    assert.deepEqual(basal.representationColumns, [fingerprintColumn(0), fingerprintColumn(1), 'basal g0', 'basal g1']);
    // Gene 0 over the training cell lines: mean 2, std 1; gene 1 is constant there (10, 10), so 0.
    const of = (key: string) => Array.from(basal.environments.find((e) => e.key === key)?.representation ?? []);
    assert.deepEqual(of('d1|A375'), [1, 0, -1, 0]);
    assert.deepEqual(of('d2|MCF7'), [0, 1, 1, 0]);
    assert.deepEqual(of('control|MCF7'), [0, 0, 1, 0]);
    // The held-out cell line is described by its own controls, on the training cell lines' scale.
    assert.deepEqual(of('d1|PC3'), [1, 0, 6, 0]);
    // What the networks receive is this representation.
    const config = TrainingConfig.parse({
      model: { family: 'cvae', environmentEncoding: 'representation' },
      cellContext: 'basal',
      validation: { kind: 'held-out-cell-lines', cellLines: ['PC3'] },
    });
    const data = prepareTrainingData(stored, config, () => []);
    assert.equal(data.environmentWidth, 4);
    assert.deepEqual(data.environmentColumns, basal.representationColumns);
    const pc3 = data.environmentKeys.indexOf('d1|PC3');
    assert.deepEqual(Array.from(data.environmentInputs.subarray(pc3 * 4, pc3 * 4 + 4)), [1, 0, 6, 0]);
  });

  it('a trained model gets the same inputs from rows streamed one at a time, without the matrix', () => {
    const { expression, ...layout } = view();
    const config = TrainingConfig.parse({
      model: { family: 'cvae', environmentEncoding: 'representation' },
      cellContext: 'basal',
      validation: { kind: 'held-out-cell-lines', cellLines: ['PC3'] },
    });
    const reused = new Float32Array(layout.nGenes);
    // As the store streams them: in sample order, through one reused row.
    const streamed = prepareModelData(
      layout,
      config,
      () => [],
      undefined,
      (visit) => {
        for (let i = 0; i < layout.nSamples; i++) {
          reused.set(expression.subarray(i * layout.nGenes, (i + 1) * layout.nGenes));
          visit(i, reused);
        }
      },
    );
    const { x, standardization, ...inMemory } = prepareTrainingData({ ...layout, expression }, config, () => []);
    assert.deepEqual(streamed, inMemory);
  });

  it('refuses, naming the cell line, when a cell line has no controls', () => {
    const stored = view({ controlsOf: ['A375', 'MCF7'] });
    assert.throws(
      () => withBasalProfiles(stored, environmentsOfCells(stored, CELLS)),
      (error: unknown) => error instanceof LabError && /No control samples of cell line PC3/.test(error.message),
    );
  });

  it('refuses with a single training cell line, where no cell line effect can be learnt', () => {
    const stored = view();
    assert.throws(
      () => withBasalProfiles(stored, environmentsOfCells(stored, ['A375'])),
      (error: unknown) => error instanceof LabError && /at least two cell lines/.test(error.message),
    );
  });

  it('refuses a dataset whose environments carry no cell line', () => {
    const stored = { ...view(), representationColumns: [fingerprintColumn(0), fingerprintColumn(1), 'x', 'y', 'z'] };
    assert.throws(() => withBasalProfiles(stored, new Set([0])), /carry no cell line/);
  });
});
