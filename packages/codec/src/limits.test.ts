import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { boundedRecord, jsonDepth, MAX_JSON_DEPTH, MAX_MAP_KEYS, valueDepth } from './limits.js';
import { parseMessage } from './messages.js';

describe('jsonDepth', () => {
  it('counts nesting outside strings, escapes included, and stops early past the limit', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{"a":[1,[2]]}')).toBe(3);
    expect(jsonDepth('{"a":"[[[{{{\\"[[["}')).toBe(1);
    expect(jsonDepth('["\\\\",[]]')).toBe(2);
    expect(jsonDepth('['.repeat(1_000_000), 64)).toBe(65);
  });
  it('valueDepth walks parsed values without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(valueDepth(deep)).toBe(MAX_JSON_DEPTH + 1);
    expect(valueDepth({ a: [1, { b: 2 }] })).toBe(3);
  });
});

describe('boundedRecord', () => {
  const R = boundedRecord(z.unknown());
  it('refuses too many keys, long keys and deep values; passes at the limit', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(R.safeParse(keys(MAX_MAP_KEYS)).success).toBe(true);
    expect(R.safeParse(keys(MAX_MAP_KEYS + 1)).error?.issues[0]?.message).toMatch(/keys, at most/);
    expect(R.safeParse({ ['x'.repeat(65)]: 1 }).success).toBe(false);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { a: deep };
    expect(R.safeParse({ deep }).error?.issues[0]?.message).toMatch(/deeper/);
    expect(R.safeParse([1]).success).toBe(false);
  });
  it('parseMessage refuses a deeply nested message before JSON.parse', () => {
    const r = parseMessage(`{"v":2,"kind":"heartbeat","t":1,"capabilities":${'['.repeat(100_000)}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('BAD_MESSAGE');
  });
});
