// A matrix imported without sample metadata, joined with its sample table afterwards: a new
// dataset grouped by drug (structures from the compound library), the original untouched, and a
// table that leaves samples out refused unless the user asks to drop them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AttachSamplesResult } from '../../src-main/shared/api/imports.js';
import { importFiles, jobOutcome } from '../fixtures/lab-import.js';
import { COMPOUNDS, writeLincs2020 } from '../fixtures/lincs2020.js';
import { useTempLab } from '../temp-lab.js';

const CLI = fileURLToPath(new URL('../../src-main/node/cli/main.ts', import.meta.url));

describe('attaching a sample table to a dataset imported without one', () => {
  const temp = useTempLab('attach');

  async function attach(datasetId: string, tablePath: string, dropUnmatched = false) {
    const { grantId } = await temp.lab.files.trust(tablePath, 'cli', 'sig_info');
    const { jobId } = await temp.lab.imports.attachSamples({ datasetId, table: grantId, dropUnmatched });
    return jobOutcome(temp.lab, jobId);
  }

  it('makes a new dataset grouped by drug with structures, refuses a table missing samples, and drops them only when asked', async () => {
    const f = await writeLincs2020(temp.dir);
    await temp.lab.imports.addCompounds(f.compoundinfo);
    const bare = await importFiles(temp.lab, { matrixPath: f.gctx, filter: { landmarkOnly: false } });
    assert.deepEqual(
      temp.lab.store.datasets.environments(bare.id).map((e) => e.key),
      ['unlabelled'],
    );
    // What the Datasets view asks before offering to attach a table (environments.labelled).
    assert.equal(temp.lab.store.datasets.hasLabelledEnvironments(bare.id), false);

    const attached = await attach(bare.id, f.siginfo);
    assert.ok(attached.ok, attached.message);
    const result = attached.result as AttachSamplesResult;
    assert.equal(temp.lab.store.datasets.hasLabelledEnvironments(result.dataset.id), true);
    assert.equal(result.from, bare.id);
    assert.equal(result.dataset.nSamples, f.sampleIds.length);
    const environments = temp.lab.store.datasets.environments(result.dataset.id);
    const drugs = environments.filter((e) => !e.isControl);
    assert.deepEqual(drugs.map((e) => e.perturbagen).sort(), COMPOUNDS.map((c) => c.id).sort());
    assert.deepEqual(
      drugs.map((e) => e.structure),
      drugs.map(() => 'parsed'),
      'each drug has its structure from the compound library',
    );
    assert.equal(environments.filter((e) => e.isControl).length, 1, 'DMSO wells are the control environment');
    // The stored expression is carried over unchanged, sample by sample.
    const before = temp.lab.store.datasets.expressionOf(bare.id, [f.sampleIds[4] as string]);
    const after = temp.lab.store.datasets.expressionOf(result.dataset.id, [f.sampleIds[4] as string]);
    assert.deepEqual([...after.rows], [...before.rows]);
    const provenance = temp.lab.store.datasets.get(result.dataset.id).provenance as Record<string, unknown>;
    assert.deepEqual(provenance.derivedFrom, {
      datasetId: bare.id,
      name: bare.name,
      sampleTable: 'siginfo_beta.txt',
      unmatchedDropped: 0,
    });
    assert.equal(temp.lab.store.datasets.environments(bare.id).length, 1, 'the original dataset is untouched');

    // A table without the first three samples: refused by name, nothing stored.
    const partial = join(temp.dir, 'siginfo_partial.txt');
    const [header, ...rows] = readFileSync(f.siginfo, 'utf8').split('\n');
    writeFileSync(partial, [header, ...rows.slice(3)].join('\n'));
    const stored = temp.lab.store.datasets.list().length;
    const refused = await attach(bare.id, partial);
    assert.equal(refused.ok, false);
    assert.match(refused.message ?? '', /no row for 3 of the 18 samples .*"REP\.A375:BRD-K70401845:0"/);
    assert.match(refused.message ?? '', /--drop-unmatched/);
    assert.equal(temp.lab.store.datasets.list().length, stored, 'nothing stored');

    const dropped = await attach(bare.id, partial, true);
    assert.ok(dropped.ok, dropped.message);
    const droppedResult = dropped.result as AttachSamplesResult;
    assert.equal(droppedResult.dataset.nSamples, f.sampleIds.length - 3);
    assert.equal(droppedResult.unmatchedDropped, 3);
    assert.match(droppedResult.warnings.join(' '), /3 samples without a row in siginfo_partial\.txt were left out/);
  });

  it('refuses a table that names no sample, or says nothing about treatments, storing nothing', async () => {
    const f = await writeLincs2020(temp.dir);
    const bare = await importFiles(temp.lab, { matrixPath: f.gctx, filter: { landmarkOnly: false } });
    const stored = temp.lab.store.datasets.list().length;
    const foreign = join(temp.dir, 'other_siginfo.txt');
    writeFileSync(foreign, 'sig_id\tpert_id\tpert_type\nX:1\tBRD-1\ttrt_cp\n');
    const none = await attach(bare.id, foreign);
    assert.equal(none.ok, false);
    assert.match(none.message ?? '', /names none of the 18 samples .*"X:1"/);
    const plain = join(temp.dir, 'batches.csv');
    writeFileSync(plain, ['sample,batch', ...f.sampleIds.map((id, i) => `${id},b${i % 2}`)].join('\n'));
    const untreated = await attach(bare.id, plain);
    assert.equal(untreated.ok, false);
    assert.match(untreated.message ?? '', /says nothing about any sample's treatment.*batch/);
    assert.equal(temp.lab.store.datasets.list().length, stored);
  });

  it('cellshift attach-samples prints the new dataset, and refuses a partial table with the missing ids', async () => {
    const f = await writeLincs2020(temp.dir);
    const bare = await importFiles(temp.lab, { matrixPath: f.gctx, filter: { landmarkOnly: false } });
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, 'attach-samples', ...args, '--db', join(temp.dir, 'lab.db')]);
    const { stdout } = await run(bare.id, f.siginfo, '--json');
    const printed = JSON.parse(stdout) as AttachSamplesResult;
    assert.equal(printed.from, bare.id);
    assert.equal(printed.dataset.nEnvironments, COMPOUNDS.length + 1);
    const partial = join(temp.dir, 'siginfo_partial.txt');
    const [header, ...rows] = readFileSync(f.siginfo, 'utf8').split('\n');
    writeFileSync(partial, [header, ...rows.slice(1)].join('\n'));
    await assert.rejects(run(bare.id, partial), (error: { stderr: string }) => /no row for 1 of the 18 samples/.test(error.stderr));
  });
});
