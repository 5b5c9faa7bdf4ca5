import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Rng } from '../../src-main/node/data/random.js';
import {
  buildStructure,
  descendants,
  type EnvironmentSpec,
  environmentRepresentation,
  evaluateStructuralFunction,
  generateSynthetic,
  observeGenes,
  offsetEnvironment,
  presetDemo,
  presetLinearDependent2,
  presetLinearIndependent2,
  presetNonlinear5,
  randomEnvironments,
  type SyntheticConfig,
  type SyntheticDataset,
  sampleLatents,
} from '../../src-main/node/data/synthetic.js';

// ---------------------------------------------------------------------------------------------
// helpers

function at(values: ArrayLike<number>, index: number): number {
  const value = values[index];
  assert.ok(value !== undefined, `index ${index} out of range (length ${values.length})`);
  return value;
}

function baseConfig(overrides: Partial<SyntheticConfig> = {}): SyntheticConfig {
  return {
    seed: 11,
    nLatents: 5,
    nGenes: 30,
    graph: { kind: 'growing-network' },
    latentFunction: 'linear',
    observedFunction: 'relu-mlp',
    environments: [
      { name: 'control', interventions: [] },
      { name: 'shift', interventions: [{ latent: 1, kind: 'offset', value: 2 }] },
    ],
    samplesPerEnvironment: 50,
    ...overrides,
  };
}

/** Latent column `latent` of the samples belonging to environment `environment`. */
function latentColumn(dataset: SyntheticDataset, environment: number, latent: number): number[] {
  const column: number[] = [];
  for (let sample = 0; sample < dataset.nSamples; sample++) {
    if (dataset.environmentIndex[sample] === environment) {
      column.push(at(dataset.latents, sample * dataset.nLatents + latent));
    }
  }
  return column;
}

function meanOf(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0) / values.length;
}

function varianceOf(values: readonly number[]): number {
  const mean = meanOf(values);
  return values.reduce((total, value) => total + (value - mean) ** 2, 0) / (values.length - 1);
}

function standardNoise(rng: Rng, length: number): Float64Array {
  return Float64Array.from({ length }, () => rng.normal());
}

// ---------------------------------------------------------------------------------------------

describe('Rng', () => {
  test('same seed gives the same stream, different seeds differ', () => {
    const first = new Rng(42);
    const second = new Rng(42);
    const other = new Rng(43);
    const a = Array.from({ length: 50 }, () => first.next());
    const b = Array.from({ length: 50 }, () => second.next());
    const c = Array.from({ length: 50 }, () => other.next());
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (const value of a) assert.ok(value >= 0 && value < 1, `next() out of [0, 1): ${value}`);
  });

  test('normal() has mean ≈ 0 and variance ≈ 1 over 100k draws', () => {
    const rng = new Rng(7);
    const draws = Array.from({ length: 100_000 }, () => rng.normal());
    // Standard errors: mean 1/√n ≈ 0.0032, variance √(2/n) ≈ 0.0045; tolerances are ~4 SE.
    assert.ok(Math.abs(meanOf(draws)) < 0.013, `mean ${meanOf(draws)}`);
    assert.ok(Math.abs(varianceOf(draws) - 1) < 0.02, `variance ${varianceOf(draws)}`);
    // Tails: P(|Z| > 2) ≈ 0.0455, SE ≈ 0.00066.
    const tail = draws.filter((value) => Math.abs(value) > 2).length / draws.length;
    assert.ok(Math.abs(tail - 0.0455) < 0.003, `tail fraction ${tail}`);
  });

  test('int(n) stays in range and hits every value; sign() is ±1 about half the time', () => {
    const rng = new Rng(3);
    const counts = new Array<number>(6).fill(0);
    for (let draw = 0; draw < 60_000; draw++) {
      const value = rng.int(6);
      assert.ok(Number.isInteger(value) && value >= 0 && value < 6);
      counts[value] = at(counts, value) + 1;
    }
    // Expected 10000 each, SE ≈ 91.
    for (const count of counts) assert.ok(Math.abs(count - 10_000) < 450, `count ${count}`);
    let plus = 0;
    for (let draw = 0; draw < 20_000; draw++) {
      const sign = rng.sign();
      assert.ok(sign === 1 || sign === -1);
      if (sign === 1) plus++;
    }
    assert.ok(Math.abs(plus / 20_000 - 0.5) < 0.02, `fraction of +1: ${plus / 20_000}`);
    assert.throws(() => rng.int(0), /integer n/);
    assert.throws(() => new Rng(1.5), /seed must be a safe integer/);
  });

  test('fork is deterministic, label-specific and ignores how much the parent drew', () => {
    const fresh = new Rng(5);
    const used = new Rng(5);
    for (let draw = 0; draw < 37; draw++) used.normal();
    const streamOf = (rng: Rng) => Array.from({ length: 20 }, () => rng.next());
    assert.deepEqual(streamOf(fresh.fork('graph')), streamOf(used.fork('graph')));
    assert.notDeepEqual(streamOf(fresh.fork('graph')), streamOf(fresh.fork('weights')));
    assert.notDeepEqual(streamOf(fresh.fork('graph')), streamOf(new Rng(6).fork('graph')));
    assert.notDeepEqual(streamOf(fresh.fork('a').fork('b')), streamOf(fresh.fork('b').fork('a')));
    // Forking leaves the parent's own stream untouched.
    const parent = new Rng(9);
    const reference = new Rng(9);
    parent.fork('child').next();
    assert.deepEqual(streamOf(parent), streamOf(reference));
  });

  test('shuffle is a deterministic permutation', () => {
    const items = Array.from({ length: 100 }, (_, index) => index);
    const shuffled = new Rng(1).shuffle([...items]);
    assert.deepEqual(
      [...shuffled].sort((left, right) => left - right),
      items,
    );
    assert.notDeepEqual(shuffled, items);
    assert.deepEqual(new Rng(1).shuffle([...items]), shuffled);
  });
});

