// Projections at LINCS scale, against Python references measured in the same run:
//   npm run bench:projection -- [--rows 473647] [--genes 978] [--components 50]
//                               [--umap-points 100000] [--neighbors 15] [--epochs 200] [--no-python]
// 1. PCA: randomized SVD (src-main/node/analysis/randomized-pca.ts) of a synthetic rows × genes
//    matrix (71 cell-line offsets, 30 latent programmes with decaying variance, noise; not real
//    data) to --components; then scikit-learn's randomized PCA on the same file, and the exact PCA
//    (float64 covariance + eigh) to score ours: variance errors and axis cosines.
// 2. UMAP of the first --umap-points rows' PCA coordinates: ours (kNN graph by random-projection
//    trees + NN-descent above 10,000 points, its recall against the exact graph, then the layout) and umap-learn (after a warm-up fit, so numba's compilation is not timed)
//    from the same starting layout (the first two principal components), same n_neighbors and
//    n_epochs; kNN preservation of both layouts against the exact neighbours of the input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { multiply, multiplyBackend, native } from '../src-main/node/analysis/dense.js';
import { nearestNeighbours, neighbourPreservation } from '../src-main/node/analysis/neighbours.js';
import { approximateNeighbours } from '../src-main/node/analysis/nn-descent.js';
import { randomizedPca } from '../src-main/node/analysis/randomized-pca.js';
import { EXACT_NEIGHBOURS_UP_TO, umapEmbedding } from '../src-main/node/analysis/umap.js';
import { Rng } from '../src-main/node/data/random.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const rows = option('rows', 473_647);
const genes = option('genes', 978);
const components = option('components', 50);
const umapPoints = Math.min(rows, option('umap-points', 100_000));
const neighbors = option('neighbors', 15);
const epochs = option('epochs', 200);
const python = !args.includes('--no-python');
const PYTHON = '/usr/bin/python3';
const script = join(import.meta.dirname, 'projection_reference.py');
const dir = mkdtempSync(join(tmpdir(), 'cellshift-bench-projection-'));
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const rssGb = () => `${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GB RSS`;

