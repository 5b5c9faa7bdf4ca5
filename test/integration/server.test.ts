// The loopback carrier against a real LabService on a temporary database: authentication,
// Host/Origin guards (DNS rebinding), request limits, the event WebSocket and static files.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import { DEMO_NAME, type LabService } from '../../src-main/node/lab/service.js';
import { MAX_REQUEST_BYTES, type RunningServer, startServer } from '../../src-main/node/server/server.js';
import { latestSchemaVersion } from '../../src-main/node/store/migrations.js';
import { type LabEvent, parseEvent } from '../../src-main/shared/api/protocol.js';

const INDEX_HTML = '<!doctype html><title>CellShift test page</title><p id="marker">served-from-static-dir</p>';
const SECRET = 'TOP-SECRET-OUTSIDE-STATIC-DIR';

let dir = '';
let databasePath = '';
let service: LabService;
let server: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cellshift-server-'));
  databasePath = join(dir, 'lab.db');
  const staticDir = join(dir, 'public');
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), INDEX_HTML);
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  service = await openLab({ databasePath, carrier: 'browser' });
  server = await startServer({ service, staticDir });
});

after(async () => {
  await server?.close();
  if (service) await closeLab(service);
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request through node:http, which (unlike fetch) lets us set any Host header and raw path. */
function raw(options: {
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', ...extra };
}

/** POST /api/call with the right token through fetch; returns status and parsed body. */
async function call(body: unknown, headers: Record<string, string> = authHeaders()): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${server.origin}/api/call`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

async function okResult(method: string, params?: unknown): Promise<unknown> {
  const { status, json } = await call({ id: `t-${method}`, method, ...(params === undefined ? {} : { params }) });
  assert.equal(status, 200);
  const envelope = json as { id: unknown; ok: boolean; result?: unknown; error?: unknown };
  assert.equal(envelope.ok, true, `ok envelope for ${method}: ${JSON.stringify(json)}`);
  assert.equal(envelope.id, `t-${method}`);
  return envelope.result;
}

function errorOf(json: unknown): { id: unknown; code: string; message: string } {
  const envelope = json as { id: unknown; ok: boolean; error: { code: string; message: string } };
  assert.equal(envelope.ok, false, `expected an error envelope, got ${JSON.stringify(json)}`);
  return { id: envelope.id, code: envelope.error.code, message: envelope.error.message };
}

/** Tries a TCP connection; resolves true when it is accepted. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

type Outcome = { opened: true; socket: WebSocket } | { opened: false; status: number | null; reason: string };

function openEvents(protocols: string[], options: WebSocket.ClientOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, protocols, options);
    socket.once('open', () => resolve({ opened: true, socket }));
    socket.once('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode ?? null, reason: 'unexpected-response' });
      socket.terminate();
    });
    socket.once('error', (error) => resolve({ opened: false, status: null, reason: error.message }));
  });
}

function tokenProtocols(token = server.token): string[] {
  return ['cellshift.v1', `token.${token}`];
}

// ---------------------------------------------------------------------------------------------
// binding and authentication

describe('binding', () => {
  test('listens on 127.0.0.1 only', async () => {
    assert.match(server.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.origin, `http://127.0.0.1:${server.port}`);
    assert.ok(server.url.startsWith(`${server.origin}/?token=`));
    assert.equal(new URL(server.url).searchParams.get('token'), server.token);
    assert.equal(await canConnect('127.0.0.1', server.port), true);
    // Other loopback addresses (and so every other interface) are not bound.
    assert.equal(await canConnect('127.0.0.2', server.port), false, '127.0.0.2 must be refused');
    assert.equal(await canConnect('::1', server.port), false, '::1 must be refused');
  });
});

