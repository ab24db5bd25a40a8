/**
 * The typed REST client of a fedweb controller (fedweb's counterpart of FEDn's `APIClient`,
 * https://docs.scaleoutsystems.com/en/stable/apiclient.html): one method per route, requests typed from the
 * routes' own schemas (`../http/schemas.ts`, `../config.ts`), every response parsed with zod (a server's bytes
 * are untrusted), every call bounded by a timeout and an optional AbortSignal, every failure a FedError with
 * the code of the codec's error table. Browser-safe: no `node:` import, no Fastify; the demo bundles it.
 */
import type { z } from 'zod';
import { ComputePackageManifestSchema, fedError, httpCall, requestJson, type Capabilities, type ComputePackageManifest, type FetchLike, type HttpCall } from '@fedweb/codec';
import type { PackageUploadSchema, StartSessionSchema } from '../http/schemas.js';
import type { IssueTokenSchema } from '../http/routes/tokens.js';
import {
  ClientListSchema,
  CombinerListSchema,
  DiscoverResponseSchema,
  IssuedTokenSchema,
  ModelListSchema,
  PackageEnvelopeSchema,
  SessionDetailSchema,
  SessionEnvelopeSchema,
  SessionListSchema,
  StatusResponseSchema,
  type ClientView,
  type CombinerView,
  type DiscoverResponse,
  type IssuedToken,
  type ModelView,
  type PackageView,
  type SessionDetail,
  type SessionView,
  type StatusResponse,
} from './responses.js';

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

const enc = encodeURIComponent;

/** A signal that aborts when either does (`AbortSignal.any` where the platform has it: Node 20.3+, Safari 17.4+). */
function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const ctl = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) ctl.abort(s.reason);
    else s.addEventListener('abort', () => ctl.abort(s.reason), { once: true });
  }
  return ctl.signal;
}

/**
 * The REST client. Every method throws a FedError: the server's code when it answered with an error body,
 * the status's code otherwise, `BAD_MESSAGE` when the answer is not what the API promises.
 * @example
 * ```ts
 * const api = new ApiClient({ baseUrl: 'http://127.0.0.1:8080', token });
 * await api.uploadPackage({ manifest, bundle, seedModel });
 * const session = await api.startSession({ rounds: 3, clientsPerRound: 10 });
 * const { rounds } = await api.getSession(session.id);
 * ```
 */
export class ApiClient {
  readonly baseUrl: string;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  /** The call description for `path` (shared by every method and {@link ApiClient.request}). */
  private call(path: string, o: CallOptions & { method?: string; json?: unknown; maxBytes?: number } = {}): HttpCall {
    const signal = o.signal && this.opts.signal ? eitherSignal(o.signal, this.opts.signal) : (o.signal ?? this.opts.signal);
    return {
      url: `${this.baseUrl}${path}`,
      ...(o.method ? { method: o.method } : {}),
      ...(o.json !== undefined ? { json: o.json } : {}),
      token: this.opts.token,
      timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 10_000,
      signal,
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      ...(this.opts.init ? { init: this.opts.init } : {}),
      ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
    };
  }

  /**
   * Any JSON route, parsed with `schema` when given (the escape hatch for routes without a method).
   * @example
   * ```ts
   * const info = await api.request('/api/sim/info', { schema: z.object({ assignments: z.record(z.string(), z.number()) }) });
   * ```
   */
  request<T = unknown>(path: string, o: CallOptions & { method?: string; json?: unknown; schema?: z.ZodType<T> } = {}): Promise<T> {
    return requestJson(this.call(path, o), o.schema);
  }

  /**
   * `GET /api/status`: clients online, the active session and its live round, the active package.
   * @example
   * ```ts
   * const { clientsOnline, activeSession } = await api.status();
   * ```
   */
  status(o?: CallOptions): Promise<StatusResponse> {
    return requestJson(this.call('/api/status', o), StatusResponseSchema);
  }

  /**
   * `POST /api/discover`: the combiner a client should dial.
   * @example
   * ```ts
   * const { combinerId, url } = await api.discover('kiosk-17');
   * ```
   */
  discover(clientId: string, capabilities?: Capabilities, o?: CallOptions): Promise<DiscoverResponse> {
    return requestJson(this.call('/api/discover', { ...o, json: { clientId, ...(capabilities ? { capabilities } : {}) } }), DiscoverResponseSchema);
  }

  /**
   * `GET /api/sessions`.
   * @example
   * ```ts
   * const running = (await api.listSessions()).filter((s) => s.status === 'running');
   * ```
   */
  async listSessions(o?: CallOptions): Promise<SessionView[]> {
    return (await requestJson(this.call('/api/sessions', o), SessionListSchema)).sessions;
  }

  /**
   * `GET /api/sessions/:id`: the session, its rounds, the live round and the metric rows.
   * @example
   * ```ts
   * const { session, rounds } = await api.getSession('mnist-1');
   * ```
   */
  getSession(id: string, o?: CallOptions): Promise<SessionDetail> {
    return requestJson(this.call(`/api/sessions/${enc(id)}`, o), SessionDetailSchema);
  }

  /**
   * `POST /api/sessions`: starts a session (the server validates the config; a bad one is BAD_CONFIG).
   * @example
   * ```ts
   * const s = await api.startSession({ id: 'mnist-1', rounds: 5, strategy: { name: 'fedadam' } });
   * ```
   */
  async startSession(config: StartSessionInput = {}, o?: CallOptions): Promise<SessionView> {
    return (await requestJson(this.call('/api/sessions', { ...o, json: config }), SessionEnvelopeSchema)).session;
  }

