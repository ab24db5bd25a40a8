/**
 * The typed REST client of a fedweb controller (fedweb's counterpart of FEDn's `APIClient`,
 * https://docs.scaleoutsystems.com/en/stable/apiclient.html): one method per route, requests typed from the
 * routes' own schemas (`../http/schemas.ts`, `../config.ts`), every response parsed with zod (a server's bytes
 * are untrusted), every call bounded by a timeout and an optional AbortSignal, every failure a FedError with
 * the code of the codec's error table. Browser-safe: no `node:` import, no Fastify; the demo bundles it.
 */
import type { z } from 'zod';
import { ComputePackageManifestSchema, fedError, httpCall, requestJson, type Capabilities, type ComputePackageManifest, type HttpCall } from '@fedweb/codec';
import { eitherSignal, query, toBase64, type ApiClientOptions, type CallOptions, type PackageUploadInput, type StartSessionInput, type TransferOptions } from './options.js';
import { jsonEvents } from './event-stream.js';
import { progressFetch } from './progress-fetch.js';
import type { AuditAction } from '../http/schemas.js';
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
  RollbackResponseSchema,
  SessionListSchema,
  StatusResponseSchema,
  type ClientView,
  type CombinerView,
  type DiscoverResponse,
  type IssuedToken,
  type ModelView,
  type PackageView,
  type RollbackResponse,
  type SessionDetail,
  type SessionView,
  type StatusResponse,
} from './responses.js';
import { AuditPageSchema, ContributionsSchema, JwksSchema, type AuditEntryView, type AuditPage, type Jwks } from './admin-responses.js';

