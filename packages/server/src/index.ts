/**
 * @fedweb/server: controller, discovery, combiners, reducer, strategies and the `fedweb` CLI.
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
export { startCombiner, type CombinerProcessOptions, type CombinerServer } from './combiner/process.js';
export { Combiner, type CombinerOptions } from './combiner/combiner.js';
export { Controller, type ControllerOptions } from './controller/controller.js';
export { modelRef } from './controller/trail.js';
export { packageRef } from './controller/packages.js';
export type { LiveRound } from './controller/runtime.js';
export { StartSessionSchema, PackageUploadSchema } from './http/schemas.js';
export { CombinerRegistry, type CombinerHandle } from './discovery/registry.js';
export { leastLoaded, type DiscoveryPolicy, type CombinerLoad } from './discovery/policy.js';
export { issueToken, verifyToken, authorize, ROLES, type Role, type Principal, type IssueTokenOptions, type Permission } from './auth.js';
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
export { httpStatusOf } from '@fedweb/codec';
export { FsBlobStore, sha256Node } from './store/fs-blob-store.js';
export { SqliteStateStore, openSqliteStateStore } from './store/sqlite-state-store.js';
export type * from './store/types.js';
export type { Logger, LogLevel } from './log.js';
export { getStrategy, listStrategies, registerStrategy } from './strategy/index.js';
export type { Strategy, StrategyContext, PartialAggregate, ClientUpdate, FoldTools } from './strategy/types.js';
