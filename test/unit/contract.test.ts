// The LabApi contract: request validation (parseRequest), the server-side dispatcher that
// turns every failure into a specific error envelope, and the typed client over a fake carrier.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createDispatcher, createJsonDispatcher, joinParts } from '../../src-main/node/lab/dispatch.js';
import { SerializedResult } from '../../src-main/node/lab/serialized-result.js';
import type { Carrier } from '../../src-main/shared/api/client.js';
import { LabClient } from '../../src-main/shared/api/client.js';
import type { AppInfo, DatasetSummary } from '../../src-main/shared/api/domain.js';
import { type ErrorCode, LabError } from '../../src-main/shared/api/errors.js';
import { type LabHandlers, methodNames } from '../../src-main/shared/api/methods.js';
import { type LabEvent, parseRequest, type RequestEnvelope, type ResponseEnvelope } from '../../src-main/shared/api/protocol.js';

// ---------------------------------------------------------------------------------------------
// helpers

/** Asserts that fn throws a LabError with the given code whose message matches every pattern. */
function assertLabError(fn: () => unknown, code: ErrorCode, ...patterns: (string | RegExp)[]): LabError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof LabError, `expected a LabError, got ${String(caught)}`);
  assert.equal(caught.code, code, `code of "${caught.message}"`);
  for (const pattern of patterns) {
    if (typeof pattern === 'string') assert.ok(caught.message.includes(pattern), `"${caught.message}" should mention ${pattern}`);
    else assert.match(caught.message, pattern);
  }
  return caught;
}

async function assertRejectsLabError(promise: Promise<unknown>, code: ErrorCode, ...patterns: (string | RegExp)[]): Promise<LabError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof LabError, `expected a LabError rejection, got ${String(caught)}`);
  assert.equal(caught.code, code, `code of "${caught.message}"`);
  for (const pattern of patterns) {
    if (typeof pattern === 'string') assert.ok(caught.message.includes(pattern), `"${caught.message}" should mention ${pattern}`);
    else assert.match(caught.message, pattern);
  }
  return caught;
}

// Typed, so a field the contract adds fails to compile here rather than at run time.
const appInfo: AppInfo = {
  name: 'CellShift',
  version: '0.1.0',
  carrier: 'cli',
  databasePath: '/tmp/x.db',
  schemaVersion: 1,
  platform: 'linux-x64',
  chemistryEngine: 'native RDKit 2022.09.3 (cellshift_rdkit addon)',
};

const datasetSummary: DatasetSummary = {
  id: 'ds_1',
  name: 'One',
  source: 'synthetic',
  description: '',
  createdAt: '2026-01-01T00:00:00.000Z',
  nSamples: 3,
  nGenes: 2,
  nEnvironments: 1,
  expressionBytes: 24,
  metadataColumns: [{ name: 'cell', kind: 'categorical', distinct: 1, missing: 0, examples: ['A'] }],
  contentHash: 'abc',
};

/** Handlers for every method that fail loudly unless a test overrides them. */
function handlers(overrides: Partial<Record<string, (params: never) => unknown>>): LabHandlers {
  const all: Record<string, (params: unknown) => unknown> = {};
  for (const name of methodNames) {
    all[name] = () => {
      throw new Error(`handler ${name} should not have been called`);
    };
  }
  return { ...all, ...overrides } as unknown as LabHandlers;
}

function errorOf(envelope: ResponseEnvelope): { id: ResponseEnvelope['id']; code: string; message: string } {
  assert.equal(envelope.ok, false, `expected an error envelope, got ${JSON.stringify(envelope)}`);
  if (envelope.ok) throw new Error('unreachable');
  return { id: envelope.id, code: envelope.error.code, message: envelope.error.message };
}

class FakeCarrier implements Carrier {
  readonly sent: RequestEnvelope[] = [];
  readonly listeners = new Set<(raw: unknown) => void>();
  reply: (request: RequestEnvelope) => unknown = (request) => ({ id: request.id, ok: true, result: appInfo });

  async send(request: RequestEnvelope): Promise<unknown> {
    this.sent.push(request);
    return this.reply(request);
  }

