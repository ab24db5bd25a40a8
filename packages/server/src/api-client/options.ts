/**
 * The typed API client's options and input types, and the small browser-safe helpers it needs (base64, signal
 * merging). Split from api-client.ts so that file holds only the routes' methods.
 */
import type { z } from 'zod';
import type { FetchLike, HttpCall } from '@fedweb/codec';
import type { PackageUploadSchema, StartSessionSchema } from '../http/schemas.js';

/**
 * How to reach the controller.
 * @example
 * ```ts
 * const opts: ApiClientOptions = { baseUrl: 'https://fl.example.com', token: process.env.FEDWEB_TOKEN, timeoutMs: 10_000 };
 * ```
 */
export interface ApiClientOptions {
  /** The controller's HTTP origin (and base path), e.g. `http://127.0.0.1:8080`; `''` = same origin (a page). */
  baseUrl: string;
  /** Bearer token (when the server runs with auth). */
  token?: string | undefined;
  /** Per-call timeout, default 10 s (package uploads default to 120 s). */
  timeoutMs?: number;
  /** Cancels every call of this client (each call may add its own). */
  signal?: AbortSignal | undefined;
  /** Default the global `fetch`. */
  fetch?: FetchLike;
  /** Extra `RequestInit` fields for every call (e.g. `{ cache: 'no-store' }` in a page). */
  init?: HttpCall['init'];
}

/**
 * Per-call overrides.
 * @example
 * ```ts
 * await client.status({ timeoutMs: 2000, signal: AbortSignal.timeout(5000) });
 * ```
 */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The body of `POST /api/sessions`: the session config (every field optional) and an optional id.
 * @example
 * ```ts
 * const config: StartSessionInput = { id: 'mnist-1', rounds: 5, clientsRequired: 2 };
 * ```
 */
export type StartSessionInput = z.input<typeof StartSessionSchema>;

/**
 * A package upload: the bundle and seed model as bytes (the client base64-encodes them).
 * @example
 * ```ts
 * const input: PackageUploadInput = { manifest, bundle: await readFile('package.mjs'), seedModel, activate: true };
 * ```
 */
export type PackageUploadInput = Omit<z.input<typeof PackageUploadSchema>, 'bundle' | 'seedModel'> & { bundle: Uint8Array; seedModel: Uint8Array };

/**
 * Base64 of bytes without Node's Buffer (browsers, workers and Node alike).
 * @example
 * ```ts
 * toBase64(new Uint8Array([1, 2, 3])); // 'AQID'
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * A signal that aborts when either does (`AbortSignal.any` where the platform has it: Node 20.3+, Safari 17.4+).
 * @example
 * ```ts
 * const signal = eitherSignal(perCall, clientWide);
 * ```
 */
export function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const ctl = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) ctl.abort(s.reason);
    else s.addEventListener('abort', () => ctl.abort(s.reason), { once: true });
  }
  return ctl.signal;
}

/**
 * Progress of a byte transfer: bytes so far, and the total when known (a response's `Content-Length`, an
 * upload's body size).
 * @example
 * ```ts
 * const onProgress: ProgressFn = (done, total) => console.log(`${done}/${total ?? '?'} bytes`);
 * ```
 */
export type ProgressFn = (done: number, total: number | null) => void;

/**
 * Per-call overrides of a call that moves many bytes (model downloads, package uploads).
 * @example
 * ```ts
 * await api.downloadModel('s1.m3', { timeoutMs: 300_000, onProgress: (done, total) => bar.update(done, total) });
 * ```
 */
export interface TransferOptions extends CallOptions {
  /** Called as bytes move (downloads everywhere; upload progress streams the request body, which needs Node's fetch or HTTP/2 in a browser). */
  onProgress?: ProgressFn;
}

/** `?k=v&...` of the defined values, or `''` when there are none. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