console.log(
  `machine: ${cpus().length} cores (${cpus()[0]?.model}), load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
console.log(
  `products: ${multiplyBackend()}; kNN selection and layout epochs: ${native()?.umapEpochs ? 'addon (projection.c)' : 'JavaScript'}`,
);

function syntheticExpression(): Float32Array {
  const rng = new Rng(13);
  const programmes = 30;
  const cells = 71;
  const loadings = new Float32Array(programmes * genes);
  for (let i = 0; i < loadings.length; i++) loadings[i] = rng.normal();
  const activity = new Float32Array(rows * programmes);
  for (let i = 0; i < rows; i++) for (let p = 0; p < programmes; p++) activity[i * programmes + p] = (rng.normal() * 2) / (1 + p / 3);
  const x = multiply(activity, loadings, rows, genes, programmes);
  const offsets = Float32Array.from({ length: cells * genes }, () => rng.normal() * 0.8);
  // Noise from a cheap LCG (sum of two uniforms): half a billion normals would dominate the bench.
  let state = 12345;
  for (let i = 0; i < rows; i++) {
    const cell = (i % cells) * genes;
    for (let g = 0; g < genes; g++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const u = state / 2 ** 32;
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      x[i * genes + g] = (x[i * genes + g] as number) + (offsets[cell + g] as number) + (u + state / 2 ** 32 - 1) * 1.5;
    }
  }
  return x;
}

function runPython(label: string, argv: string[]): Record<string, unknown> | null {
  const run = spawnSync(PYTHON, [script, ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) {
    console.log(
      `${label}: the Python reference failed: ${(run.stderr || run.error?.message || '').trim().split('\n').slice(-3).join(' ')}`,
    );
    return null;
  }
  return JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
}

try {
  let t0 = performance.now();
  const x = syntheticExpression();
  console.log(`data: ${rows.toLocaleString()} × ${genes} synthetic float32 in ${seconds(t0).toFixed(1)} s (${rssGb()})`);

  t0 = performance.now();
  const pca = randomizedPca(x, rows, genes, components, { seed: 1 });
  const pcaSeconds = seconds(t0);
  console.log(
    `PCA (randomized SVD, ${components} components, oversampling 10, 2 power iterations: the defaults): ${pcaSeconds.toFixed(1)} s (${rssGb()})`,
  );

  if (python) {
    const data = join(dir, 'x.f32');
    writeFileSync(data, x);
    writeFileSync(join(dir, 'axes.f64'), pca.axes);
    writeFileSync(join(dir, 'variance.f64'), Float64Array.from(pca.variance));
    const reference = runPython('PCA', [
      'pca',
      data,
      String(rows),
      String(genes),
      String(components),
      join(dir, 'axes.f64'),
      join(dir, 'variance.f64'),
    ]);
    rmSync(data);
    if (reference) {
      console.log(
        `  scikit-learn PCA(svd_solver='randomized') on the same data: ${(reference.randomized_seconds as number).toFixed(1)} s; ours / sklearn = ${(pcaSeconds / (reference.randomized_seconds as number)).toFixed(2)} (${reference.sklearn}, numpy ${reference.numpy}, ${reference.blas})`,
      );
      console.log(`  exact PCA (float64 covariance + eigh): ${(reference.exact_seconds as number).toFixed(1)} s`);
      for (const [who, key] of [
        ['ours', 'ours'],
        ['scikit-learn', 'sklearn_accuracy'],
      ] as const) {
        const a = reference[key] as Record<string, number>;
        console.log(
          `  ${who} vs exact: leading axes with |cos| > 0.999: ${a.leading_axes_cos_above_0_999} of ${components}; top 10: min |cos| ${a.axis_cosine_min_top10?.toFixed(6)}, variance error ≤ ${a.variance_relative_error_top10?.toExponential(1)}; all ${components}: variance error ≤ ${a.variance_relative_error_max?.toExponential(1)}, subspace min cosine ${a.subspace_cosine_min?.toFixed(4)}, variance captured ${a.variance_captured_ratio?.toFixed(5)}`,
        );
      }
    }
  }

  // UMAP of the first umapPoints rows' principal coordinates.
  const points = pca.scores.slice(0, umapPoints * components);
  const init = new Float32Array(umapPoints * 2);
  for (let i = 0; i < umapPoints; i++) {
    init[2 * i] = points[i * components] as number;
    init[2 * i + 1] = points[i * components + 1] as number;
  }
  t0 = performance.now();
  const graph = nearestNeighbours(points, umapPoints, components, neighbors - 1);
  console.log(
    `exact kNN of the ${umapPoints.toLocaleString()} points (the quality yardstick, not part of UMAP): ${seconds(t0).toFixed(1)} s`,
  );
  t0 = performance.now();
  let graphSeconds = 0;
  const ours = await umapEmbedding(points, umapPoints, components, {
    nNeighbors: neighbors,
    nEpochs: epochs,
    init,
    seed: 1,
    checkpoint: (fraction) => {
      if (graphSeconds === 0 && fraction >= 0.4) graphSeconds = seconds(t0);
    },
  });
  const oursSeconds = seconds(t0);
  const method = umapPoints <= EXACT_NEIGHBOURS_UP_TO ? 'exact' : 'random-projection trees + NN-descent';
  console.log(
    `UMAP of ${umapPoints.toLocaleString()} points × ${components} (n_neighbors ${neighbors}, n_epochs ${epochs}): ${oursSeconds.toFixed(1)} s, of which kNN graph (${method}) ${graphSeconds.toFixed(1)} s (${rssGb()})`,
  );
  if (method !== 'exact') {
    const approximate = approximateNeighbours(points, umapPoints, components, neighbors - 1, { seed: 1 });
    console.log(`  recall of that kNN graph against the exact one: ${neighbourPreservation(graph, approximate).toFixed(4)}`);
  }
  const preservation = (embedding: Float32Array) =>
    neighbourPreservation(graph, nearestNeighbours(embedding, umapPoints, 2, neighbors - 1));
  console.log(`  kNN preservation (${neighbors - 1} neighbours, input vs layout): ours ${preservation(ours).toFixed(4)}`);

  if (python) {
    writeFileSync(join(dir, 'points.f32'), points);
    writeFileSync(join(dir, 'init.f32'), init);
    const out = join(dir, 'umap.f32');
    const reference = runPython('UMAP', [
      'umap',
      join(dir, 'points.f32'),
      String(umapPoints),
      String(components),
      join(dir, 'init.f32'),
      String(neighbors),
      String(epochs),
      out,
    ]);
    if (reference) {
      const theirs = new Float32Array(readFileSync(out).buffer.slice(0));
      console.log(
        `  umap-learn ${reference.umap} (numba ${reference.numba}, pynndescent ${reference.pynndescent}, ${reference.numba_threads} numba threads): ${(reference.seconds as number).toFixed(1)} s; ${reference.configuration}`,
      );
      console.log(`  kNN preservation: umap-learn ${preservation(theirs).toFixed(4)}`);
      console.log(`  ours / umap-learn time = ${(oursSeconds / (reference.seconds as number)).toFixed(2)}`);
    }
  }
  console.log(
    `load average at the end: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
