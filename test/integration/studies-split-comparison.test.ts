// The split comparison at reduced size, as a user runs it: every model that can predict an unseen
// drug and every baseline scored on every split, scaffold splits that really separate chemical
// series, a verdict that names the computed winner, and a plain word when structures are missing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDispatcher } from '../../src-main/node/lab/dispatch.js';
import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { runStudy } from '../../src-main/node/lab/studies.js';
import { ComparisonMetric, comparisonMetricLabels, StudyResult, splitComparisonCsv } from '../../src-main/shared/api/studies.js';
import { environmentAwareFamilies, TrainingConfig } from '../../src-main/shared/api/training.js';

// The native-blas addon's elementwise thread pool once hung this process (pthread_cond_broadcast
// never returned) when the main thread scored a model after a training worker had used the pool;
// until that is fixed, this long test keeps the pool off rather than risk hanging CI. The addon
// reads the variable when it first loads, which happens after this line.
process.env.CELLSHIFT_THREADS ??= '1';

const BASELINES = ['control-mean', 'training-mean', 'nearest-neighbours', 'ridge'];
const SPLITS = ['random-environments', 'held-out-drugs', 'scaffold'];

describe('split-comparison study', () => {
  let dir: string;
  let lab: LabService;
  let result: StudyResult;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-split-comparison-'));
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
    result = StudyResult.parse(await runStudy(lab, 'split-comparison', StudyResult.shape.options.parse({ quick: true, trials: 2 })));
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('scores every environment-aware model and all four baselines on every split, over every trial', () => {
    const comparison = result.comparison;
    assert.ok(comparison, 'the report carries the comparison table');
    assert.equal(comparison.trials, 2);
    assert.deepEqual(
      comparison.splits.map((s) => s.kind),
      SPLITS,
    );
    for (const split of comparison.splits) {
      assert.ok(split.ran, `${split.kind} ran: the synthetic panel has structures`);
      assert.deepEqual(
        split.rows.map((r) => r.method),
        [...environmentAwareFamilies, ...BASELINES],
      );
      assert.equal(split.heldOut.length, 2);
      for (const h of split.heldOut) assert.ok(h.environments > 0 && h.drugs > 0, `${split.kind}: held out ${JSON.stringify(h)}`);
      for (const row of split.rows) {
        assert.equal(row.kind, BASELINES.includes(row.method) ? 'baseline' : 'model');
        assert.equal(row.runs, row.kind === 'model' ? 2 : 0);
        for (const metric of ComparisonMetric.options) {
          const s = row.metrics[metric];
          assert.equal(s.values.length, 2, `${split.kind}/${row.method}/${metric}: one value per trial`);
          if (row.failed === 0) {
            assert.ok(s.values.every((v) => v !== null && Number.isFinite(v)));
            assert.ok(s.mean !== null && s.std !== null && s.std >= 0);
          }
        }
      }
    }
    // 3 splits × 2 trials × each environment-aware family, each a stored run; divergence is counted, not hidden.
    const expectedRuns = SPLITS.length * 2 * environmentAwareFamilies.length;
    assert.equal(result.runs.length, expectedRuns);
    assert.equal(result.divergedRuns, result.runs.filter((r) => r.status === 'diverged').length);
    assert.match(result.table.at(-1)?.measured ?? '', result.divergedRuns === 0 ? new RegExp(`^none of ${expectedRuns}$`) : /diverged/);
  });

  it('holds out whole scaffolds: no held-out drug shares a Bemis–Murcko scaffold with a training drug', () => {
    const view = lab.store.datasets.trainingView(result.datasetIds[0] as string);
    const byKey = new Map(view.environments.map((e) => [e.key, e]));
    const treated = view.environments.filter((e) => !e.isControl);
    assert.ok(
      treated.every((e) => e.scaffold !== null),
      'every drug of the panel has its scaffold (found by canonical SMILES)',
    );
    const scaffoldRuns = result.runs.filter((r) => TrainingConfig.parse(lab.store.runs.config(r.runId)).validation.kind === 'scaffold');
    assert.equal(scaffoldRuns.length, 2 * environmentAwareFamilies.length);
    for (const run of scaffoldRuns) {
      const held = new Set((lab.store.runs.details(run.runId) as { validationEnvironments: string[] }).validationEnvironments);
      assert.ok(held.size > 0);
      const heldScaffolds = new Set([...held].map((k) => byKey.get(k)?.scaffold ?? null));
      const trainingScaffolds = new Set(treated.filter((e) => !held.has(e.key)).map((e) => e.scaffold));
      const shared = [...heldScaffolds].filter((s) => trainingScaffolds.has(s));
      assert.deepEqual(shared, [], `run ${run.runId}`);
    }
  });

  it('names the winner it computed, metric by metric, and draws one grouped bar chart per metric', () => {
    for (const split of result.comparison?.splits ?? []) {
      for (const metric of ComparisonMetric.options) {
        const best = [...split.rows].sort((a, b) => (b.metrics[metric].mean ?? -Infinity) - (a.metrics[metric].mean ?? -Infinity))[0];
        assert.ok(best);
        assert.equal(split.winners[metric], best.method);
        const subject = best.kind === 'model' ? `the model ${best.method}` : best.method;
        assert.ok(
          split.verdict.includes(`${subject} wins ${comparisonMetricLabels[metric]} (${best.metrics[metric].mean?.toFixed(2)}`),
          `${split.kind}: "${split.verdict}" names ${best.method} for ${metric}`,
        );
      }
      assert.ok(result.table.some((row) => row.measured.startsWith(split.verdict)));
    }
    assert.equal(result.figures.length, 4);
    for (const figure of result.figures) {
      assert.equal(figure.kind, 'bar');
      assert.deepEqual(figure.categories, ['random-environment', 'held-out-drug', 'scaffold']);
      assert.equal(figure.series.length, environmentAwareFamilies.length + BASELINES.length);
      assert.ok(figure.series.every((s) => s.points.length === 3 && s.band?.length === 3));
    }
    const csv = splitComparisonCsv(result.comparison as NonNullable<StudyResult['comparison']>)
      .trimEnd()
      .split('\r\n');
    assert.equal(csv.length, 1 + SPLITS.length * (environmentAwareFamilies.length + BASELINES.length));
  });

  it('is stored like the other studies and read back through the LabApi', async () => {
    const call = createDispatcher(lab.handlers());
    const listed = (await call({ id: 1, method: 'studies.list', params: {} })) as { ok: true; result: { id: string; name: string }[] };
    const entry = listed.result.find((r) => r.name.startsWith('Unseen-drug prediction'));
    assert.ok(entry, JSON.stringify(listed));
    const fetched = (await call({ id: 2, method: 'studies.get', params: { artifactId: entry.id } })) as { ok: true; result: unknown };
    assert.deepEqual(StudyResult.parse(fetched.result).comparison, result.comparison);
  });

  it('says plainly when a dataset has no structures, and runs the other splits', async () => {
    // The demo dataset's environments are synthetic shifts, not drugs with SMILES.
    const demo = importSyntheticPreset(lab.store, { preset: 'demo', seed: 1 });
    const report = await runStudy(lab, 'split-comparison', StudyResult.shape.options.parse({ quick: true, trials: 1, datasetId: demo.id }));
    const scaffold = report.comparison?.splits.find((s) => s.kind === 'scaffold');
    assert.equal(scaffold?.ran, false);
    assert.match(scaffold?.note ?? '', /No drug in this dataset has a usable structure \(SMILES\)/);
    assert.match(report.table.find((r) => r.quantity.startsWith('Scaffold'))?.measured ?? '', /scaffold split was not run/);
    const ran = report.comparison?.splits.filter((s) => s.ran).map((s) => s.kind);
    assert.deepEqual(ran, ['random-environments', 'held-out-drugs']);
    assert.equal(report.runs.length, 2 * environmentAwareFamilies.length);
    assert.ok(report.figures.every((f) => f.categories?.length === 2));
  });
});
