// The layouts people download, end to end: LINCS 2020 (CLUE "beta"), GEO GSE70138 with dated and
// gzipped table names, and the real files in ../shared/fixtures/real-l1000 — with the lab's compound
// library supplying structures for a matrix imported alone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DatasetDetail } from '../../src-main/shared/api/domain.js';
import { writeUnlabelledGct } from '../fixtures/formats/writers.js';
import { importFiles } from '../fixtures/lab-import.js';
import { CELLS, COMPOUNDS, GENES, gzipTwin, LANDMARKS, writeGeoL1000, writeGse70138, writeLincs2020 } from '../fixtures/lincs2020.js';
import { REAL_L1000_DIR, sharedSkip } from '../fixtures/shared.js';
import { type TempLab, useTempLab } from '../temp-lab.js';

const real = (name: string) => join(REAL_L1000_DIR, name);
const CLI = fileURLToPath(new URL('../../src-main/node/cli/main.ts', import.meta.url));

/** Imported as `cellshift import` does it, in-process (a CLI process costs seconds of start-up): the stored summary. */
async function importAsCli(temp: TempLab, input: Parameters<typeof importFiles>[1]): Promise<DatasetDetail> {
  return temp.lab.store.datasets.get((await importFiles(temp.lab, input)).id);
}

