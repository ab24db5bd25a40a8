/**
 * Who takes part: `round.prepare` to every live combiner until enough of them hold enough eligible clients
 * (step 1 of a round, and the opening of an async stream), then the sample of clients that train. One path for
 * sync rounds and async streams.
 */
import { sleep } from '@fedweb/codec';
import { isEligible, sample, type SelectionPolicy, type SessionConfig } from '../config.js';
import type { ControllerDeps } from '../controller/runtime.js';
import type { CombinerHandle } from '../discovery/registry.js';
import type { SessionRecord } from '../store/types.js';
import { secureUniforms } from '../strategy/dp/secure-random.js';

/** A combiner that can take part, with the eligible clients it reported. */
export interface Participant {
  handle: CombinerHandle;
  eligible: string[];
}

/**
 * Asks every live combiner which of its clients are eligible (`round.prepare` -> `round.ready`) until at least
 * `validity.minCombiners` combiners have `clientsRequired` each, polling every `waitPollMs`. Null when the
 * session stops running (paused, stopped) or the controller closes first: no round was started.
 * @example
 * ```ts
 * const participants = await prepareParticipants(deps, s, roundId, signal, { round });
 * if (!participants) return;
 * ```
 */
export async function prepareParticipants(
  deps: Pick<ControllerDeps, 'state' | 'registry' | 'log' | 'timing' | 'isClosed'>,
  s: SessionRecord,
  roundId: string,
  signal: AbortSignal,
  logContext: Record<string, unknown> = {},
): Promise<Participant[] | null> {
  const config = s.config;
  let waitingLogged = false;
  for (;;) {
    if (signal.aborted || deps.isClosed()) return null;
    const current = await deps.state.getSession(s.id);
    if (current?.status !== 'running') return null;
    const handles = deps.registry.list();
    const answers = await Promise.all(
      handles.map((h) =>
        deps.registry.request<string[]>('ready', h, roundId, prepareMessage(s.id, roundId, config.selection), deps.timing.prepareTimeoutMs, signal),
      ),
    );
    const participants: Participant[] = [];
    answers.forEach((a, i) => {
      if (a.ok && a.value.length >= config.clientsRequired) participants.push({ handle: handles[i] as CombinerHandle, eligible: a.value });
    });
    if (participants.length >= config.validity.minCombiners) return participants;
    if (!waitingLogged) {
      deps.log.info({ sessionId: s.id, ...logContext, combiners: handles.length, clientsRequired: config.clientsRequired }, 'waiting for enough eligible clients');
      waitingLogged = true;
    }
    // Ends early (without throwing) when the session stops: the loop's next check sees the signal.
    await sleep(deps.timing.waitPollMs, signal).catch(() => undefined);
  }
}

/**
 * The `round.prepare` message: it hands a combiner the selection policy for the round (or stream) `roundId`.
 * @example
 * ```ts
 * handle.peer.send(prepareMessage(s.id, stream.id, s.config.selection));
 * ```
 */
export function prepareMessage(sessionId: string, roundId: string, selection: SelectionPolicy) {
  return { v: 2 as const, kind: 'round.prepare' as const, sessionId, roundId, selection };
}

/**
 * Samples `clientsPerRound` clients over all eligible ones (all of them when unset), with the round's seed, and
 * groups them by the combiner that holds them. A client reported twice while it moves is kept once. With
 * `poissonRate` (a differentially private strategy's q) each eligible client is instead taken independently
 * with probability q, drawn from the CSPRNG (Poisson sampling, what the RDP accountant assumes; the seed,
 * which viewers can read, plays no part), and `clientsPerRound` is ignored.
 * @example
 * ```ts
 * const perCombiner = sampleClients(participants, config.clientsPerRound, ctx.seed); // Map<handle, clientIds>
 * ```
 */
export function sampleClients(
  participants: Participant[],
  clientsPerRound: SessionConfig['clientsPerRound'],
  seed: number,
  poissonRate?: number,
): Map<CombinerHandle, string[]> {
  const owner = new Map<string, CombinerHandle>();
  for (const p of participants) for (const id of p.eligible) if (!owner.has(id)) owner.set(id, p.handle);
  const everyone = [...owner.keys()].sort();
  const chosen = poissonRate !== undefined ? poissonSample(everyone, poissonRate) : clientsPerRound ? sample(everyone, clientsPerRound, seed) : everyone;
  const perCombiner = new Map<CombinerHandle, string[]>();
  for (const id of chosen) {
    const h = owner.get(id) as CombinerHandle;
    perCombiner.set(h, [...(perCombiner.get(h) ?? []), id]);
  }
  return perCombiner;
}

/**
 * Each item independently with probability `q`, from the CSPRNG (Poisson sampling).
 * @example
 * ```ts
 * poissonSample(['a', 'b', 'c'], 1); // ['a', 'b', 'c']
 * ```
 */
export function poissonSample<T>(items: readonly T[], q: number): T[] {
  const u = secureUniforms(items.length);
  return items.filter((_, i) => u[i]! < q);
}

/**
 * The clients a combiner holds now that pass the selection policy (from its last `combiner.status`), sorted.
 * @example
 * ```ts
 * const eligible = eligibleOn(handle, s.config.selection);
 * ```
 */
export function eligibleOn(handle: CombinerHandle, selection: SelectionPolicy): string[] {
  return [...handle.clients.values()].filter((c) => isEligible(c.capabilities, selection)).map((c) => c.clientId).sort();
}
