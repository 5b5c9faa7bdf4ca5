// The structure controls and their statistics: the paired Wilcoxon test agrees with scipy, the
// permuted control keeps the fingerprints' marginals while breaking the drug–fingerprint link,
// the no-drug control removes the drug and keeps the context, and the verdicts name the computed
// numbers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairedWilcoxon } from '../../src-main/node/analysis/paired.js';
import {
  beats,
  controlName,
  evidence,
  nearestTrainingDrug,
  ScoreBook,
  structureTests,
  structureVerdicts,
} from '../../src-main/node/analysis/structure.js';
import type { UnseenProblem } from '../../src-main/node/analysis/unseen.js';
import { tanimoto } from '../../src-main/node/chem/chemistry.js';
import { Rng } from '../../src-main/node/data/random.js';
import { prepareTrainingData } from '../../src-main/node/ml/training-data.js';
import type { TrainingView } from '../../src-main/node/store/datasets.js';
import { TrainingConfig } from '../../src-main/shared/api/training.js';
import { twoSampleView } from '../fixtures/two-sample-view.js';

describe('paired Wilcoxon signed-rank test', () => {
  // Reference values from scipy 1.10.1: scipy.stats.wilcoxon(a, b).pvalue (defaults: two-sided,
  // zero_method="wilcox", no correction; exact up to 50 pairs, normal approximation above).
  it('matches scipy on 12 pairs (exact distribution)', () => {
    const a = [0.31, 0.12, 0.45, 0.27, 0.5, 0.08, 0.33, 0.29, 0.41, 0.23, 0.36, 0.19];
    const b = [0.25, 0.14, 0.3, 0.2, 0.41, 0.1, 0.35, 0.21, 0.3, 0.22, 0.28, 0.11];
    const t = pairedWilcoxon(a, b);
    assert.equal(t.n, 12);
    assert.equal(t.aBetter, 9);
    assert.ok(Math.abs(t.pValue - 0.01611328125) < 1e-9, String(t.pValue));
  });

  it('matches scipy on 80 pairs (normal approximation)', () => {
    // numpy default_rng(7): x ~ N(0.05, 0.2), y ~ N(0, 0.2), rounded to 4 decimals; scipy p = 0.10193716736497947.
    const x = [
      0.0502, 0.1097, -0.0048, -0.1281, -0.0409, -0.1483, 0.062, 0.318, -0.0484, -0.0741, 0.148, 0.1214, 0.0711, -0.1361, 0.0441, 0.1891,
      -0.2188, -0.0415, -0.3302, -0.2079, -0.3183, 0.003, -0.2035, 0.1043, 0.0814, 0.0126, -0.4534, -0.0577, 0.0403, 0.0727, -0.256,
      -0.0456, -0.1457, -0.1118, 0.2622, -0.1115, 0.0435, 0.2269, -0.0667, 0.0277, 0.0721, 0.0628, -0.195, 0.0652, 0.3218, -0.2594, 0.2219,
      0.0739, -0.0783, 0.4501, 0.2025, -0.1899, 0.0649, 0.1653, 0.0122, 0.1866, 0.0367, 0.1834, 0.3377, -0.0851, 0.0906, -0.0427, 0.0755,
      -0.1874, -0.0659, 0.0108, 0.2298, 0.279, -0.2147, -0.1089, 0.1794, -0.3485, -0.0426, 0.0305, 0.3014, 0.1879, -0.0154, -0.0237, -0,
      0.3547,
    ];
    const y = [
      -0.0856, -0.0607, 0.0705, -0.0242, -0.0395, -0.2228, -0.0023, -0.0887, 0.2332, 0.1306, -0.0048, 0.1337, -0.068, 0.2104, -0.0011,
      0.1167, -0.2582, 0.0693, -0.3376, -0.4071, -0.0609, -0.18, 0.0328, 0.449, -0.1663, -0.1248, 0.0411, 0.0986, -0.0353, -0.0412, 0.1405,
      0.104, -0.2067, -0.0158, 0.0071, -0.2109, 0.052, -0.1716, 0.1944, 0.0385, 0.0179, -0.1182, -0.0237, -0.3995, -0.2263, 0.0726, -0.4257,
      0.1693, -0.3492, 0.1513, -0.1691, 0.1558, 0.0262, -0.3074, 0.2498, 0.2883, -0.0132, -0.0548, -0.032, -0.195, 0.2197, -0.1086, -0.0102,
      -0.1587, -0.1252, -0.2555, 0.2514, -0.0308, 0.1932, 0.0027, -0.1389, -0.0653, -0.112, 0.0016, -0.0751, -0.06, -0.2757, -0.1614,
      0.3308, -0.1342,
    ];
    const t = pairedWilcoxon(x, y);
    assert.equal(t.n, 80);
    assert.ok(Math.abs(t.pValue - 0.10193716736497947) < 1e-9, String(t.pValue));
  });

  it('gives p = 1 when nothing differs, and refuses unpaired input', () => {
    assert.equal(pairedWilcoxon([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]).pValue, 1);
    assert.throws(() => pairedWilcoxon([1, 2], [1]), /2 vs 1 scores/);
  });
});

