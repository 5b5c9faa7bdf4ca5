// Gene sets and enrichment through the LabApi: a GMT collection is imported (a bad one changes
// nothing), a latent coordinate's gene program and a differential expression result are enriched
// with BH-adjusted results, and a connectivity query runs on the demo dataset.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import type { LabService } from '../../src-main/node/lab/service.js';
import type { ConnectivityResult, DifferentialResult, EnrichmentResult, GeneSetCollection } from '../../src-main/shared/api/index.js';
import { labCaller } from '../lab-call.js';
import { trainSettled, useTempLab } from '../temp-lab.js';

const gmt = readFileSync(new URL('../fixtures/gene-sets/demo-programs.gmt', import.meta.url), 'utf8');

describe('mechanism analyses through the LabApi', () => {
  const temp = useTempLab('mechanism', { seedDemo: true });
  let lab: LabService;
  let call: <T>(method: string, params: unknown) => Promise<T>;
  let datasetId: string;
  let runId: string;
  let collection: GeneSetCollection;

  before(async () => {
    lab = temp.lab;
    call = labCaller(lab);
    datasetId = lab.store.datasets.list()[0]?.id as string;
    runId = await trainSettled(lab, datasetId, { model: { family: 'env-vae', hiddenUnits: 32, latentDim: 8 }, epochs: 2, batchSize: 128 });
  });

  it('imports a GMT collection, and refuses a bad file or a taken name without storing anything', async () => {
    collection = await call<GeneSetCollection>('geneSets.import', { name: 'demo programs', fileName: 'demo-programs.gmt', content: gmt });
    assert.equal(collection.nSets, 15);
    await assert.rejects(
      call('geneSets.import', { name: 'broken', fileName: 'b.gmt', content: 'A\tdesc\nB\td\tg001\n' }),
      /bad_input: b.gmt line 1/,
    );
    await assert.rejects(call('geneSets.import', { name: 'demo programs', fileName: 'x.gmt', content: gmt }), /already exists/);
    assert.deepEqual(
      (await call<GeneSetCollection[]>('geneSets.list', {})).map((c) => c.name),
      ['demo programs'],
    );
  });

  it("enriches a latent coordinate's gene program with BH-adjusted GSEA and hypergeometric results", async () => {
    const result = await call<EnrichmentResult>('analysis.enrichment', {
      collectionId: collection.id,
      source: { kind: 'latent', runId, latent: 0 },
      permutations: 200,
    });
    assert.equal(result.gsea.length, 15);
    assert.equal(result.overRepresentation.length, 15);
    assert.equal(result.selected.genes.length, 50);
    assert.match(result.ranked, /latent 0/);
    for (const row of [...result.gsea, ...result.overRepresentation]) {
      assert.ok(row.p !== null && row.fdr !== null && row.fdr >= row.p - 1e-15 && row.fdr <= 1, JSON.stringify(row));
    }
    // BH: the adjusted p-values, in the order of the raw ones, never decrease.
    const sorted = [...result.gsea].sort((a, b) => (a.p ?? 0) - (b.p ?? 0));
    for (let i = 1; i < sorted.length; i++) assert.ok((sorted[i]?.fdr ?? 0) >= (sorted[i - 1]?.fdr ?? 0));
    await assert.rejects(
      call('analysis.enrichment', { collectionId: collection.id, source: { kind: 'latent', runId, latent: 99 } }),
      /no latent 99/,
    );
  });

  it('enriches a differential expression result', async () => {
    const environments = lab.store.datasets.environments(datasetId);
    const [a, b] = environments.filter((e) => !e.isControl);
    const differential = await call<DifferentialResult>('analysis.differential', {
      datasetId,
      groupA: { environmentKey: a?.key },
      groupB: { environmentKey: b?.key },
    });
    const result = await call<EnrichmentResult>('analysis.enrichment', {
      collectionId: collection.id,
      source: { kind: 'differential', differential },
      permutations: 100,
    });
    assert.equal(result.gsea.length, 15);
    assert.match(result.ranked, /Welch's t/);
  });

  it('scores every sample of a dataset against a gene query', async () => {
    const result = await call<ConnectivityResult>('mechanism.connectivity', {
      datasetId,
      up: ['g0001', 'g0002', 'g0003', 'NOT_A_GENE'],
      down: ['g0101', 'g0102'],
      randomQueries: 50,
    });
    assert.equal(result.rows.length, lab.store.datasets.get(datasetId).nSamples);
    assert.deepEqual(result.up.unmatched, ['NOT_A_GENE']);
    assert.match(result.tauNote ?? '', /at least 100 random queries/);
    await assert.rejects(call('mechanism.connectivity', { datasetId, up: ['g0001'], down: ['g0001'] }), /both the up and the down list/);
  });
});
