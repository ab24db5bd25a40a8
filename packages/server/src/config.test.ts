import { describe, expect, it } from 'vitest';
import { deviceConditions, isEligible, sample, SelectionPolicySchema, SessionConfigSchema } from './config.js';
import { clientSettings } from './round/round-start.js';

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

describe('device conditions for withdrawal', () => {
  const manifest = { name: 'p', version: '1', sha256: 'a'.repeat(64), bytes: 1, entry: { createModel: 'createModel', train: 'train', validate: 'validate' }, settings: {} };

  it('the selection policy\'s battery, connection and visibility rules reach the clients in their train settings', () => {
    const config = SessionConfigSchema.parse({ selection: { minBattery: 0.25, excludeConnectionTypes: ['cellular'], requireVisible: true, platforms: ['browser'] } });
    const settings = clientSettings(config, manifest, 1, {});
    expect(settings.conditions).toEqual({ minBattery: 0.25, requireCharging: false, excludeConnectionTypes: ['cellular'], excludeSaveData: false, requireVisible: true });
  });

  it('no conditions when the policy sets none, or with withdraw: false; a stored policy without the field withdraws', () => {
    expect(clientSettings(SessionConfigSchema.parse({}), manifest, 1, {}).conditions).toBeUndefined();
    expect(deviceConditions(SelectionPolicySchema.parse({ minBattery: 0.2, withdraw: false }))).toBeUndefined();
    const stored = { ...SelectionPolicySchema.parse({ requireCharging: true }), withdraw: undefined as unknown as boolean };
    expect(deviceConditions(stored)).toMatchObject({ requireCharging: true });
  });
});
