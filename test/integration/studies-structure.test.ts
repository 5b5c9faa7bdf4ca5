// "Does the drug's structure help?" on the real L1000 files in ../shared (read at test time), at
// quick settings: PRnet's HT115 Level 3 demo (354 drugs: held-out drugs and scaffolds) and the
// LJP009 A375 Level 4 dose plate (with the dose-response split). Each model is paired with its
// permuted and no-drug controls and the baselines, per held-out environment, and the report says
// for each model whether structure helps with the paired p-value behind it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CachedStructures } from '../../src-main/node/lab/import/structures.js';
import { drugPanelDescription, importDrugPanel } from '../../src-main/node/lab/import/synthetic-drugs.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { runStudy } from '../../src-main/node/lab/studies.js';
import { StructureMetric, StudyResult } from '../../src-main/shared/api/studies.js';
import { missingShared, sharedFile } from '../fixtures/shared.js';
import { useTempLab } from '../temp-lab.js';
import { waitForJob } from './jobs.js';

process.env.CELLSHIFT_THREADS ??= '1';

const PRNET = 'fixtures/real-l1000/PRnet_demo_HT115_6H_level3_n681x978.h5ad';
const LJP009 = 'fixtures/real-l1000/l1ktools_LJP009_A375_24H_X1_B20_ZSPCQNORM_n371x978.gct';
const PERTINFO = 'fixtures/real-l1000/dhimmel_lincs_pertinfo.tsv.gz';
const skip = missingShared(PRNET, LJP009, PERTINFO);

async function importAndStudy(
  lab: LabService,
  request: Parameters<LabService['imports']['requestFromPaths']>[0],
): Promise<StudyResult & { datasetId: string }> {
  const { jobId } = await lab.imports.start(await lab.imports.requestFromPaths(request));
  const outcome = await waitForJob(lab, jobId);
  assert.ok(outcome.ok, JSON.stringify(outcome));
  const datasetId = (outcome.result as { id: string }).id;
  return { ...(await quickStudy(lab, datasetId)), datasetId };
}

async function quickStudy(lab: LabService, datasetId: string, options: Partial<StudyResult['options']> = {}): Promise<StudyResult> {
  return StudyResult.parse(
    await runStudy(lab, 'structure-help', StudyResult.shape.options.parse({ quick: true, trials: 1, epochs: 3, datasetId, ...options })),
  );
}

