/**
 * Discovery policies: which live combiner a client is sent to. Least-loaded is the default; a deployment may
 * pass its own (`startServer({ discoveryPolicy })`), e.g. to pin kiosks of one site to the combiner near them.
 */

/** What discovery policies see about each live combiner. */
export interface CombinerLoad {
  id: string;
  url: string;
  embedded: boolean;
  /** Connected clients plus clients assigned in the last few seconds that have not connected yet. */
  load: number;
}

/**
 * Picks a combiner for a client; return `null` to refuse (UNAVAILABLE). The default is least-loaded with
 * ties broken by id, which spreads clients evenly.
 * @example
 * ```ts
 * const firstExternal: DiscoveryPolicy = (clientId, combiners) => combiners.find((c) => !c.embedded)?.id ?? combiners[0]?.id ?? null;
 * ```
 */
export type DiscoveryPolicy = (clientId: string, combiners: CombinerLoad[]) => string | null;

/**
 * The default discovery policy: the combiner with the fewest clients (connected plus just assigned), ties by id.
 * @example
 * ```ts
 * await startServer({ discoveryPolicy: leastLoaded });
 * ```
 */
export const leastLoaded: DiscoveryPolicy = (_clientId, combiners) => {
  let best: CombinerLoad | null = null;
  for (const c of combiners) if (!best || c.load < best.load || (c.load === best.load && c.id < best.id)) best = c;
  return best?.id ?? null;
};
