/**
 * The HTTP side of the protocol: discovery (`POST /api/discover`) and blob downloads (`GET /api/models/:id`,
 * `GET /api/packages/:sha256`), each bounded by a timeout and an AbortSignal, each body verified.
 */
import { z } from 'zod';
import { ERROR_CODE_NAMES, errorCodeForHttpStatus, fedError, isFedError, sha256Hex, type BlobRef, type ErrorCode, type FedError } from '@fedweb/codec';
import { withTimeout } from '../client/abort.js';

/**
 * FetchLike
 * @example
 * ```ts
 * const f: FetchLike = (url, init) => fetch(url, init);
 * ```
 */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Normalises the `server` option to the HTTP base URL (no trailing slash): `ws:` becomes `http:`, `wss:` `https:`.
 * @example
 * ```ts
 * toHttpBase('wss://fl.example.com/'); // 'https://fl.example.com'
 * ```
 */
export function toHttpBase(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw fedError('BAD_CONFIG', `server '${server}' is not an absolute URL; pass e.g. 'https://fl.example.com' or 'wss://fl.example.com'`);
  }
  const scheme = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' }[u.protocol];
  if (!scheme) throw fedError('BAD_CONFIG', `server '${server}' must use http, https, ws or wss (got ${u.protocol})`);
  u.protocol = scheme;
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}

/**
 * Resolves a URL given by the server (absolute, or relative to its HTTP origin) against the HTTP base.
 * @example
 * ```ts
 * resolveHttpUrl('/api/models/m1', 'http://127.0.0.1:8080'); // 'http://127.0.0.1:8080/api/models/m1'
 * ```
 */
export function resolveHttpUrl(url: string, httpBase: string): string {
  return new URL(url, `${httpBase}/`).toString();
}

/**
 * Resolves the combiner URL from discovery to a WebSocket URL (`http:` becomes `ws:`, `https:` `wss:`).
 * @example
 * ```ts
 * toWebSocketUrl('/ws/client', 'https://fl.example.com'); // 'wss://fl.example.com/ws/client'
 * ```
 */
export function toWebSocketUrl(url: string, httpBase: string): string {
  const u = new URL(url, `${httpBase}/`);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw fedError('BAD_MESSAGE', `discovery returned a non-WebSocket URL '${url}'`);
  return u.toString();
}

const ErrorBody = z.object({ code: z.enum(ERROR_CODE_NAMES), message: z.string() }).loose();
/** The server's error body: `{ code, message }` or `{ error: { code, message } }`. */
const ServerErrorBody = z.union([ErrorBody, z.object({ error: ErrorBody }).loose()]);

const ADVICE: Partial<Record<ErrorCode, string>> = {
  UNAUTHORIZED: 'pass a valid client token in the `token` option',
  FORBIDDEN: 'the token lacks the client role; ask the operator for a client token',
  NOT_FOUND: 'the server no longer has it; it will be asked again next round',
  UNAVAILABLE: 'the server is busy or restarting; will retry with backoff',
};

/**
 * Turns a non-2xx response into a FedError, using the server's `{ code, message }` body when it sent one.
 * @example
 * ```ts
 * if (!res.ok) throw await httpError(res, 'GET /api/models/m1');
 * ```
 */
export async function httpError(res: Response, what: string): Promise<FedError> {
  let code = errorCodeForHttpStatus(res.status);
  let detail = `HTTP ${res.status}`;
  try {
    const parsed = ServerErrorBody.safeParse(await res.json());
    if (parsed.success) {
      const d = parsed.data;
      const b: z.infer<typeof ErrorBody> = 'code' in d ? (d as z.infer<typeof ErrorBody>) : (d as { error: z.infer<typeof ErrorBody> }).error;
      code = b.code;
      detail = `HTTP ${res.status} ${b.code}: ${b.message}`;
    }
  } catch {
    // Not JSON: the status code is all we have.
  }
  const advice = ADVICE[code];
  return fedError(code, `${what} failed (${detail})${advice ? `; ${advice}` : ''}`, { status: res.status });
}

