// A DE table as a connectivity query: significant genes by direction, the strongest by Welch t.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultDeQueryThresholds, deQueryLists } from '../../src-renderer/src/lib/de-query.js';

const gene = (id: string, difference: number, t: number | null, adjustedP: number | null) => ({ id, difference, t, adjustedP });

describe('deQueryLists', () => {
  const genes = [
    gene('a', 1.2, 8, 0.001),
    gene('b', 0.5, 3, 0.01),
    gene('c', 2.0, 12, 0.0001),
    gene('d', 0.8, 4, 0.2), // not significant
    gene('e', -1.5, -9, 0.001),
    gene('f', -0.4, -2.5, 0.04),
    gene('g', -3.0, -15, 0.049),
    gene('h', 0, null, null), // untestable
    gene('i', 1.0, 5, 0.05), // at the threshold: excluded
  ];

  it('takes up genes (positive difference) and down genes (negative), strongest |t| first', () => {
    assert.deepEqual(deQueryLists(genes, defaultDeQueryThresholds), { up: ['c', 'a', 'b'], down: ['g', 'e', 'f'] });
  });

  it('keeps at most N per direction', () => {
    assert.deepEqual(deQueryLists(genes, { top: 2, fdr: 0.05 }), { up: ['c', 'a'], down: ['g', 'e'] });
    assert.deepEqual(deQueryLists(genes, { top: 0, fdr: 0.05 }), { up: [], down: [] });
  });

  it('follows the FDR threshold', () => {
    assert.deepEqual(deQueryLists(genes, { top: 50, fdr: 0.005 }), { up: ['c', 'a'], down: ['e'] });
    assert.deepEqual(deQueryLists(genes, { top: 50, fdr: 0.5 }).up, ['c', 'a', 'i', 'd', 'b']);
  });

  it('defaults to the top 50 at adjusted p < 0.05, and is empty for an empty table', () => {
    assert.deepEqual(defaultDeQueryThresholds, { top: 50, fdr: 0.05 });
    const many = Array.from({ length: 80 }, (_, i) => gene(`g${i}`, 1, i + 1, 0.001));
    const { up, down } = deQueryLists(many, defaultDeQueryThresholds);
    assert.equal(up.length, 50);
    assert.equal(up[0], 'g79');
    assert.deepEqual(down, []);
    assert.deepEqual(deQueryLists([], defaultDeQueryThresholds), { up: [], down: [] });
  });
});
