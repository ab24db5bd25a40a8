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
export { ApiClient, toBase64, type ApiClientOptions, type CallOptions, type PackageUploadInput, type StartSessionInput } from './api-client.js';
export * from './responses.js';
export { StartSessionSchema, PackageUploadSchema, DiscoverSchema } from '../http/schemas.js';
export { SessionConfigSchema, type SessionConfig, type SessionConfigInput } from '../config.js';