describe('LINCS 2020 and GEO layouts', () => {
  const temp = useTempLab('layouts');

  it('imports the LINCS 2020 release: cmap_name, value + unit dose and time, Entrez ids with feature_space, several compoundinfo rows per compound', async () => {
    const f = await writeLincs2020(temp.dir);
    const request = {
      matrixPath: f.gctx,
      sigInfoPath: f.siginfo,
      pertInfoPath: f.compoundinfo,
      geneInfoPath: f.geneinfo,
      environmentKey: 'drug+cell+dose+time' as const,
    };
    const preview = await temp.lab.imports.preview(await temp.lab.imports.requestFromPaths(request));
    assert.equal(preview.genes, LANDMARKS, 'landmarks from feature_space');
    assert.equal(preview.drugs, COMPOUNDS.length);
    assert.deepEqual(preview.doses, [{ value: '10 uM', samples: 12 }]);
    assert.deepEqual(preview.times, [{ value: '24 h', samples: 18 }]);
    assert.deepEqual(preview.structureSources, [{ source: 'compoundinfo_beta.txt', drugs: 3 }]);
    assert.deepEqual(preview.drugsWithoutStructure, []);
    const plain = await importFiles(temp.lab, request);
    const envs = temp.lab.store.datasets.environments(plain.id);
    const erlotinib = envs.find((e) => e.perturbagen === 'BRD-K70401845');
    assert.equal(erlotinib?.drugName, 'erlotinib');
    assert.equal(erlotinib?.structure, 'parsed');
    assert.equal(erlotinib?.dose, '10 uM');
    assert.equal(erlotinib?.time, '24 h');
    // The library learned the table, targets gathered from one row per target.
    const library = temp.lab.store.compounds.get(['BRD-K70401845', 'BRD-K92723993']);
    assert.deepEqual(library.get('BRD-K70401845')?.targets, ['EGFR', 'ERBB2']);
    assert.deepEqual(library.get('BRD-K92723993')?.targets, ['HDAC1', 'HDAC2', 'HDAC3']);
    assert.deepEqual(library.get('BRD-K92723993')?.moa, ['HDAC inhibitor']);
    assert.equal(library.get('BRD-K70401845')?.source, 'compoundinfo_beta.txt');

    // The .gz twin of every file imports to the same dataset.
    const twin = await importFiles(temp.lab, {
      ...request,
      matrixPath: await gzipTwin(f.gctx),
      sigInfoPath: await gzipTwin(f.siginfo),
      pertInfoPath: await gzipTwin(f.compoundinfo),
      geneInfoPath: await gzipTwin(f.geneinfo),
    });
    assert.equal(twin.contentHash, plain.contentHash);

    // The GCTX alone has no sample metadata: plain expression, in one environment or one per sample.
    const alone = await temp.lab.imports.preview(
      await temp.lab.imports.requestFromPaths({ matrixPath: f.gctx, filter: { landmarkOnly: false } }),
    );
    assert.equal(alone.genes, GENES.length);
    assert.deepEqual([alone.samples, alone.environments, alone.drugs], [f.sampleIds.length, 1, 0]);
    assert.match(alone.warnings.join(' '), /No sample metadata .* one "unlabelled" environment/);
    const each = await temp.lab.imports.preview(
      await temp.lab.imports.requestFromPaths({ matrixPath: f.gctx, unlabelledSamples: 'each-sample' }),
    );
    assert.equal(each.environments, f.sampleIds.length);
    // Joined with the sample table on a new import, the same matrix groups by drug again.
    const joined = await temp.lab.imports.preview(await temp.lab.imports.requestFromPaths({ matrixPath: f.gctx, sigInfoPath: f.siginfo }));
    assert.equal(joined.drugs, COMPOUNDS.length);
  });

  it('imports GSE70138 as GEO publishes it (dated, gzipped table names) to the same dataset as the plain files', async () => {
    const sub = mkdtempSync(join(temp.dir, 'geo-'));
    const f = await writeGse70138(sub);
    const plain = await importFiles(temp.lab, {
      matrixPath: f.gctx,
      sigInfoPath: f.sigInfo,
      pertInfoPath: f.pertInfo,
      geneInfoPath: f.geneInfo,
    });
    const gz = await importFiles(temp.lab, {
      matrixPath: await gzipTwin(f.gctx),
      sigInfoPath: await gzipTwin(f.sigInfo),
      pertInfoPath: await gzipTwin(f.pertInfo),
      geneInfoPath: await gzipTwin(f.geneInfo),
    });
    assert.equal(gz.contentHash, plain.contentHash);
    assert.equal(gz.name, 'GSE70138_Broad_LINCS_Level5_COMPZ_n18x9_2017-03-06.gctx');
  });

  it('takes dose and time from value + unit columns of a CSV sample table, and structures from the library when no table is given', async () => {
    const csv = join(temp.dir, 'matrix.csv');
    const meta = join(temp.dir, 'samples.csv');
    const ids = ['s1', 's2', 's3', 's4'];
    writeFileSync(csv, ['sample,g1,g2', ...ids.map((id, i) => `${id},${i},${i * 2}`)].join('\n'));
    writeFileSync(
      meta,
      [
        'sample,pert_id,pert_type,pert_dose,pert_dose_unit,pert_time,pert_time_unit',
        's1,BRD-K50691590,trt_cp,0.5,uM,6,h',
        's2,BRD-K50691590,trt_cp,0.5,uM,6,h',
        's3,BRD-UNKNOWN,trt_cp,1,uM,6,h',
        's4,DMSO,ctl_vehicle,,,6,h',
      ].join('\n'),
    );
    const preview = await temp.lab.imports.preview(
      await temp.lab.imports.requestFromPaths({ matrixPath: csv, sampleMetadataPath: meta, filter: { landmarkOnly: false } }),
    );
    assert.deepEqual(preview.doses, [
      { value: '0.5 uM', samples: 2 },
      { value: '1 uM', samples: 1 },
    ]);
    assert.deepEqual(preview.times, [{ value: '6 h', samples: 4 }]);
    // The GSE70138 pert_info imported above gave the library bortezomib's structure last.
    assert.deepEqual(preview.structureSources, [
      { source: 'none (no SMILES known)', drugs: 1 },
      { source: 'the compound library (from GSE70138_Broad_LINCS_pert_info_2017-03-06.txt.gz)', drugs: 1 },
    ]);
  });

  it('adds a compound table on its own from the command line and previews for a person (--json for machines)', async () => {
    const run = promisify(execFile);
    const db = join(temp.dir, 'cli.db');
    const table = join(temp.dir, 'compoundinfo_cli.txt');
    writeFileSync(
      table,
      [
        'pert_id\tcmap_name\ttarget\tmoa\tcanonical_smiles',
        'BRD-X1\tdrugx\tEGFR\tEGFR inhibitor\tCCO',
        'BRD-X1\tdrugx\tERBB2\tEGFR inhibitor\tCCO',
      ].join('\n'),
    );
    const csv = join(temp.dir, 'cli.csv');
    writeFileSync(csv, ['sample,pert_id,pert_type,g1', 'a,BRD-X1,trt_cp,1', 'b,BRD-X1,trt_cp,2'].join('\n'));
    const added = await run(process.execPath, ['--import', 'tsx', CLI, 'import', '--db', db, '--compounds', table]);
    assert.match(
      added.stdout,
      /Compound library: 1 compounds from compoundinfo_cli\.txt \(1 with a structure, 1 with targets\): 1 new, 0 updated; 1 in the library\./,
    );
    const meta = join(temp.dir, 'cli-meta.csv');
    writeFileSync(meta, ['sample,pert_id,pert_type', 'a,BRD-X1,trt_cp', 'b,BRD-X1,trt_cp'].join('\n'));
    writeFileSync(csv, ['sample,g1', 'a,1', 'b,2'].join('\n'));
    // The same preview, as a person reads it and as a script reads it (--json).
    const preview = (...extra: string[]) =>
      run(process.execPath, ['--import', 'tsx', CLI, 'import', '--db', db, csv, '--metadata', meta, '--all-genes', '--preview', ...extra]);
    const human = await preview();
    assert.match(human.stdout, /Would import 2 samples × 1 genes into 1 environments \(1 drugs, 0 control samples\)\./);
    assert.match(human.stdout, /Drug structures from:\n {2}the compound library \(from compoundinfo_cli\.txt\) +1 drugs/);
    assert.match(human.stdout, /Nothing was written/);
    const machine = await preview('--json');
    assert.deepEqual(JSON.parse(machine.stdout).structureSources, [
      { source: 'the compound library (from compoundinfo_cli.txt)', drugs: 1 },
    ]);
  });
});