describe('generateSynthetic: reproducibility', () => {
  test('the same config gives bit-identical output; another seed gives different output', () => {
    const config = baseConfig({ observedNoiseStd: 0.3 });
    const first = generateSynthetic(config);
    const second = generateSynthetic(structuredClone(config));
    assert.deepEqual(first.expression, second.expression);
    assert.deepEqual(first.latents, second.latents);
    assert.deepEqual(first.environmentIndex, second.environmentIndex);
    assert.deepEqual(first.truth, second.truth);
    assert.deepEqual(first.environments, second.environments);

    const other = generateSynthetic({ ...config, seed: 12 });
    assert.notDeepEqual(other.expression, first.expression);
    assert.notDeepEqual(other.latents, first.latents);
  });

  test('more samples per environment keeps the graph, the weights and the existing samples', () => {
    const small = generateSynthetic(baseConfig({ samplesPerEnvironment: 20 }));
    const large = generateSynthetic(baseConfig({ samplesPerEnvironment: [60, 35] }));
    assert.deepEqual(large.truth, small.truth);
    assert.equal(large.nSamples, 95);
    // Each environment owns its noise stream, so the first 20 samples of each environment are unchanged.
    for (const environment of [0, 1]) {
      for (let latent = 0; latent < small.nLatents; latent++) {
        assert.deepEqual(latentColumn(large, environment, latent).slice(0, 20), latentColumn(small, environment, latent));
      }
    }
  });

  test('environments do not change the graph or weights; nGenes does not change the latent SCM', () => {
    const reference = generateSynthetic(baseConfig());
    const moreEnvironments = generateSynthetic(
      baseConfig({ environments: [{ name: 'only', interventions: [{ latent: 0, kind: 'noise', std: 2 }] }] }),
    );
    assert.deepEqual(moreEnvironments.truth, reference.truth);
    const moreGenes = generateSynthetic(baseConfig({ nGenes: 45 }));
    assert.deepEqual(moreGenes.truth.latentEdges, reference.truth.latentEdges);
    assert.deepEqual(moreGenes.truth.latentWeights, reference.truth.latentWeights);
  });

  test('output layout: sizes, environment grouping and names', () => {
    const dataset = generateSynthetic(baseConfig({ samplesPerEnvironment: [3, 4] }));
    assert.equal(dataset.nSamples, 7);
    assert.equal(dataset.expression.length, 7 * 30);
    assert.equal(dataset.latents.length, 7 * 5);
    assert.deepEqual([...dataset.environmentIndex], [0, 0, 0, 1, 1, 1, 1]);
    assert.equal(dataset.geneNames[0], 'g0001');
    assert.equal(dataset.geneNames[29], 'g0030');
    assert.deepEqual(dataset.latentNames, ['C0', 'C1', 'C2', 'C3', 'C4']);
    assert.deepEqual(
      dataset.environments.map((environment) => environment.name),
      ['control', 'shift'],
    );
    assert.equal(dataset.config.hiddenUnits, 3);
    assert.equal(dataset.config.parentProbability, 0.5);
    assert.equal(dataset.truth.decoderMatrix, undefined, 'no decoder matrix for relu-mlp genes');
    for (const value of dataset.expression) assert.ok(Number.isFinite(value));
  });
});