  /**
   * `POST /api/sessions/:id/pause`.
   * @example
   * ```ts
   * await api.pauseSession('mnist-1');
   * ```
   */
  pauseSession(id: string, o?: CallOptions): Promise<SessionView> {
    return this.sessionAction(id, 'pause', o);
  }

  /**
   * `POST /api/sessions/:id/resume`.
   * @example
   * ```ts
   * await api.resumeSession('mnist-1');
   * ```
   */
  resumeSession(id: string, o?: CallOptions): Promise<SessionView> {
    return this.sessionAction(id, 'resume', o);
  }

  /**
   * `POST /api/sessions/:id/stop`.
   * @example
   * ```ts
   * const s = await api.stopSession('mnist-1'); // s.status === 'stopped'
   * ```
   */
  stopSession(id: string, o?: CallOptions): Promise<SessionView> {
    return this.sessionAction(id, 'stop', o);
  }

  private async sessionAction(id: string, action: 'pause' | 'resume' | 'stop', o?: CallOptions): Promise<SessionView> {
    return (await requestJson(this.call(`/api/sessions/${enc(id)}/${action}`, { ...o, method: 'POST' }), SessionEnvelopeSchema)).session;
  }

  /**
   * `GET /api/models[?sessionId=]`: the model trail.
   * @example
   * ```ts
   * const trail = await api.listModels('mnist-1');
   * ```
   */
  async listModels(sessionId?: string, o?: CallOptions): Promise<ModelView[]> {
    return (await requestJson(this.call(`/api/models${sessionId ? `?sessionId=${enc(sessionId)}` : ''}`, o), ModelListSchema)).models;
  }

  /**
   * `GET /api/models/:id`: the model's frame bytes (decode with the codec's `decodeFrame`), at most `maxBytes`.
   * @example
   * ```ts
   * const frame = await api.downloadModel(session.currentModelId);
   * ```
   */
  async downloadModel(id: string, o: CallOptions & { maxBytes?: number } = {}): Promise<Uint8Array> {
    return (await httpCall({ ...this.call(`/api/models/${enc(id)}`, o), timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 60_000 })).bytes;
  }

  /**
   * `POST /api/packages`: uploads a compute package (bytes base64-encoded here) and, by default, activates it.
   * @example
   * ```ts
   * const pkg = await api.uploadPackage({ manifest, bundle, seedModel });
   * ```
   */
  async uploadPackage(input: PackageUploadInput, o: CallOptions = {}): Promise<PackageView> {
    const json = { manifest: input.manifest, bundle: toBase64(input.bundle), seedModel: toBase64(input.seedModel), ...(input.activate !== undefined ? { activate: input.activate } : {}) };
    return (await requestJson({ ...this.call('/api/packages', { ...o, json }), timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 120_000 }, PackageEnvelopeSchema)).package;
  }

  /**
   * `GET /api/packages/active`: the package new sessions train (NOT_FOUND before the first upload).
   * @example
   * ```ts
   * const { sha256, manifest } = await api.activePackage();
   * ```
   */
  async activePackage(o?: CallOptions): Promise<PackageView> {
    return (await requestJson(this.call('/api/packages/active', o), PackageEnvelopeSchema)).package;
  }

  /**
   * `GET /api/packages/:sha256/manifest`: the manifest of any stored package.
   * @example
   * ```ts
   * const manifest = await api.packageManifest(pkg.sha256);
   * ```
   */
  packageManifest(sha256: string, o?: CallOptions): Promise<ComputePackageManifest> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return Promise.reject(fedError('BAD_CONFIG', `'${sha256}' is not a lowercase hex SHA-256`));
    return requestJson(this.call(`/api/packages/${sha256}/manifest`, o), ComputePackageManifestSchema);
  }

  /**
   * `GET /api/clients`: one page of the clients seen, online or not, in id order (`limit` default 100, at most
   * 1000); `next` is the `after` of the following page, null on the last one.
   * @example
   * ```ts
   * const { clients, online, next } = await api.listClients({ limit: 500 });
   * if (next) await api.listClients({ after: next });
   * ```
   */
  listClients(o: CallOptions & { after?: string; limit?: number } = {}): Promise<{ clients: ClientView[]; online: number; next: string | null }> {
    const q = new URLSearchParams();
    if (o.limit !== undefined) q.set('limit', String(o.limit));
    if (o.after !== undefined) q.set('after', o.after);
    const qs = q.toString();
    return requestJson(this.call(`/api/clients${qs ? `?${qs}` : ''}`, o), ClientListSchema);
  }

  /**
   * Every client seen, following `next` page after page.
   * @example
   * ```ts
   * for await (const c of api.allClients()) console.log(c.clientId, c.online);
   * ```
   */
  async *allClients(o: CallOptions & { limit?: number } = {}): AsyncGenerator<ClientView> {
    let after: string | undefined;
    for (;;) {
      const page = await this.listClients({ ...o, limit: o.limit ?? 1000, ...(after !== undefined ? { after } : {}) });
      yield* page.clients;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /**
   * `GET /api/combiners`: the combiners registered with the controller.
   * @example
   * ```ts
   * const combiners = await api.listCombiners();
   * ```
   */
  async listCombiners(o?: CallOptions): Promise<CombinerView[]> {
    return (await requestJson(this.call('/api/combiners', o), CombinerListSchema)).combiners;
  }

  /**
   * `POST /api/tokens` (admin only): issues a token for a role and subject; `ttl` defaults per role.
   * @example
   * ```ts
   * const { token } = await admin.issueToken({ role: 'client', sub: 'kiosk-17', ttl: '30d' });
   * ```
   */
  async issueToken(input: z.input<typeof IssueTokenSchema>, o?: CallOptions): Promise<IssuedToken> {
    return requestJson(this.call('/api/tokens', { ...o, json: input }), IssuedTokenSchema);
  }
}
