/**
 * The one low-level JSON-over-fetch core every fedweb HTTP client builds on (the SDK's discovery and blob
 * downloads, the typed REST client `@fedweb/server/client`): a timeout and an AbortSignal on every call (the
 * timer cleared in `finally`), a bounded body read, responses checked with a zod schema, and every failure a
 * {@link FedError} from the codec's error table: the server's `{ kind: 'error', code, message }` body when
 * it sent one, else the code of the HTTP status ({@link errorCodeForHttpStatus}, RFC 9110 §15).
 *
 * `fetch`, `Response`, `AbortController` and `TextDecoder` are web-platform globals in browsers, workers and
 * Node 20, so this file uses no DOM-only and no Node-only API.
 */
import { z } from 'zod';
import { readStreamCapped } from './bytes.js';
import { withTimeout } from './deadline.js';
import { ERROR_CODE_NAMES, errorCodeForHttpStatus, fedError, isFedError, toFedError, type ErrorCode, type FedError } from './errors.js';

/**
 * The `fetch` signature the core calls (inject one for tests, proxies or a custom agent).
 * @example
 * ```ts
 * const f: FetchLike = (url, init) => fetch(url, init);
 * ```
 */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Default bound on a response body the core reads: 64 MiB.
 * @example
 * ```ts
 * await requestBytes({ url, maxBytes: 4 * DEFAULT_MAX_RESPONSE_BYTES }); // a large model
 * ```
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/**
 * Default per-call timeout: 10 s.
 * @example
 * ```ts
 * await httpCall({ url, timeoutMs: 6 * DEFAULT_HTTP_TIMEOUT_MS }); // a slow download
 * ```
 */
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

/**
 * One HTTP call.
 * @example
 * ```ts
 * const call: HttpCall = { url: 'http://127.0.0.1:8080/api/status', token, timeoutMs: 5000, signal };
 * ```
 */
export interface HttpCall {
  url: string;
  /** Default `GET`, or `POST` when `json` or `body` is given. */
  method?: string;
  /** A JSON body (serialized, `content-type: application/json`). */
  json?: unknown;
  /** A raw body (wins over `json`). */
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Bearer token (`Authorization: Bearer …`). */
  token?: string | undefined;
  /** Whole-call timeout, headers and body (default {@link DEFAULT_HTTP_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Cancels the call: it rejects with the signal's reason as a FedError (`ABORTED` unless it is one). */
  signal?: AbortSignal | undefined;
  /** Default the global `fetch`. */
  fetch?: FetchLike;
  /** Bound on the response body, bytes (default {@link DEFAULT_MAX_RESPONSE_BYTES}); beyond it `FRAME_TOO_LARGE`. */
  maxBytes?: number;
  /** Names the call in error messages (default `METHOD url`). */
  what?: string;
  /** A hint appended to the message of an HTTP error of this code (e.g. what to do about `UNAUTHORIZED`). */
  advice?: Partial<Record<ErrorCode, string>>;
  /** Extra `RequestInit` fields (e.g. `cache: 'no-store'` in a page). */
  init?: Omit<RequestInit, 'method' | 'headers' | 'body' | 'signal'>;
}

/**
 * A successful (2xx or 304) response, its body read within the bound.
 * @example
 * ```ts
 * const { status, bytes, headers } = await httpCall({ url });
 * ```
 */
export interface HttpResult {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
}

const ErrorBody = z.object({ code: z.enum(ERROR_CODE_NAMES), message: z.string().max(64 * 1024) }).loose();
/** The server's error body: `{ kind: 'error', code, message }` (or `{ error: { code, message } }`). */
const ServerErrorBody = z.union([ErrorBody, z.object({ error: ErrorBody }).loose()]);

/**
 * The FedError an HTTP error stands for: the code and message of the server's error body when it is one,
 * else {@link errorCodeForHttpStatus}. `details.status` carries the status, and `details.typed` is true when the
 * code came from the server's error body (a client may trust it more than a bare status a proxy could send).
 * @example
 * ```ts
 * httpErrorFrom(404, '{"kind":"error","code":"NOT_FOUND","message":"no model m1"}', 'GET /api/models/m1').code; // 'NOT_FOUND'
 * httpErrorFrom(502, '<html>bad gateway</html>', 'GET /api/status').code; // 'UNAVAILABLE'
 * ```
 */