describe('latent graph', () => {
  test('growing network: edges go forward, every non-root node has a parent, acyclic', () => {
    for (let seed = 0; seed < 40; seed++) {
      const nLatents = 2 + (seed % 12);
      const structure = buildStructure(baseConfig({ seed, nLatents, graph: { kind: 'growing-network' } }));
      const parents: number[][] = Array.from({ length: nLatents }, () => []);
      for (const [from, to] of structure.latentEdges) {
        assert.ok(from < to, `edge ${from} → ${to} goes backwards (seed ${seed})`);
        parents[to]?.push(from);
      }
      for (let node = 1; node < nLatents; node++) {
        const count = parents[node]?.length ?? 0;
        assert.ok(count >= 1 && count <= 2, `node ${node} has ${count} parents (seed ${seed})`);
        assert.equal(new Set(parents[node]).size, count, 'parents are distinct');
      }
      assert.equal(parents[0]?.length, 0, 'node 0 is the root');
      // No node is its own descendant.
      for (let node = 0; node < nLatents; node++) {
        assert.ok(!descendants(structure.latentEdges, nLatents, node).has(node));
      }
      assert.deepEqual(
        [...structure.topologicalOrder].sort((left, right) => left - right),
        Array.from({ length: nLatents }, (_, index) => index),
      );
    }
  });

  test('growing network: some nodes take two parents (default maxParents 2)', () => {
    let twoParentNodes = 0;
    for (let seed = 0; seed < 10; seed++) {
      const structure = buildStructure(baseConfig({ seed, nLatents: 10 }));
      twoParentNodes += structure.latentEdges.length - 9;
    }
    // Node i ≥ 2 takes two parents with probability 1/2, so about 40 of 80 nodes do.
    assert.ok(twoParentNodes > 20 && twoParentNodes < 60, `${twoParentNodes} nodes with two parents`);
  });

  test('growing network: attachment is proportional to degree + 1', () => {
    // Tree on 4 nodes. When node 2 attached to node 0, degrees are (2, 1, 1), so node 3 picks
    // node 0 with probability 3/7 ≈ 0.43 (uniform attachment would give 1/3). With ~1000
    // qualifying seeds the SE is ≈ 0.016, so the ±0.05 window rejects uniform attachment.
    let qualifying = 0;
    let pickedRoot = 0;
    for (let seed = 0; seed < 2000; seed++) {
      const edges = buildStructure(baseConfig({ seed, nLatents: 4, graph: { kind: 'growing-network', maxParents: 1 } })).latentEdges;
      const parentOf = (node: number) => edges.find(([, to]) => to === node)?.[0];
      if (parentOf(2) !== 0) continue;
      qualifying++;
      if (parentOf(3) === 0) pickedRoot++;
    }
    assert.ok(qualifying > 800, `${qualifying} qualifying seeds`);
    assert.ok(Math.abs(pickedRoot / qualifying - 3 / 7) < 0.05, `P(parent 0) = ${pickedRoot / qualifying}`);
  });

  test('growing network with maxParents 1 is a tree', () => {
    const structure = buildStructure(baseConfig({ nLatents: 12, graph: { kind: 'growing-network', maxParents: 1 } }));
    assert.equal(structure.latentEdges.length, 11);
  });

  test('empty graph has no edges; explicit edges are kept', () => {
    assert.deepEqual(buildStructure(baseConfig({ graph: { kind: 'empty' } })).latentEdges, []);
    const explicit = buildStructure(
      baseConfig({
        graph: {
          kind: 'edges',
          edges: [
            [3, 1],
            [1, 0],
          ],
        },
      }),
    );
    assert.deepEqual(explicit.latentEdges, [
      [1, 0],
      [3, 1],
    ]);
    const order = explicit.topologicalOrder;
    assert.ok(order.indexOf(3) < order.indexOf(1) && order.indexOf(1) < order.indexOf(0));
  });

  test('descendants follows edges transitively and excludes the node', () => {
    const edges: [number, number][] = [
      [0, 1],
      [1, 2],
      [0, 3],
      [4, 2],
    ];
    assert.deepEqual([...descendants(edges, 5, 0)].sort(), [1, 2, 3]);
    assert.deepEqual([...descendants(edges, 5, 4)], [2]);
    assert.deepEqual([...descendants(edges, 5, 2)], []);
  });
});

