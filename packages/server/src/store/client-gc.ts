/**
 * Garbage collection of client ids: every id that says hello gets a row in the clients table, so ids that never
 * complete a round (a flood of made-up ids, kiosks reset once) would grow it without bound. Rows without a counted
 * update are deleted once unseen for the retention time; contributors are kept.
 */
import { toFedError } from '@fedweb/codec';
import type { Logger } from '../log.js';
import type { StateStore } from './types.js';

/**
 * Prunes now, then every `min(retentionMs, 1 h)`; returns the timer (clear it at close).
 * @example
 * ```ts
 * const timer = collectClientGarbage(state, log, 24 * 3600_000);
 * clearInterval(timer);
 * ```
 */
export function collectClientGarbage(state: Pick<StateStore, 'pruneClients'>, log: Logger, retentionMs: number): NodeJS.Timeout {
  const prune = (): void => {
    state.pruneClients(Date.now() - retentionMs).then(
      (n) => {
        if (n > 0) log.info({ removed: n, retentionMs }, 'removed client ids that never completed a round');
      },
      (e: unknown) => log.error({ err: toFedError(e).message }, 'pruning clients failed'),
    );
  };
  prune();
  const timer = setInterval(prune, Math.max(1000, Math.min(retentionMs, 3600_000)));
  timer.unref();
  return timer;
}
