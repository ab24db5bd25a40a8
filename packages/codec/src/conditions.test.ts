import { describe, expect, it } from 'vitest';
import { conditionBreach, hasConditions } from './conditions.js';
import { parseMessage, TrainSettingsSchema } from './messages.js';

describe('device conditions', () => {
  it('names the condition a device breaks: battery below the threshold unless charging, or not charging when required', () => {
    expect(conditionBreach({ battery: { level: 0.1, charging: false } }, { minBattery: 0.2 })).toBe('battery');
    expect(conditionBreach({ battery: { level: 0.1, charging: true } }, { minBattery: 0.2 })).toBeNull();
    expect(conditionBreach({ battery: { level: 0.2, charging: false } }, { minBattery: 0.2 })).toBeNull();
    expect(conditionBreach({ battery: { level: 0.9, charging: false } }, { requireCharging: true })).toBe('battery');
    // No battery API (a desktop browser, a Node process): the condition is met.
    expect(conditionBreach({}, { minBattery: 0.5, requireCharging: true })).toBeNull();
  });

  it('a listed connection type or saveData is metered; a hidden page breaks requireVisible', () => {
    expect(conditionBreach({ connection: { type: 'cellular' } }, { excludeConnectionTypes: ['cellular'] })).toBe('metered');
    expect(conditionBreach({ connection: { type: 'wifi' } }, { excludeConnectionTypes: ['cellular'] })).toBeNull();
    expect(conditionBreach({ connection: { saveData: true } }, { excludeSaveData: true })).toBe('metered');
    expect(conditionBreach({ connection: { saveData: true } }, {})).toBeNull();
    expect(conditionBreach({ visible: false }, { requireVisible: true })).toBe('hidden');
    expect(conditionBreach({ visible: false }, {})).toBeNull();
    expect(conditionBreach({}, { requireVisible: true })).toBeNull();
  });

  it('hasConditions is false for an empty policy', () => {
    expect(hasConditions(undefined)).toBe(false);
    expect(hasConditions({ excludeConnectionTypes: [], requireVisible: false })).toBe(false);
    expect(hasConditions({ excludeSaveData: true })).toBe(true);
  });
});

describe('the withdraw message', () => {
  const base = { v: 2, kind: 'withdraw', roundId: 's.r1.ab', reason: 'battery' };
  it('parses with a reason from the enum, and carries the capabilities read when withdrawing', () => {
    const r = parseMessage({ ...base, taskId: 't-1', capabilities: { battery: { level: 0.05, charging: false } } });
    expect(r.ok && r.value.kind === 'withdraw' && r.value.reason).toBe('battery');
  });

  it('is strict: an unknown reason, a missing round or a client id are refused (it speaks for its socket only)', () => {
    for (const bad of [{ ...base, reason: 'bored' }, { v: 2, kind: 'withdraw', reason: 'user' }, { ...base, clientId: 'someone-else' }]) {
      const r = parseMessage(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('BAD_MESSAGE');
    }
  });

  it('train settings carry the conditions; a settings object without them still parses', () => {
    const s = TrainSettingsSchema.parse({ localEpochs: 1, batchSize: 8, learningRate: 0.1, conditions: { minBattery: 0.3 } });
    expect(s.conditions).toEqual({ minBattery: 0.3 });
    expect(TrainSettingsSchema.parse({ localEpochs: 1, batchSize: 8, learningRate: 0.1 }).conditions).toBeUndefined();
  });
});