const enc = encodeURIComponent;

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
  private call(path: string, o: TransferOptions & { method?: string; json?: unknown; maxBytes?: number; direction?: 'up' | 'down' } = {}): HttpCall {
    const base = this.opts.fetch ?? ((url: string, init?: RequestInit) => fetch(url, init));
    const f = o.onProgress ? progressFetch(base, o.onProgress, o.direction ?? 'down') : this.opts.fetch;
    const signal = o.signal && this.opts.signal ? eitherSignal(o.signal, this.opts.signal) : (o.signal ?? this.opts.signal);
    return {
      url: `${this.baseUrl}${path}`,
      ...(o.method ? { method: o.method } : {}),
      ...(o.json !== undefined ? { json: o.json } : {}),
      token: this.opts.token,
      timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 10_000,
      signal,
      ...(f ? { fetch: f } : {}),
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

  /**
   * `POST /api/sessions/:id/rollback`: the session's next round starts from `modelId`, an earlier model of its
   * trail (a round in flight is aborted). Returns the session and the model it was at.
   * @example
   * ```ts
   * const { session, previousModelId } = await api.rollbackSession('mnist-1', 'mnist-1.m2');
   * ```
   */
  rollbackSession(id: string, modelId: string, o?: CallOptions): Promise<RollbackResponse> {
    return requestJson(this.call(`/api/sessions/${enc(id)}/rollback`, { ...o, json: { modelId } }), RollbackResponseSchema);
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
   * const big = await api.downloadModel('s1.m9', { maxBytes: 2 ** 30, onProgress: (done, total) => console.log(done, total) });
   * ```
   */
  async downloadModel(id: string, o: TransferOptions & { maxBytes?: number } = {}): Promise<Uint8Array> {
    return (await httpCall({ ...this.call(`/api/models/${enc(id)}`, o), timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 60_000 })).bytes;
  }

  /**
   * `POST /api/packages`: uploads a compute package (bytes base64-encoded here) and, by default, activates it.
   * @example
   * ```ts
   * const pkg = await api.uploadPackage({ manifest, bundle, seedModel }, { onProgress: (sent, total) => console.log(sent, total) });
   * ```
   */
  async uploadPackage(input: PackageUploadInput, o: TransferOptions = {}): Promise<PackageView> {
    const json = { manifest: input.manifest, bundle: toBase64(input.bundle), seedModel: toBase64(input.seedModel), ...(input.activate !== undefined ? { activate: input.activate } : {}) };
    return (await requestJson({ ...this.call('/api/packages', { ...o, json, direction: 'up' }), timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 120_000 }, PackageEnvelopeSchema)).package;
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
    return requestJson(this.call(`/api/clients${query({ limit: o.limit, after: o.after })}`, o), ClientListSchema);
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

  /**
   * `GET /api/blobs/:sha256`: a content-addressed blob (e.g. SCAFFOLD's control variate), at most `maxBytes`.
   * @example
   * ```ts
   * const bytes = await api.downloadBlob(ref.sha256);
   * ```
   */
  async downloadBlob(sha256: string, o: TransferOptions & { maxBytes?: number } = {}): Promise<Uint8Array> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw fedError('BAD_CONFIG', `'${sha256}' is not a lowercase hex SHA-256`);
    return (await httpCall({ ...this.call(`/api/blobs/${sha256}`, o), timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 60_000 })).bytes;
  }

  /**
   * `GET /api/packages/:sha256`: a stored package's ES module bundle.
   * @example
   * ```ts
   * const bundle = await api.downloadPackage(pkg.sha256);
   * ```
   */
  async downloadPackage(sha256: string, o: TransferOptions & { maxBytes?: number } = {}): Promise<Uint8Array> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw fedError('BAD_CONFIG', `'${sha256}' is not a lowercase hex SHA-256`);
    return (await httpCall({ ...this.call(`/api/packages/${sha256}`, o), timeoutMs: o.timeoutMs ?? this.opts.timeoutMs ?? 60_000 })).bytes;
  }

  /**
   * `GET /api/audit` (admin only): one page of the audit log, newest first; `next` is the `cursor` of the
   * following page (null on the last). Filters: one `action`, entries at or after `since` (epoch ms or ISO date).
   * @example
   * ```ts
   * const { entries, next } = await admin.listAudit({ limit: 50, action: 'session.start' });
   * if (next) await admin.listAudit({ cursor: next });
   * ```
   */
  listAudit(q: CallOptions & { limit?: number; cursor?: string; action?: AuditAction; since?: number | string } = {}): Promise<AuditPage> {
    return requestJson(this.call(`/api/audit${query({ limit: q.limit, cursor: q.cursor, action: q.action, since: q.since })}`, q), AuditPageSchema);
  }

  /**
   * The whole audit log (with the same filters), newest first, following `next` page after page.
   * @example
   * ```ts
   * for await (const e of admin.allAudit({ action: 'token.issue' })) console.log(e.actor, e.target);
   * ```
   */
  async *allAudit(q: CallOptions & { limit?: number; action?: AuditAction; since?: number | string } = {}): AsyncGenerator<AuditEntryView> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.listAudit({ ...q, limit: q.limit ?? 1000, ...(cursor !== undefined ? { cursor } : {}) });
      yield* page.entries;
      if (page.next === null) return;
      cursor = page.next;
    }
  }

  /**
   * `GET /.well-known/jwks.json`: the controller's public token key (NOT_FOUND with auth off).
   * @example
   * ```ts
   * const { keys } = await api.jwks();
   * ```
   */
  jwks(o?: CallOptions): Promise<Jwks> {
    return requestJson(this.call('/.well-known/jwks.json', o), JwksSchema);
  }

  /**
   * `GET /api/contributions`: updates counted per client id by the server's embedded combiner since it started.
   * @example
   * ```ts
   * const counts = await api.contributions(['kiosk-1', 'kiosk-2']); // { 'kiosk-1': 3, 'kiosk-2': 0 }
   * ```
   */
  async contributions(ids: string[], o?: CallOptions): Promise<Record<string, number>> {
    return (await requestJson(this.call(`/api/contributions${query({ ids: ids.join(',') })}`, o), ContributionsSchema)).contributions;
  }

  /**
   * `GET /api/events`: the server's live events (`hello`, `session`, `round`, `model`, `live`), each `data` parsed
   * as JSON, until the stream ends or `o.signal` aborts (no timeout: a stream is long-lived).
   * @example
   * ```ts
   * for await (const { event, data } of api.events({ signal })) console.log(event, data);
   * ```
   */
  async *events(o: { signal?: AbortSignal } = {}): AsyncGenerator<{ event: string; data: unknown }> {
    const f = this.opts.fetch ?? ((url: string, init?: RequestInit) => fetch(url, init));
    const signal = o.signal && this.opts.signal ? eitherSignal(o.signal, this.opts.signal) : (o.signal ?? this.opts.signal);
    const res = await f(`${this.baseUrl}/api/events`, { headers: { Accept: 'text/event-stream', ...(this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {}) }, ...(signal ? { signal } : {}) });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
      throw fedError(res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'FORBIDDEN' : 'UNAVAILABLE', `GET /api/events: HTTP ${res.status}${body.message ? `: ${body.message}` : ''}`);
    }
    yield* jsonEvents(res.body, 'GET /api/events');
  }
}
