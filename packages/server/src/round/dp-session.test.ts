/**
 * A differentially private session over real sockets: its noise and its client sample come from the CSPRNG,
 * not from the session seed that anyone with read access sees (README "Threat model").
 */
import { describe, expect, it } from 'vitest';
import { serverFixture } from '../../test/fixture.js';
import { ONES, SEED, sessionRounds } from '../../test/tiny-session.js';
import { fetchModelFlat } from '../testing/harness.js';

const f = serverFixture(SEED);

describe('a DP session', () => {
  it('adds noise the seed does not determine: two sessions with the same seed and updates differ', async () => {
    const server = await f.setup();
    for (const id of ['a', 'b']) await f.connect(server, { clientId: id, onTrain: () => ONES });
    const config = { rounds: 1, clientsRequired: 2, seed: 7, strategy: { name: 'dp', options: { clipNorm: 1, noiseMultiplier: 1 } } };
    const one = await sessionRounds(server, config);
    const two = await sessionRounds(server, config);
    expect([one.rounds[0]!.status, two.rounds[0]!.status]).toEqual(['committed', 'committed']);
    const a = [...(await fetchModelFlat(server.url, one.rounds[0]!.modelId!))];
    const b = [...(await fetchModelFlat(server.url, two.rounds[0]!.modelId!))];
    // The old seeded noise gave bit-identical models here.
    expect(a).not.toEqual(b);
    // The round record (readable by viewers) holds no un-noised statistics of the clients' updates.
    expect(one.rounds[0]!.partials.every((p) => p.updateStats === undefined)).toBe(true);
  });

  it('samples clients by Poisson sampling with samplingRate, whatever the seed and clientsPerRound', async () => {
    const server = await f.setup();
    const trainedIn = new Map<string, Set<string>>();
    for (let i = 0; i < 8; i++) {
      const id = `c${i}`;
      await f.connect(server, {
        clientId: id,
        onTrain: (task) => {
          trainedIn.set(task.roundId, (trainedIn.get(task.roundId) ?? new Set()).add(id));
          return ONES;
        },
      });
    }
    const { rounds } = await sessionRounds(server, {
      rounds: 6,
      clientsRequired: 8,
      clientsPerRound: 2,
      seed: 7,
      strategy: { name: 'dp', options: { noiseMultiplier: 0.5, samplingRate: 0.5 } },
    });
    expect(rounds).toHaveLength(6);
    // Each client is in each round with probability 1/2, so the sample size varies (a seeded sample of
    // clientsPerRound = 2 is two clients every round): six rounds of exactly two have probability (28/256)^6 < 2e-6.
    const sets = rounds.map((r) => [...(trainedIn.get(r.id) ?? [])].sort().join(','));
    expect(new Set(sets).size).toBeGreaterThan(1);
    expect(rounds.some((r) => r.updates !== 2)).toBe(true);
  });
});
