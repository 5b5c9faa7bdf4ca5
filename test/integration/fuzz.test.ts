// Fuzzing bad input (issue #6): every file of the generated corpus goes through the real import
// path (imports.preview, then imports.start and its job) on a populated database, and malformed
// LabApi messages go through both carriers (the IPC dispatch function, structured-cloned as
// Electron would deliver them, and the loopback HTTP server; garbage on the event WebSocket too).
//
// For every input: a specific error (its code is not "internal", its message names the problem and
// matches what the corpus expects — no "undefined", no stack, no "Internal error"), or a clean
// import under the policy the corpus states; the process stays up (no unhandled rejection or
// uncaught exception, no hang); and the stored datasets are exactly as before (a digest of the
// datasets, genes, environments and samples tables, and PRAGMA integrity_check). A summary line
// prints the counts; crashes, unspecific errors, broken expectations or changed data fail the test.
//
// CELLSHIFT_FUZZ_SEED=<n> runs another corpus (the default seed is the one CI runs).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Chemistry } from '../../src-main/node/chem/chemistry.js';
import { createDispatcher, type Dispatcher } from '../../src-main/node/lab/dispatch.js';
import { closeLab, openLab } from '../../src-main/node/lab/open.js';
import type { LabService } from '../../src-main/node/lab/service.js';
import { type RunningServer, startServer } from '../../src-main/node/server/server.js';
import { type ErrorPayload, LabError } from '../../src-main/shared/api/errors.js';
import type { LabEvent, ResponseEnvelope } from '../../src-main/shared/api/protocol.js';
import { COMMITTED_SAMPLES, DEFAULT_SEED, type FuzzInput, generateCorpus } from '../fixtures/fuzz/generate.js';
import { type FuzzMessage, fuzzMessages } from '../fixtures/fuzz/messages.js';
import { writeLincsFixture } from '../fixtures/lincs.js';
import { CMAPPY_DIR, sharedSkip } from '../fixtures/shared.js';

const SEED = Number(process.env.CELLSHIFT_FUZZ_SEED ?? DEFAULT_SEED);
/** A job that neither finishes nor fails in this time counts as a hang. */
const JOB_TIMEOUT_MS = 60_000;

interface Tally {
  tried: number;
  specific: number;
  accepted: number;
  /** Process-level failures: rejected dispatch, unhandled rejection, uncaught exception, hang. */
  crashes: string[];
  /** Errors that do not name the problem (internal, "undefined", stack traces, huge messages). */
  unspecific: string[];
  /** Specific outcomes other than the corpus expects (wrong message, bad input accepted...). */
  mismatches: string[];
  /** Stored data or database integrity changed by an input that should change nothing. */
  changed: string[];
}

const tally: Tally = { tried: 0, specific: 0, accepted: 0, crashes: [], unspecific: [], mismatches: [], changed: [] };
const strays: string[] = [];
const internalErrors: unknown[] = [];
let peakRss = 0;

