/**
 * @fedweb/server: controller, discovery, combiners, reducer, strategies and the `fedweb` CLI. The public surface:
 * start a server or an external combiner, issue tokens, configure sessions, plug in a discovery policy, stores or
 * a strategy. The typed REST client is `@fedweb/server/client`; test helpers are `@fedweb/server/testing`.
 *
 * @example
 * ```ts
 * import { startServer, startCombiner, issueToken } from '@fedweb/server';
 * const server = await startServer({ port: 8080, computePackage: { dir: './dist/package' } });
 * const c2 = await startCombiner({ controllerUrl: server.url, name: 'c2' });
 * const { id } = await server.controller.startSession({ rounds: 5, clientsPerRound: 10 });
 * ```
 */
export { startServer, readPackageDir, type ServerOptions, type FedServer, type ServerPlugin } from './server.js';
export { generatePackageKeyPair, signPackageDir, signPackageManifest, type PackageKeyPair } from './package-signing.js';
export { startCombiner, type CombinerProcessOptions, type CombinerServer } from './combiner/process.js';
// Types only: they name `FedServer`'s fields (`controller`, `registry`, `combiner`); build them with `startServer`.
export type { Controller } from './controller/controller.js';
export type { LiveRound } from './controller/runtime.js';
export type { CombinerRegistry, CombinerHandle } from './discovery/registry.js';
export type { Combiner, CombinerEvents, CombinerOptions, WithdrawnEvent } from './combiner/combiner.js';
export { leastLoaded, type DiscoveryPolicy, type CombinerLoad } from './discovery/policy.js';
export { StartSessionSchema, PackageUploadSchema } from './http/schemas.js';
export { issueToken, verifyToken, authorize, ROLES, DEFAULT_TOKEN_TTL, type Role, type Principal, type IssueTokenOptions, type Permission } from './auth.js';
export { deriveSigningKey, loadSigningKey, publicJwks, verifyKeyOf, JWKS_PATH, type SigningKey, type VerifyKey } from './auth-keys.js';
export {
  SessionConfigSchema,
  SelectionPolicySchema,
  ValidityPolicySchema,
  isEligible,
  type SessionConfig,
  type SessionConfigInput,
  type SelectionPolicy,
  type ValidityPolicy,
} from './config.js';
// The stores, for deployments that wrap or compose them (`startServer({ state, blobs })`), and the URL opener.
export { FedMetrics, type MetricSources } from './metrics/metrics.js';
export { FsBlobStore } from './store/fs-blob-store.js';
export { openSqliteStateStore } from './store/sqlite-state-store.js';
export { openPgStateStore } from './store/pg-state-store.js';
export type { PgConnectOptions } from './store/pg-connect.js';
export { S3BlobStore, type S3BlobStoreOptions } from './store/s3-blob-store.js';
export { openStores, type StoreLocations, type OpenedStores } from './store/open.js';
export type * from './store/types.js';
export type { Logger, LogLevel } from './log.js';
export { getStrategy, listStrategies, registerStrategy } from './strategy/index.js';
export type { Strategy, StrategyContext, PartialAggregate, ClientUpdate, FoldTools } from './strategy/types.js';