describe('each downloaded layout imported as the command line does it', () => {
  const temp = useTempLab('layouts-cli');

  it('imports GEO GSE92742 with every file gzipped: dose, time and structures stored per environment', async () => {
    const f = await writeGeoL1000(temp.dir, 'GSE92742');
    const stored = await importAsCli(temp, {
      matrixPath: await gzipTwin(f.gctx),
      sigInfoPath: await gzipTwin(f.sigInfo),
      pertInfoPath: await gzipTwin(f.pertInfo),
      geneInfoPath: await gzipTwin(f.geneInfo),
      environmentKey: 'drug+cell+dose+time',
    });
    assert.deepEqual([stored.nSamples, stored.nGenes], [CELLS.length * (COMPOUNDS.length * 2 + 3), LANDMARKS]);
    const envs = temp.lab.store.datasets.environments(stored.id);
    assert.equal(envs.length, stored.nEnvironments);
    const vorinostat = envs.filter((e) => e.drugName === 'vorinostat');
    assert.equal(vorinostat.length, CELLS.length);
    for (const e of vorinostat) assert.deepEqual([e.dose, e.time, e.structure], ['10 uM', '24 h', 'parsed']);
  });

  it('imports a GCT without column metadata as one environment per sample', async () => {
    const gct = join(temp.dir, 'unlabelled_n3x4.gct');
    writeUnlabelledGct(gct, ['g1', 'g2', 'g3', 'g4'], ['plateA_1', 'plateA_2', 'plateA_3']);
    const each = await importAsCli(temp, { matrixPath: gct, unlabelledSamples: 'each-sample', filter: { landmarkOnly: false } });
    assert.deepEqual([each.nSamples, each.nGenes, each.nEnvironments], [3, 4, 3]);
    const one = await importAsCli(temp, { matrixPath: gct, name: 'one environment', filter: { landmarkOnly: false } });
    assert.equal(one.nEnvironments, 1);
  });
});

