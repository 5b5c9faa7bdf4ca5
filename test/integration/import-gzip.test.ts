// GEO publishes every L1000 file gzip-compressed. A .gz twin of a file imports to the same dataset
// (same content hash) as the plain file; tables stream through a decompressor, GCTX/h5ad are
// unpacked once into a cache next to the database, reused, and cleaned with their datasets; a
// killed unpack leaves no entry.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import { UnpackCache } from '../../src-main/node/lab/import/unpack-cache.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { importFiles } from '../fixtures/lab-import.js';
import { type Fixture, writeLincsFixture } from '../fixtures/lincs.js';
import { gzipTwin } from '../fixtures/lincs2020.js';

describe('gzip-compressed L1000 files, as GEO publishes them', () => {
  let dir: string;
  let fixture: Fixture;
  let lab: LabService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-gzip-'));
    fixture = await writeLincsFixture(dir);
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
  });

  after(async () => {
    await closeLab(lab);
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a .gctx.gz with .txt.gz tables to the same dataset as the plain files, unpacking the GCTX once', async () => {
    const plain = await importFiles(lab, {
      matrixPath: fixture.gctx,
      sigInfoPath: fixture.sigInfo,
      pertInfoPath: fixture.pertInfo,
      geneInfoPath: fixture.geneInfo,
    });
    const gz = {
      matrixPath: await gzipTwin(fixture.gctx),
      sigInfoPath: await gzipTwin(fixture.sigInfo),
      pertInfoPath: await gzipTwin(fixture.pertInfo),
      geneInfoPath: await gzipTwin(fixture.geneInfo),
    };
    const twin = await importFiles(lab, gz);
    assert.equal(twin.contentHash, plain.contentHash);
    assert.equal(twin.name, 'level5.gctx', 'the dataset is named after the file inside the .gz');
    const entries = readdirSync(lab.imports.unpacked.root);
    assert.equal(entries.length, 1, `one unpacked copy: ${entries.join(', ')}`);
    const copy = join(lab.imports.unpacked.root, entries[0] as string);
    assert.equal(
      lab.store.datasets.get(twin.id).provenance.files &&
        (lab.store.datasets.get(twin.id).provenance.files as Record<string, string>).unpackedCopy,
      copy,
    );

    // The same download under another name is recognised by its content: no second unpack.
    const moved = join(dir, 'again.gctx.gz');
    writeFileSync(moved, gzipSync(Buffer.alloc(0)));
    await pipeline(createReadStream(gz.matrixPath), createWriteStream(moved));
    const again = await importFiles(lab, { ...gz, matrixPath: moved });
    assert.equal(again.contentHash, plain.contentHash);
    assert.deepEqual(readdirSync(lab.imports.unpacked.root), entries);

    // The copy goes when the last dataset made from it is deleted.
    lab.handlers()['datasets.delete']({ id: twin.id }, {} as never);
    assert.deepEqual(await lab.imports.pruneUnpacked(), [], 'still used by the second import');
    lab.handlers()['datasets.delete']({ id: again.id }, {} as never);
    assert.deepEqual(await lab.imports.pruneUnpacked(), [copy]);
    assert.equal(existsSync(copy), false);
  });

  it('imports a .gct.gz and a .csv.gz by streaming them through a decompressor', async () => {
    const gct = join(dir, 'plate.gct');
    const ids = ['s1', 's2', 's3'];
    const rows = ['g1', 'g2'].map((g, i) => [g, `${g}sym`, ...ids.map((_, j) => String(i * 3 + j + 0.5))].join('\t'));
    writeFileSync(
      gct,
      [
        '#1.3',
        '2\t3\t1\t2',
        ['id', 'pr_gene_symbol', ...ids].join('\t'),
        ['pert_id', 'na', 'BRD-A', 'BRD-A', 'BRD-B'].join('\t'),
        ['pert_type', 'na', 'trt_cp', 'trt_cp', 'trt_cp'].join('\t'),
        ...rows,
      ].join('\n'),
    );
    const plain = await importFiles(lab, { matrixPath: gct });
    const twin = await importFiles(lab, { matrixPath: await gzipTwin(gct) });
    assert.equal(twin.contentHash, plain.contentHash);
    const csv = join(dir, 'matrix.csv');
    writeFileSync(csv, ['sample,g1,g2', 's1,1,2', 's2,3,4'].join('\n'));
    const meta = join(dir, 'samples.csv');
    writeFileSync(meta, ['sample,pert_id', 's1,BRD-A', 's2,BRD-B'].join('\n'));
    const csvPlain = await importFiles(lab, { matrixPath: csv, sampleMetadataPath: meta });
    const csvTwin = await importFiles(lab, { matrixPath: await gzipTwin(csv), sampleMetadataPath: await gzipTwin(meta) });
    assert.equal(csvTwin.contentHash, csvPlain.contentHash);
  });

  it('refuses a truncated .gz with what to do, and other compressors as before', async () => {
    const datasetsBefore = lab.store.datasets.list().length;
    const whole = gzipSync(Buffer.from(`sample,g1\n${Array.from({ length: 5000 }, (_, i) => `s${i},${Math.sin(i)}`).join('\n')}`));
    const cut = join(dir, 'cut.csv.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(
      lab.imports.preview(await lab.imports.requestFromPaths({ matrixPath: cut })),
      /gzip stream ends early.*fetch the file again/,
    );
    const xz = join(dir, 'table.txt.xz');
    writeFileSync(xz, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]));
    await assert.rejects(lab.imports.preview(await lab.imports.requestFromPaths({ matrixPath: xz })), /xz-compressed; decompress it first/);
    assert.equal(lab.store.datasets.list().length, datasetsBefore);
  });
});

