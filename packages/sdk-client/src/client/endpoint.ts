/**
 * How the client reaches the server over HTTP: its base URL, the platform's fetch, and the client token
 * (a string, or a function called for a fresh one before each connection and download).
 */
import { fedError } from '@fedweb/codec';
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
  /** Origins the client talks to (and sends its token to): the server's, plus `trustedOrigins`; ws(s) as http(s). */
  readonly #trusted: ReadonlySet<string>;

  constructor(
    server: string,
    readonly fetch: FetchLike,
    private tokenOption: string | (() => string | Promise<string>) | undefined,
    private readonly tokenTimeoutMs: number,
    trustedOrigins: readonly string[] = [],
  ) {
    this.httpBase = toHttpBase(server);
    if (!Array.isArray(trustedOrigins)) throw fedError('BAD_CONFIG', 'trustedOrigins must be an array of origins, e.g. ["wss://combiner-2.example.com"]');
    this.#trusted = new Set([this.httpBase, ...trustedOrigins].map((o) => httpOrigin(String(o))));
  }

  /**
   * Throws `UNTRUSTED_ORIGIN` unless `url` (absolute) is on a trusted origin: the token, and the client itself,
   * go nowhere else, whatever a server or a discovery answer says.
   */
  checkOrigin(url: string, what: string): void {
    let origin: string;
    try {
      origin = httpOrigin(url);
    } catch {
      throw fedError('UNTRUSTED_ORIGIN', `${what} '${url.slice(0, 200)}' is not a usable URL; refused`);
    }
    if (!this.#trusted.has(origin)) {
      throw fedError(
        'UNTRUSTED_ORIGIN',
        `${what} '${url.slice(0, 200)}' is on ${origin}, which this client does not trust (trusted: ${[...this.#trusted].join(', ')}); refused, the token is not sent there. Add the origin to \`trustedOrigins\` if it is yours`,
        { origin },
      );
    }
  }

  /** Replaces the token (`client.restart({ token })` after a permanent `UNAUTHORIZED`). */
  setToken(token: string | (() => string | Promise<string>)): void {
    this.tokenOption = token;
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

/** The origin of `url` with ws: as http: and wss: as https: (so a combiner and its HTTP side compare equal). */
function httpOrigin(url: string): string {
  return new URL(toHttpBase(url)).origin;
}