describe('interventions', () => {
  test('an offset on latent j changes exactly j and its descendants (tree, shared noise)', () => {
    // A tree has one path between any two nodes, so ±1 linear effects cannot cancel.
    const edges: [number, number][] = [
      [0, 1],
      [1, 2],
      [0, 3],
      [1, 5],
    ];
    const structure = buildStructure(baseConfig({ nLatents: 6, graph: { kind: 'edges', edges } }));
    const noiseRng = new Rng(99);
    for (let target = 0; target < 6; target++) {
      const expected = new Set([target, ...descendants(edges, 6, target)]);
      for (let trial = 0; trial < 5; trial++) {
        const epsilon = standardNoise(noiseRng, 6);
        const control = sampleLatents(structure, { interventions: [] }, epsilon);
        const shifted = sampleLatents(structure, { interventions: [{ latent: target, kind: 'offset', value: 1.75 }] }, epsilon);
        const changed = new Set<number>();
        for (let latent = 0; latent < 6; latent++) if (at(control, latent) !== at(shifted, latent)) changed.add(latent);
        assert.deepEqual(changed, expected, `target ${target}`);
        assert.ok(Math.abs(at(shifted, target) - at(control, target) - 1.75) < 1e-12);
      }
    }
  });

  test('on random growing networks, an offset never touches non-descendants', () => {
    for (let seed = 0; seed < 10; seed++) {
      const nLatents = 8;
      const structure = buildStructure(baseConfig({ seed, nLatents, latentFunction: seed % 2 ? 'relu-mlp' : 'linear' }));
      const epsilon = standardNoise(new Rng(seed + 100), nLatents);
      for (let target = 0; target < nLatents; target++) {
        const affected = descendants(structure.latentEdges, nLatents, target);
        const control = sampleLatents(structure, { interventions: [] }, epsilon);
        const shifted = sampleLatents(structure, { interventions: [{ latent: target, kind: 'offset', value: -3 }] }, epsilon);
        for (let latent = 0; latent < nLatents; latent++) {
          if (latent !== target && !affected.has(latent)) {
            assert.equal(at(shifted, latent), at(control, latent), `seed ${seed}, target ${target}, latent ${latent}`);
          }
        }
        assert.ok(Math.abs(at(shifted, target) - at(control, target) + 3) < 1e-9);
      }
    }
  });

  test('counterfactualNoise: environments share noise, so only intervened latents and descendants move', () => {
    const edges: [number, number][] = [
      [0, 1],
      [1, 2],
      [3, 4],
    ];
    const dataset = generateSynthetic({
      ...baseConfig({ nLatents: 5, graph: { kind: 'edges', edges } }),
      environments: [
        { name: 'control', interventions: [] },
        { name: 'hit-1', interventions: [{ latent: 1, kind: 'offset', value: 4 }] },
      ],
      samplesPerEnvironment: 20,
      counterfactualNoise: true,
    });
    for (let latent = 0; latent < 5; latent++) {
      const control = latentColumn(dataset, 0, latent);
      const treated = latentColumn(dataset, 1, latent);
      const moved = control.some((value, index) => value !== treated[index]);
      assert.equal(moved, latent === 1 || latent === 2, `latent ${latent}`);
    }
    // Without counterfactual noise the environments draw independent noise.
    const independent = generateSynthetic({ ...dataset.config, counterfactualNoise: false });
    assert.notDeepEqual(latentColumn(independent, 0, 0), latentColumn(independent, 1, 0));
  });

  test('noise intervention changes the variance of the target and propagates to children', () => {
    // Latent 0 → latent 1 (weight ±1, σ = 1), latent 2 independent. Noise intervention on 0: N(2, 3²).
    const samples = 20_000;
    const dataset = generateSynthetic({
      seed: 4,
      nLatents: 3,
      nGenes: 4,
      graph: { kind: 'edges', edges: [[0, 1]] },
      latentFunction: 'linear',
      observedFunction: 'linear',
      environments: [
        { name: 'control', interventions: [] },
        { name: 'noisy', interventions: [{ latent: 0, kind: 'noise', mean: 2, std: 3 }] },
      ],
      samplesPerEnvironment: samples,
    });
    const weight = dataset.truth.latentWeights[1];
    assert.ok(weight?.kind === 'linear');
    const w = at(weight.weights, 0);
    // Sample-variance SE for Gaussian data is σ²·√(2/(n−1)): 0.01·σ² here, so a tolerance of
    // 0.05·σ² is 5 SE (never flaky for a fixed seed, yet catches a wrong std such as 2 vs 3).
    const expectVariance = (values: number[], expected: number, label: string) => {
      const variance = varianceOf(values);
      assert.ok(Math.abs(variance - expected) < 0.05 * expected, `${label}: variance ${variance}, expected ${expected}`);
    };
    expectVariance(latentColumn(dataset, 0, 0), 1, 'control C0');
    expectVariance(latentColumn(dataset, 0, 1), 2, 'control C1');
    expectVariance(latentColumn(dataset, 1, 0), 9, 'noisy C0');
    expectVariance(latentColumn(dataset, 1, 1), 10, 'noisy C1');
    expectVariance(latentColumn(dataset, 1, 2), 1, 'noisy C2 (untouched)');
    // Mean SE = σ/√n ≤ 0.023; tolerance 0.1.
    assert.ok(Math.abs(meanOf(latentColumn(dataset, 1, 0)) - 2) < 0.1);
    assert.ok(Math.abs(meanOf(latentColumn(dataset, 1, 1)) - 2 * w) < 0.1);
    assert.ok(Math.abs(meanOf(latentColumn(dataset, 0, 0))) < 0.1);
  });

  test('representation vector: [mean shifts per latent, log std ratios per latent]', () => {
    const structure = buildStructure(baseConfig({ nLatents: 4, graph: { kind: 'empty' }, latentNoiseStd: [1, 2, 1, 0.5] }));
    const representation = environmentRepresentation(structure, {
      interventions: [
        { latent: 2, kind: 'offset', value: 1.5 },
        { latent: 1, kind: 'noise', mean: 0.5, std: 4 },
        { latent: 3, kind: 'noise', mean: -1 },
      ],
    });
    const expected = [0, 0.5, 1.5, -1, 0, Math.log(2), 0, 0].map((value) => Math.fround(value));
    assert.deepEqual([...representation], expected);

    const dataset = generateSynthetic(baseConfig());
    assert.deepEqual([...(dataset.environments[0]?.representation ?? [])], new Array(10).fill(0), 'control is all zeros');
    const shift = dataset.environments[1]?.representation;
    assert.equal(shift?.length, 10);
    assert.equal(shift?.[1], 2);
  });

  test('randomEnvironments: one latent each, offsets ~ N(0, offsetStd²), optional noise kind', () => {
    const environments = randomEnvironments(new Rng(8), 4000, 6, { offsetStd: 5 });
    const offsets: number[] = [];
    const hitCounts = new Array<number>(6).fill(0);
    for (const environment of environments) {
      assert.equal(environment.interventions.length, 1);
      const intervention = environment.interventions[0];
      assert.ok(intervention?.kind === 'offset');
      offsets.push(intervention.value);
      hitCounts[intervention.latent] = at(hitCounts, intervention.latent) + 1;
    }
    assert.equal(new Set(environments.map((environment) => environment.name)).size, 4000, 'unique names');
    // SE of the sample std ≈ 5/√(2n) ≈ 0.056.
    assert.ok(Math.abs(Math.sqrt(varianceOf(offsets)) - 5) < 0.3);
    for (const count of hitCounts) assert.ok(count > 500, `latent chosen ${count} times of 4000`);

    const mixed = randomEnvironments(new Rng(8), 200, 6, { noiseFraction: 0.5, noiseStdRange: [0.5, 2] });
    const noise = mixed.filter((environment) => environment.interventions[0]?.kind === 'noise');
    assert.ok(noise.length > 60 && noise.length < 140, `${noise.length} noise environments`);
    for (const environment of noise) {
      const intervention = environment.interventions[0];
      assert.ok(intervention?.kind === 'noise' && intervention.std !== undefined);
      assert.ok(intervention.std >= 0.5 && intervention.std <= 2);
    }
    assert.deepEqual(randomEnvironments(new Rng(8), 10, 6), randomEnvironments(new Rng(8), 10, 6));
  });
});

