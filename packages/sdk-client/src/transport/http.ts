/**
 * The HTTP side of the protocol: discovery (`POST /api/discover`) and blob downloads (`GET /api/models/:id`,
 * `GET /api/packages/:sha256`), each bounded by a timeout and an AbortSignal, each body verified. Built on the
 * codec's one JSON-over-fetch core (`httpCall`, `requestJson`, `requestBytes`).
 */
import { z } from 'zod';
import { fedError, httpErrorFrom, isFedError, readBodyBounded, requestBytes, requestJson, sha256Hex, type BlobRef, type ErrorCode, type FedError } from '@fedweb/codec';

/**
 * The `fetch` signature the SDK calls (the codec's {@link import('@fedweb/codec').FetchLike}).
 * @example
 * ```ts
 * const f: FetchLike = (url, init) => fetch(url, init);
 * ```
 */
export type { FetchLike } from '@fedweb/codec';
import type { FetchLike } from '@fedweb/codec';

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
  const text = new TextDecoder().decode(await readBodyBounded(res, 64 * 1024, what).catch(() => new Uint8Array(0)));
  return httpErrorFrom(res.status, text, what, ADVICE);
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

/**
 * Asks the controller which combiner this client should dial. Returns the combiner's WebSocket URL.
 * @example
 * ```ts
 * const { combinerId, url } = await discover('client-1', { httpBase: 'http://127.0.0.1:8080', fetch, timeoutMs: 10_000 });
 * ```
 */
export async function discover(clientId: string, ctx: HttpContext): Promise<DiscoverResult> {
  const body = await requestJson(
    {
      url: `${ctx.httpBase}/api/discover`,
      json: { clientId },
      token: ctx.token,
      fetch: ctx.fetch,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
      maxBytes: 64 * 1024,
      advice: ADVICE,
    },
    DiscoverResponse,
  );
  return { combinerId: body.combinerId, url: toWebSocketUrl(body.url, ctx.httpBase) };
}

/**
 * Downloads a blob (model frame or package bundle) and verifies its SHA-256 against the reference.
 * A mismatch rejects with `mismatchCode` (`HASH_MISMATCH` for models, `PACKAGE_INVALID` for packages): the bytes
 * are never used. A length different from `ref.bytes` is refused the same way, and the read stops one byte past
 * `ref.bytes` (memory follows the reference, not the server). A reference announcing more than `maxBytes` is
 * refused (`FRAME_TOO_LARGE`) before anything is fetched. `checkUrl` vets the resolved URL first (its origin).
 * @example
 * ```ts
 * const bytes = await fetchVerified(task.model, 'HASH_MISMATCH', { httpBase, fetch, timeoutMs: 60_000 }, 512 * 2 ** 20);
 * ```
 */
export async function fetchVerified(
  ref: BlobRef,
  mismatchCode: 'HASH_MISMATCH' | 'PACKAGE_INVALID',
  ctx: HttpContext,
  maxBytes: number,
  checkUrl?: (url: string) => void,
): Promise<Uint8Array> {
  const url = resolveHttpUrl(ref.url, ctx.httpBase);
  checkUrl?.(url);
  const what = `GET ${url}`;
  if (ref.bytes > maxBytes) {
    throw fedError('FRAME_TOO_LARGE', `${what}: the reference announces ${ref.bytes} bytes, more than this client's limit of ${maxBytes} (limits.maxModelBytes / maxPackageBytes); not downloaded`);
  }
  const mismatch = (sha: string, bytes: number): FedError =>
    fedError(
      mismatchCode,
      `${what}: SHA-256 is ${sha}, the server announced ${ref.sha256} (${bytes} bytes, announced ${ref.bytes}); refusing to use it. ` +
        'The download was corrupted or tampered with; it will be fetched again at the next task',
      { url, expected: ref.sha256, actual: sha },
    );
  let bytes: Uint8Array;
  try {
    // A body longer than announced cannot hash to the announced SHA-256: stop reading it one byte past.
    bytes = await requestBytes({ url, token: ctx.token, fetch: ctx.fetch, timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxBytes: ref.bytes + 1, advice: ADVICE });
  } catch (e) {
    if (isFedError(e, 'FRAME_TOO_LARGE')) throw mismatch('(not computed: body too long)', ref.bytes + 1);
    throw e;
  }
  const sha = await sha256Hex(bytes);
  if (sha !== ref.sha256) throw mismatch(sha, bytes.length);
  return bytes;
}
