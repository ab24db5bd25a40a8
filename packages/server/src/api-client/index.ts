/**
 * `@fedweb/server/client`: the one typed REST client of a fedweb controller, browser-safe (used by the CLI,
 * the demo page, e2e, the benchmarks and the server's tests).
 *
 * @example
 * ```ts
 * import { ApiClient } from '@fedweb/server/client';
 * const api = new ApiClient({ baseUrl: 'http://127.0.0.1:8080', token });
 * const { clientsOnline } = await api.status();
 * ```
 */
export { ApiClient } from './api-client.js';
export { toBase64, type ApiClientOptions, type CallOptions, type PackageUploadInput, type ProgressFn, type StartSessionInput, type TransferOptions } from './options.js';
export { progressFetch } from './progress-fetch.js';
export * from './responses.js';
export * from './admin-responses.js';
export { StartSessionSchema, PackageUploadSchema, DiscoverSchema, RollbackSchema, AuditQuery, AUDIT_ACTIONS, type AuditAction } from '../http/schemas.js';
export { SessionConfigSchema, type SessionConfig, type SessionConfigInput } from '../config.js';
