// Server side of the contract, shared by both carriers: validate, call, validate the result,
// and turn every failure into a specific error envelope. Nothing unvalidated gets through: a
// result a worker serialized (SerializedResult) was validated there, against the same schema.
import {
  LabError,
  type MethodName,
  parseParams,
  parseRequestEnvelope,
  parseResult,
  type ResponseEnvelope,
  requestIdOf,
} from '../../shared/api/index.js';
import { timedServingTask } from '../threads/serving-tasks.js';
import { SerializedResult, type ServedHandlers } from './serialized-result.js';

/** `signal`: aborted when the caller has gone, so long handlers can stop. */
export type Dispatcher = (raw: unknown, signal?: AbortSignal) => Promise<ResponseEnvelope>;

/** Like Dispatcher, but answers with the envelope as UTF-8 JSON, in parts to send one after another: what a carrier sends. */
export type JsonDispatcher = (raw: unknown, signal?: AbortSignal) => Promise<Uint8Array[]>;

type Answer = ResponseEnvelope | { id: string | number; ok: true; result: SerializedResult };

const NEVER_ABORTED = new AbortController().signal;

/**
 * Methods whose handlers have their params checked where they are used (in a worker, against the
 * same schema) instead of here: the lasso's 100k sample ids took the serving thread 155 ms to check.
 */
export type ParamsCheckedByHandler = ReadonlySet<MethodName>;

function answerer(handlers: ServedHandlers, onInternalError: (error: unknown) => void, checkedByHandler: ParamsCheckedByHandler) {
  return async (raw: unknown, signal: AbortSignal): Promise<Answer> => {
    let id: ResponseEnvelope['id'] = requestIdOf(raw);
    try {
      const request = parseRequestEnvelope(raw);
      id = request.id;
      const { method } = request;
      const params = checkedByHandler.has(method)
        ? request.params
        : timedServingTask(`${method}: params`, () => parseParams(method, request.params, request.id));
      const handler = handlers[method] as (params: unknown, context: { signal: AbortSignal }) => unknown;
      // The handler's synchronous part (store reads, bookkeeping) runs on this thread before its first await.
      const answer = await timedServingTask(`${method}: handler`, () => handler(params, { signal }));
      if (answer instanceof SerializedResult) {
        if (answer.method !== method) throw new LabError('invalid_result', `${method} answered with a result of ${answer.method}`);
        return { id: request.id, ok: true, result: answer };
      }
      return { id: request.id, ok: true, result: timedServingTask(`${method}: result`, () => parseResult(method, answer)) };
    } catch (error) {
      if (error instanceof LabError) {
        if (error.code === 'invalid_result' || error.code === 'internal') onInternalError(error);
        return { id, ok: false, error: error.toPayload() };
      }
      onInternalError(error);
      const message = error instanceof Error ? error.message : String(error);
      return { id, ok: false, error: { code: 'internal', message: `Internal error: ${message}` } };
    }
  };
}

/** For in-process callers (tests, scripts): results as objects. */
export function createDispatcher(handlers: ServedHandlers, onInternalError: (error: unknown) => void = console.error): Dispatcher {
  const answer = answerer(handlers, onInternalError, new Set());
  return async (raw, signal = NEVER_ABORTED) => {
    const envelope = await answer(raw, signal);
    return envelope.ok && envelope.result instanceof SerializedResult ? { ...envelope, result: envelope.result.value() } : envelope;
  };
}

/**
 * For the carriers: the envelope as UTF-8 JSON, with a worker's serialized result spliced in as
 * it is, so the serving thread neither parses, stringifies nor encodes it.
 */
export function createJsonDispatcher(
  handlers: ServedHandlers,
  onInternalError: (error: unknown) => void = console.error,
  checkedByHandler: ParamsCheckedByHandler = new Set(),
): JsonDispatcher {
  const answer = answerer(handlers, onInternalError, checkedByHandler);
  return async (raw, signal = NEVER_ABORTED) => {
    const envelope = await answer(raw, signal);
    if (envelope.ok && envelope.result instanceof SerializedResult) {
      return [utf8(`{"id":${JSON.stringify(envelope.id)},"ok":true,"result":`), envelope.result.bytes, utf8('}')];
    }
    const method = typeof raw === 'object' && raw !== null ? String((raw as { method?: unknown }).method) : '?';
    return [timedServingTask(`${method}: encode`, () => utf8(JSON.stringify(envelope)))];
  };
}

const encoder = new TextEncoder();
const utf8 = (text: string) => encoder.encode(text);

/** The parts of a JsonDispatcher's answer as one block (a carrier that sends one message). */
export function joinParts(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}