describe('POST /api/call authentication', () => {
  test('without a token: 401', async () => {
    const { status, json } = await call({ id: 1, method: 'app.info' }, { 'content-type': 'application/json' });
    assert.equal(status, 401);
    assert.equal(errorOf(json).code, 'unauthorized');
  });

  test('with a wrong token: 401', async () => {
    for (const authorization of [`Bearer ${server.token}x`, 'Bearer nope', 'Bearer ', server.token, `Basic ${server.token}`]) {
      const { status, json } = await call({ id: 1, method: 'app.info' }, { authorization, 'content-type': 'application/json' });
      assert.equal(status, 401, `authorization "${authorization}"`);
      assert.equal(errorOf(json).code, 'unauthorized');
    }
  });

  test('the token in the query string alone is not enough: 401', async () => {
    const response = await fetch(`${server.origin}/api/call?token=${server.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1, method: 'app.info' }),
    });
    assert.equal(response.status, 401);
  });

  test('with the right token: app.info', async () => {
    const info = (await okResult('app.info')) as Record<string, unknown>;
    assert.equal(info.name, 'CellShift');
    assert.equal(info.carrier, 'browser');
    assert.equal(info.databasePath, databasePath);
    assert.equal(info.schemaVersion, latestSchemaVersion);
    assert.match(String(info.chemistryEngine), /RDKit/);
  });

  test('with the right token: datasets.list has the demo dataset, the drug panel with structures', async () => {
    const list = (await okResult('datasets.list')) as {
      id: string;
      name: string;
      nSamples: number;
      nGenes: number;
      nEnvironments: number;
    }[];
    assert.equal(list.length, 1);
    const demo = list[0];
    assert.ok(demo);
    assert.equal(demo.name, DEMO_NAME);
    const environments = (await okResult('environments.list', { datasetId: demo.id })) as {
      nSamples: number;
      isControl: boolean;
      structure: string | null;
    }[];
    assert.equal(environments.length, demo.nEnvironments);
    assert.equal(
      environments.reduce((sum, e) => sum + e.nSamples, 0),
      demo.nSamples,
    );
    const drugs = environments.filter((e) => !e.isControl);
    assert.ok(drugs.length > 0 && drugs.every((e) => e.structure === 'parsed'), 'every drug environment has a structure');
  });
});

// ---------------------------------------------------------------------------------------------
// Host and Origin guards

describe('Host and Origin guards', () => {
  const body = JSON.stringify({ id: 1, method: 'app.info' });

  test('a foreign Host header is 403 even with the token (DNS rebinding)', async () => {
    for (const host of [
      `evil.example:${server.port}`,
      'evil.example',
      `127.0.0.1:${server.port + 1}`,
      `127.0.0.1.evil.example:${server.port}`,
    ]) {
      const response = await raw({ method: 'POST', path: '/api/call', headers: { ...authHeaders(), host }, body });
      assert.equal(response.status, 403, `Host ${host}`);
      assert.equal(errorOf(JSON.parse(response.body)).code, 'unauthorized');
    }
    // Static files are guarded too: a rebinding page must not even read the UI.
    const page = await raw({ path: '/', headers: { host: `evil.example:${server.port}` } });
    assert.equal(page.status, 403);
    assert.ok(!page.body.includes('served-from-static-dir'));
  });

  test('loopback Host names on our port are accepted', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LOCALHOST:${server.port}`]) {
      const response = await raw({ method: 'POST', path: '/api/call', headers: { ...authHeaders(), host }, body });
      assert.equal(response.status, 200, `Host ${host}`);
      assert.equal((JSON.parse(response.body) as { ok: boolean }).ok, true);
    }
  });

  test('a foreign Origin is 403 even with the token', async () => {
    for (const origin of ['http://evil.example', 'null', `http://evil.example:${server.port}`, `https://127.0.0.1:${server.port}`]) {
      const response = await raw({ method: 'POST', path: '/api/call', headers: { ...authHeaders(), origin }, body });
      assert.equal(response.status, 403, `Origin ${origin}`);
      assert.equal(errorOf(JSON.parse(response.body)).code, 'unauthorized');
    }
  });

  test('our own Origin is accepted', async () => {
    const response = await raw({ method: 'POST', path: '/api/call', headers: { ...authHeaders(), origin: server.origin }, body });
    assert.equal(response.status, 200);
  });
});

// ---------------------------------------------------------------------------------------------
// malformed and oversized requests

