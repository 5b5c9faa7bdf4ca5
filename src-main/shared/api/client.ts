// The one typed LabApi client. It does not know how messages travel: a Carrier does
// (Electron IPC through the preload bridge, or loopback HTTP + WebSocket in browser mode).
import { LabError } from './errors.js';
import type { MethodName, ParamsOf, ResultOf } from './methods.js';
import { type LabEvent, parseEvent, parseResponse, parseResult, type RequestEnvelope } from './protocol.js';

export interface Carrier {
  /** Delivers one request envelope and resolves with the raw response envelope. */
  send(request: RequestEnvelope): Promise<unknown>;
  /** Subscribes to raw events; returns the unsubscribe function. */
  subscribe(listener: (raw: unknown) => void): () => void;
}

export type EventListener = (event: LabEvent) => void;

export class LabClient {
  readonly #carrier: Carrier;
  #nextId = 1;

  constructor(carrier: Carrier) {
    this.#carrier = carrier;
  }

  async call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const id = this.#nextId++;
    const response = parseResponse(await this.#carrier.send({ id, method, params }));
    if (!response.ok) throw LabError.fromPayload(response.error);
    if (response.id !== id) throw new LabError('invalid_message', `Response id ${response.id} does not match request ${id}`);
    return parseResult(method, response.result);
  }

  /** Malformed events are reported to onInvalid (default: console.warn) and dropped. */
  onEvent(listener: EventListener, onInvalid: (error: unknown) => void = console.warn): () => void {
    return this.#carrier.subscribe((raw) => {
      let event: LabEvent;
      try {
        event = parseEvent(raw);
      } catch (error) {
        onInvalid(error);
        return;
      }
      listener(event);
    });
  }
}
