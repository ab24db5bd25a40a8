/**
 * `fedweb session start --wait`: follows a session until it ends, printing what it waits for (clients to come
 * online, the round's training, its validation) whenever that changes, and each round as it ends.
 */
import { sleep } from '@fedweb/codec';
import type { ApiClient } from '../api-client/index.js';
import type { LiveRoundView, RoundView } from '../api-client/responses.js';

/**
 * The progress line for the round in progress, or null when there is none.
 * @example
 * ```ts
 * progressLine({ round: 1, phase: 'waiting', selected: 0, deadline: null }, 1, 2);
 * // 'round 1: waiting for clients: 1 online, a round starts once 2 are online at a combiner'
 * ```
 */
export function progressLine(live: Pick<LiveRoundView, 'round' | 'phase' | 'selected' | 'deadline'> | null, clientsOnline: number, clientsRequired: number, now = Date.now()): string | null {
  if (!live) return null;
  switch (live.phase) {
    case 'waiting':
      return `round ${live.round}: waiting for clients: ${clientsOnline} online, a round starts once ${clientsRequired} ${clientsRequired === 1 ? 'is' : 'are'} online at a combiner`;
    case 'training': {
      const left = live.deadline !== null ? `, deadline in ${Math.max(0, Math.round((live.deadline - now) / 1000))} s` : '';
      return `round ${live.round}: training on ${live.selected} client(s)${left}`;
    }
    case 'reducing':
      return `round ${live.round}: aggregating the updates`;
    case 'validating':
      return `round ${live.round}: validating the new global model on the clients`;
    default:
      return `round ${live.round}: ${String(live.phase)}`;
  }
}

/**
 * The line printed when a round ends.
 * @example
 * ```ts
 * roundEndLine(round); // 'round 1 committed: 2 update(s), model s1.m1 {"loss":0.4}'
 * ```
 */
export function roundEndLine(r: RoundView): string {
  return `round ${r.round} ${r.status}: ${r.updates} update(s)${r.modelId ? `, model ${r.modelId}` : ''}${r.reason ? ` (${r.reason})` : ''} ${JSON.stringify(r.trainMetrics)}`;
}

/**
 * Polls the session every `everyMs` until it is no longer running or paused; prints progress and round lines
 * through `say`. Returns the final status.
 * @example
 * ```ts
 * const status = await followSession(client, 'mnist-1', console.log);
 * if (status !== 'completed') process.exitCode = 1;
 * ```
 */
export async function followSession(client: ApiClient, sessionId: string, say: (line: string) => void, opts: { everyMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  let seen = 0;
  let lastProgress = '';
  for (;;) {
    await sleep(opts.everyMs ?? 1000, opts.signal);
    const [d, status] = await Promise.all([client.getSession(sessionId), client.status()]);
    for (const r of d.rounds.filter((x) => ['committed', 'failed', 'aborted'].includes(x.status)).sort((a, b) => a.round - b.round).slice(seen)) {
      say(roundEndLine(r));
      seen += 1;
    }
    if (!['running', 'paused'].includes(d.session.status)) {
      say(`session ${sessionId} ${d.session.status}`);
      return d.session.status;
    }
    // Phase and client count only: the deadline's countdown alone is not news.
    const progress = d.session.status === 'paused' ? `session ${sessionId} paused` : progressLine(d.live, status.clientsOnline, d.session.config.clientsRequired ?? 1);
    const key = progress?.replace(/, deadline in \d+ s$/, '') ?? '';
    if (progress && key !== lastProgress) say(progress);
    lastProgress = key;
  }
}
