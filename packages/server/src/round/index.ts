/**
 * round/ owns how one round (or async version) runs: membership and sampling, `round.start`, partials, validation.
 *
 * A sync round: membership.ts (prepare + sample) -> round-start.ts -> sync-round.ts (wait for partials, reduce,
 * step) -> validation.ts -> controller/trail.ts. An async session: async-engine.ts with its event-queue.ts, the
 * same membership and `round.start` builder, and the same trail commit per version.
 */
export { runSyncRound } from './sync-round.js';
export { runAsyncSession } from './async-engine.js';
