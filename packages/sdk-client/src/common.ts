/**
 * The surface both entries share (`@fedweb/sdk-client` for browsers, `@fedweb/sdk-client/node`): the client
 * core, its types, and the dataset check. Each entry adds its own `FedClient` (platform bound) and caches.
 */
export { FedClientCore } from './client/fed-client.js';
export { SDK_VERSION } from './client/session.js';
export type {
  ClientStatus,
  DataProvider,
  FedClientEvents,
  FedClientLimits,
  FedClientOptions,
  FedClientTimeouts,
  FedLogger,
  FedPlatform,
  MetricsEvent,
  ProgressEvent,
  RoundEvent,
  ModelEvent,
  RoundPhase,
  StatusEvent,
  TrainerFactory,
  TrainerHandle,
  WithdrawnEvent,
} from './client/types.js';
export type { BackoffOptions, DeviceConditions, WithdrawReason } from '@fedweb/codec';
export type { RetryMode } from './client/fatal.js';
export type { SettingsBounds } from './client/settings-bounds.js';
export { DEFAULT_LIMITS } from './client/options.js';
export { DEFAULT_SETTINGS_BOUNDS } from './client/settings-bounds.js';
export { checkDataset } from './client/dataset.js';