/** Four drugs in two cell lines with 3-bit fingerprints, plus cell and dose coordinates. */
function drugView(): TrainingView {
  const fingerprints: Record<string, number[]> = { a: [1, 0, 0], b: [0, 1, 0], c: [0, 0, 1], d: [1, 1, 0] };
  const columns = ['morgan bit 0', 'morgan bit 1', 'morgan bit 2', 'cell A', 'cell B', 'log10 dose (µM)', 'time (days)'];
  const environments: TrainingView['environments'] = [];
  for (const cell of ['A', 'B']) {
    const cellBits = cell === 'A' ? [1, 0] : [0, 1];
    environments.push({
      id: `ctl-${cell}`,
      key: `control | ${cell}`,
      label: '',
      isControl: true,
      representation: Float32Array.from([0, 0, 0, ...cellBits, 0, 1]),
      perturbagen: null,
      cellLine: cell,
      scaffold: null,
    });
    for (const [drug, bits] of Object.entries(fingerprints)) {
      environments.push({
        id: `${drug}-${cell}`,
        key: `${drug} | ${cell}`,
        label: '',
        isControl: false,
        representation: Float32Array.from([...bits, ...cellBits, 1, 1]),
        perturbagen: drug,
        cellLine: cell,
        scaffold: null,
      });
    }
  }
  return twoSampleView(environments, columns);
}

describe('structure controls in the training data', () => {
  const view = drugView();
  const width = 7;
  const prepare = (drugInput: string, seed = 0) =>
    prepareTrainingData(
      view,
      TrainingConfig.parse({ model: { family: 'cvae' }, drugInput, seed, validation: { kind: 'held-out-drugs', fraction: 0.25, seed: 1 } }),
      () => [],
    );
  const row = (inputs: Float32Array, e: number) => Array.from(inputs.subarray(e * width, (e + 1) * width));
  const key = (drugs: number[]) => drugs.join('');

  it('permutes fingerprints among training drugs only: same multiset, same per drug across cell lines, held-out drugs untouched', () => {
    const real = prepare('structure');
    const heldKeys = new Set(real.validationEnvironments);
    const training = view.environments.flatMap((e, i) => (!e.isControl && !heldKeys.has(e.key) ? [i] : []));
    assert.equal(training.length, 6, 'three training drugs in two cell lines');
    let changed = 0;
    for (let seed = 0; seed < 6; seed++) {
      const permuted = prepare('permuted', seed);
      const before = training.map((e) => key(row(real.environmentInputs, e).slice(0, 3))).sort();
      const after = training.map((e) => key(row(permuted.environmentInputs, e).slice(0, 3))).sort();
      assert.deepEqual(after, before, 'the fingerprints are the same multiset');
      for (const e of training) {
        assert.deepEqual(row(permuted.environmentInputs, e).slice(3), row(real.environmentInputs, e).slice(3), 'cell, dose, time kept');
        const other = view.environments.findIndex(
          (o) => o.perturbagen === view.environments[e]?.perturbagen && o.cellLine !== view.environments[e]?.cellLine,
        );
        assert.deepEqual(row(permuted.environmentInputs, e).slice(0, 3), row(permuted.environmentInputs, other).slice(0, 3));
        if (key(row(permuted.environmentInputs, e)) !== key(row(real.environmentInputs, e))) changed++;
      }
      for (let e = 0; e < view.environments.length; e++) {
        if (heldKeys.has(view.environments[e]?.key ?? ''))
          assert.deepEqual(row(permuted.environmentInputs, e), row(real.environmentInputs, e));
      }
    }
    assert.ok(changed > 0, 'some seed moves some fingerprint');
  });

  it('no drug input zeroes every fingerprint and keeps cell, dose and time', () => {
    const real = prepare('structure');
    const none = prepare('none');
    for (let e = 0; e < view.environments.length; e++) {
      assert.deepEqual(row(none.environmentInputs, e).slice(0, 3), [0, 0, 0]);
      assert.deepEqual(row(none.environmentInputs, e).slice(3), row(real.environmentInputs, e).slice(3));
    }
  });

  it('refuses a control on a representation without drug coordinates', () => {
    const { representationColumns: _columns, ...withoutColumns } = view;
    assert.throws(
      () => prepareTrainingData(withoutColumns, TrainingConfig.parse({ model: { family: 'cvae' }, drugInput: 'permuted' }), () => []),
      /no drug coordinates/,
    );
  });
});

