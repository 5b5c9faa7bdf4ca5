// The two ways LabApi messages travel. The client above them never knows which one it has.

import type { CellShiftBridge } from '../../../../src-main/shared/api/bridge.js';
import type { Carrier } from '../../../../src-main/shared/api/client.js';
import type { RequestEnvelope } from '../../../../src-main/shared/api/protocol.js';

/** Desktop: the preload's window.cellshift bridge over Electron IPC. */
export function ipcCarrier(bridge: CellShiftBridge): Carrier {
  return {
    // The main process answers with the envelope as UTF-8 JSON bytes (refusals of a foreign page as an object).
    send: async (request) => {
      const raw = await bridge.call(request);
      return raw instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(raw)) : raw;
    },
    subscribe: (listener) => bridge.onEvent(listener),
  };
}

/** Browser mode: POST /api/call with the launch token, events over a WebSocket that reconnects. */
export function httpCarrier(origin: string, token: string): Carrier {
  const listeners = new Set<(raw: unknown) => void>();
  let socket: WebSocket | null = null;
  let retryMs = 500;

  const connect = () => {
    const url = `${origin.replace(/^http/, 'ws')}/api/events`;
    socket = new WebSocket(url, ['cellshift.v1', `token.${token}`]);
    socket.onopen = () => {
      retryMs = 500;
    };
    socket.onmessage = (message) => {
      let raw: unknown;
      try {
        raw = JSON.parse(String(message.data));
      } catch {
        return;
      }
      for (const listener of listeners) listener(raw);
    };
    socket.onclose = () => {
      socket = null;
      if (listeners.size > 0) {
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 10_000);
      }
    };
  };

  return {
    async send(request: RequestEnvelope) {
      const response = await fetch(`${origin}/api/call`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(request),
      });
      return response.json();
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) socket?.close();
      };
    },
  };
}
