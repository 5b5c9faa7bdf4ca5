// The projection path's neighbour graph (blocked sgemm + selection, native and JavaScript) against
// a plain double loop, and UMAP on separated clusters: neighbourhoods kept, clusters apart, the
// native and JavaScript layouts agreeing in quality, and a checkpoint that cancels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { native } from '../../src-main/node/analysis/dense.js';
import { knnSelectJs, nearestNeighbours, neighbourPreservation } from '../../src-main/node/analysis/neighbours.js';
import { approximateNeighbours, nnDescentJs } from '../../src-main/node/analysis/nn-descent.js';
import { umapEmbedding, umapEpochsJs } from '../../src-main/node/analysis/umap.js';
import { Rng } from '../../src-main/node/data/random.js';

/** `clusters` Gaussian blobs in d dimensions, centres 8 apart per coordinate. */
function blobs(n: number, d: number, clusters: number, seed: number): { points: Float32Array; label: Int32Array } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters * d }, () => 8 * rng.normal());
  const points = new Float32Array(n * d);
  const label = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    label[i] = i % clusters;
    for (let j = 0; j < d; j++) points[i * d + j] = (centres[(i % clusters) * d + j] as number) + rng.normal();
  }
  return { points, label };
}

function bruteForce(points: Float32Array, n: number, d: number, k: number): Int32Array[] {
  return Array.from({ length: n }, (_, i) => {
    const distance = Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let t = 0; t < d; t++) s += ((points[i * d + t] as number) - (points[j * d + t] as number)) ** 2;
      return s;
    });
    return Int32Array.from(
      distance
        .map((_, j) => j)
        .filter((j) => j !== i)
        .sort((a, b) => (distance[a] as number) - (distance[b] as number))
        .slice(0, k),
    );
  });
}

describe('kNN graph', () => {
  it('finds the same neighbours as a double loop, across block boundaries', () => {
    const n = 1500;
    const d = 7;
    const k = 10;
    const { points } = blobs(n, d, 4, 1);
    const graph = nearestNeighbours(points, n, d, k);
    const expected = bruteForce(points, n, d, k);
    let found = 0;
    for (let i = 0; i < n; i++) {
      const mine = new Set(graph.indices.subarray(i * k, (i + 1) * k));
      assert.ok(!mine.has(i), `point ${i} lists itself`);
      for (const j of expected[i] as Int32Array) if (mine.has(j)) found++;
      for (let j = 1; j < k; j++) assert.ok((graph.distances[i * k + j] as number) >= (graph.distances[i * k + j - 1] as number));
    }
    // Ties and float32 rounding may swap a last neighbour; anything more is a bug.
    assert.ok(found / (n * k) > 0.999, `recall ${found / (n * k)}`);
  });

  it('selects identically in the addon and in JavaScript', {
    skip: native()?.knnSelect ? false : 'the native addon (with knnSelect) is not built',
  }, () => {
    const rng = new Rng(4);
    const rows = 37;
    const cols = 300;
    const k = 6;
    const dots = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const rowNorms = Float32Array.from({ length: rows }, () => 5 + rng.next());
    const colNorms = Float32Array.from({ length: cols }, () => 5 + rng.next());
    const run = (select: typeof knnSelectJs) => {
      const indices = new Int32Array(rows * k).fill(-1);
      const distances = new Float32Array(rows * k).fill(Number.POSITIVE_INFINITY);
      select(dots, rows, cols, rowNorms, colNorms, 100, 90, k, indices, distances);
      return { indices, distances };
    };
    const addon = native();
    assert.deepEqual(
      run((...args) => addon?.knnSelect?.(...args)),
      run(knnSelectJs),
    );
  });
});