describe('structure verdicts', () => {
  const scores = (r: number) => ({ pearsonDelta: r, pearsonDeltaTop50: r, r2DeltaTop50: r });
  function book(structureGain: number): ScoreBook {
    const b = new ScoreBook();
    for (let e = 0; e < 20; e++) {
      const noise = ((e * 7) % 5) / 100;
      b.add('cvae', `e${e}`, scores(0.3 + structureGain + noise));
      b.add(controlName('cvae', 'permuted'), `e${e}`, scores(0.3 + noise + (e % 2 ? 0.01 : -0.01)));
      b.add(controlName('cvae', 'none'), `e${e}`, scores(0.29 + noise / 2));
      b.add('training-mean', `e${e}`, scores(0.31 + noise / 3));
      b.add('nearest-neighbours', `e${e}`, scores(0.2 + noise));
      b.addSimilarity(`e${e}`, e / 20);
    }
    return b;
  }

  it('says structure helps only when the model beats its permuted control with p < 0.05', () => {
    const helps = book(0.1);
    const tests = structureTests(helps, ['cvae'], ['training-mean', 'nearest-neighbours']);
    assert.ok(beats(tests.find((t) => t.against === controlName('cvae', 'permuted'))));
    const verdicts = structureVerdicts(helps, ['cvae'], tests);
    assert.match(
      verdicts[0] ?? '',
      /^cvae: structure helps \(Pearson r of Δ with real vs permuted fingerprints 0\.420 vs 0\.320, higher on 20 of 20/,
    );
    assert.match(verdicts.at(-1) ?? '', /^Answer: cvae beats the training-drug mean and Tanimoto kNN/);

    const identity = book(0);
    const tied = structureTests(identity, ['cvae'], ['training-mean', 'nearest-neighbours']);
    const said = structureVerdicts(identity, ['cvae'], tied);
    assert.match(said[0] ?? '', /^cvae: no evidence that structure helps \(.*higher on 10 of 20 environments, Wilcoxon p = 1\.000/);
    assert.match(said.at(-1) ?? '', /^Answer: no model beats/);
  });

  it('gives the evidence: similarity, every structure-reading baseline against the mean, and kNN on close analogues', () => {
    const b = book(0);
    for (let e = 0; e < 20; e++) b.add('ridge [descriptors]', `e${e}`, scores(0.25));
    const tests = structureTests(b, ['cvae'], ['training-mean', 'nearest-neighbours', 'ridge [descriptors]']);
    const said = evidence(b, tests);
    // Similarities e/20: 0.00 … 0.95, median 0.50, 12 of 20 at ≥ 0.4.
    assert.match(said, /median Tanimoto 0\.50 \(12 of 20 environments at ≥ 0\.4/);
    assert.match(said, /nearest-neighbours vs the training-drug mean: 0\.220 vs 0\.317/);
    assert.match(said, /ridge \[descriptors\] vs the training-drug mean: 0\.250 vs 0\.317/);
    // The 12 close environments (e8 … e19): kNN 0.2 + noise vs the mean 0.31 + noise/3, lower on every one.
    assert.match(
      said,
      /On the 12 held-out environments with a training analogue at Tanimoto ≥ 0\.4: nearest-neighbours 0\.2\d\d vs the training-drug mean 0\.3\d\d, Wilcoxon p = /,
    );
  });

  it('reports a p-value below the normal approximation’s double-precision floor as < 1e-15, not as zero', () => {
    const b = new ScoreBook();
    for (let e = 0; e < 120; e++) {
      b.add('cvae', `e${e}`, scores(0.5 + e / 1000));
      b.add(controlName('cvae', 'permuted'), `e${e}`, scores(0.1));
      b.add(controlName('cvae', 'none'), `e${e}`, scores(0.1));
    }
    const tests = structureTests(b, ['cvae'], []);
    // scipy (normal approximation): 2.0e-21; stdlib's 1 − Φ(z) rounds to 0 there.
    assert.equal(tests[0]?.pValue, 0);
    assert.match(structureVerdicts(b, ['cvae'], tests)[0] ?? '', /higher on 120 of 120 environments, Wilcoxon p = < 1e-15/);
  });

  it('averages an environment held out in several trials into one unit, and bins it by similarity', () => {
    const b = new ScoreBook();
    b.add('m', 'e1', scores(0.2));
    b.add('m', 'e1', scores(0.4));
    b.add('m', 'e2', scores(0.9));
    b.addSimilarity('e1', 0.35);
    b.addSimilarity('e2', 0.7);
    assert.ok(Math.abs((b.scores('m', 'pearsonDelta').get('e1') as number) - 0.3) < 1e-12);
    const curve = b.similarityCurve(['m'], 'pearsonDelta');
    assert.deepEqual(
      curve.map((bin) => bin.environments),
      [0, 0, 1, 0, 1],
    );
    assert.ok(Math.abs((curve[2]?.scores.m as number) - 0.3) < 1e-12);
    assert.equal(curve[4]?.scores.m, 0.9);
  });
});

describe('nearest training drug', () => {
  it('finds the drug the unpacked Tanimoto loop finds, with the same similarity and the first of ties', () => {
    const bits = 70; // not a multiple of 32: the last word is partial
    const width = bits + 3; // cell-line coordinates after the fingerprint are not compared
    const rng = new Rng(5);
    const environments = 300;
    const inputs = Float32Array.from({ length: environments * width }, (_, i) =>
      i % width < bits ? (rng.next() < 0.2 ? 1 : 0) : rng.next() < 0.5 ? 1 : 0,
    );
    for (let j = 0; j < bits; j++) inputs[7 * width + j] = inputs[3 * width + j] as number; // a tie: the same drug twice
    const treatedTrain = Array.from({ length: 200 }, (_, i) => i);
    const problem = {
      treatedTrain,
      input: (e: number) => inputs.subarray(e * width, (e + 1) * width),
      data: { environmentKeys: Array.from({ length: environments }, (_, e) => `drug${e} | cell${e % 3}`) },
    } as unknown as UnseenProblem;
    const naive = (input: Float32Array) => {
      let best = { drug: null as string | null, similarity: -1 };
      for (const t of treatedTrain) {
        const s = tanimoto(input.subarray(0, bits), problem.input(t).subarray(0, bits));
        if (s > best.similarity) best = { drug: `drug${t}`, similarity: s };
      }
      return best;
    };
    for (let e = 0; e < environments; e++) {
      assert.deepEqual(nearestTrainingDrug(problem, bits, problem.input(e)), naive(problem.input(e)), `environment ${e}`);
    }
    assert.equal(nearestTrainingDrug(problem, bits, problem.input(7)).drug, 'drug3');
    assert.deepEqual(nearestTrainingDrug(problem, bits, new Float32Array(width)), { drug: null, similarity: Number.NaN });
  });
});
