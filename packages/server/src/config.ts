/**
 * Session configuration: what an operator sends to `POST /api/sessions` (validated with zod, every field defaulted).
 * The README's "Session config" table documents each field; keep the two in step.
 */
import { z } from 'zod';
import { boundedRecord, conditionBreach, createRng, type Capabilities, type DeviceConditions } from '@fedweb/codec';

/**
 * Which online clients may be picked for a round. Clients that do not report a capability pass the filter
 * (a desktop browser has no battery API; an unknown connection is not assumed cellular).
 * @example
 * ```ts
 * SelectionPolicySchema.parse({ minBattery: 0.2, excludeConnectionTypes: ['cellular'] });
 * ```
 */
export const SelectionPolicySchema = z
  .object({
    /** Exclude clients whose battery level is below this (0..1) unless they are charging. */
    minBattery: z.number().min(0).max(1).optional(),
    /** Exclude clients that report a battery and are not charging. */
    requireCharging: z.boolean().default(false),
    /** Exclude clients whose `connection.type` is in this list, e.g. `['cellular']`. */
    excludeConnectionTypes: z.array(z.string().max(32)).max(32).default([]),
    /** Exclude clients whose `connection.saveData` is true. */
    excludeSaveData: z.boolean().default(false),
    /** Keep only these platforms (empty = all). */
    platforms: z.array(z.enum(['browser', 'node'])).max(2).default([]),
    /** Exclude browser tabs that report `visible: false`. */
    requireVisible: z.boolean().default(false),
    /**
     * Clients watch the device conditions above (battery, connection, visibility) while they train a round and
     * withdraw when they stop meeting them (their slot is freed at once); false: the conditions apply to selection only.
     */
    withdraw: z
      .boolean()
      .default(true)
      .describe('clients training a round withdraw (slot freed at once) when they stop meeting minBattery, requireCharging, excludeConnectionTypes, excludeSaveData or requireVisible; false: these apply to selection only'),
  })
  .strict();
export type SelectionPolicy = z.infer<typeof SelectionPolicySchema>;

/**
 * When a round counts (the validity step of FEDn's round, https://docs.scaleoutsystems.com/en/stable/architecture.html).
 * A partial "qualifies" when it folded at least `minClients` updates; the round is valid when at least
 * `minCombiners` partials qualify.
 * @example
 * ```ts
 * ValidityPolicySchema.parse({ minCombiners: 2 }); // both combiners must deliver
 * ```
 */
export const ValidityPolicySchema = z
  .object({
    minCombiners: z.number().int().min(1).max(10_000).default(1),
    /** Minimum updates over all partials (0 = no extra condition). */
    minTotalUpdates: z.number().int().min(0).default(0),
  })
  .strict();
export type ValidityPolicy = z.infer<typeof ValidityPolicySchema>;

/**
 * The session config, every field defaulted (the README's "Session config" table documents each one).
 *
 * Three counts of clients gate three different things, at three moments of a round:
 * - `clientsRequired` (before the round, per combiner): a combiner TAKES PART only if it has at least this many
 *   eligible clients online; with fewer it is left out of the round (FEDn's "clients required").
 * - `clientsPerRound` (at the start, over all combiners): how many of the eligible clients are SAMPLED (seeded)
 *   and sent a training task; absent = every eligible client.
 * - `minClients` (after training, per partial): a combiner's partial COUNTS towards the round's validity only if
 *   it folded at least this many updates (`validity.minCombiners` such partials make the round valid).
 * So `clientsRequired: 3, clientsPerRound: 10, minClients: 2` means: combiners with 3+ eligible clients join,
 * 10 clients over all of them are asked to train, and a combiner's result counts if 2+ of its clients delivered.
 * @example
 * ```ts
 * const config = SessionConfigSchema.parse({ rounds: 10, clientsPerRound: 20, strategy: { name: 'fedadam' } });
 * ```
 */