describe('request handling', () => {
  test('malformed JSON: 400 invalid_message', async () => {
    const response = await raw({ method: 'POST', path: '/api/call', headers: authHeaders(), body: '{"id": 1, "method": ' });
    assert.equal(response.status, 400);
    const error = errorOf(JSON.parse(response.body));
    assert.equal(error.code, 'invalid_message');
    assert.match(error.message, /not valid JSON/);
  });

  test('non-JSON content type: 415', async () => {
    const body = JSON.stringify({ id: 1, method: 'app.info' });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await raw({ method: 'POST', path: '/api/call', headers: authHeaders({ 'content-type': contentType }), body });
      assert.equal(response.status, 415, contentType);
      assert.equal(errorOf(JSON.parse(response.body)).code, 'invalid_message');
    }
    const none = await raw({ method: 'POST', path: '/api/call', headers: { authorization: `Bearer ${server.token}` }, body });
    assert.equal(none.status, 415);
  });

  test('a body of exactly the limit is still accepted', async () => {
    const json = JSON.stringify({ id: 'big', method: 'app.info' });
    const body = json + ' '.repeat(MAX_REQUEST_BYTES - json.length);
    assert.equal(Buffer.byteLength(body), MAX_REQUEST_BYTES);
    const response = await raw({ method: 'POST', path: '/api/call', headers: authHeaders(), body });
    assert.equal(response.status, 200);
    assert.equal((JSON.parse(response.body) as { ok: boolean }).ok, true);
  });

  test('a body over 8 MiB is not dispatched and the server keeps serving', async () => {
    const before = service.store.datasets.list().length;
    // A valid request that would create a dataset, padded past the limit.
    const json = JSON.stringify({ id: 'huge', method: 'datasets.createSynthetic', params: { preset: 'linear-independent-2' } });
    const body = json + ' '.repeat(MAX_REQUEST_BYTES + 1 - json.length);
    await raw({ method: 'POST', path: '/api/call', headers: authHeaders(), body }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(service.store.datasets.list().length, before);
    assert.equal(((await okResult('app.info')) as { name: string }).name, 'CellShift');
  });

  test('a body over 8 MiB is answered with 413', async () => {
    const body = Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x20);
    for (const headers of [authHeaders({ 'content-length': String(body.length) }), authHeaders()]) {
      const response = await raw({ method: 'POST', path: '/api/call', headers, body });
      assert.equal(response.status, 413);
      assert.equal(errorOf(JSON.parse(response.body)).code, 'invalid_message');
    }
  });

  test('malformed envelope: 200 with ok:false invalid_message', async () => {
    for (const envelope of [{ method: 'app.info' }, { id: 1, method: 'app.info', extra: true }, [1, 2, 3], 'app.info', null]) {
      const { status, json } = await call(envelope);
      assert.equal(status, 200, JSON.stringify(envelope));
      assert.equal(errorOf(json).code, 'invalid_message');
    }
    const { json } = await call({ id: 77, method: 'app.info', extra: true });
    assert.equal(errorOf(json).id, 77);
  });

  test('unknown method: unknown_method with the request id', async () => {
    const { status, json } = await call({ id: 'u1', method: 'datasets.explode', params: {} });
    assert.equal(status, 200);
    const error = errorOf(json);
    assert.deepEqual([error.id, error.code], ['u1', 'unknown_method']);
    assert.match(error.message, /datasets\.explode/);
  });

  test('bad params: invalid_params naming the field', async () => {
    const { json } = await call({ id: 'p1', method: 'datasets.get', params: { id: 5 } });
    const error = errorOf(json);
    assert.deepEqual([error.id, error.code], ['p1', 'invalid_params']);
    assert.match(error.message, /params\.id/);
    const seed = errorOf((await call({ id: 'p2', method: 'datasets.createSynthetic', params: { preset: 'demo', seed: -3 } })).json);
    assert.equal(seed.code, 'invalid_params');
    assert.match(seed.message, /params\.seed/);
  });

  test('service errors travel with their code: not_found', async () => {
    const { json } = await call({ id: 'n1', method: 'datasets.get', params: { id: 'ds_missing' } });
    const error = errorOf(json);
    assert.deepEqual([error.id, error.code], ['n1', 'not_found']);
    assert.match(error.message, /ds_missing/);
  });

  test('other /api paths and methods are not callable', async () => {
    const get = await raw({ path: '/api/call', headers: authHeaders() });
    assert.equal(get.status, 404);
    const other = await raw({ method: 'POST', path: '/api/other', headers: authHeaders(), body: '{}' });
    assert.equal(other.status, 404);
    // ... and without the token, even their existence is not revealed.
    assert.equal((await raw({ path: '/api/other' })).status, 401);
  });
});

// ---------------------------------------------------------------------------------------------
// events

