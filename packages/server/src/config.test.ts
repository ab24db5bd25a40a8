import { describe, expect, it } from 'vitest';
import { isEligible, sample, SelectionPolicySchema, SessionConfigSchema } from './config.js';

describe('session config', () => {
  it('fills every default', () => {
    const c = SessionConfigSchema.parse({});
    expect(c).toMatchObject({
      rounds: 5,
      clientsRequired: 1,
      minClients: 1,
      roundTimeoutMs: 60_000,
      localEpochs: 1,
      batchSize: 32,
      learningRate: 0.01,
      encoding: 'int8',
      strategy: { name: 'fedavg', options: {} },
      validate: false,
      seed: 0,
      validity: { minCombiners: 1, minTotalUpdates: 0 },
    });
    expect(c.clientsPerRound).toBeUndefined();
    expect(SessionConfigSchema.safeParse({ rounds: 0 }).success).toBe(false);
    expect(SessionConfigSchema.safeParse({ unknownField: 1 }).success).toBe(false);
  });

  it('filters clients by battery, charging and connection type', () => {
    const p = SelectionPolicySchema.parse({ minBattery: 0.2, excludeConnectionTypes: ['cellular'] });
    expect(isEligible({}, p)).toBe(true);
    expect(isEligible({ battery: { level: 0.1, charging: false } }, p)).toBe(false);
    expect(isEligible({ battery: { level: 0.1, charging: true } }, p)).toBe(true);
    expect(isEligible({ battery: { level: 0.5, charging: false } }, p)).toBe(true);
    expect(isEligible({ connection: { type: 'cellular' } }, p)).toBe(false);
    expect(isEligible({ connection: { type: 'wifi' } }, p)).toBe(true);
    const charging = SelectionPolicySchema.parse({ requireCharging: true });
    expect(isEligible({ battery: { level: 0.9, charging: false } }, charging)).toBe(false);
    expect(isEligible({}, charging)).toBe(true);
  });

  it('samples k distinct items, the same ones for the same seed', () => {
    const items = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const a = sample(items, 5, 7);
    expect(new Set(a).size).toBe(5);
    expect(a.every((x) => items.includes(x))).toBe(true);
    expect(sample(items, 5, 7)).toEqual(a);
    expect(sample(items, 5, 8)).not.toEqual(a);
    expect(sample(items, 50, 1)).toEqual(items);
  });
});