describe('structural functions', () => {
  test('linear genes: expression equals M·C (exact in float64, float32 rounding in the dataset)', () => {
    const config = baseConfig({ observedFunction: 'linear', nGenes: 25 });
    const structure = buildStructure(config);
    const dataset = generateSynthetic(config);
    const matrix = dataset.truth.decoderMatrix;
    assert.ok(matrix, 'linear genes expose the decoder matrix');
    assert.equal(matrix.length, 25 * 5);
    // Zero exactly where a latent is not a parent.
    dataset.truth.observedParents.forEach((parents, gene) => {
      for (let latent = 0; latent < 5; latent++) {
        const entry = at(matrix, gene * 5 + latent);
        assert.equal(entry !== 0, parents.includes(latent));
        if (entry !== 0) assert.ok(entry === 1 || entry === -1);
      }
    });
    const multiply = (latents: ArrayLike<number>): number[] =>
      Array.from({ length: 25 }, (_, gene) => {
        let sum = 0;
        for (let latent = 0; latent < 5; latent++) sum += at(matrix, gene * 5 + latent) * at(latents, latent);
        return sum;
      });
    // Float64 path: the same sums in the same order, so equality is exact.
    const latents = sampleLatents(structure, { interventions: [] }, standardNoise(new Rng(1), 5));
    assert.deepEqual([...observeGenes(structure, latents)], multiply(latents));
    // Dataset path: both C and X were rounded to float32, so allow a few float32 ulps of Σ|M||C|.
    for (let sample = 0; sample < dataset.nSamples; sample++) {
      const row = dataset.latents.subarray(sample * 5, sample * 5 + 5);
      const predicted = multiply(row);
      const scale = 1 + row.reduce((total, value) => total + Math.abs(value), 0);
      predicted.forEach((value, gene) => {
        const observed = at(dataset.expression, sample * 25 + gene);
        assert.ok(Math.abs(observed - value) <= 1e-6 * scale, `sample ${sample}, gene ${gene}: ${observed} vs ${value}`);
      });
    }
  });

  test('a deterministic latent (std 0) equals the function of its parent', () => {
    const dataset = generateSynthetic({
      ...presetLinearDependent2([
        [0, 0],
        [0, 0.5],
      ]),
      samplesPerEnvironment: 200,
    });
    const mechanism = dataset.truth.latentWeights[1];
    assert.ok(mechanism?.kind === 'linear');
    assert.deepEqual(mechanism.parents, [0]);
    const w = at(mechanism.weights, 0);
    for (const [environment, offset] of [
      [0, 0],
      [1, 0.5],
    ] as const) {
      const first = latentColumn(dataset, environment, 0);
      const second = latentColumn(dataset, environment, 1);
      second.forEach((value, index) => {
        const expected = w * at(first, index) + offset;
        if (offset === 0) {
          // ±1 times a float32 value is exact, so the stored C1 must equal ±C0 bit for bit.
          assert.equal(value, expected, `environment ${environment}, sample ${index}`);
        } else {
          // Adding the offset happens before C0 is rounded to float32: allow a couple of float32 ulps.
          assert.ok(Math.abs(value - expected) <= 2.5e-7 * (1 + Math.abs(expected)), `sample ${index}`);
        }
      });
      // The offset moves only the second latent: C0 keeps its control law (mean ≈ 0 ± 4 SE).
      assert.ok(Math.abs(meanOf(first)) < 4 / Math.sqrt(first.length));
    }
  });

  test('relu-mlp evaluates Σ_h v_h·ReLU(Σ_k W_hk·parent_k)', () => {
    const value = evaluateStructuralFunction(
      {
        kind: 'relu-mlp',
        parents: [0, 2],
        hiddenWeights: [
          [1, 1],
          [1, -1],
          [-1, -1],
        ],
        outputWeights: [1, -1, 1],
      },
      [2, 100, -5],
    );
    // hidden: ReLU(-3) = 0, ReLU(7) = 7, ReLU(3) = 3 → 0 − 7 + 3 = −4
    assert.equal(value, -4);
    const structure = buildStructure(baseConfig({ hiddenUnits: 4 }));
    for (const mechanism of structure.observedMechanisms) {
      assert.ok(mechanism.kind === 'relu-mlp');
      assert.equal(mechanism.hiddenWeights.length, 4);
      for (const row of mechanism.hiddenWeights) {
        assert.equal(row.length, mechanism.parents.length);
        for (const weight of row) assert.ok(weight === 1 || weight === -1);
      }
    }
  });

  test('observation noise adds variance of observedNoiseStd² to each gene', () => {
    const config = baseConfig({
      observedFunction: 'linear',
      observedNoiseStd: 0.5,
      samplesPerEnvironment: 4000,
      environments: [{ name: 'control', interventions: [] }],
    });
    const dataset = generateSynthetic(config);
    const matrix = dataset.truth.decoderMatrix;
    assert.ok(matrix);
    const residuals: number[] = [];
    for (let sample = 0; sample < dataset.nSamples; sample++) {
      let predicted = 0;
      for (let latent = 0; latent < 5; latent++) predicted += at(matrix, latent) * at(dataset.latents, sample * 5 + latent);
      residuals.push(at(dataset.expression, sample * dataset.nGenes) - predicted);
    }
    // Residual variance 0.25, SE 0.25·√(2/4000) ≈ 0.0056.
    assert.ok(Math.abs(varianceOf(residuals) - 0.25) < 0.03, `residual variance ${varianceOf(residuals)}`);
  });

  test('a gene with no sampled parent gets exactly one latent parent', () => {
    const structure = buildStructure(baseConfig({ parentProbability: 0, nGenes: 40 }));
    const chosen = new Set<number>();
    for (const mechanism of structure.observedMechanisms) {
      assert.equal(mechanism.parents.length, 1);
      chosen.add(mechanism.parents[0] ?? -1);
    }
    assert.ok(chosen.size > 1, 'the parent is random, not always the same latent');
    const full = buildStructure(baseConfig({ parentProbability: 1 }));
    for (const mechanism of full.observedMechanisms) assert.deepEqual(mechanism.parents, [0, 1, 2, 3, 4]);
  });
});

