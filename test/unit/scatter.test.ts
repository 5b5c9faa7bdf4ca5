// The scatter's pure parts (renderer code that needs no DOM): colour encoding and the
// geometry behind hover and lasso.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateViridis } from 'd3-scale-chromatic';
import { cssToRgb, encodeColours, hexToRgb, MISSING_COLOUR, OTHER_COLOUR, PALETTE } from '../../src-renderer/src/lib/scatter/colour.js';
import {
  basePosition,
  basePositions,
  boundsOf,
  normalise,
  PLOT_PADDING,
  pointsInPolygon,
} from '../../src-renderer/src/lib/scatter/layout.js';

const rgbaAt = (rgba: Uint8Array, i: number) => Array.from(rgba.subarray(i * 4, i * 4 + 4));

describe('scatter colours', () => {
  it('gives categories palette colours by frequency, missing values their own grey', () => {
    const { rgba, legend } = encodeColours(['b', 'a', 'b', null, 'c', 'b', 'a'], 'categorical');
    assert.equal(legend.kind, 'categorical');
    if (legend.kind !== 'categorical') return;
    assert.deepEqual(
      legend.items.map((i) => [i.label, i.count]),
      [
        ['b', 3],
        ['a', 2],
        ['c', 1],
        ['(missing)', 1],
      ],
    );
    assert.deepEqual(rgbaAt(rgba, 0), [...hexToRgb(PALETTE[0] as string), 255]);
    assert.deepEqual(rgbaAt(rgba, 1), [...hexToRgb(PALETTE[1] as string), 255]);
    assert.deepEqual(rgbaAt(rgba, 3), [...hexToRgb(MISSING_COLOUR), 255]);
  });

  it('folds the rarest categories into "other" when there are more than colours', () => {
    const values = Array.from({ length: PALETTE.length + 5 }, (_, c) => Array.from({ length: 100 - c }, () => `cat${c}`)).flat();
    const { rgba, legend } = encodeColours(values, 'categorical');
    if (legend.kind !== 'categorical') throw new Error('expected categories');
    assert.equal(legend.items.length, PALETTE.length);
    const other = legend.items.at(-1);
    assert.match(other?.label ?? '', /^other \(6 categories\)$/);
    assert.equal(other?.count, values.filter((v) => Number(v.slice(3)) >= PALETTE.length - 1).length);
    assert.deepEqual(rgbaAt(rgba, values.length - 1), [...hexToRgb(OTHER_COLOUR), 255]);
  });

  it('maps numbers onto viridis between their min and max, non-numbers as missing', () => {
    const { rgba, legend } = encodeColours(['0', '5', '10', null, 'n/a', ''], 'numeric');
    assert.equal(legend.kind, 'numeric');
    if (legend.kind !== 'numeric') return;
    assert.deepEqual([legend.min, legend.max, legend.missing], [0, 10, 3]);
    assert.deepEqual(rgbaAt(rgba, 0), [...cssToRgb(interpolateViridis(0)), 255]);
    assert.deepEqual(rgbaAt(rgba, 1), [...cssToRgb(interpolateViridis(0.5)), 255]);
    assert.deepEqual(rgbaAt(rgba, 2), [...cssToRgb(interpolateViridis(1)), 255]);
    assert.deepEqual(rgbaAt(rgba, 4), [...hexToRgb(MISSING_COLOUR), 255]);
    assert.match(legend.gradient, /^linear-gradient\(to right, /);
    // A constant column still gets one colour, not NaN.
    const flat = encodeColours(['3', '3'], 'numeric');
    assert.deepEqual(rgbaAt(flat.rgba, 0), [...cssToRgb(interpolateViridis(0)), 255]);
  });
});

describe('scatter geometry', () => {
  it('normalises into the unit square and maps it onto the padded plot, y up', () => {
    const x = [10, 20, 15, Number.NaN];
    const y = [-1, 1, 0, 0];
    const b = boundsOf(x, y);
    assert.deepEqual(b, { minX: 10, maxX: 20, minY: -1, maxY: 1 });
    const n = normalise(x, y, b);
    assert.deepEqual(Array.from(n.subarray(0, 6)), [0, 0, 1, 1, 0.5, 0.5]);
    assert.ok((n[6] as number) < 0, 'non-finite points go off-plot');
    assert.deepEqual(basePosition(0, 0, 200, 100), [PLOT_PADDING, 100 - PLOT_PADDING]);
    assert.deepEqual(basePosition(1, 1, 200, 100), [200 - PLOT_PADDING, PLOT_PADDING]);
    // A flat axis gets a unit extent instead of a division by zero.
    assert.deepEqual(boundsOf([1, 1], [2, 2]), { minX: 0.5, maxX: 1.5, minY: 1.5, maxY: 2.5 });
  });

  it('selects the points inside a lasso polygon, including concave ones', () => {
    const { bx, by } = basePositions(new Float32Array([0, 0, 0.5, 0.5, 1, 1, 0.9, 0.1]), 116, 116);
    // Points at (16, 100), (58, 58), (100, 16), (91.6, 91.6) in base pixels.
    const square: [number, number][] = [
      [40, 40],
      [110, 40],
      [110, 110],
      [40, 110],
    ];
    assert.deepEqual(pointsInPolygon(bx, by, square), [1, 3]);
    // An L shape whose notch holds point 1 (58, 58).
    const notched: [number, number][] = [
      [40, 40],
      [50, 40],
      [50, 80],
      [110, 80],
      [110, 110],
      [40, 110],
    ];
    assert.deepEqual(pointsInPolygon(bx, by, notched), [3]);
    assert.deepEqual(pointsInPolygon(bx, by, square.slice(0, 2)), []);
  });
});
