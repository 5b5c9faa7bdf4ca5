// Files over the loopback carrier: uploads stream into the inbox (token required, size limits,
// cancel leaves nothing), imports name grants — a raw path, a path posing as a grant or a forged
// grant is refused — and allowed folders are browsed through the LabApi with the same checks.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeLab, inboxRoot, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { type RunningServer, startServer } from '../../src-main/node/server/server.js';
import { type FileGrant, FileSources, UPLOAD_PATH, UploadReply } from '../../src-main/shared/api/files.js';
import type { LabEvent } from '../../src-main/shared/api/protocol.js';
import { type Fixture, writeLincsFixture } from '../fixtures/lincs.js';

const MAX_UPLOAD = 1024 * 1024;

let dir: string;
let allowed: string;
let fixture: Fixture;
let service: LabService;
let server: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cellshift-files-server-'));
  allowed = join(dir, 'allowed');
  mkdirSync(join(allowed, 'lincs'), { recursive: true });
  fixture = await writeLincsFixture(join(allowed, 'lincs'));
  writeFileSync(join(dir, 'secret.txt'), 'sig_id\tpert_id\nSECRET\tX\n');
  symlinkSync(join(dir, 'secret.txt'), join(allowed, 'escape.txt'));
  service = await openLab({
    databasePath: join(dir, 'db', 'lab.db'),
    carrier: 'browser',
    seedDemo: false,
    allowedDirs: [allowed],
    uploads: { maxBytes: MAX_UPLOAD },
  });
  server = await startServer({ service, staticDir: join(dir, 'no-ui') });
});

after(async () => {
  await server?.close();
  if (service) await closeLab(service);
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: unknown;
}

function send(options: {
  method: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: server.port, method: options.method, path: options.path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8') || 'null') }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function upload(name: string, content: Buffer, headers: Record<string, string | number> = {}): Promise<Reply> {
  return send({
    method: 'PUT',
    path: `${UPLOAD_PATH}?name=${encodeURIComponent(name)}`,
    headers: {
      Authorization: `Bearer ${server.token}`,
      'Content-Type': 'application/octet-stream',
      'Content-Length': content.length,
      ...headers,
    },
    body: content,
  });
}

async function uploadGrant(path: string): Promise<FileGrant> {
  const reply = await upload(basename(path), readFileSync(path));
  const parsed = UploadReply.parse(reply.body);
  assert.ok(parsed.ok, JSON.stringify(reply.body));
  return parsed.result;
}

async function call(
  method: string,
  params: unknown,
): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string; details?: unknown } }> {
  const reply = await send({
    method: 'POST',
    path: '/api/call',
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: 1, method, params }),
  });
  return reply.body as { ok: boolean };
}