export const SessionConfigSchema = z
  .object({
    /** Optional human-readable name shown on the dashboard. */
    name: z.string().max(200).optional(),
    /** Rounds to run (committed + failed rounds count; an interrupted round is re-run). */
    rounds: z.number().int().min(1).max(1_000_000).default(5),
    /**
     * Participation gate, per combiner, checked before a round: a combiner takes part only if it has at least this
     * many eligible clients online (FEDn's round, step 1). Not a sample size (`clientsPerRound`) and not a validity
     * minimum (`minClients`).
     */
    clientsRequired: z.number().int().min(1).max(100_000).default(1),
    /**
     * Validity minimum, per partial, checked after training: a combiner's partial counts towards
     * `validity.minCombiners` only if it folded at least this many client updates.
     */
    minClients: z.number().int().min(1).max(100_000).default(1),
    /**
     * Sample size, over all participating combiners, drawn at the start of a round: this many eligible clients
     * (seeded) get a training task; absent = all eligible clients.
     */
    clientsPerRound: z.number().int().min(1).max(100_000).optional(),
    /** Deadline of the training part of a round, from `round.start`. */
    roundTimeoutMs: z.number().int().min(100).max(86_400_000).default(60_000),
    /** Deadline of the validation part of a round. */
    validateTimeoutMs: z.number().int().min(100).max(86_400_000).default(30_000),
    localEpochs: z.number().int().min(1).max(1000).default(1),
    batchSize: z.number().int().min(1).max(65_536).default(32),
    learningRate: z.number().positive().finite().default(0.01),
    /**
     * Per-round decay of the clients' learning rate: round r trains with `learningRate * learningRateDecay^(r-1)`
     * (async sessions: model version r). 1 = constant. Under non-IID data FedAvg with a constant rate stalls in a
     * neighbourhood of the optimum whose size grows with the rate (Li et al., "On the Convergence of FedAvg on
     * Non-IID Data", ICLR 2020); a decaying rate shrinks it.
     */
    learningRateDecay: z.number().gt(0).lte(1).default(1),
    /** How clients encode their update (delta = local - global). */
    encoding: z.enum(['f32', 'int8', 'int4', 'topk']).default('int8'),
    /** Fraction of entries a client sends with `topk` encoding. */
    topkFraction: z.number().gt(0).lte(1).optional(),
    /** How clients round int8/int4 values: `nearest` (default) or `stochastic` (unbiased, seeded per client). */
    rounding: z.enum(['nearest', 'stochastic']).optional(),
    /**
     * The aggregation strategy by registered name and its options (validated by the strategy's own schema; every
     * strategy's options are listed in packages/server/src/strategy/README.md). E.g. gradient mode:
     * `{ name: 'fedsgd', options: { optimizer: 'adam', lr: 0.01, batches: 1, reduce: 'mean' } }`; server momentum:
     * `{ name: 'fedavgm', options: { momentum: 0.9, lr: 1 } }`.
     */
    strategy: z
      .object({ name: z.string().min(1).max(64).default('fedavg'), options: boundedRecord(z.unknown()).default({}) })
      .strict()
      .default({ name: 'fedavg', options: {} }),
    /** Send validation tasks after each committed round and store their example-weighted metrics. */
    validate: z.boolean().default(false),
    /**
     * How clients get the global model in sync rounds: `delta` (int8, deflated change from the model they hold,
     * with download-side error feedback; README "Delta downloads") or `full` (the exact model every round).
     */
    downloads: z.enum(['delta', 'full']).default('delta'),
    /**
     * Seed for client sampling and strategy randomness (mixed with the round number). Readable through the API, so
     * nothing secret comes from it: DP noise and DP client sampling use the CSPRNG.
     */
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    selection: SelectionPolicySchema.default({ requireCharging: false, excludeConnectionTypes: [], excludeSaveData: false, platforms: [], requireVisible: false, withdraw: true }),
    validity: ValidityPolicySchema.default({ minCombiners: 1, minTotalUpdates: 0 }),
    /**
     * How an update is weighted (TensorFlow Federated's `client_weighting`): `examples` = by its claimed
     * `numExamples`, capped (see `maxExamplesPerUpdate`); `uniform` = every update counts once.
     */
    weighting: z.enum(['examples', 'uniform']).default('examples'),
    /**
     * Cap on an update's weight with `weighting: 'examples'`: min(numExamples, this). Absent = automatic: 2x the
     * median claim of the previous round, and uniform weights while there is no previous round (README "Threat model").
     */
    maxExamplesPerUpdate: z.number().int().min(1).optional(),
    /**
     * Bound on an update's L2 norm. Absent = automatic: 5x the median norm of the previous round, and
     * 10 x max(1, L2 norm of the global model) while there is none. Non-finite values are always refused.
     */
    maxUpdateNorm: z.number().positive().finite().optional(),
    /** What happens to an update above the norm bound: refused (NORM_EXCEEDED) or scaled down to it. */
    onNormExceeded: z.enum(['refuse', 'clip']).default('refuse'),
    /** Free-form settings passed to the compute package's `train` (`settings.extra`), over the manifest's. */
    extra: boundedRecord(z.unknown()).default({}),
    /** Start from this model of the trail instead of the active package's seed model. */
    initialModelId: z.string().min(1).max(128).optional(),
  })
  .strict();
export type SessionConfig = z.infer<typeof SessionConfigSchema>;
export type SessionConfigInput = z.input<typeof SessionConfigSchema>;

/**
 * True when a client with these capabilities passes the selection policy.
 * @example
 * ```ts
 * isEligible({ battery: { level: 0.1, charging: false } }, { minBattery: 0.2, ...defaults }) // false
 * ```
 */
export function isEligible(caps: Capabilities, policy: SelectionPolicy): boolean {
  if (policy.platforms.length > 0 && caps.platform && !policy.platforms.includes(caps.platform)) return false;
  return conditionBreach(caps, policy) === null;
}

/**
 * The device conditions clients watch while training (`task.train` `settings.conditions`): the selection policy's
 * battery, connection and visibility rules, or none when `withdraw` is off.
 * @example
 * ```ts
 * deviceConditions(SelectionPolicySchema.parse({ minBattery: 0.2 })) // { minBattery: 0.2, requireCharging: false, ... }
 * ```
 */
export function deviceConditions(policy: SelectionPolicy): DeviceConditions | undefined {
  // A session stored before the field existed has none: withdrawal is on by default.
  if (policy.withdraw === false) return undefined;
  const { minBattery, requireCharging, excludeConnectionTypes, excludeSaveData, requireVisible } = policy;
  return { ...(minBattery !== undefined ? { minBattery } : {}), requireCharging, excludeConnectionTypes, excludeSaveData, requireVisible };
}

/**
 * Picks `k` items from `items` uniformly without replacement (partial Fisher-Yates), deterministic for a seed.
 * @example
 * ```ts
 * sample(['a', 'b', 'c'], 2, 7) // two of them, always the same two for seed 7
 * ```
 */
export function sample<T>(items: readonly T[], k: number, seed: number): T[] {
  const copy = items.slice();
  if (k >= copy.length) return copy;
  const rng = createRng(seed);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(copy.length - i);
    const tmp = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = tmp;
  }
  return copy.slice(0, k);
}