describe('the real L1000 files in ../shared', { skip: sharedSkip(REAL_L1000_DIR) }, () => {
  const temp = useTempLab('real');

  it('a GCT imported alone gets its structures from the library filled from the chemCPA SMILES list', async () => {
    const gct = real('l1ktools_LJP009_A375_24H_X1_B20_ZSPCQNORM_n371x978.gct');
    const before = await temp.lab.imports.preview(await temp.lab.imports.requestFromPaths({ matrixPath: gct }));
    assert.deepEqual(
      before.structureSources.map((s) => s.source),
      ['none (no SMILES known)'],
    );
    const added = await temp.lab.imports.addCompounds(real('chemCPA_lincs_drugs_smiles.csv'));
    assert.equal(added.compounds, 17_775);
    const after = await temp.lab.imports.preview(await temp.lab.imports.requestFromPaths({ matrixPath: gct }));
    const fromLibrary = after.structureSources.find((s) => s.source === 'the compound library (from chemCPA_lincs_drugs_smiles.csv)');
    assert.ok(fromLibrary && fromLibrary.drugs >= 30, JSON.stringify(after.structureSources));
    assert.equal(after.drugsWithoutStructure.length, after.drugs - fromLibrary.drugs);
    const stored = await importFiles(temp.lab, { matrixPath: gct });
    const withSmiles = temp.lab.store.datasets.environments(stored.id).filter((e) => e.structure === 'parsed');
    assert.equal(withSmiles.length, fromLibrary.drugs);
  });

  it("dhimmel's gzipped pertinfo given with the import wins over the library", async () => {
    const gct = real('l1ktools_LJP009_A375_24H_X1_B20_QNORM_n371x978.gct');
    const preview = await temp.lab.imports.preview(
      await temp.lab.imports.requestFromPaths({ matrixPath: gct, pertInfoPath: real('dhimmel_lincs_pertinfo.tsv.gz') }),
    );
    const sources = preview.structureSources.map((s) => s.source);
    assert.ok(sources.includes('dhimmel_lincs_pertinfo.tsv.gz'), sources.join(', '));
    assert.ok(!sources.some((s) => s.startsWith('the compound library')), sources.join(', '));
  });

  it("PRnet's AnnData shows dose and time with their units, and its own SMILES column", async () => {
    const preview = await temp.lab.imports.preview(
      await temp.lab.imports.requestFromPaths({
        matrixPath: real('PRnet_demo_HT115_6H_level3_n681x978.h5ad'),
        environmentKey: 'drug+cell+dose+time',
      }),
    );
    assert.ok(!preview.times.some((t) => t.value === '(missing)'), JSON.stringify(preview.times));
    assert.match(preview.times[0]?.value ?? '', /^6(\.0)? h$/);
    assert.ok(!preview.doses.some((d) => d.value === '(missing)'), JSON.stringify(preview.doses.slice(0, 3)));
    assert.match(preview.doses[0]?.value ?? '', /^\d+(\.\d+)? \S+$/);
    assert.ok(preview.structureSources.some((s) => /the matrix file's (canonical_smiles|SMILES) column/.test(s.source)));
  });

  it("imports PRnet's AnnData as the command line does, with dose and time stored with their units", async () => {
    const stored = await importAsCli(temp, {
      matrixPath: real('PRnet_demo_HT115_6H_level3_n681x978.h5ad'),
      environmentKey: 'drug+cell+dose+time',
    });
    const envs = temp.lab.store.datasets.environments(stored.id);
    assert.equal(envs.length, stored.nEnvironments);
    assert.ok(
      envs.every((e) => /^6(\.0)? h$/.test(e.time ?? '')),
      JSON.stringify(envs.slice(0, 3).map((e) => e.time)),
    );
    const treated = envs.filter((e) => e.structure === 'parsed');
    assert.ok(treated.length > 0, "structures from the file's own SMILES column");
    assert.ok(
      treated.every((e) => /^\d+(\.\d+)? \S+$/.test(e.dose ?? '')),
      JSON.stringify(treated.slice(0, 3).map((e) => e.dose)),
    );
  });
});
