// The compound library over the LabApi (what the Datasets view calls): a granted table is added and
// reported; an unknown grant, a table without compounds and a table that is not one are refused and
// the library is unchanged.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CompoundImportResult } from '../../src-main/shared/api/imports.js';
import { labCaller } from '../lab-call.js';
import { useTempLab } from '../temp-lab.js';

const PERT_INFO = new URL('../fixtures/cmapPy-tables/pert_info.txt', import.meta.url).pathname;

describe('compounds.import', () => {
  const temp = useTempLab('compounds-api');

  it('adds a granted pert_info table to the library and says what it added', async () => {
    const call = labCaller(temp.lab);
    const grant = await temp.lab.files.trust(PERT_INFO, 'dialog');
    const result = await call<CompoundImportResult>('compounds.import', { grantId: grant.grantId });
    const compounds = temp.lab.store.compounds.count();
    assert.ok(compounds > 0);
    assert.deepEqual(result, {
      source: 'pert_info.txt',
      compounds,
      withStructure: result.withStructure,
      withTargets: 0,
      added: compounds,
      updated: 0,
      libraryTotal: compounds,
    });
    assert.ok(result.withStructure > 0 && result.withStructure <= compounds);
  });

  it('refuses an unknown grant and a table without compounds, leaving the library as it was', async () => {
    const call = labCaller(temp.lab);
    const before = temp.lab.store.compounds.count();
    await assert.rejects(call('compounds.import', { grantId: `grant_${'x'.repeat(24)}` }), /Error: not_found: Unknown file grant/);
    await assert.rejects(call('compounds.import', { grantId: PERT_INFO }), /Error: invalid_params: .*not a path/);
    const empty = join(temp.dir, 'no_compounds.txt');
    writeFileSync(empty, 'pert_id\tpert_iname\tcanonical_smiles\n');
    const grant = await temp.lab.files.trust(empty, 'dialog');
    await assert.rejects(
      call('compounds.import', { grantId: grant.grantId }),
      /Error: bad_input: no_compounds\.txt: the table has no compounds/,
    );
    assert.equal(temp.lab.store.compounds.count(), before);
  });

  it('refuses a two-column table that is not "pert_id, SMILES" pairs, naming the line, and stores nothing', async () => {
    const call = labCaller(temp.lab);
    const before = temp.lab.store.compounds.count();
    const notCompounds = join(temp.dir, 'gene_values.txt');
    writeFileSync(notCompounds, 'gene\tvalue\nTP53\t1.5\n');
    const grant = await temp.lab.files.trust(notCompounds, 'dialog');
    await assert.rejects(call('compounds.import', { grantId: grant.grantId }), /bad_input: .*no pert_id column \(columns: gene, value\)/);
    // A headerless list whose later line is not a SMILES is refused at that line.
    const mixed = join(temp.dir, 'mixed.csv');
    writeFileSync(mixed, 'BRD-A00100033,CCO\nBRD-X,42.5\n');
    const mixedGrant = await temp.lab.files.trust(mixed, 'dialog');
    await assert.rejects(call('compounds.import', { grantId: mixedGrant.grantId }), /"42\.5" is not a SMILES/);
    assert.equal(temp.lab.store.compounds.count(), before);
  });
});
