/**
 * What one hostile client (a valid, ordinary client) can do to the model with default settings, over real
 * sockets: a real server and real test clients (README "Threat model: what one client can do to the model").
 */
import { describe, expect, it } from 'vitest';
import type { MessageOf } from '@fedweb/codec';
import { serverFixture } from '../../test/fixture.js';
import { SEED, sessionRounds } from '../../test/tiny-session.js';
import type { FedServer } from '../server.js';
import { fetchModelFlat } from '../testing/harness.js';
import type { TestUpdate } from '../testing/test-client.js';

const f = serverFixture(SEED);
const SEED_FLAT = [1, 2, 3, 4, 0, 1];
const fill = (v: number): Float32Array => new Float32Array(6).fill(v);

/** Honest clients: every one sends Δ = 1 everywhere, with different example counts (median 100). */
const HONEST_CLAIMS = [100, 120, 80, 100];

async function honest(server: FedServer): Promise<void> {
  for (const [i, n] of HONEST_CLAIMS.entries()) await f.connect(server, { clientId: `h${i}`, onTrain: () => ({ delta: fill(1), numExamples: n, encoding: 'f32' }) });
}

/**
 * The hostile client's weight share in each committed round, read off the models: every honest client sends
 * Δ = 1, the hostile one H, so the committed step is 1 + s (H - 1) with s its share of the weight.
 */
async function hostileShares(server: FedServer, modelIds: string[], h: number): Promise<number[]> {
  const shares: number[] = [];
  let prev = SEED_FLAT;
  for (const id of modelIds) {
    const model = [...(await fetchModelFlat(server.url, id))];
    const steps = model.map((v, i) => v - prev[i]!);
    shares.push(Math.max(...steps.map((d) => (d - 1) / (h - 1))));
    prev = model;
  }
  return shares;
}

describe('one hostile client among honest ones, default settings', () => {
  // n honest clients of similar claims: the hostile update weighs at most 2x their median claim, so its share
  // is at most 2m / (n m + 2m) = 2 / (n + 2) = 1/3 here (round 1: uniform weights, 1 / (n + 1) = 1/5).
  const bound = 2 / (HONEST_CLAIMS.length + 2);

  it.each([
    ['claims 1e12 examples and pulls the other way', 1e12, -2],
    ['claims 2^53 - 1 examples with a zero delta (erasing every honest contribution)', Number.MAX_SAFE_INTEGER, 0],
  ])('%s: its weight share stays within 2 / (n + 2) in every round', async (_what, claim, h) => {
    const server = await f.setup();
    await honest(server);
    await f.connect(server, { clientId: 'evil', onTrain: (): TestUpdate => ({ delta: fill(h), numExamples: claim, encoding: 'f32' }) });
    const { rounds } = await sessionRounds(server, { rounds: 3, clientsRequired: 5 });
    expect(rounds.map((r) => r.status)).toEqual(['committed', 'committed', 'committed']);
    expect(rounds.map((r) => r.updates)).toEqual([5, 5, 5]);
    const shares = await hostileShares(server, rounds.map((r) => r.modelId!), h);
    // Observed: [0.2, 0.333, 0.333]; without the cap the share is 1 - 4e-10 (1e12) or 1 - 4e-14 (2^53 - 1).
    expect(shares[0]).toBeCloseTo(1 / 5, 5);
    for (const s of shares) expect(s).toBeLessThanOrEqual(bound + 1e-6);
  });

  it('two clients sending all 1e30 (with 3e8 examples each) are refused; the round commits from the honest ones', async () => {
    const server = await f.setup();
    await honest(server);
    const refusals: Array<MessageOf<'error'>> = [];
    for (const id of ['evil1', 'evil2']) {
      const c = await f.connect(server, { clientId: id, onTrain: () => ({ delta: fill(1e30), numExamples: 3e8, encoding: 'f32' }) });
      void c.waitFor('error', () => true, 20_000).then((m) => refusals.push(m));
    }
    const { rounds } = await sessionRounds(server, { rounds: 2, clientsRequired: 6, roundTimeoutMs: 15_000 });
    expect(rounds.map((r) => r.status)).toEqual(['committed', 'committed']);
    expect(rounds.map((r) => r.updates)).toEqual([4, 4]);
    expect(refusals.map((m) => m.code)).toEqual(['NORM_EXCEEDED', 'NORM_EXCEEDED']);
    expect([...(await fetchModelFlat(server.url, rounds[1]!.modelId!))]).toEqual(SEED_FLAT.map((v) => v + 2));
  });

  it("onNormExceeded: 'clip' scales the 1e30 updates down to the bound and counts them", async () => {
    const server = await f.setup();
    await honest(server);
    for (const id of ['evil1', 'evil2']) await f.connect(server, { clientId: id, onTrain: () => ({ delta: fill(1e30), numExamples: 3e8, encoding: 'f32' }) });
    const { rounds } = await sessionRounds(server, { rounds: 1, clientsRequired: 6, onNormExceeded: 'clip' });
    expect(rounds[0]!.status).toBe('committed');
    expect(rounds[0]!.updates).toBe(6);
    // First round: bound 10 x |seed| = 10 sqrt(31), so each clipped entry is 10 sqrt(31) / sqrt(6); uniform weights.
    const clipped = (10 * Math.sqrt(31)) / Math.sqrt(6);
    const model = [...(await fetchModelFlat(server.url, rounds[0]!.modelId!))];
    model.forEach((v, i) => expect(v).toBeCloseTo(SEED_FLAT[i]! + (4 + 2 * clipped) / 6, 4));
  });

  it('with the bounds lifted by the operator, an update that could overflow the float32 sum is refused (NON_FINITE), never folded', async () => {
    const server = await f.setup();
    await honest(server);
    const refusals: string[] = [];
    for (const id of ['evil1', 'evil2']) {
      const c = await f.connect(server, { clientId: id, onTrain: () => ({ delta: fill(1e30), numExamples: 3e8, encoding: 'f32' }) });
      void c.waitFor('error', () => true, 20_000).then((m) => refusals.push(m.code));
    }
    const { rounds } = await sessionRounds(server, { rounds: 1, clientsRequired: 6, maxUpdateNorm: 1e38, maxExamplesPerUpdate: 1e9, roundTimeoutMs: 15_000 });
    expect(rounds[0]!.status).toBe('committed');
    expect(rounds[0]!.updates).toBe(4);
    expect(refusals).toEqual(['NON_FINITE', 'NON_FINITE']);
    expect([...(await fetchModelFlat(server.url, rounds[0]!.modelId!))]).toEqual(SEED_FLAT.map((v) => v + 1));
  });
});
