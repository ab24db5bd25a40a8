/**
 * FedClient's options checked at construction (with messages that say what to fix), and the default timeouts.
 */
import { fedError, parsePackagePublicKey } from '@fedweb/codec';
import { CLIENT_ID_RE } from './ids.js';
import type { FedClientLimits, FedClientOptions, FedClientTimeouts } from './types.js';

/**
 * The bounds used where `options.timeouts` says nothing.
 * @example
 * ```ts
 * const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
 * ```
 */
export const DEFAULT_TIMEOUTS: Readonly<FedClientTimeouts> = {
  discoverMs: 10_000,
  connectMs: 10_000,
  welcomeMs: 10_000,
  downloadMs: 120_000,
  ackMs: 60_000,
  trainerSetupMs: 180_000,
  trainMs: 30 * 60_000,
  validateMs: 10 * 60_000,
  dataMs: 60_000,
  stopMs: 5_000,
};

/**
 * The bounds used where `options.limits` says nothing.
 * @example
 * ```ts
 * const limits = { ...DEFAULT_LIMITS, ...options.limits };
 * ```
 */
export const DEFAULT_LIMITS: Readonly<FedClientLimits> = {
  maxModelBytes: 512 * 1024 * 1024,
  maxPackageBytes: 32 * 1024 * 1024,
  uploadAttempts: 5,
  queuedTasks: 4,
  validationsPerRound: 1,
};

/**
 * The limits in force (`BAD_CONFIG` for a limit that is not a positive integer).
 * @example
 * ```ts
 * resolveLimits({ server, data, limits: { uploadAttempts: 3 } }).uploadAttempts; // 3
 * ```
 */
export function resolveLimits(options: FedClientOptions): FedClientLimits {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 1) throw fedError('BAD_CONFIG', `limits.${k} must be a positive integer, got ${String(v)}`);
  }
  return limits;
}

const BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Checks `options` (throws `BAD_CONFIG` naming what is wrong) and returns the timeouts in force.
 * @example
 * ```ts
 * const timeouts = checkOptions({ server: 'https://fl.example.com', data }); // DEFAULT_TIMEOUTS
 * ```
 */
export function checkOptions(options: FedClientOptions): FedClientTimeouts {
  if (!options || typeof options !== 'object') throw fedError('BAD_CONFIG', 'new FedClient(options): options must be an object with at least { server, data }');
  if (typeof options.server !== 'string') throw fedError('BAD_CONFIG', "FedClient needs `server`, the fedweb server's URL (https://... or wss://...)");
  if (!options.data || typeof options.data.load !== 'function') {
    throw fedError('BAD_CONFIG', 'FedClient needs `data`, an object with a load() method returning { x, xShape, y, yShape }');
  }
  if (options.id !== undefined && !CLIENT_ID_RE.test(options.id)) {
    throw fedError('BAD_CONFIG', `client id '${options.id}' is invalid: use 1-128 letters, digits and . _ : @ -`);
  }
  if (options.backend !== undefined && !BACKENDS.includes(options.backend)) {
    throw fedError('BAD_CONFIG', `backend '${String(options.backend)}' is not one of ${BACKENDS.join(', ')}`);
  }
  if (options.trustedPackageKeys !== undefined) {
    if (!Array.isArray(options.trustedPackageKeys) || options.trustedPackageKeys.length === 0) {
      throw fedError('BAD_CONFIG', 'trustedPackageKeys must be a non-empty array of Ed25519 public keys (omit it to run unsigned packages)');
    }
    for (const k of options.trustedPackageKeys) parsePackagePublicKey(String(k));
  }
  if (options.retry !== undefined && options.retry !== 'transient' && options.retry !== 'always') {
    throw fedError('BAD_CONFIG', `retry '${String(options.retry)}' is not one of transient, always`);
  }
  return { ...DEFAULT_TIMEOUTS, ...options.timeouts };
}
