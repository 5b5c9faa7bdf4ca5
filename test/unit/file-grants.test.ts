// The file-grant registry on a real file system: browsing inside allowed folders refuses
// absolute paths, "..", and symbolic links that lead outside, each with its own reason; grants
// are unguessable and checked again when used; uploads stream into an inbox that cleans up.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classifyTable } from '../../src-main/node/lab/files/classify.js';
import { FileGrants } from '../../src-main/node/lab/files/grants.js';
import { Inbox, sanitizeFileName } from '../../src-main/node/lab/files/inbox.js';
import { LabError } from '../../src-main/shared/api/errors.js';
import { FileGrantId } from '../../src-main/shared/api/files.js';

/** Asserts a LabError with this code and details.reason; returns its message. */
async function refusal(promise: Promise<unknown>, code: string, reason: string): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LabError, `expected a LabError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal((error.details as { reason?: string } | undefined)?.reason, reason, error.message);
    return error.message;
  }
  assert.fail(`expected a refusal (${code}/${reason})`);
}

async function* chunks(...parts: (string | Buffer)[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

const SECRET = 'outside secret';
const MATRIX_CSV = 'id,g1,g2,g3\ns1,1.5,2,-3\n';

describe('allowed folders', () => {
  let dir: string;
  let allowed: string;
  let grants: FileGrants;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-grants-'));
    allowed = join(dir, 'allowed');
    const outside = join(dir, 'outside');
    mkdirSync(join(allowed, 'data', 'deeper'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), SECRET);
    writeFileSync(join(allowed, 'data', 'sig_info.txt'), 'sig_id\tpert_id\tpert_type\nS1\tBRD-1\ttrt_cp\n');
    writeFileSync(join(allowed, 'data', 'matrix.csv'), MATRIX_CSV);
    writeFileSync(join(allowed, 'data', 'deeper', 'gene_info.txt'), 'pr_gene_id\tpr_gene_symbol\tpr_is_lm\n1\tTP53\t1\n');
    symlinkSync(join(allowed, 'data', 'matrix.csv'), join(allowed, 'link-inside.csv'));
    symlinkSync(join(outside, 'secret.txt'), join(allowed, 'link-outside.txt'));
    symlinkSync(outside, join(allowed, 'dir-outside'));
    symlinkSync(join(dir, 'nowhere'), join(allowed, 'dangling'));
    grants = await FileGrants.open({ allowedDirs: [allowed] });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists an allowed folder, leaving out links that lead outside it', async () => {
    const [folder] = grants.sources().folders;
    assert.equal(folder?.folderId, 'folder_1');
    const listing = await grants.listFolder('folder_1', '');
    assert.deepEqual(
      listing.entries.map((e) => `${e.kind}:${e.name}`),
      ['directory:data', 'file:link-inside.csv'],
    );
    assert.equal(listing.omitted, 3, 'link-outside.txt, dir-outside and the dangling link');
    const data = await grants.listFolder('folder_1', 'data/');
    assert.deepEqual(
      data.entries.map((e) => e.name),
      ['deeper', 'matrix.csv', 'sig_info.txt'],
    );
    assert.equal(data.path, 'data');
    assert.equal(data.entries.find((e) => e.name === 'matrix.csv')?.size, MATRIX_CSV.length);
  });

  it('grants files inside, with a guess at their role read from the content', async () => {
    const sig = await grants.grantInFolder('folder_1', 'data/sig_info.txt');
    assert.ok(FileGrantId.safeParse(sig.grantId).success);
    assert.equal(sig.source, 'folder');
    assert.equal(sig.format, 'tsv');
    assert.equal(sig.suggestedRole, 'sig_info');
    const matrix = await grants.grantInFolder('folder_1', './data//matrix.csv');
    assert.equal(matrix.suggestedRole, 'matrix');
    assert.equal((await grants.grantInFolder('folder_1', 'data/deeper/gene_info.txt')).suggestedRole, 'gene_info');
    const viaLink = await grants.grantInFolder('folder_1', 'link-inside.csv');
    assert.equal((await grants.resolve(viaLink.grantId)).path, join(allowed, 'data', 'matrix.csv'));
    assert.notEqual(viaLink.grantId, matrix.grantId, 'every grant is new');
  });

  it('refuses "..", absolute paths, links leading outside, and names what was wrong', async () => {
    assert.match(await refusal(grants.grantInFolder('folder_1', '../outside/secret.txt'), 'unauthorized', 'path_traversal'), /climbs out/);
    await refusal(grants.grantInFolder('folder_1', 'data/../../outside/secret.txt'), 'unauthorized', 'path_traversal');
    await refusal(grants.grantInFolder('folder_1', 'data\\..\\..\\outside\\secret.txt'), 'unauthorized', 'path_traversal');
    await refusal(grants.listFolder('folder_1', '..'), 'unauthorized', 'path_traversal');
    assert.match(
      await refusal(grants.grantInFolder('folder_1', join(dir, 'outside', 'secret.txt')), 'unauthorized', 'absolute_path'),
      /absolute/,
    );
    await refusal(grants.grantInFolder('folder_1', '/etc/passwd'), 'unauthorized', 'absolute_path');
    await refusal(grants.grantInFolder('folder_1', 'C:\\Windows\\win.ini'), 'unauthorized', 'absolute_path');
    await refusal(grants.grantInFolder('folder_1', '\\\\server\\share\\x'), 'unauthorized', 'absolute_path');
    assert.match(
      await refusal(grants.grantInFolder('folder_1', 'link-outside.txt'), 'unauthorized', 'symlink_escape'),
      /outside the allowed folder/,
    );
    await refusal(grants.grantInFolder('folder_1', 'dir-outside/secret.txt'), 'unauthorized', 'symlink_escape');
    await refusal(grants.listFolder('folder_1', 'dir-outside'), 'unauthorized', 'symlink_escape');
    await refusal(grants.grantInFolder('folder_1', 'data/\0/x'), 'invalid_params', 'invalid_path');
  });

  it('refuses what is not there or not the right kind, and unknown folders', async () => {
    await refusal(grants.grantInFolder('folder_1', 'data/nope.gctx'), 'not_found', 'missing');
    await refusal(grants.grantInFolder('folder_1', 'dangling'), 'not_found', 'missing');
    await refusal(grants.grantInFolder('folder_1', 'data'), 'unauthorized', 'not_a_file');
    await refusal(grants.listFolder('folder_1', 'data/matrix.csv'), 'unauthorized', 'not_a_directory');
    await refusal(grants.listFolder('folder_2', ''), 'not_found', 'unknown_folder');
  });

  it('refuses unknown and forged grant ids', async () => {
    const forged = `grant_${'A'.repeat(24)}`;
    assert.match(await refusal(grants.resolve(forged), 'not_found', 'unknown_grant'), /Choose the file again/);
    await refusal(grants.resolve('/etc/passwd'), 'not_found', 'unknown_grant');
    assert.equal(FileGrantId.safeParse('/etc/passwd').success, false, 'a path is not even a well-formed grant id');
  });

  it('checks a grant again when it is used: a file swapped for a link to outside is refused', async () => {
    const target = join(allowed, 'data', 'swap.tsv');
    writeFileSync(target, 'a\tb\n1\t2\n');
    const grant = await grants.grantInFolder('folder_1', 'data/swap.tsv');
    assert.equal((await grants.resolve(grant.grantId)).path, target);
    renameSync(target, `${target}.old`);
    symlinkSync(join(dir, 'outside', 'secret.txt'), target);
    await refusal(grants.resolve(grant.grantId), 'unauthorized', 'symlink_escape');
    rmSync(target);
    await refusal(grants.resolve(grant.grantId), 'not_found', 'missing');
  });

  it('rejects an --allow-dir that does not exist or is a file', async () => {
    await assert.rejects(FileGrants.open({ allowedDirs: [join(dir, 'missing')] }), /--allow-dir .*missing: no such folder/);
    await assert.rejects(FileGrants.open({ allowedDirs: [join(allowed, 'data', 'matrix.csv')] }), /not a folder/);
  });

  it('trusts paths chosen outside the renderer (dialog, command line), and nothing else', async () => {
    const grant = await grants.trust(join(dir, 'outside', 'secret.txt'), 'cli');
    assert.equal(grant.source, 'cli');
    assert.equal(readFileSync((await grants.resolve(grant.grantId)).path, 'utf8'), SECRET);
    assert.equal(grant.format, 'unknown', 'a trusted file is examined like any other (one column of text)');
    const named = await grants.trust(join(allowed, 'data', 'matrix.csv'), 'cli', 'sample_metadata');
    assert.deepEqual([named.format, named.suggestedRole], [null, 'sample_metadata'], 'the command line says what it is: not examined');
    await assert.rejects(grants.trust(join(dir, 'nope'), 'dialog'), /No such file/);
    await assert.rejects(grants.trust(allowed, 'dialog'), /Not a file/);
    await refusal(grants.beginUpload('x.csv', 3), 'unauthorized', 'no_uploads');
  });
});

describe('the upload inbox', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cellshift-inbox-'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('streams an upload to disk under its own name, grants it, and deletes it on release', async () => {
    const grants = await FileGrants.open({ inbox: { root: join(dir, 'a') } });
    const grant = await grants.receiveUpload('sig_info.txt', 28, chunks('sig_id\tpert_id\n', 'S1\tBRD-1\n', 'x\ty\n'));
    assert.equal(grant.source, 'upload');
    assert.equal(grant.name, 'sig_info.txt');
    assert.equal(grant.size, 28);
    assert.equal(grant.suggestedRole, 'sig_info');
    const { path } = await grants.resolve(grant.grantId);
    assert.ok(path.startsWith(join(dir, 'a')), path);
    assert.equal(readFileSync(path, 'utf8'), 'sig_id\tpert_id\nS1\tBRD-1\nx\ty\n');
    assert.equal(await grants.release(grant.grantId), true);
    assert.equal(existsSync(path), false, 'released upload is deleted');
    await refusal(grants.resolve(grant.grantId), 'not_found', 'unknown_grant');
    await grants.close();
    assert.deepEqual(readdirSync(join(dir, 'a')), [], 'close removes the process folder');
  });

  it('refuses uploads over the limit or larger than the free disk space, before writing', async () => {
    const inbox = new Inbox({ root: join(dir, 'b'), maxBytes: 100, reserveBytes: 10, freeBytes: async () => 50 });
    assert.match(await refusal(inbox.begin('big.gctx', 101), 'bad_input', 'too_large'), /upload limit of 100 bytes.*--allow-dir/);
    assert.match(await refusal(inbox.begin('big.gctx', 45), 'no_space', 'disk_full'), /Not enough disk space for "big\.gctx"/);
    const fits = await inbox.begin('ok.csv', 40);
    await fits.abort();
    assert.deepEqual(readdirSync(inbox.sessionDir), [], 'nothing left of refused or aborted uploads');
    await inbox.close();
  });

  it('discards an upload that is shorter or longer than announced, or cancelled', async () => {
    const inbox = new Inbox({ root: join(dir, 'c') });
    await assert.rejects(inbox.receive('short.csv', 10, chunks('abc')), /ended after 3 of 10 bytes/);
    await assert.rejects(inbox.receive('long.csv', 2, chunks('abc')), /longer than the 2 bytes announced/);
    async function* cancelled(): AsyncIterable<Uint8Array> {
      yield Buffer.alloc(1024);
      throw new Error('aborted');
    }
    await assert.rejects(inbox.receive('cancelled.gctx', 4096, cancelled()), /aborted/);
    assert.deepEqual(readdirSync(inbox.sessionDir), []);
    await inbox.close();
  });

  it('on start, removes what processes that are gone left behind, and keeps live ones', async () => {
    const root = join(dir, 'e');
    mkdirSync(join(root, '999999999-abcdef', 'x'), { recursive: true });
    writeFileSync(join(root, '999999999-abcdef', 'x', 'old.gctx'), 'left over');
    writeFileSync(join(root, 'stray.txt'), 'not a process folder');
    mkdirSync(join(root, `${process.ppid}-0a0b0c`));
    const inbox = new Inbox({ root });
    assert.equal(await inbox.sweep(), 2);
    assert.deepEqual(readdirSync(root), [`${process.ppid}-0a0b0c`], "a live process's folder stays");
  });

  it('keeps only a safe file name', () => {
    assert.equal(sanitizeFileName('../../etc/passwd'), 'passwd');
    assert.equal(sanitizeFileName('C:\\data\\level5.gctx'), 'level5.gctx');
    assert.equal(sanitizeFileName('..'), 'upload');
    assert.equal(sanitizeFileName('.hidden'), 'hidden');
    assert.equal(sanitizeFileName('a\u0000b<c>.csv'), 'a_b_c_.csv');
  });
});

describe('guessing what a table is', () => {
  it('reads LINCS tables from their columns, numbers as a matrix, names only as a tie-breaker', () => {
    assert.equal(classifyTable(['sig_id', 'pert_id'], ['a', 'b'], 'x.txt').suggestedRole, 'sig_info');
    assert.equal(classifyTable(['pert_id', 'pert_iname', 'canonical_smiles'], ['a', 'b', 'C'], 'x.txt').suggestedRole, 'pert_info');
    assert.equal(classifyTable(['pr_gene_id', 'pr_gene_symbol'], ['1', 'TP53'], 'x.txt').suggestedRole, 'gene_info');
    assert.equal(classifyTable(['id', 'g1', 'g2'], ['s1', '0.5', '-1e-3'], 'x.csv').suggestedRole, 'matrix');
    assert.equal(classifyTable(['cell', 'drug'], ['A375', 'aspirin'], 'x.csv').suggestedRole, 'sample_metadata');
    assert.equal(classifyTable(['a', 'b'], ['x', 'y'], 'GSE_pert_info.txt').suggestedRole, 'pert_info');
    assert.equal(classifyTable(['only'], ['x'], 'x.txt').suggestedRole, null);
  });
});