describe('config validation', () => {
  const cases: [string, Partial<SyntheticConfig>, RegExp | string][] = [
    ['nLatents 0', { nLatents: 0 }, 'nLatents must be a positive integer, got 0'],
    ['nGenes 2.5', { nGenes: 2.5 }, 'nGenes must be a positive integer, got 2.5'],
    ['bad seed', { seed: Number.NaN }, /seed must be an integer/],
    ['parentProbability', { parentProbability: 1.5 }, 'parentProbability must be in [0, 1], got 1.5'],
    ['hiddenUnits', { hiddenUnits: 0 }, 'hiddenUnits must be a positive integer, got 0'],
    ['negative noise', { latentNoiseStd: -1 }, /latentNoiseStd must be a finite number >= 0, got -1/],
    ['noise length', { latentNoiseStd: [1, 1] }, 'latentNoiseStd has 2 entries but nLatents is 5'],
    ['observed noise', { observedNoiseStd: Number.POSITIVE_INFINITY }, /observedNoiseStd must be a finite number/],
    ['function kind', { latentFunction: 'cubic' as 'linear' }, /latentFunction must be 'linear' or 'relu-mlp', got "cubic"/],
    ['graph kind', { graph: { kind: 'tree' } as unknown as SyntheticConfig['graph'] }, /graph.kind must be/],
    [
      'cycle',
      {
        graph: {
          kind: 'edges',
          edges: [
            [0, 1],
            [1, 2],
            [2, 0],
          ],
        },
      },
      /cycle \(latents involved: 0, 1, 2\)/,
    ],
    ['self loop', { graph: { kind: 'edges', edges: [[3, 3]] } }, /self-loop on latent 3/],
    ['edge range', { graph: { kind: 'edges', edges: [[0, 7]] } }, /refers to latent 7, but latents are 0..4/],
    ['no environments', { environments: [] }, /environments must be a non-empty array/],
    [
      'duplicate names',
      {
        environments: [
          { name: 'a', interventions: [] },
          { name: 'a', interventions: [] },
        ],
      },
      'environment name "a" is used twice',
    ],
    [
      'intervention range',
      { environments: [{ name: 'drug-x', interventions: [{ latent: 9, kind: 'offset', value: 1 }] }] },
      'environment "drug-x": intervention 0 targets latent 9, but latents are 0..4',
    ],
    [
      'intervention kind',
      { environments: [{ name: 'drug-y', interventions: [{ latent: 0, kind: 'hard' } as never] }] },
      /environment "drug-y": intervention 0 kind must be 'offset' or 'noise', got "hard"/,
    ],
    [
      'repeated latent',
      {
        environments: [
          {
            name: 'twice',
            interventions: [
              { latent: 1, kind: 'offset', value: 1 },
              { latent: 1, kind: 'noise', std: 2 },
            ],
          },
        ],
      },
      /environment "twice": latent 1 is intervened on more than once/,
    ],
    [
      'noise std on deterministic latent',
      {
        latentNoiseStd: [1, 0, 1, 1, 1],
        environments: [{ name: 'scale', interventions: [{ latent: 1, kind: 'noise', std: 2 }] }],
      },
      /environment "scale": noise std set on latent 1, which is deterministic/,
    ],
    ['zero noise std', { environments: [{ name: 'zero', interventions: [{ latent: 1, kind: 'noise', std: 0 }] }] }, /must be > 0, got 0/],
    ['samples count', { samplesPerEnvironment: [10] }, 'samplesPerEnvironment has 1 entries but there are 2 environments'],
    ['samples value', { samplesPerEnvironment: 0 }, 'samplesPerEnvironment must be a positive integer, got 0'],
  ];
  for (const [label, overrides, message] of cases) {
    test(`rejects: ${label}`, () => {
      const config = baseConfig(overrides);
      const expected = typeof message === 'string' ? { message } : message;
      assert.throws(() => generateSynthetic(config), expected);
      assert.throws(() => buildStructure(config), expected);
    });
  }

  test('sampleLatents checks the noise length', () => {
    const structure = buildStructure(baseConfig());
    assert.throws(() => sampleLatents(structure, { interventions: [] }, [0, 0]), /standardNoise must have nLatents = 5/);
  });
});

