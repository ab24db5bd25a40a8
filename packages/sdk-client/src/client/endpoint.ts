/**
 * How the client reaches the server over HTTP: its base URL, the platform's fetch, and the client token
 * (a string, or a function called for a fresh one before each connection and download).
 */
import { toHttpBase, type FetchLike, type HttpContext } from '../transport/http.js';
import { withTimeout } from './abort.js';

/**
 * The server's HTTP side as the client sees it.
 * @example
 * ```ts
 * const endpoint = new Endpoint('https://fl.example.com', fetch, async () => getToken(), 10_000);
 * const found = await discover(clientId, endpoint.http(signal, 10_000, await endpoint.token(signal)));
 * ```
 */
export class Endpoint {
  readonly httpBase: string;

  constructor(
    server: string,
    readonly fetch: FetchLike,
    private readonly tokenOption: string | (() => string | Promise<string>) | undefined,
    private readonly tokenTimeoutMs: number,
  ) {
    this.httpBase = toHttpBase(server);
  }

  /** The token to send now: the string option, or a fresh one from the function option (bounded by the discover timeout). */
  async token(signal: AbortSignal): Promise<string | undefined> {
    const t = this.tokenOption;
    if (typeof t !== 'function') return t;
    return withTimeout(Promise.resolve(t()), this.tokenTimeoutMs, 'the token() option', signal);
  }

  /** An HTTP context for one request bounded by `timeoutMs` and `signal`. */
  http(signal: AbortSignal, timeoutMs: number, token?: string): HttpContext {
    const fallback = typeof this.tokenOption === 'string' ? this.tokenOption : undefined;
    return { httpBase: this.httpBase, fetch: this.fetch, token: token ?? fallback, signal, timeoutMs };
  }
}