function text(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message}` : String(value);
}

/** Why an error message fails to name its problem, or null when it is specific. */
function vagueness(error: ErrorPayload): string | null {
  if (error.code === 'internal' || error.code === 'invalid_result') return `code ${error.code}`;
  const m = error.message;
  if (m.trim() === '') return 'empty message';
  if (/internal error/i.test(m)) return 'a generic "Internal error"';
  if (/\bundefined\b/.test(m)) return 'says "undefined"';
  if (/\[object \w+\]/.test(m)) return 'prints [object …]';
  if (/\n\s+at |\bat \S+\.(?:ts|js|mjs):\d+:\d+/.test(m)) return 'contains a stack trace';
  if (m.length > 2000) return `${m.length} characters long`;
  return null;
}

function shorten(message: string): string {
  return message.length > 300 ? `${message.slice(0, 300)}… (${message.length} chars)` : message;
}

/** Digest of what an import writes: datasets, genes, environments, samples (BLOBs included). */
function storedDigest(lab: LabService): string {
  const hash = createHash('sha256');
  for (const [table, order] of [
    ['datasets', 'id'],
    ['genes', 'dataset_id, idx'],
    ['environments', 'id'],
    ['samples', 'dataset_id, idx'],
  ] as const) {
    hash.update(`\u0001${table}`);
    for (const row of lab.store.db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).raw().iterate() as Iterable<unknown[]>) {
      for (const cell of row) {
        if (cell instanceof Uint8Array) hash.update(cell);
        else hash.update(`${typeof cell}:${String(cell)}`);
        hash.update('\u0000');
      }
    }
  }
  return hash.digest('hex');
}

function perturbagenCount(lab: LabService): number {
  return (lab.store.db.prepare('SELECT count(*) AS n FROM perturbagens').get() as { n: number }).n;
}

function integrity(lab: LabService): string {
  return String(lab.store.db.pragma('integrity_check', { simple: true }));
}

function polluted(): boolean {
  return Object.keys(Object.prototype).length > 0 || ({} as Record<string, unknown>).polluted !== undefined;
}

function trackMemory(): void {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}

// The corpus starts from cmapPy's real files, read from ../shared.
describe(`fuzzing bad input (seed ${SEED})`, { skip: sharedSkip(CMAPPY_DIR) }, () => {
  let dir: string;
  let lab: LabService;
  let dispatch: Dispatcher;
  let server: RunningServer;
  let corpus: FuzzInput[];
  let baseDatasetId: string;
  const jobs = new Map<string, (outcome: { ok: true; result: unknown } | { ok: false; error: ErrorPayload }) => void>();
  const onRejection = (reason: unknown) => strays.push(`unhandled rejection: ${text(reason)}`);
  const onException = (error: unknown) => strays.push(`uncaught exception: ${text(error)}`);

  /** What the Electron IPC handler does with a message: structured clone, then dispatch. */
  const ipc = (value: unknown) => dispatch(structuredClone(value));
  let reported = { crashes: 0, unspecific: 0, mismatches: 0, changed: 0 };

  function waitForJob(jobId: string): Promise<{ ok: true; result: unknown } | { ok: false; error: ErrorPayload } | { hang: true }> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        jobs.delete(jobId);
        resolve({ hang: true });
      }, JOB_TIMEOUT_MS);
      jobs.set(jobId, (outcome) => {
        clearTimeout(timer);
        jobs.delete(jobId);
        resolve(outcome);
      });
    });
  }

  before(async () => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    dir = mkdtempSync(join(tmpdir(), 'cellshift-fuzz-'));
    const started = performance.now();
    corpus = await generateCorpus(join(dir, 'corpus'), SEED);
    console.log(`fuzz corpus: ${corpus.length} inputs written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // A populated database: the demo dataset and a real L1000 import.
    lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: true });
    lab.onEvent((event: LabEvent) => {
      if (event.type === 'job.finished') jobs.get(event.jobId)?.({ ok: true, result: event.result });
      if (event.type === 'job.failed') jobs.get(event.jobId)?.({ ok: false, error: event.error });
    });
    dispatch = createDispatcher(lab.handlers(), (error) => internalErrors.push(error));
    const fixture = await writeLincsFixture(mkdtempSync(join(dir, 'base-')));
    const { jobId } = await lab.imports.start(
      await lab.imports.requestFromPaths({
        matrixPath: fixture.gctx,
        sigInfoPath: fixture.sigInfo,
        pertInfoPath: fixture.pertInfo,
        name: 'fuzz base',
      }),
    );
    const base = await waitForJob(jobId);
    assert.ok('ok' in base && base.ok, 'the base dataset imports');
    baseDatasetId = (base.result as { id: string }).id;
    server = await startServer({ service: lab, staticDir: join(dir, 'no-ui') });
  });

  after(async () => {
    const line =
      `fuzz summary (seed ${SEED}): ${tally.tried} inputs tried, ${tally.specific} specific errors, ${tally.accepted} accepted as valid, ` +
      `${tally.crashes.length} crashes, ${tally.unspecific.length} unspecific errors, ${tally.mismatches.length} unexpected outcomes, ` +
      `${tally.changed.length} changes to stored data; peak RSS ${Math.round(peakRss / 1024 / 1024)} MiB`;
    console.log(line);
    await server?.close();
    if (lab) await closeLab(lab);
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Checks bookkeeping common to every input; returns the problems found. */
  function afterEffects(label: string, digestBefore: string, strayBefore: number, internalBefore: number): void {
    if (strays.length > strayBefore) tally.crashes.push(`${label}: ${strays.slice(strayBefore).join('; ')}`);
    if (internalErrors.length > internalBefore) {
      tally.unspecific.push(`${label}: internal error logged: ${internalErrors.slice(internalBefore).map(text).join('; ')}`);
    }
    if (polluted()) tally.crashes.push(`${label}: Object.prototype was polluted`);
    const digestAfter = storedDigest(lab);
    if (digestAfter !== digestBefore) tally.changed.push(`${label}: stored datasets changed`);
    const check = integrity(lab);
    if (check !== 'ok') tally.changed.push(`${label}: integrity_check says ${check}`);
    trackMemory();
  }

  function judgeError(label: string, error: ErrorPayload, expected: RegExp | null): void {
    const vague = vagueness(error);
    if (vague) {
      tally.unspecific.push(`${label}: ${vague}: [${error.code}] ${shorten(error.message)}`);
      return;
    }
    if (expected === null) {
      tally.mismatches.push(`${label}: expected to be accepted, failed with [${error.code}] ${shorten(error.message)}`);
      return;
    }
    if (!expected.test(error.message)) {
      tally.mismatches.push(`${label}: [${error.code}] ${shorten(error.message)} does not match ${expected}`);
      return;
    }
    tally.specific++;
  }

  /**
   * The LabApi request of a corpus input: its files granted as the command line grants them (the
   * page could only upload or pick them), then its settings as imports.preview/start take them.
   */
  function importRequest(input: FuzzInput): Promise<unknown> {
    return lab.imports.requestFromPaths(input.request);
  }

  async function runInput(input: FuzzInput): Promise<void> {
    const label = `import ${input.id}`;
    tally.tried++;
    const digestBefore = storedDigest(lab);
    const perturbagensBefore = perturbagenCount(lab);
    const strayBefore = strays.length;
    const internalBefore = internalErrors.length;
    let preview: ResponseEnvelope;
    let outcome: Awaited<ReturnType<typeof waitForJob>>;
    let request: unknown;
    try {
      request = await importRequest(input);
    } catch (error) {
      // A file that cannot even be granted (missing, a folder, a device) is refused before any import.
      if (!(error instanceof LabError)) tally.crashes.push(`${label}: granting its files threw ${text(error)}`);
      else if (input.expect.kind === 'accept') tally.mismatches.push(`${label}: its files were refused: ${shorten(error.message)}`);
      else judgeError(label, { code: error.code, message: error.message }, input.expect.match);
      afterEffects(label, digestBefore, strayBefore, internalBefore);
      return;
    }
    try {
      preview = await ipc({ id: `p-${tally.tried}`, method: 'imports.preview', params: { request } });
      const started = await ipc({ id: `s-${tally.tried}`, method: 'imports.start', params: { request } });
      // A start refused outright (before any job) is the input's outcome as much as a failed job.
      outcome = started.ok ? await waitForJob((started.result as { jobId: string }).jobId) : { ok: false, error: started.error };
    } catch (error) {
      tally.crashes.push(`${label}: ${text(error)}`);
      afterEffects(label, digestBefore, strayBefore, internalBefore);
      return;
    }
    if ('hang' in outcome) {
      tally.crashes.push(`${label}: the import job did not end within ${JOB_TIMEOUT_MS / 1000} s`);
      return;
    }
    const expect = input.expect;
    if (!preview.ok || !outcome.ok) {
      if (!preview.ok && outcome.ok) {
        tally.mismatches.push(`${label}: the preview failed (${shorten(preview.error.message)}) but the import succeeded`);
        await ipc({ id: 'cleanup', method: 'datasets.delete', params: { id: (outcome.result as { id: string }).id } });
      } else {
        const error = preview.ok ? (outcome as { error: ErrorPayload }).error : preview.error;
        if (process.env.CELLSHIFT_FUZZ_VERBOSE) console.log(`fuzz: ${input.id}: [${error.code}] ${shorten(error.message)}`);
        judgeError(label, error, expect.kind === 'accept' ? null : expect.match);
        if (perturbagenCount(lab) !== perturbagensBefore) tally.changed.push(`${label}: perturbagens changed by a failed import`);
      }
    } else {
      const summary = outcome.result as { id: string; nSamples: number; nGenes: number };
      if (expect.kind === 'error') {
        tally.mismatches.push(`${label}: bad input was imported (${summary.nSamples} samples); expected ${expect.match}`);
      } else {
        const complaint = expect.kind === 'accept' ? (expect.check?.(preview.result as never, summary) ?? null) : null;
        if (complaint && expect.kind === 'accept') tally.mismatches.push(`${label}: imported, but ${complaint} (policy: ${expect.policy})`);
        else tally.accepted++;
      }
      // Accepted inputs are deleted again, so the next input starts from the same stored data.
      const removed = await ipc({ id: 'cleanup', method: 'datasets.delete', params: { id: summary.id } });
      if (!removed.ok) tally.crashes.push(`${label}: could not delete the imported dataset: ${removed.error.message}`);
    }
    afterEffects(label, digestBefore, strayBefore, internalBefore);
  }

  it('the committed samples are what the generator writes', () => {
    for (const name of COMMITTED_SAMPLES) {
      const committed = readFileSync(new URL(`../fixtures/fuzz/samples/${name}`, import.meta.url));
      assert.ok(committed.equals(readFileSync(join(dir, 'corpus', name))), `samples/${name} differs from the generator's output`);
    }
  });

  it('every corpus file through imports.preview and imports.start', { timeout: 10 * 60_000 }, async () => {
    const started = performance.now();
    const slow: string[] = [];
    for (const input of corpus) {
      const t0 = performance.now();
      const rss0 = process.memoryUsage().rss;
      await runInput(input);
      const ms = performance.now() - t0;
      if (process.env.CELLSHIFT_FUZZ_VERBOSE) {
        console.log(`fuzz: ${input.id} ${ms.toFixed(0)} ms, RSS ${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(0)} MiB more`);
      }
      if (ms > 2000) slow.push(`${input.id} ${(ms / 1000).toFixed(1)} s`);
    }
    console.log(
      `fuzz imports: ${corpus.length} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s${slow.length ? `; slow: ${slow.join(', ')}` : ''}`,
    );
    assertClean('imports');
  });

  async function sendHttp(message: FuzzMessage): Promise<{ status: number; body: string }> {
    const body = message.body ?? JSON.stringify(message.value);
    const headers: Record<string, string | number> = { authorization: `Bearer ${server.token}`, 'content-length': Buffer.byteLength(body) };
    const contentType = message.contentType === undefined ? 'application/json' : message.contentType;
    if (contentType !== null) headers['content-type'] = contentType;
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/call', headers, agent: false },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        },
      );
      // The server may answer (413) and close before the whole body is written.
      request.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
      );
      request.end(body);
    });
  }

  async function runMessage(message: FuzzMessage, carrier: 'ipc' | 'http'): Promise<void> {
    const label = `${carrier} ${message.id}`;
    tally.tried++;
    const digestBefore = storedDigest(lab);
    const strayBefore = strays.length;
    const internalBefore = internalErrors.length;
    let envelope: ResponseEnvelope;
    let status = 200;
    try {
      if (carrier === 'ipc') envelope = await ipc(message.value);
      else {
        const response = await sendHttp(message);
        status = response.status;
        envelope = JSON.parse(response.body) as ResponseEnvelope;
      }
    } catch (error) {
      tally.crashes.push(`${label}: ${text(error)}`);
      afterEffects(label, digestBefore, strayBefore, internalBefore);
      return;
    }
    const expect = message.expect;
    if (envelope.ok) {
      if (expect.ok) tally.accepted++;
      else tally.mismatches.push(`${label}: answered ok; expected [${String(expect.code)}] ${expect.match}`);
    } else if (expect.ok) {
      judgeError(label, envelope.error, null);
    } else {
      const codes = Array.isArray(expect.code) ? expect.code : [expect.code];
      if (!codes.includes(envelope.error.code) && !vagueness(envelope.error)) {
        tally.mismatches.push(`${label}: code ${envelope.error.code}, expected ${codes.join('|')}: ${shorten(envelope.error.message)}`);
      } else if (carrier === 'http' && status !== (expect.status ?? 200)) {
        tally.mismatches.push(`${label}: HTTP ${status}, expected ${expect.status ?? 200}`);
      } else judgeError(label, envelope.error, expect.match);
    }
    afterEffects(label, digestBefore, strayBefore, internalBefore);
  }

  it('malformed LabApi messages over the IPC dispatch and over HTTP', { timeout: 5 * 60_000 }, async () => {
    const started = performance.now();
    const messages = fuzzMessages(baseDatasetId);
    for (const message of messages) for (const carrier of message.carriers) await runMessage(message, carrier);
    console.log(`fuzz messages: ${messages.length} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assertClean('messages');
  });

  it('garbage on the event WebSocket closes that socket only; events keep flowing', async () => {
    const open = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, ['cellshift.v1', `token.${server.token}`]);
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      });
    const closed = (socket: WebSocket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const sends: [string, (socket: WebSocket) => void, number | null][] = [
      ['text that is not JSON', (s) => s.send('hello?'), null],
      [
        'a request envelope (events only flow one way)',
        (s) => s.send(JSON.stringify({ id: 1, method: 'datasets.delete', params: { id: baseDatasetId } })),
        null,
      ],
      ['binary frame', (s) => s.send(Buffer.from([0, 1, 2, 255])), null],
      ['a frame over 64 KiB', (s) => s.send(Buffer.alloc(200 * 1024, 1)), 1009],
      [
        'bytes that are not a WebSocket frame',
        (s) => (s as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1])),
        1002,
      ],
    ];
    for (const [name, send, closeCode] of sends) {
      const label = `websocket ${name}`;
      tally.tried++;
      const digestBefore = storedDigest(lab);
      const strayBefore = strays.length;
      const internalBefore = internalErrors.length;
      const socket = await open();
      const whenClosed = closed(socket);
      socket.on('error', () => undefined); // the client side sees the protocol error too
      send(socket);
      if (closeCode !== null) {
        const code = await whenClosed;
        if (code !== closeCode) tally.mismatches.push(`${label}: closed with ${code}, expected ${closeCode}`);
        else tally.specific++;
      } else {
        // Still open and still delivering: a rename (to the same name) announces datasets.changed.
        const event = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
        const renamed = await ipc({ id: 'ws', method: 'datasets.rename', params: { id: baseDatasetId, name: 'fuzz base' } });
        const got = JSON.parse(await event) as LabEvent;
        if (!renamed.ok || got.type !== 'datasets.changed') tally.mismatches.push(`${label}: events stopped (${got.type})`);
        else tally.accepted++;
        socket.close();
        await whenClosed;
      }
      // The server still answers calls.
      const info = await sendHttp({
        id: 'probe',
        carriers: ['http'],
        value: { id: 1, method: 'app.info' },
        expect: { ok: true, policy: '' },
      });
      if (info.status !== 200) tally.crashes.push(`${label}: app.info answered ${info.status} afterwards`);
      afterEffects(label, digestBefore, strayBefore, internalBefore);
    }
    assertClean('websocket');
  });

  it('a structure that crashes the RDKit wasm does not break the structures after it', async () => {
    const chemistry = await Chemistry.load();
    tally.tried++;
    // Beyond the atom limit on purpose: 150 chained phenyls make RDKit MinimalLib trap.
    const crashed = chemistry.describe('c1ccccc1'.repeat(150), { maxAtoms: 10_000, depict: false });
    assert.equal(crashed.ok, false);
    assert.match(crashed.ok ? '' : crashed.reason, /RDKit failed/);
    await chemistry.ready();
    const ethanol = chemistry.describe('CCO', { depict: false });
    assert.ok(ethanol.ok, ethanol.ok ? '' : ethanol.reason);
    assert.equal(ethanol.canonicalSmiles, 'CCO');
    tally.specific++;
  });

  /** Fails with every problem recorded since the previous call (so each part reports its own). */
  function assertClean(part: string): void {
    const problems = [
      ...tally.crashes.slice(reported.crashes).map((p) => `crash: ${p}`),
      ...tally.unspecific.slice(reported.unspecific).map((p) => `unspecific: ${p}`),
      ...tally.mismatches.slice(reported.mismatches).map((p) => `unexpected: ${p}`),
      ...tally.changed.slice(reported.changed).map((p) => `changed: ${p}`),
    ];
    reported = {
      crashes: tally.crashes.length,
      unspecific: tally.unspecific.length,
      mismatches: tally.mismatches.length,
      changed: tally.changed.length,
    };
    assert.deepEqual(problems, [], `${part}: ${problems.length} problems`);
  }
});