  subscribe(listener: (raw: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  push(raw: unknown): void {
    for (const listener of this.listeners) listener(raw);
  }
}

// ---------------------------------------------------------------------------------------------
// parseRequest

describe('parseRequest', () => {
  test('rejects non-objects as invalid_message', () => {
    for (const raw of ['app.info', 42, null, undefined, [], true]) {
      assertLabError(() => parseRequest(raw), 'invalid_message', 'Malformed request', /expected object/);
    }
  });

  test('rejects a missing or malformed id, naming the field', () => {
    assertLabError(() => parseRequest({ method: 'app.info' }), 'invalid_message', /\bid\b/);
    assertLabError(() => parseRequest({ id: 1.5, method: 'app.info' }), 'invalid_message', /\bid\b/);
    assertLabError(() => parseRequest({ id: 'x'.repeat(65), method: 'app.info' }), 'invalid_message', /\bid\b/);
    assertLabError(() => parseRequest({ id: { nested: 1 }, method: 'app.info' }), 'invalid_message', /\bid\b/);
  });

  test('rejects a missing method as invalid_message naming the field', () => {
    assertLabError(() => parseRequest({ id: 1 }), 'invalid_message', /\bmethod\b/);
    assertLabError(() => parseRequest({ id: 1, method: 7 }), 'invalid_message', /\bmethod\b/);
  });

  test('rejects extra envelope keys, naming the key', () => {
    assertLabError(() => parseRequest({ id: 1, method: 'app.info', params: {}, token: 's3cret' }), 'invalid_message', '"token"');
  });

  test('rejects unknown methods, including names inherited from Object.prototype', () => {
    for (const method of ['datasets.explode', 'toString', 'constructor', '__proto__', 'hasOwnProperty', '']) {
      const error = assertLabError(() => parseRequest({ id: 9, method }), 'unknown_method', `"${method}"`);
      assert.deepEqual(error.details, { id: 9 });
    }
  });

  test('rejects params of the wrong type, naming params.<field>', () => {
    const error = assertLabError(
      () => parseRequest({ id: 3, method: 'datasets.get', params: { id: 5 } }),
      'invalid_params',
      'params.id',
      'datasets.get',
    );
    const details = error.details as { id: unknown; issues: { path: string[] }[] };
    assert.equal(details.id, 3);
    assert.deepEqual(
      details.issues.map((i) => i.path),
      [['id']],
    );
    assertLabError(() => parseRequest({ id: 3, method: 'datasets.get', params: { id: '' } }), 'invalid_params', 'params.id');
    assertLabError(() => parseRequest({ id: 3, method: 'datasets.get', params: 'ds_1' }), 'invalid_params', /params: .*expected object/);
    assertLabError(
      () => parseRequest({ id: 3, method: 'datasets.rename', params: { id: 'ds_1', name: '   ' } }),
      'invalid_params',
      'params.name',
    );
  });

  test('rejects missing required params, naming them', () => {
    assertLabError(() => parseRequest({ id: 1, method: 'datasets.get' }), 'invalid_params', 'params.id');
    assertLabError(() => parseRequest({ id: 1, method: 'datasets.createSynthetic', params: {} }), 'invalid_params', 'params.preset');
  });

  test('rejects unknown extra param keys (strict objects), naming the key', () => {
    assertLabError(() => parseRequest({ id: 1, method: 'datasets.get', params: { id: 'ds_1', force: true } }), 'invalid_params', '"force"');
    assertLabError(() => parseRequest({ id: 1, method: 'app.info', params: { verbose: true } }), 'invalid_params', '"verbose"');
    assertLabError(
      () => parseRequest({ id: 1, method: 'datasets.createSynthetic', params: { preset: 'demo', nSamples: 10 } }),
      'invalid_params',
      '"nSamples"',
    );
  });

  test('createSynthetic: unknown preset and bad seeds are invalid_params naming the field', () => {
    const preset = assertLabError(
      () => parseRequest({ id: 1, method: 'datasets.createSynthetic', params: { preset: 'bogus' } }),
      'invalid_params',
      'params.preset',
    );
    // The message tells the user what would have been accepted.
    assert.match(preset.message, /linear-independent-2/);
    assertLabError(
      () => parseRequest({ id: 1, method: 'datasets.createSynthetic', params: { preset: 'demo', seed: -1 } }),
      'invalid_params',
      'params.seed',
    );
    assertLabError(
      () => parseRequest({ id: 1, method: 'datasets.createSynthetic', params: { preset: 'demo', seed: 1.5 } }),
      'invalid_params',
      'params.seed',
    );
    assertLabError(
      () => parseRequest({ id: 1, method: 'datasets.createSynthetic', params: { preset: 'demo', seed: 2 ** 31 } }),
      'invalid_params',
      'params.seed',
    );
    assertLabError(
      () => parseRequest({ id: 1, method: 'datasets.createSynthetic', params: { preset: 'demo', seed: '3' } }),
      'invalid_params',
      'params.seed',
    );
  });

  test('accepts valid requests and applies defaults', () => {
    const synthetic = parseRequest({ id: 'req-1', method: 'datasets.createSynthetic', params: { preset: 'linear-independent-2' } });
    assert.deepEqual(synthetic, { id: 'req-1', method: 'datasets.createSynthetic', params: { preset: 'linear-independent-2', seed: 0 } });

    const seeded = parseRequest({
      id: 2,
      method: 'datasets.createSynthetic',
      params: { preset: 'demo', seed: 2 ** 31 - 1, name: '  Mine  ' },
    });
    assert.deepEqual(seeded.params, { preset: 'demo', seed: 2 ** 31 - 1, name: 'Mine' });

    // No params at all is the same as {} for methods without parameters.
    assert.deepEqual(parseRequest({ id: 0, method: 'app.info' }), { id: 0, method: 'app.info', params: {} });
    assert.deepEqual(parseRequest({ id: 4, method: 'runs.list', params: {} }).params, {});
    assert.deepEqual(parseRequest({ id: 5, method: 'datasets.get', params: { id: 'ds_1' } }).params, { id: 'ds_1' });
  });
});

// ---------------------------------------------------------------------------------------------
// createDispatcher

describe('createDispatcher', () => {
  test('returns ok envelopes carrying the validated result', async () => {
    const seen: unknown[] = [];
    const dispatch = createDispatcher(
      handlers({
        'app.info': () => appInfo,
        'datasets.createSynthetic': (params: unknown) => {
          seen.push(params);
          return { jobId: 'job_1', kind: 'synthetic' };
        },
      }),
      () => assert.fail('no internal error expected'),
    );
    assert.deepEqual(await dispatch({ id: 7, method: 'app.info' }), { id: 7, ok: true, result: appInfo });
    const created = await dispatch({ id: 'x', method: 'datasets.createSynthetic', params: { preset: 'demo' } });
    assert.deepEqual(created, { id: 'x', ok: true, result: { jobId: 'job_1', kind: 'synthetic' } });
    // The handler received params after validation (default seed applied).
    assert.deepEqual(seen, [{ preset: 'demo', seed: 0 }]);
  });

  test('awaits async handlers', async () => {
    const dispatch = createDispatcher(handlers({ 'datasets.list': async () => [datasetSummary] }));
    assert.deepEqual(await dispatch({ id: 1, method: 'datasets.list' }), { id: 1, ok: true, result: [datasetSummary] });
  });

  test('a wrong-shaped result becomes invalid_result and is reported as internal', async () => {
    const reported: unknown[] = [];
    const dispatch = createDispatcher(
      handlers({ 'app.info': () => ({ ...appInfo, schemaVersion: 'one' }), 'datasets.list': () => [{ id: 'ds_1' }] }),
      (error) => reported.push(error),
    );
    const info = errorOf(await dispatch({ id: 11, method: 'app.info' }));
    assert.equal(info.code, 'invalid_result');
    assert.equal(info.id, 11);
    assert.match(info.message, /result\.schemaVersion/);
    const list = errorOf(await dispatch({ id: 12, method: 'datasets.list' }));
    assert.equal(list.code, 'invalid_result');
    assert.match(list.message, /result\.0\.name/);
    assert.equal(reported.length, 2);
  });

  test('a thrown plain Error becomes internal, keeps the id, and is reported', async () => {
    const reported: unknown[] = [];
    const boom = new Error('disk on fire');
    const dispatch = createDispatcher(
      handlers({
        'datasets.get': () => {
          throw boom;
        },
        'datasets.list': async () => {
          throw 'a string';
        },
      }),
      (error) => reported.push(error),
    );
    const get = errorOf(await dispatch({ id: 'g', method: 'datasets.get', params: { id: 'ds_1' } }));
    assert.deepEqual([get.id, get.code], ['g', 'internal']);
    assert.match(get.message, /disk on fire/);
    const list = errorOf(await dispatch({ id: 'l', method: 'datasets.list' }));
    assert.deepEqual([list.id, list.code], ['l', 'internal']);
    assert.match(list.message, /a string/);
    assert.deepEqual(reported, [boom, 'a string']);
  });

  test('a LabError thrown by a handler keeps its own code, message and details', async () => {
    const reported: unknown[] = [];
    const dispatch = createDispatcher(
      handlers({
        'datasets.delete': ({ id }: { id: string }) => {
          throw new LabError('conflict', `Dataset "${id}" has runs`, { runs: 2 });
        },
        'datasets.get': ({ id }: { id: string }) => {
          throw new LabError('not_found', `No dataset with id "${id}"`);
        },
      }),
      (error) => reported.push(error),
    );
    const deleted = await dispatch({ id: 5, method: 'datasets.delete', params: { id: 'ds_9' } });
    assert.deepEqual(deleted, { id: 5, ok: false, error: { code: 'conflict', message: 'Dataset "ds_9" has runs', details: { runs: 2 } } });
    const got = errorOf(await dispatch({ id: 6, method: 'datasets.get', params: { id: 'ds_9' } }));
    assert.deepEqual(got, { id: 6, code: 'not_found', message: 'No dataset with id "ds_9"' });
    // Expected user-facing errors are not internal errors.
    assert.equal(reported.length, 0);
  });

  test('keeps the request id in error envelopes for validation failures when it is readable', async () => {
    const dispatch = createDispatcher(handlers({}), () => undefined);
    const unknown = errorOf(await dispatch({ id: 21, method: 'nope' }));
    assert.deepEqual([unknown.id, unknown.code], [21, 'unknown_method']);
    const params = errorOf(await dispatch({ id: 'p', method: 'datasets.get', params: { id: 5 } }));
    assert.deepEqual([params.id, params.code], ['p', 'invalid_params']);
    assert.match(params.message, /params\.id/);
    const envelope = errorOf(await dispatch({ id: 22, method: 'app.info', extra: true }));
    assert.deepEqual([envelope.id, envelope.code], [22, 'invalid_message']);
    // Without a usable id, the error envelope says null.
    const noId = errorOf(await dispatch({ method: 'app.info' }));
    assert.deepEqual([noId.id, noId.code], [null, 'invalid_message']);
    const junk = errorOf(await dispatch('not even an object'));
    assert.deepEqual([junk.id, junk.code], [null, 'invalid_message']);
    const badId = errorOf(await dispatch({ id: 1.5, method: 'app.info' }));
    assert.deepEqual([badId.id, badId.code], [null, 'invalid_message']);
  });

  test('never calls a handler for an invalid request', async () => {
    let calls = 0;
    const dispatch = createDispatcher(
      handlers({
        'datasets.get': () => {
          calls++;
          return datasetSummary;
        },
      }),
      () => undefined,
    );
    await dispatch({ id: 1, method: 'datasets.get', params: { id: 5 } });
    await dispatch({ id: 1, method: 'datasets.get', params: { id: 'ds_1', more: 1 } });
    await dispatch({ id: 1, method: 'datasets.get', params: { id: 'ds_1' }, extra: 1 });
    assert.equal(calls, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// createJsonDispatcher: what both carriers send

describe('createJsonDispatcher', () => {
  test('splices a result a worker serialized into the envelope as it is, and validates every other result', async () => {
    // Not a valid dataset list: it was validated where it was serialized, so it is not looked at again here.
    const serialized = '[{"unvalidated":true}]';
    const reported: unknown[] = [];
    const json = createJsonDispatcher(
      handlers({
        'datasets.list': () => new SerializedResult('datasets.list', new TextEncoder().encode(serialized)),
        'app.info': () => ({ ...appInfo, schemaVersion: 'one' }),
      }),
      (error) => reported.push(error),
    );
    const dispatch = async (raw: unknown) => new TextDecoder().decode(joinParts(await json(raw)));
    assert.equal(await dispatch({ id: 'a"b', method: 'datasets.list' }), `{"id":"a\\"b","ok":true,"result":${serialized}}`);
    assert.deepEqual(JSON.parse(await dispatch({ id: 3, method: 'datasets.list' })), { id: 3, ok: true, result: [{ unvalidated: true }] });
    const invalid = JSON.parse(await dispatch({ id: 4, method: 'app.info' })) as ResponseEnvelope;
    assert.equal(invalid.ok ? 'ok' : invalid.error.code, 'invalid_result');
    assert.equal(reported.length, 1);
  });

  test('refuses a serialized result of another method', async () => {
    const dispatch = createJsonDispatcher(
      handlers({ 'datasets.list': () => new SerializedResult('app.info', new TextEncoder().encode(JSON.stringify(appInfo))) }),
      () => undefined,
    );
    const envelope = JSON.parse(
      new TextDecoder().decode(joinParts(await dispatch({ id: 5, method: 'datasets.list' }))),
    ) as ResponseEnvelope;
    assert.equal(envelope.ok ? 'ok' : envelope.error.code, 'invalid_result');
  });

  test('in-process, createDispatcher hands the serialized result back as objects', async () => {
    const dispatch = createDispatcher(
      handlers({
        'datasets.list': () => new SerializedResult('datasets.list', new TextEncoder().encode(JSON.stringify([datasetSummary]))),
      }),
    );
    assert.deepEqual(await dispatch({ id: 6, method: 'datasets.list' }), { id: 6, ok: true, result: [datasetSummary] });
  });
});

// ---------------------------------------------------------------------------------------------
// LabClient

describe('LabClient', () => {
  test('sends envelopes with fresh ids and returns the validated result', async () => {
    const carrier = new FakeCarrier();
    const client = new LabClient(carrier);
    assert.deepEqual(await client.call('app.info', {}), appInfo);
    carrier.reply = (request) => ({ id: request.id, ok: true, result: [datasetSummary] });
    assert.deepEqual(await client.call('datasets.list', {}), [datasetSummary]);
    assert.equal(carrier.sent.length, 2);
    assert.equal(carrier.sent[0]?.method, 'app.info');
    assert.notEqual(carrier.sent[0]?.id, carrier.sent[1]?.id);
  });

  test('rejects a response whose id does not match the request', async () => {
    const carrier = new FakeCarrier();
    carrier.reply = (request) => ({ id: Number(request.id) + 100, ok: true, result: appInfo });
    const client = new LabClient(carrier);
    await assertRejectsLabError(client.call('app.info', {}), 'invalid_message', /does not match/);
  });

  test('throws the LabError carried by an error envelope', async () => {
    const carrier = new FakeCarrier();
    carrier.reply = (request) => ({
      id: request.id,
      ok: false,
      error: { code: 'not_found', message: 'No dataset with id "ds_x"', details: { id: 'ds_x' } },
    });
    const client = new LabClient(carrier);
    const error = await assertRejectsLabError(client.call('datasets.get', { id: 'ds_x' }), 'not_found', 'ds_x');
    assert.deepEqual(error.details, { id: 'ds_x' });
  });

  test('rejects malformed responses and results that break the contract', async () => {
    const carrier = new FakeCarrier();
    const client = new LabClient(carrier);
    carrier.reply = () => 'nonsense';
    await assertRejectsLabError(client.call('app.info', {}), 'invalid_message', 'Malformed response');
    carrier.reply = (request) => ({ id: request.id, ok: false, error: { code: 'no_such_code', message: 'x' } });
    await assertRejectsLabError(client.call('app.info', {}), 'invalid_message', 'Malformed response');
    carrier.reply = (request) => ({ id: request.id, ok: true, result: { ...appInfo, carrier: 'carrier-pigeon' } });
    await assertRejectsLabError(client.call('app.info', {}), 'invalid_result', 'result.carrier');
  });

  test('delivers valid events and drops malformed ones through onInvalid', () => {
    const carrier = new FakeCarrier();
    const client = new LabClient(carrier);
    const received: LabEvent[] = [];
    const invalid: unknown[] = [];
    const unsubscribe = client.onEvent(
      (event) => received.push(event),
      (error) => invalid.push(error),
    );
    const progress = { type: 'job.progress', jobId: 'job_1', kind: 'synthetic', fraction: 0.5, message: 'half' };
    const changed = { type: 'datasets.changed', datasets: [datasetSummary] };
    carrier.push(progress);
    carrier.push({ type: 'job.progress', jobId: 'job_1', kind: 'synthetic', fraction: 1.5, message: 'too far' });
    carrier.push({ type: 'job.exploded', jobId: 'job_1' });
    carrier.push('not an event');
    carrier.push({ type: 'datasets.changed', datasets: [{ id: 'ds_1' }] });
    carrier.push(changed);
    assert.deepEqual(received, [progress, changed]);
    assert.equal(invalid.length, 4);
    for (const error of invalid) {
      assert.ok(error instanceof LabError);
      assert.equal(error.code, 'invalid_message');
    }
    unsubscribe();
    carrier.push(progress);
    assert.equal(received.length, 2, 'no events after unsubscribe');
    assert.equal(carrier.listeners.size, 0);
  });
});