describe('the unpack cache', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-unpack-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves no entry when the unpacking process is killed, and the next unpack completes', async () => {
    // 400 MiB of zeros compress to ~400 KiB but take a while to write out.
    const gz = join(dir, 'big.gctx.gz');
    const zeros = Buffer.alloc(1024 * 1024);
    const gzip = createGzip({ level: 1 });
    const out = createWriteStream(gz);
    const done = pipeline(gzip, out);
    for (let i = 0; i < 400; i++) if (!gzip.write(zeros)) await new Promise((r) => gzip.once('drain', r));
    gzip.end();
    await done;
    const root = join(dir, 'cache');
    mkdirSync(root);
    const cache = new UnpackCache(root);
    const target = await cache.entryPath(gz);
    const script = `import { UnpackCache } from ${JSON.stringify(new URL('../../src-main/node/lab/import/unpack-cache.ts', import.meta.url).href)};
      await new UnpackCache(${JSON.stringify(root)}).unpack(${JSON.stringify(gz)});`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
    // Kill it once the temporary file is being written.
    const deadline = Date.now() + 60_000;
    while (!readdirSync(root).some((n) => n.endsWith('.partial'))) {
      assert.ok(Date.now() < deadline, 'the unpack never started');
      assert.equal(child.exitCode, null, 'the unpack finished before it could be killed');
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.equal(existsSync(target), false, 'no entry that looks whole');
    const removed = await cache.prune(new Set());
    assert.equal(removed.length, 1);
    assert.match(removed[0] as string, /\.partial$/);
    assert.deepEqual(readdirSync(root), []);
    const fresh = await cache.unpack(gz);
    assert.deepEqual(fresh, { path: target, reused: false });
    assert.deepEqual(await cache.unpack(gz), { path: target, reused: true });
  });

  it('refuses before starting when the disk has no room for the unpacked file', async () => {
    const gz = join(dir, 'ten-mib.gctx.gz');
    writeFileSync(gz, gzipSync(Buffer.alloc(10 * 1024 * 1024)));
    const root = join(dir, 'cache-full');
    const cache = new UnpackCache(root, { freeBytes: async () => 200 * 1024 * 1024 });
    await assert.rejects(
      cache.unpack(gz),
      /Not enough free disk space to unpack ten-mib\.gctx\.gz: it needs about 10\.0 MiB .* 200\.0 MiB are free/,
    );
    assert.equal(existsSync(root) ? readdirSync(root).length : 0, 0);
    const roomy = new UnpackCache(root, { freeBytes: async () => 1024 ** 4 });
    assert.equal((await roomy.unpack(gz)).reused, false);
  });
});