describe('presets', () => {
  test('6.1: two independent linear latents, 10 genes, control only', () => {
    const dataset = generateSynthetic(presetLinearIndependent2());
    assert.equal(dataset.nLatents, 2);
    assert.equal(dataset.nGenes, 10);
    assert.deepEqual(dataset.truth.latentEdges, []);
    assert.equal(dataset.environments.length, 1);
    assert.deepEqual(dataset.environments[0]?.interventions, []);
    assert.equal(dataset.truth.decoderMatrix?.length, 20);
  });

  test('6.3: offset pairs become named environments', () => {
    const config = presetLinearDependent2([
      [0, 0],
      [0, 0.5],
    ]);
    assert.deepEqual(
      config.environments.map((environment: EnvironmentSpec) => environment.name),
      ['(0, 0)', '(0, 0.5)'],
    );
    assert.deepEqual(config.environments[1]?.interventions, [{ latent: 1, kind: 'offset', value: 0.5 }]);
    assert.deepEqual(offsetEnvironment([-20, 0]).interventions, [{ latent: 0, kind: 'offset', value: -20 }]);
  });

  test('6.4: 5 latents, relu genes, 5 train + 5 validation random environments', () => {
    const preset = presetNonlinear5(3);
    assert.equal(preset.trainEnvironments.length, 5);
    assert.equal(preset.validationEnvironments.length, 5);
    assert.deepEqual(preset.config.environments, [...preset.trainEnvironments, ...preset.validationEnvironments]);
    const dataset = generateSynthetic({ ...preset.config, samplesPerEnvironment: 20 });
    assert.equal(dataset.truth.observedWeights[0]?.kind, 'relu-mlp');
    assert.equal(dataset.truth.latentWeights[0]?.kind, 'linear');
    assert.deepEqual(presetNonlinear5(3), preset, 'deterministic in the seed');
    assert.notDeepEqual(presetNonlinear5(4).trainEnvironments, preset.trainEnvironments);
  });

  test('demo: 10 latents, 200 genes, control + 23 mixed interventions, generated quickly', () => {
    const started = performance.now();
    const dataset = generateSynthetic(presetDemo(0));
    const elapsed = performance.now() - started;
    assert.equal(dataset.nLatents, 10);
    assert.equal(dataset.nGenes, 200);
    assert.equal(dataset.environments.length, 24);
    assert.deepEqual(dataset.environments[0]?.interventions, []);
    const kinds = new Set(dataset.environments.slice(1).map((environment) => environment.interventions[0]?.kind));
    assert.deepEqual(kinds, new Set(['offset', 'noise']));
    assert.equal(dataset.nSamples, 24 * 80);
    for (const value of dataset.expression) assert.ok(Number.isFinite(value));
    // Budget is ~1 s; the generous bound keeps slow CI machines from flaking.
    assert.ok(elapsed < 3000, `demo generation took ${elapsed.toFixed(0)} ms`);
  });
});