describe('approximate kNN graph (random-projection trees + NN-descent)', () => {
  // 20 overlapping blobs in 12-D: neighbourhoods cross the trees' cuts, so the descent has work.
  const n = 3000;
  const d = 12;
  const k = 10;
  const { points } = blobs(n, d, 20, 7);
  const exact = nearestNeighbours(points, n, d, k);
  const recall = (graph: ReturnType<typeof approximateNeighbours>) => neighbourPreservation(exact, graph);

  it('finds at least 95 % of the exact neighbours, in the addon and in JavaScript', () => {
    const variants: [string, () => ReturnType<typeof approximateNeighbours>][] = [
      ['default', () => approximateNeighbours(points, n, d, k, { seed: 3 })],
    ];
    const addon = native();
    if (addon?.nnDescent) {
      variants.push([
        'JavaScript',
        () => {
          const saved = addon.nnDescent;
          addon.nnDescent = nnDescentJs;
          try {
            return approximateNeighbours(points, n, d, k, { seed: 3 });
          } finally {
            addon.nnDescent = saved;
          }
        },
      ]);
    }
    for (const [name, run] of variants) {
      const graph = run();
      assert.ok(recall(graph) > 0.95, `${name}: recall ${recall(graph)}`);
      for (let i = 0; i < n; i++) {
        assert.ok(!graph.indices.subarray(i * k, (i + 1) * k).includes(i), `${name}: point ${i} lists itself`);
        for (let j = 1; j < k; j++) assert.ok((graph.distances[i * k + j] as number) >= (graph.distances[i * k + j - 1] as number));
      }
    }
  });

  it('the descent lifts recall far above what two trees give alone', () => {
    const treesOnly = approximateNeighbours(points, n, d, k, { seed: 3, trees: 2, iterations: 0 });
    const refined = approximateNeighbours(points, n, d, k, { seed: 3, trees: 2 });
    assert.ok(recall(refined) > recall(treesOnly) + 0.1, `trees only ${recall(treesOnly)}, with descent ${recall(refined)}`);
  });
});

describe('UMAP', () => {
  const n = 1200;
  const d = 10;
  const { points, label } = blobs(n, d, 3, 2);
  const sameClusterNeighbours = (embedding: Float32Array) => {
    const graph = nearestNeighbours(embedding, n, 2, 10);
    let same = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < 10; j++) if (label[graph.indices[i * 10 + j] as number] === label[i]) same++;
    return { graph, share: same / (n * 10) };
  };

  it('keeps clusters apart and most neighbourhoods, in the addon and in JavaScript alike', async () => {
    const reference = nearestNeighbours(points, n, d, 10);
    const layouts = [await umapEmbedding(points, n, d, { nEpochs: 200, seed: 1 })];
    if (native()?.umapEpochs) {
      // Force the JavaScript epochs by running the layout with them directly through the same entry.
      const addon = native() as NonNullable<ReturnType<typeof native>>;
      const saved = addon.umapEpochs;
      addon.umapEpochs = umapEpochsJs;
      try {
        layouts.push(await umapEmbedding(points, n, d, { nEpochs: 200, seed: 1 }));
      } finally {
        addon.umapEpochs = saved;
      }
    }
    for (const embedding of layouts) {
      assert.ok(embedding.every(Number.isFinite));
      const { graph, share } = sameClusterNeighbours(embedding);
      assert.ok(share > 0.99, `share of 2-D neighbours in the same cluster: ${share}`);
      // Within an isotropic 10-D blob only part of each neighbourhood can survive in 2-D; chance
      // would keep 10 / 400 = 0.025 of it.
      const kept = neighbourPreservation(reference, graph);
      assert.ok(kept > 0.15, `kNN preservation ${kept}`);
    }
  });

  it('stops when the checkpoint throws, and refuses too few points', async () => {
    let calls = 0;
    await assert.rejects(
      umapEmbedding(points, n, d, {
        checkpoint: (fraction) => {
          calls++;
          if (fraction > 0.5) throw new Error('cancelled');
        },
      }),
      /cancelled/,
    );
    assert.ok(calls >= 2);
    await assert.rejects(umapEmbedding(new Float32Array(4), 2, 2), /at least 3 points/);
  });
});
