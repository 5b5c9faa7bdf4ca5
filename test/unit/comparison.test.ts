// The comparison's summary and wording on hand-made numbers: mean ± sample std, the winner is the
// highest mean, and the verdict names it with its rival of the other kind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarise, verdict, winners } from '../../src-main/node/analysis/comparison.js';
import { type SplitComparison, splitComparisonCsv } from '../../src-main/shared/api/studies.js';

type Row = SplitComparison['splits'][number]['rows'][number];

function row(method: string, kind: 'model' | 'baseline', r2: (number | null)[], other: number | null = 0.5, failed = 0): Row {
  const flat = summarise([other, other]);
  return {
    method,
    kind,
    runs: kind === 'model' ? r2.length : 0,
    failed,
    metrics: { r2: summarise(r2), r2Top50: flat, pearsonDelta: flat, directionTop50: flat },
  };
}

describe('split comparison summaries', () => {
  it('summarises trials as mean and sample standard deviation, skipping failed trials', () => {
    assert.deepEqual(summarise([1, 3]), { mean: 2, std: Math.SQRT2, values: [1, 3] });
    assert.deepEqual(summarise([2, null]), { mean: 2, std: null, values: [2, null] });
    assert.deepEqual(summarise([null, Number.NaN]), { mean: null, std: null, values: [null, null] });
  });

  it('names the highest mean as winner; ties go to the row listed first', () => {
    const rows = [row('env-vae', 'model', [0.3, 0.36]), row('ridge', 'baseline', [0.4, 0.42]), row('control-mean', 'baseline', [0.1, 0.1])];
    const w = winners(rows);
    assert.equal(w.r2, 'ridge');
    assert.equal(w.pearsonDelta, 'env-vae', 'all rows tie at 0.5: the first listed');
  });

  it('says which kind wins each metric, against the best of the other kind', () => {
    const rows = [
      row('cvae', 'model', [0.2, 0.24]),
      row('env-vae', 'model', [0.3, 0.36]),
      row('ridge', 'baseline', [0.4, 0.42], 0.4),
      row('control-mean', 'baseline', [0.1, 0.1], 0.2),
    ];
    const text = verdict('scaffold', rows, [
      { seed: 0, environments: 20, drugs: 10, scaffolds: 6 },
      { seed: 1, environments: 24, drugs: 12, scaffolds: 8 },
    ]);
    assert.match(text, /^On the scaffold split \(2 trials; 22 held-out environments from 11 drugs in 7 scaffolds per trial\)/);
    assert.match(text, /ridge wins R² \(0\.41 ± 0\.01 vs the best model, env-vae, 0\.33 ± 0\.04\)/);
    // On the other metrics the models score 0.5 and ridge 0.4: the model listed first wins.
    assert.match(text, /the model cvae wins top-50 R² \(0\.50 ± 0\.00 vs the best baseline, ridge, 0\.40 ± 0\.00\)/);
    assert.match(text, /Models win 3 of 4 metrics, baselines 1\./);
  });

  it('flags differences smaller than the spread over trials, and models whose every run failed', () => {
    const rows = [
      row('env-vae', 'model', [null, null], null, 2),
      row('ridge', 'baseline', [0.4, 0.5]),
      row('training-mean', 'baseline', [0.38, 0.44]),
    ];
    const text = verdict('held-out-drugs', rows, [{ seed: 0, environments: 10, drugs: 10, scaffolds: 9 }]);
    assert.match(text, /ridge wins R² \(0\.45 ± 0\.07; no model run completed\)/);
    assert.match(text, /Every run of env-vae diverged or failed\./);
    const close = verdict('random-environments', [row('cvae', 'model', [0.4, 0.5]), row('ridge', 'baseline', [0.38, 0.5])], []);
    assert.match(close, /the model cvae wins R² \(0\.45 ± 0\.07 vs the best baseline, ridge, 0\.44 ± 0\.08; within one std over trials\)/);
  });

  it('exports one CSV row per split and method with every metric', () => {
    const rows = [row('env-vae', 'model', [0.3, 0.36]), row('ridge', 'baseline', [0.4, 0.42])];
    const csv = splitComparisonCsv({
      fraction: 0.3,
      trials: 2,
      splits: [{ kind: 'scaffold', ran: true, note: null, heldOut: [], rows, winners: winners(rows), verdict: 'x' }],
    });
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(lines.length, 3);
    assert.equal(
      lines[0],
      'split,method,kind,runs,failed,r2 mean,r2 std,r2Top50 mean,r2Top50 std,pearsonDelta mean,pearsonDelta std,directionTop50 mean,directionTop50 std,winner of',
    );
    assert.match(lines[2] ?? '', /^scaffold,ridge,baseline,0,0,0\.41\d*,0\.014\d*,0\.5,0,0\.5,0,0\.5,0,r2$/);
  });
});
