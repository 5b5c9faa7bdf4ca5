// Browser-mode guards: a per-launch secret token, and Host/Origin checks that stop other
// web pages (including DNS-rebinding ones) from talking to the lab on 127.0.0.1.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_PROTOCOL_PREFIX = 'token.';
export const EVENTS_PROTOCOL = 'cellshift.v1';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokensEqual(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class LoopbackGuard {
  readonly #hosts: Set<string>;
  readonly #origins: Set<string>;
  readonly #token: string;

  constructor(port: number, token: string) {
    this.#hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
    this.#origins = new Set([...this.#hosts].map((h) => `http://${h}`));
    this.#token = token;
  }

  /** A Host header naming anything but loopback on our port means DNS rebinding or a proxy. */
  hostAllowed(request: IncomingMessage): boolean {
    return this.#hosts.has((request.headers.host ?? '').toLowerCase());
  }

  /** Non-browser clients send no Origin; browsers must be on our own origin. */
  originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    return origin === undefined || this.#origins.has(origin.toLowerCase());
  }

  bearerTokenValid(request: IncomingMessage): boolean {
    const header = request.headers.authorization ?? '';
    const match = /^bearer\s+(\S+)$/i.exec(header);
    return tokensEqual(this.#token, match?.[1]);
  }

  /** Browsers cannot set headers on a WebSocket, so the token travels as a subprotocol. */
  protocolTokenValid(request: IncomingMessage): boolean {
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const token = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))?.slice(TOKEN_PROTOCOL_PREFIX.length);
    return offered.includes(EVENTS_PROTOCOL) && tokensEqual(this.#token, token);
  }

  contentSecurityPolicy(): string {
    // CSP has no syntax for IPv6 literals, and browsers reach us as 127.0.0.1 or localhost anyway.
    const wsSources = [...this.#hosts]
      .filter((h) => !h.startsWith('['))
      .map((h) => `ws://${h}`)
      .join(' ');
    return [
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "font-src 'self'",
      `connect-src 'self' ${wsSources}`,
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      "form-action 'none'",
    ].join('; ');
  }
}