function inboxFiles(): string[] {
  const root = inboxRoot(service.store.path);
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe('uploads over the loopback carrier', () => {
  it('need the token, a byte count and a name', async () => {
    const content = Buffer.from('a,b\n1,2\n');
    assert.equal((await upload('x.csv', content, { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await upload('x.csv', content, { Origin: 'http://evil.example' })).status, 403);
    assert.equal((await upload('x.csv', content, { 'Content-Type': 'text/plain' })).status, 415);
    assert.equal((await upload('', content)).status, 400);
    const chunked = await send({
      method: 'PUT',
      path: `${UPLOAD_PATH}?name=x.csv`,
      headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
      body: content,
    });
    assert.equal(chunked.status, 411);
    assert.deepEqual(inboxFiles(), []);
  });

  it('refuse a file over the limit with 413 and keep nothing', async () => {
    const reply = await upload('huge.gctx', Buffer.alloc(MAX_UPLOAD + 1));
    assert.equal(reply.status, 413);
    assert.match(JSON.stringify(reply.body), /more than the upload limit of 1\.0 MiB/);
    assert.deepEqual(inboxFiles(), []);
  });

  it('leave nothing behind when the page cancels half-way', async () => {
    const size = 512 * 1024;
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: `${UPLOAD_PATH}?name=cancelled.gctx`,
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': size },
        agent: false,
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(size / 2), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    for (let i = 0; i < 50 && inboxFiles().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(inboxFiles(), [], 'the partial upload is deleted');
  });

  it('the sources say uploads are taken and which folders are allowed', async () => {
    const sources = FileSources.parse((await call('files.sources', {})).result);
    assert.deepEqual(sources.upload, { maxBytes: MAX_UPLOAD });
    assert.equal(sources.folders.length, 1);
    assert.equal(sources.folders[0]?.name, 'allowed');
  });
});

describe('imports name grants, never paths', () => {
  it('refuse a raw path, a path posing as a grant, and an unknown grant', async () => {
    const rawPath = await call('imports.preview', { request: { matrixPath: fixture.gctx } });
    assert.equal(rawPath.error?.code, 'invalid_params');
    assert.match(rawPath.error?.message ?? '', /Unrecognized key.*matrixPath|matrixPath/);
    const pathAsGrant = await call('imports.start', { request: { files: { matrix: fixture.gctx } } });
    assert.equal(pathAsGrant.error?.code, 'invalid_params');
    assert.match(pathAsGrant.error?.message ?? '', /params\.request\.files\.matrix: expected a file grant id/);
    const traversal = await call('imports.preview', { request: { files: { matrix: 'grant_../../../../etc/passwd' } } });
    assert.equal(traversal.error?.code, 'invalid_params');
    const forged = await call('imports.start', { request: { files: { matrix: `grant_${'x'.repeat(24)}` } } });
    assert.equal(forged.error?.code, 'not_found');
    assert.deepEqual(forged.error?.details, { reason: 'unknown_grant' });
    assert.equal(service.store.imports.list().length, 0, 'nothing was started');
  });

  it('uploads the L1000 files, previews, imports, and deletes the uploaded copies', async () => {
    const grants = await Promise.all([fixture.gctx, fixture.sigInfo, fixture.pertInfo, fixture.geneInfo].map(uploadGrant));
    assert.deepEqual(
      grants.map((g) => [g.name, g.format, g.suggestedRole]),
      [
        ['level5.gctx', 'gctx', 'matrix'],
        ['sig_info.txt', 'tsv', 'sig_info'],
        ['pert_info.txt', 'tsv', 'pert_info'],
        ['gene_info.txt', 'tsv', 'gene_info'],
      ],
    );
    assert.equal(grants[0]?.size, statSync(fixture.gctx).size);
    assert.equal(inboxFiles().length, 4);
    const [matrix, sigInfo, pertInfo, geneInfo] = grants.map((g) => g.grantId);
    const request = { files: { matrix, sigInfo, pertInfo, geneInfo }, environmentKey: 'drug+cell', name: 'uploaded' };
    const preview = await call('imports.preview', { request });
    assert.ok(preview.ok, JSON.stringify(preview.error));
    assert.equal((preview.result as { samples: number }).samples, 32);

    const finished = new Promise<LabEvent>((resolve) => {
      service.onEvent((event) => {
        if (event.type === 'job.finished' || event.type === 'job.failed') resolve(event);
      });
    });
    const started = await call('imports.start', { request });
    assert.ok(started.ok, JSON.stringify(started.error));
    const event = await finished;
    assert.equal(event.type, 'job.finished', JSON.stringify(event));
    const dataset = service.store.datasets.list().find((d) => d.name === 'uploaded');
    assert.equal(dataset?.nSamples, 32);
    assert.equal(dataset?.nEnvironments, 10);
    assert.match(
      dataset?.description ?? '',
      /^Imported from level5\.gctx \(uploaded\): 32 of 36 samples/,
      'named by the file, not its inbox copy',
    );
    assert.match(service.store.imports.list()[0]?.source ?? '', /^level5\.gctx \(uploaded\)$/);
    assert.deepEqual(inboxFiles(), [], 'uploaded copies are deleted once their dataset is stored');
    const again = await call('imports.preview', { request });
    assert.equal(again.error?.code, 'not_found', 'the grants of the deleted uploads ended with them');
  });
});

describe('allowed folders over the LabApi', () => {
  it('browse and grant inside, and refuse traversal, absolute paths and links leading out', async () => {
    const listing = await call('files.list', { folderId: 'folder_1', path: 'lincs' });
    assert.ok(listing.ok);
    assert.deepEqual(
      (listing.result as { entries: { name: string }[] }).entries.map((e) => e.name),
      ['gene_info.txt', 'level5.gctx', 'pert_info.txt', 'sig_info.txt'],
    );
    const root = await call('files.list', { folderId: 'folder_1' });
    assert.equal((root.result as { omitted: number }).omitted, 1, 'escape.txt is not listed');
    for (const [path, reason] of [
      ['../secret.txt', 'path_traversal'],
      ['lincs/../../secret.txt', 'path_traversal'],
      [join(dir, 'secret.txt'), 'absolute_path'],
      ['escape.txt', 'symlink_escape'],
    ]) {
      const reply = await call('files.grant', { folderId: 'folder_1', path });
      assert.equal(reply.error?.code, 'unauthorized', path);
      assert.deepEqual(reply.error?.details, { reason }, path);
    }
    const grant = await call('files.grant', { folderId: 'folder_1', path: 'lincs/level5.gctx' });
    assert.ok(grant.ok);
    const grantId = (grant.result as FileGrant).grantId;
    const preview = await call('imports.preview', { request: { files: { matrix: grantId }, filter: { landmarkOnly: false } } });
    assert.ok(preview.ok, JSON.stringify(preview.error));
    assert.equal((preview.result as { samplesInFile: number }).samplesInFile, 36);
    assert.deepEqual(await call('files.release', { grantId }), { id: 1, ok: true, result: { released: true } });
    assert.ok(statSync(fixture.gctx).isFile(), 'releasing a folder grant leaves the file alone');
  });
});