describe('WebSocket /api/events', () => {
  test('without the token protocol: rejected', async () => {
    const none = await openEvents([]);
    assert.equal(none.opened, false);
    const onlyEvents = await openEvents(['cellshift.v1']);
    assert.equal(onlyEvents.opened, false);
    if (!onlyEvents.opened) assert.equal(onlyEvents.status, 403);
    // The token alone, without the events protocol, is not enough either.
    const onlyToken = await openEvents([`token.${server.token}`]);
    assert.equal(onlyToken.opened, false);
  });

  test('with a wrong token: rejected', async () => {
    const outcome = await openEvents(tokenProtocols(`${server.token}x`));
    assert.equal(outcome.opened, false);
    if (!outcome.opened) assert.equal(outcome.status, 403);
  });

  test('with a foreign Origin or Host: rejected even with the token', async () => {
    const origin = await openEvents(tokenProtocols(), { origin: 'http://evil.example' });
    assert.equal(origin.opened, false);
    if (!origin.opened) assert.equal(origin.status, 403);
    const host = await openEvents(tokenProtocols(), { headers: { host: `evil.example:${server.port}` } });
    assert.equal(host.opened, false);
  });

  test('on another path: rejected', async () => {
    const outcome = await new Promise<boolean>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/call`, tokenProtocols());
      socket.once('open', () => {
        socket.terminate();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    assert.equal(outcome, false);
  });

  test('with the right token: connected, and createSynthetic streams progress, finished and datasets.changed', async () => {
    const outcome = await openEvents(tokenProtocols(), { origin: server.origin });
    assert.ok(outcome.opened, `connected (${outcome.opened ? '' : outcome.reason})`);
    const socket = outcome.socket;
    try {
      assert.equal(socket.protocol, 'cellshift.v1');
      const events: LabEvent[] = [];
      const invalid: unknown[] = [];
      let resolveFinished: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => {
        resolveFinished = resolve;
      });
      socket.on('message', (data) => {
        try {
          const event = parseEvent(JSON.parse(String(data)));
          events.push(event);
          if (event.type === 'datasets.changed' || event.type === 'job.finished') {
            const haveFinished = events.some((e) => e.type === 'job.finished');
            const haveChanged = events.some((e) => e.type === 'datasets.changed');
            if (haveFinished && haveChanged) resolveFinished();
          }
        } catch (error) {
          invalid.push(error);
        }
      });

      const started = (await okResult('datasets.createSynthetic', { preset: 'linear-independent-2' })) as { jobId: string; kind: string };
      assert.equal(started.kind, 'synthetic');
      assert.match(started.jobId, /^job_/);

      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(events)}`)), 10_000).unref(),
      );
      await Promise.race([finished, timeout]);
      assert.deepEqual(invalid, [], 'every event matches the contract');

      const progress = events.filter((e) => e.type === 'job.progress');
      assert.ok(progress.length >= 2, `several progress events (${progress.length})`);
      for (const p of progress) assert.deepEqual([p.jobId, p.kind], [started.jobId, 'synthetic']);
      const fractions = progress.map((p) => p.fraction ?? 0);
      assert.deepEqual(
        fractions,
        [...fractions].sort((a, b) => a - b),
        'progress never goes backwards',
      );
      assert.equal(fractions.at(-1), 1);

      const done = events.find((e) => e.type === 'job.finished');
      assert.ok(done && done.type === 'job.finished');
      assert.equal(done.jobId, started.jobId);
      const result = done.result as { id: string; nSamples: number; nGenes: number };
      assert.deepEqual([result.nSamples, result.nGenes], [1000, 10]);
      assert.ok(!events.some((e) => e.type === 'job.failed'));

      const changed = events.find((e) => e.type === 'datasets.changed');
      assert.ok(changed && changed.type === 'datasets.changed');
      assert.ok(changed.datasets.some((d) => d.id === result.id && d.nSamples === 1000));
      // Progress precedes completion.
      assert.ok(events.indexOf(done) > events.lastIndexOf(progress.at(-1) as LabEvent));

      const list = (await okResult('datasets.list')) as { id: string }[];
      assert.ok(list.some((d) => d.id === result.id));
    } finally {
      socket.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// static files

describe('static files', () => {
  test('index.html is served with a Content-Security-Policy and hardening headers', async () => {
    for (const path of ['/', '/index.html']) {
      const response = await raw({ path });
      assert.equal(response.status, 200, path);
      assert.equal(response.body, INDEX_HTML);
      const csp = String(response.headers['content-security-policy'] ?? '');
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /object-src 'none'/);
      // The page must be allowed to open the event socket, and the policy must stay parseable.
      assert.match(csp, new RegExp(`connect-src [^;]*ws://127\\.0\\.0\\.1:${server.port}(\\s|;|$)`));
      assert.ok(!csp.includes('['), `no IPv6 literal in the CSP: ${csp}`);
      assert.ok(!csp.includes("'unsafe-eval'") || csp.includes("'wasm-unsafe-eval'"));
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['x-frame-options'], 'DENY');
    }
  });

  test('only GET and HEAD are allowed outside /api', async () => {
    assert.equal((await raw({ method: 'POST', path: '/', headers: { 'content-type': 'text/plain' }, body: 'x' })).status, 405);
    const head = await raw({ method: 'HEAD', path: '/' });
    assert.equal(head.status, 200);
  });

  test('path traversal does not escape the static directory', async () => {
    const attempts = [
      '/../../etc/passwd',
      '/../../../../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/..%5csecret.txt',
      '/public/../secret.txt',
      '/.%2e/secret.txt',
      '/%252e%252e/secret.txt',
    ];
    for (const path of attempts) {
      const response = await raw({ path });
      assert.ok(!response.body.includes('root:x:0:0'), `${path} leaked /etc/passwd`);
      assert.ok(!response.body.includes(SECRET), `${path} leaked a file outside the static directory`);
      assert.ok(
        response.status === 404 || (response.status === 200 && response.body === INDEX_HTML),
        `${path}: ${response.status} ${response.body.slice(0, 80)}`,
      );
    }
  });
});