function checkReport(result: StudyResult, kinds: string[]): void {
  const structure = result.structure;
  assert.ok(structure, 'the report carries the structure study');
  assert.deepEqual(
    structure.splits.map((s) => s.kind),
    kinds,
  );
  for (const split of structure.splits) {
    assert.ok(split.ran, `${split.kind} ran`);
    assert.deepEqual(
      split.rows.map((r) => r.method),
      ['cvae', 'cvae · permuted drugs', 'cvae · no drug input', 'training-mean', 'nearest-neighbours', 'ridge'],
    );
    for (const row of split.rows) {
      for (const m of StructureMetric.options) assert.ok(Number.isFinite(row.metrics[m]), `${split.kind}/${row.method}/${m}`);
    }
    assert.ok(split.environments > 5, `${split.kind}: ${split.environments} held-out environments`);
    const permuted = split.tests.find((t) => t.method === 'cvae' && t.against === 'cvae · permuted drugs');
    assert.ok(permuted && permuted.n === split.environments && permuted.pValue > 0 && permuted.pValue <= 1);
    // One sentence per model says whether structure helps, with the p-value it computed.
    assert.match(
      split.verdicts[0] ?? '',
      /^cvae: (structure helps|no evidence that structure helps|permuted fingerprints do better than the real ones) \(.*Wilcoxon p = /,
    );
    assert.match(split.verdicts.join(' '), /Answer: (cvae beats|no model beats)/);
    assert.match(split.verdicts.at(-1) ?? '', /^Evidence: Held-out drugs' nearest training drug has median Tanimoto [01]\.\d\d/);
    assert.equal(split.similarityCurve.reduce((s, b) => s + b.environments, 0) <= split.environments, true);
  }
  assert.equal(result.runs.length, kinds.length * 3);
  assert.ok(result.figures.some((f) => f.id.startsWith('structure-similarity-')));
}

describe('structure study on real L1000 files', { skip }, () => {
  let dir: string;
  let lab: LabService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-structure-'));
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('PRnet HT115 (Level 3, 354 drugs): held-out drugs and scaffolds, each model with its controls', async () => {
    const result = await importAndStudy(lab, { matrixPath: sharedFile(PRNET) as string, environmentKey: 'drug+cell' });
    checkReport(result, ['held-out-drugs', 'scaffold']);
  });

  it('LJP009 A375 dose plate (Level 4): adds the dose-response split, structures from the LINCS pert_info', async () => {
    // The importer reads uncompressed tables; the published pert_info is gzip, so it is unpacked to a temporary file.
    const pertInfo = join(dir, 'pertinfo.tsv');
    writeFileSync(pertInfo, gunzipSync(readFileSync(sharedFile(PERTINFO) as string)));
    const result = await importAndStudy(lab, {
      matrixPath: sharedFile(LJP009) as string,
      pertInfoPath: pertInfo,
      environmentKey: 'drug+cell+dose+time',
    });
    checkReport(result, ['random-environments', 'held-out-drugs', 'scaffold']);
    assert.match(result.structure?.splits[0]?.label ?? '', /dose response/);

    // The dose-scaled drug-shift model on RDKit descriptors, with its controls and the baselines on descriptors too.
    const descriptors = await quickStudy(lab, result.datasetId, { families: ['drug-shift-vae'], drugFeatures: ['descriptors'] });
    for (const split of descriptors.structure?.splits ?? []) {
      assert.deepEqual(
        split.rows.map((r) => r.method),
        [
          'drug-shift-vae [descriptors]',
          'drug-shift-vae [descriptors] · permuted drugs',
          'drug-shift-vae [descriptors] · no drug input',
          'training-mean',
          'nearest-neighbours',
          'ridge',
          'nearest-neighbours [descriptors]',
          'ridge [descriptors]',
        ],
      );
      for (const row of split.rows) assert.ok(Number.isFinite(row.metrics.pearsonDelta), `${split.kind}/${row.method}`);
      assert.match(split.verdicts[0] ?? '', /^drug-shift-vae \[descriptors\]: .*Wilcoxon p = /);
    }
    assert.equal(descriptors.runs.length, 9);
    assert.ok(descriptors.runs.every((r) => r.status === 'completed'));
  });

  it('refuses a dataset without fingerprints and stores nothing', async () => {
    const before = lab.store.artifacts.list().length;
    const { importSyntheticPreset } = await import('../../src-main/node/lab/import/synthetic.js');
    const demo = importSyntheticPreset(lab.store, { preset: 'demo', seed: 1 });
    await assert.rejects(
      runStudy(lab, 'structure-help', StudyResult.shape.options.parse({ quick: true, datasetId: demo.id })),
      /no drug fingerprints in its environment representation/,
    );
    assert.equal(lab.store.artifacts.list().length, before);
  });
});

// The positive control: on the synthetic drug panel each drug's effect follows its substructures
// by construction, so a model that reads the fingerprint must beat the same model trained on
// fingerprints permuted among the training drugs. The panel is the first-start generator's, at the
// smallest size where the controls tell clearly (all 220 bundled drugs, few samples, small
// networks; bench/structure-panel.ts runs it at full size). It fails if the permuted control
// kept the link between fingerprint and effect, or if the model ignored its drug input.
describe('structure study on the synthetic drug panel (structure drives effects by construction)', () => {
  const temp = useTempLab('structure-panel');

  it('each model beats its permuted-fingerprint control on held-out drugs (p < 0.01)', async () => {
    const { lab } = temp;
    const panel = { seed: 0, drugs: 220, cellLines: 2, nLatents: 10, nGenes: 100, samplesPerDrug: 4, controlSamples: 20 };
    const { dataset } = await importDrugPanel(lab.store, new CachedStructures(await lab.chemistry.load(), lab.store.molecules), panel, {
      name: 'synthetic drug panel, positive control',
      description: drugPanelDescription,
    });
    const families = ['cvae', 'drug-shift-vae'] as const;
    const result = StudyResult.parse(
      await runStudy(
        lab,
        'structure-help',
        StudyResult.shape.options.parse({ quick: true, trials: 1, epochs: 6, datasetId: dataset.id, families, splits: ['held-out-drugs'] }),
      ),
    );
    const [split, ...others] = result.structure?.splits ?? [];
    assert.equal(others.length, 0, 'only the split asked for ran');
    assert.ok(split?.ran && split.kind === 'held-out-drugs');
    assert.ok(split.environments >= 100, `${split.environments} held-out environments`);
    for (const family of families) {
      const test = split.tests.find((t) => t.method === family && t.against === `${family} · permuted drugs`);
      assert.ok(test, `${family} is tested against its permuted control`);
      assert.ok((test.meanDifference ?? 0) > 0 && test.pValue < 0.01, `${family} vs permuted: ${JSON.stringify(test)}`);
      assert.match(split.verdicts.find((v) => v.startsWith(`${family}:`)) ?? '', /^[a-z-]+: structure helps \(/);
    }
    // The structure-reading baseline sees the design too: ridge on the bits beats the structure-blind mean.
    const ridge = split.tests.find((t) => t.method === 'ridge' && t.against === 'training-mean');
    assert.ok(ridge && (ridge.meanDifference ?? 0) > 0 && ridge.pValue < 0.01, JSON.stringify(ridge));
  });

  it('refuses a split the dataset does not have, before generating or training anything', async () => {
    const { lab } = temp;
    const datasets = lab.store.datasets.list().length;
    const runs = lab.store.runs.list().length;
    await assert.rejects(
      runStudy(lab, 'structure-help', StudyResult.shape.options.parse({ quick: true, splits: ['random-environments'] })),
      /no doses, so it has no dose-response split/,
    );
    assert.equal(lab.store.datasets.list().length, datasets);
    assert.equal(lab.store.runs.list().length, runs);
  });
});
