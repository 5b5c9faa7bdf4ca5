// Server side of the contract, shared by both carriers: validate, call, validate the result,
// and turn every failure into a specific error envelope. Nothing unvalidated gets through.
import { LabError, type LabHandlers, parseRequest, parseResult, type ResponseEnvelope, requestIdOf } from '../../shared/api/index.js';

/** `signal`: aborted when the caller has gone, so long handlers can stop. */
export type Dispatcher = (raw: unknown, signal?: AbortSignal) => Promise<ResponseEnvelope>;

const NEVER_ABORTED = new AbortController().signal;

export function createDispatcher(handlers: LabHandlers, onInternalError: (error: unknown) => void = console.error): Dispatcher {
  return async (raw, signal = NEVER_ABORTED) => {
    let id: ResponseEnvelope['id'] = requestIdOf(raw);
    try {
      const request = parseRequest(raw);
      id = request.id;
      const handler = handlers[request.method] as (params: unknown, context: { signal: AbortSignal }) => unknown;
      const result = parseResult(request.method, await handler(request.params, { signal }));
      return { id: request.id, ok: true, result };
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