const DiscoverResponse = z.object({ combinerId: z.string().min(1).max(128), url: z.string().min(1).max(2048) }).loose();
/**
 * The combiner a client was assigned, with its WebSocket URL.
 * @example
 * ```ts
 * const { combinerId, url }: DiscoverResult = await discover(clientId, ctx);
 * ```
 */
export type DiscoverResult = { combinerId: string; url: string };

/**
 * HttpContext
 * @example
 * ```ts
 * const ctx: HttpContext = { httpBase: 'http://127.0.0.1:8080', fetch, token, signal, timeoutMs: 10_000 };
 * ```
 */
export interface HttpContext {
  httpBase: string;
  fetch: FetchLike;
  /** Bearer token, if auth is on. */
  token?: string | undefined;
  signal?: AbortSignal;
  timeoutMs: number;
}

const authHeaders = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

/** Wraps fetch failures (DNS, refused, reset) as retryable `UNAVAILABLE`. */
function networkError(what: string, e: unknown): FedError {
  if (isFedError(e)) return e;
  return fedError('UNAVAILABLE', `${what} failed: ${(e as Error)?.message ?? String(e)}; the server may be down, will retry`, undefined, e);
}

/**
 * Asks the controller which combiner this client should dial. Returns the combiner's WebSocket URL.
 * @example
 * ```ts
 * const { combinerId, url } = await discover('client-1', { httpBase: 'http://127.0.0.1:8080', fetch, timeoutMs: 10_000 });
 * ```
 */
export async function discover(clientId: string, ctx: HttpContext): Promise<DiscoverResult> {
  const what = `POST ${ctx.httpBase}/api/discover`;
  return withTimeout(
    async (signal) => {
      let res: Response;
      try {
        res = await ctx.fetch(`${ctx.httpBase}/api/discover`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeaders(ctx.token) },
          body: JSON.stringify({ clientId }),
          signal,
        });
      } catch (e) {
        throw networkError(what, e);
      }
      if (!res.ok) throw await httpError(res, what);
      let body: unknown;
      try {
        body = await res.json();
      } catch (e) {
        throw fedError('BAD_MESSAGE', `${what} returned a body that is not JSON`, undefined, e);
      }
      const parsed = DiscoverResponse.safeParse(body);
      if (!parsed.success) throw fedError('BAD_MESSAGE', `${what} returned ${JSON.stringify(body).slice(0, 200)}, expected { combinerId, url }`);
      return { combinerId: parsed.data.combinerId, url: toWebSocketUrl(parsed.data.url, ctx.httpBase) };
    },
    ctx.timeoutMs,
    what,
    ctx.signal,
  );
}

/**
 * Downloads a blob (model frame or package bundle) and verifies its SHA-256 against the reference.
 * A mismatch rejects with `mismatchCode` (`HASH_MISMATCH` for models, `PACKAGE_INVALID` for packages): the bytes
 * are never used. A length different from `ref.bytes` is refused the same way.
 * @example
 * ```ts
 * const bytes = await fetchVerified(task.model, 'HASH_MISMATCH', { httpBase, fetch, timeoutMs: 60_000 });
 * ```
 */
export async function fetchVerified(ref: BlobRef, mismatchCode: 'HASH_MISMATCH' | 'PACKAGE_INVALID', ctx: HttpContext): Promise<Uint8Array> {
  const url = resolveHttpUrl(ref.url, ctx.httpBase);
  const what = `GET ${url}`;
  return withTimeout(
    async (signal) => {
      let res: Response;
      let bytes: Uint8Array;
      try {
        res = await ctx.fetch(url, { headers: authHeaders(ctx.token), signal });
        if (!res.ok) throw await httpError(res, what);
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        throw networkError(what, e);
      }
      const sha = await sha256Hex(bytes);
      if (sha !== ref.sha256) {
        throw fedError(
          mismatchCode,
          `${what}: SHA-256 is ${sha}, the server announced ${ref.sha256} (${bytes.length} bytes, announced ${ref.bytes}); refusing to use it. ` +
            'The download was corrupted or tampered with; it will be fetched again at the next task',
          { url, expected: ref.sha256, actual: sha },
        );
      }
      return bytes;
    },
    ctx.timeoutMs,
    what,
    ctx.signal,
  );
}