export function httpErrorFrom(status: number, bodyText: string, what: string, advice?: Partial<Record<ErrorCode, string>>): FedError {
  let code = errorCodeForHttpStatus(status);
  let detail = `HTTP ${status}`;
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    // Not JSON (a proxy's page, an empty body): the status is all there is.
  }
  const parsed = ServerErrorBody.safeParse(json);
  if (parsed.success) {
    const b = 'error' in parsed.data && typeof parsed.data.error === 'object' ? (parsed.data.error as z.infer<typeof ErrorBody>) : (parsed.data as z.infer<typeof ErrorBody>);
    code = b.code;
    detail = `HTTP ${status} ${b.code}: ${b.message}`;
  }
  const hint = advice?.[code];
  // `typed`: the code is the server's own answer, not a guess from a status line (a proxy's page has none).
  return fedError(code, `${what} failed (${detail})${hint ? `; ${hint}` : ''}`, parsed.success ? { status, typed: true } : { status });
}

/**
 * Reads a response body, refusing (and cancelling the stream) once it passes `maxBytes`.
 * @example
 * ```ts
 * const bytes = await readBodyBounded(res, 1024 * 1024, 'GET /api/status');
 * ```
 */
export async function readBodyBounded(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw fedError('FRAME_TOO_LARGE', `${what}: response of ${declared} bytes exceeds the limit of ${maxBytes}`);
  }
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  return readStreamCapped(res.body, maxBytes, () => {
    throw fedError('FRAME_TOO_LARGE', `${what}: response exceeds the limit of ${maxBytes} bytes`);
  });
}

/**
 * Performs one call: resolves with the body of a 2xx/304 response, rejects with a FedError otherwise
 * (`TIMEOUT`, `ABORTED`, `UNAVAILABLE` when the network fails, `FRAME_TOO_LARGE`, or the HTTP error's code).
 * @example
 * ```ts
 * const { bytes } = await httpCall({ url: `${base}/api/models/m1`, token, timeoutMs: 60_000 });
 * ```
 */
export async function httpCall(call: HttpCall): Promise<HttpResult> {
  const hasBody = call.body !== undefined || call.json !== undefined;
  const method = call.method ?? (hasBody ? 'POST' : 'GET');
  const what = call.what ?? `${method} ${call.url}`;
  const timeoutMs = call.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  let body: BodyInit | undefined;
  if (call.body !== undefined) body = call.body as BodyInit;
  else if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers['content-type'] ??= 'application/json';
  }
  // The deadline covers the headers and the whole body; a fetch that ignores its signal still ends at it.
  return withTimeout(
    async (signal): Promise<HttpResult> => {
      let res: Response;
      try {
        res = await (call.fetch ?? fetch)(call.url, { ...call.init, method, headers, ...(body !== undefined ? { body } : {}), signal });
      } catch (e) {
        if (signal.aborted) throw toFedError(signal.reason, 'ABORTED');
        if (isFedError(e)) throw e;
        throw fedError('UNAVAILABLE', `${what} failed: ${(e as Error)?.message ?? String(e)}; the server may be down`, undefined, e);
      }
      if (!res.ok && res.status !== 304) {
        const text = new TextDecoder().decode(await readBodyBounded(res, 64 * 1024, what).catch(() => new Uint8Array(0)));
        throw httpErrorFrom(res.status, text, what, call.advice);
      }
      return { status: res.status, headers: res.headers, bytes: await readBodyBounded(res, call.maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES, what) };
    },
    timeoutMs,
    what,
    call.signal,
  );
}

/**
 * Calls and parses the JSON response with `schema` (server bytes are untrusted): a body that is not JSON or
 * does not match is `BAD_MESSAGE`. Without a schema the JSON is returned as `unknown`.
 * @example
 * ```ts
 * const { combinerId, url } = await requestJson({ url: `${base}/api/discover`, json: { clientId } }, z.object({ combinerId: z.string(), url: z.string() }));
 * ```
 */
export async function requestJson<T = unknown>(call: HttpCall, schema?: z.ZodType<T>): Promise<T> {
  const { bytes } = await httpCall({ ...call, headers: { accept: 'application/json', ...call.headers } });
  const what = call.what ?? `${call.method ?? (call.json !== undefined || call.body !== undefined ? 'POST' : 'GET')} ${call.url}`;
  const text = new TextDecoder().decode(bytes);
  let value: unknown = null;
  if (text.length > 0) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw fedError('BAD_MESSAGE', `${what} returned a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`, undefined, e);
    }
  }
  if (!schema) return value as T;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw fedError(
    'BAD_MESSAGE',
    `${what} returned an unexpected body (${issue?.path.length ? issue.path.join('.') + ': ' : ''}${issue?.message ?? 'invalid'}): ${JSON.stringify(value)?.slice(0, 200)}`,
  );
}

/**
 * Calls and returns the raw response bytes (model frames, bundles), bounded by `maxBytes`.
 * @example
 * ```ts
 * const frame = await requestBytes({ url: `${base}/api/models/m1`, token, maxBytes: 256 * 2 ** 20 });
 * ```
 */
export async function requestBytes(call: HttpCall): Promise<Uint8Array> {
  return (await httpCall(call)).bytes;
}
