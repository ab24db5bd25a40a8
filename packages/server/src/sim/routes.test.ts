import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeShard } from '@fedweb/codec';
import { loadMnist, TEST_PER_CLASS, VALIDATION_PER_CLASS } from './mnist.js';
import { simRoutes, simShards } from './routes.js';

describe('MNIST pool', () => {
  it('holds 7,000 training, 1,000 stratified validation and 2,000 stratified test digits with pixels in [0, 1]', () => {
    const { train, validation, test } = loadMnist();
    expect(train.n + validation.n + test.n).toBe(10_000);
    expect([train.n, validation.n, test.n]).toEqual([7_000, 1_000, 2_000]);
    const counts = new Array(10).fill(0);
    for (const c of test.y) counts[c]++;
    expect(counts).toEqual(new Array(10).fill(TEST_PER_CLASS));
    const vcounts = new Array(10).fill(0);
    for (const c of validation.y) vcounts[c]++;
    expect(vcounts).toEqual(new Array(10).fill(VALIDATION_PER_CLASS));
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.9);
  });
});

describe('simRoutes', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ logger: false });
    await app.register(simRoutes({ split: 'labels:2', seed: 5, clients: 3 }));
    await app.ready();
  });
  afterAll(() => app.close());

  const shardOf = async (client: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/sim/shard?client=${client}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-fedweb-simulation']).toBe('true');
    return decodeShard(new Uint8Array(res.rawPayload));
  };

  it('gives the same client the same shard and new clients the next shard round-robin', async () => {
    const a = await shardOf('tab-a');
    const b = await shardOf('tab-b');
    const c = await shardOf('tab-c');
    const d = await shardOf('tab-d');
    const a2 = await shardOf('tab-a');
    expect([a, b, c, d].map((s) => s.meta.shard)).toEqual([0, 1, 2, 0]);
    expect(a2.meta.shard).toBe(0);
    expect(Array.from(a2.y)).toEqual(Array.from(a.y));
    expect(a.meta.simulation).toBe(true);
    expect(a.meta.split).toBe('labels:2');
    // labels:2: exactly two classes present, matching the meta's counts.
    expect(new Set(a.y).size).toBe(2);
    expect(a.meta.labelCounts.filter((n) => n > 0).length).toBe(2);
    expect(a.x.length).toBe(a.meta.n * 784);
  });

  it('serves exactly the shards simShards computes in-process', async () => {
    const sim = simShards({ split: 'labels:2', seed: 5, clients: 3 });
    const b = await shardOf('tab-b');
    const idx = sim.indices[1] as number[];
    expect(b.meta.n).toBe(idx.length);
    expect(Array.from(b.y)).toEqual(idx.map((i) => sim.train.y[i]));
    expect(Array.from(b.x.subarray(784, 1568))).toEqual(Array.from(sim.train.x.subarray((idx[1] as number) * 784, ((idx[1] as number) + 1) * 784)));
  });

  it('reads a shard by index without assigning it', async () => {
    const before = (await app.inject({ method: 'GET', url: '/api/sim/info' })).json().assignments;
    const res = await app.inject({ method: 'GET', url: '/api/sim/shard?index=2' });
    expect(res.statusCode).toBe(200);
    expect(decodeShard(new Uint8Array(res.rawPayload)).meta.shard).toBe(2);
    expect((await app.inject({ method: 'GET', url: '/api/sim/info' })).json().assignments).toEqual(before);
    for (const bad of ['3', '-1', 'x']) expect((await app.inject({ method: 'GET', url: `/api/sim/shard?index=${bad}` })).statusCode).toBe(400);
  });

  it('refuses a missing or malformed client id with 400 BAD_CONFIG', async () => {
    for (const url of ['/api/sim/shard', '/api/sim/shard?client=', '/api/sim/shard?client=a%20b', `/api/sim/shard?client=${'x'.repeat(129)}`]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('BAD_CONFIG');
    }
  });

  it('serves the 2,000-digit held-out test set, flagged as simulation', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/sim/testset' });
    expect(res.statusCode).toBe(200);
    const t = decodeShard(new Uint8Array(res.rawPayload));
    expect(t.meta.kind).toBe('testset');
    expect(t.meta.n).toBe(2000);
    expect(t.meta.labelCounts).toEqual(new Array(10).fill(200));
    const sub = decodeShard(new Uint8Array((await app.inject({ method: 'GET', url: '/api/sim/testset?n=500' })).rawPayload));
    expect(sub.meta.n).toBe(500);
    // A seeded permutation of a class-ordered set: every class is represented.
    expect(sub.meta.labelCounts.every((c) => c > 20)).toBe(true);
    expect((await app.inject({ method: 'GET', url: '/api/sim/testset?n=0' })).statusCode).toBe(400);
    expect(t.meta.heldOut).toBe('test');
    // The validation split is served too, labelled as such; an unknown split is refused.
    const v = decodeShard(new Uint8Array((await app.inject({ method: 'GET', url: '/api/sim/testset?split=validation' })).rawPayload));
    expect([v.meta.n, v.meta.heldOut, v.meta.dataset]).toEqual([1000, 'validation', 'mnist']);
    expect((await app.inject({ method: 'GET', url: '/api/sim/testset?split=train' })).statusCode).toBe(400);
    const info = (await app.inject({ method: 'GET', url: '/api/sim/info' })).json();
    expect(info.simulation).toBe(true);
    expect(info.assignments['tab-a']).toBe(0);
  });

  it('truncates shards with maxExamplesPerShard and fails fast on a bad split', async () => {
    const sim = simShards({ split: 'dirichlet:0.5', seed: 1, clients: 10, maxExamplesPerShard: 50 });
    for (const s of sim.indices) expect(s.length).toBeLessThanOrEqual(50);
    expect(() => simRoutes({ split: 'dirichlet:-2' })).toThrow(/alpha/);
    expect(() => simRoutes({ reference: { accuracy: 97 } })).toThrow(/reference\.accuracy must be in 0\.\.1/);
  });
});
