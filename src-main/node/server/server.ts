// The loopback carrier of the LabApi for browser mode and end-to-end tests:
// POST /api/call carries request envelopes, a WebSocket at /api/events carries events,
// PUT /api/files/upload streams a file the user picked or dropped into the lab's inbox,
// everything else is the built renderer. Binds 127.0.0.1 only.
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sirv from 'sirv';
import { WebSocketServer } from 'ws';
import { type ErrorCode, type ErrorPayload, LabError, type ResponseEnvelope, UPLOAD_PATH } from '../../shared/api/index.js';
import { createJsonDispatcher, type JsonDispatcher } from '../lab/dispatch.js';
import { PARAMS_CHECKED_IN_WORKER } from '../lab/handlers.js';
import type { LabService } from '../lab/service.js';
import { timedServingTask } from '../threads/serving-tasks.js';
import { EVENTS_PROTOCOL, LoopbackGuard, newToken } from './security.js';

export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export interface ServerOptions {
  service: LabService;
  staticDir: string;
  port?: number;
  token?: string;
}

export interface RunningServer {
  /** Origin, e.g. http://127.0.0.1:41234 */
  origin: string;
  /** What a person opens: origin plus the token. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const token = options.token ?? newToken();
  const dispatch = createJsonDispatcher(options.service.handlers(), console.error, PARAMS_CHECKED_IN_WORKER);
  const serveStatic = existsSync(options.staticDir) ? sirv(options.staticDir, { single: true, dev: false, etag: true }) : null;
  let guard: LoopbackGuard | undefined;

  const server = createServer((request, response) => {
    const g = guard as LoopbackGuard;
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    response.setHeader('X-Frame-Options', 'DENY');
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (!g.hostAllowed(request)) {
      return sendError(response, 403, { code: 'unauthorized', message: `Host "${request.headers.host ?? ''}" is not this lab` });
    }
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/api/')) {
      if (!g.originAllowed(request)) {
        return sendError(response, 403, { code: 'unauthorized', message: `Origin "${request.headers.origin}" may not use this lab` });
      }
      if (!g.bearerTokenValid(request)) {
        return sendError(response, 401, { code: 'unauthorized', message: 'Missing or wrong lab token' });
      }
      if (path === '/api/call' && request.method === 'POST') return void handleCall(request, response, dispatch);
      if (path === UPLOAD_PATH && request.method === 'PUT') return void handleUpload(request, response, options.service);
      return sendError(response, 404, { code: 'unknown_method', message: `No API endpoint ${request.method} ${path}` });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendError(response, 405, { code: 'invalid_message', message: `${request.method} is not allowed here` });
    }
    response.setHeader('Content-Security-Policy', g.contentSecurityPolicy());
    if (!serveStatic) {
      response.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      return void response.end(`The user interface is not built (${options.staticDir} is missing). Run: npm run build\n`);
    }
    serveStatic(request, response, () => {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('Not found\n');
    });
  });

  const events = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => (protocols.has(EVENTS_PROTOCOL) ? EVENTS_PROTOCOL : false),
  });
  server.on('upgrade', (request, socket, head) => {
    const g = guard as LoopbackGuard;
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/api/events' || !g.hostAllowed(request) || !g.originAllowed(request) || !g.protocolTokenValid(request)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    events.handleUpgrade(request, socket, head, (ws) => {
      const unsubscribe = options.service.onEvent((event) => timedServingTask(`event ${event.type}`, () => ws.send(JSON.stringify(event))));
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
      // Events flow one way; anything the page sends is ignored.
      ws.on('message', () => undefined);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  guard = new LoopbackGuard(port, token);
  const origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    url: `${origin}/?token=${encodeURIComponent(token)}`,
    port,
    token,
    close: async () => {
      for (const client of events.clients) client.terminate();
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handleCall(request: IncomingMessage, response: ServerResponse, dispatch: JsonDispatcher): Promise<void> {
  const contentType = (request.headers['content-type'] ?? '').toLowerCase();
  if (!contentType.startsWith('application/json')) {
    return sendError(response, 415, { code: 'invalid_message', message: 'Requests must be application/json' });
  }
  let body: string;
  try {
    body = await readBody(request, MAX_REQUEST_BYTES);
  } catch (error) {
    // Answer, then drop the connection rather than read the rest of an oversized body.
    response.setHeader('Connection', 'close');
    response.once('finish', () => request.socket.destroy());
    return sendError(response, 413, { code: 'invalid_message', message: (error as Error).message });
  }
  let raw: unknown;
  try {
    raw = timedServingTask('POST /api/call: JSON.parse', () => JSON.parse(body), body.length);
  } catch (error) {
    return sendError(response, 400, { code: 'invalid_message', message: `Request body is not valid JSON: ${(error as Error).message}` });
  }
  // A client that disconnects before its answer has given up: a long analysis for it stops.
  const gone = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) gone.abort();
  });
  // The envelope comes as UTF-8 parts: a large result a worker serialized is forwarded as it is.
  const parts = await dispatch(raw, gone.signal);
  await sendJsonInSlices(response, parts);
}

const UPLOAD_STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_params: 400,
  bad_input: 400,
  no_space: 507,
  unauthorized: 403,
  not_found: 404,
};

/**
 * One file per request, streamed straight to the inbox (never held in memory); the raw body is
 * the file, its name is in the query. The reply is the new grant. A request that stops early
 * (the user cancelled) leaves nothing behind.
 */
async function handleUpload(request: IncomingMessage, response: ServerResponse, service: LabService): Promise<void> {
  const refuse = (status: number, error: ErrorPayload) => {
    // Answer, then drop the connection rather than read a body we will not keep.
    response.setHeader('Connection', 'close');
    response.once('finish', () => request.socket.destroy());
    sendError(response, status, error);
  };
  const contentType = (request.headers['content-type'] ?? '').toLowerCase();
  if (!contentType.startsWith('application/octet-stream')) {
    return refuse(415, { code: 'invalid_message', message: 'Uploads must be application/octet-stream' });
  }
  const lengthHeader = request.headers['content-length'];
  const size = lengthHeader === undefined ? Number.NaN : Number(lengthHeader);
  if (!Number.isSafeInteger(size) || size < 0) {
    return refuse(411, { code: 'invalid_message', message: 'Uploads need a Content-Length' });
  }
  const name = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('name') ?? '';
  if (name.trim() === '') return refuse(400, { code: 'invalid_params', message: 'Uploads need ?name=FILE_NAME' });
  try {
    const grant = await service.files.receiveUpload(name, size, request);
    sendJson(response, 200, { ok: true, result: grant });
  } catch (error) {
    if (request.socket.destroyed) return; // the page cancelled: nobody is listening
    const labError = error instanceof LabError ? error : new LabError('internal', `Upload failed: ${(error as Error).message}`);
    if (labError.code === 'internal') console.error(error);
    const tooLarge = (labError.details as { reason?: string } | undefined)?.reason === 'too_large';
    refuse(tooLarge ? 413 : (UPLOAD_STATUS[labError.code] ?? 500), labError.toPayload());
  }
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new Error(`Request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        // Stop buffering but keep the socket: the caller still has to answer 413.
        tooLarge = true;
        chunks.length = 0;
        reject(new Error(`Request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

function sendError(response: ServerResponse, status: number, error: ErrorPayload): void {
  sendJson(response, status, { id: null, ok: false, error } satisfies ResponseEnvelope);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  writeJsonHead(response, status, [bytes]);
  response.end(bytes);
}

function writeJsonHead(response: ServerResponse, status: number, parts: Uint8Array[]): void {
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': parts.reduce((sum, part) => sum + part.byteLength, 0),
  });
}

/**
 * At most this much of an answer is written in one turn of the serving thread's event loop. On
 * loopback the kernel delivers a write to the reader's socket within the writer's own syscall, so
 * one write of a 15 MB answer held the thread ~20 ms of CPU (~50 ms wall); a slice takes ~1 ms.
 */
export const SEND_SLICE_BYTES = 512 * 1024;

/**
 * Writes an answer a slice at a time, waiting for the socket to drain (and the event loop to turn)
 * between slices, so other calls are answered while a large one is on its way. Stops if the client
 * goes away. A small answer is one slice: written and ended at once.
 */
async function sendJsonInSlices(response: ServerResponse, parts: Uint8Array[]): Promise<void> {
  writeJsonHead(response, 200, parts);
  const slices = parts.flatMap((part) =>
    Array.from({ length: Math.ceil(part.byteLength / SEND_SLICE_BYTES) }, (_, i) =>
      part.subarray(i * SEND_SLICE_BYTES, (i + 1) * SEND_SLICE_BYTES),
    ),
  );
  for (const [i, slice] of slices.entries()) {
    if (response.destroyed) return;
    if (i === slices.length - 1) {
      timedServingTask('POST /api/call: send', () => response.end(slice), slice.byteLength);
      return;
    }
    const flushed = timedServingTask('POST /api/call: send', () => response.write(slice), slice.byteLength);
    if (!flushed) await drainedOrClosed(response);
    // A drain can come in the same turn as the write (the kernel took it at once): turn anyway.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!response.destroyed) response.end();
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
