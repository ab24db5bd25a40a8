import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from './backoff.js';

describe('backoffDelay (equal jitter)', () => {
  it('draws from [cap/2, cap] with cap = base * 2^attempt', () => {
    // base 500: caps 500, 1000, 2000, 4000 -> lower bounds 250, 500, 1000, 2000.
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { random: () => 0 }))).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { random: () => 1 }))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(2, { random: () => 0.5 })).toBe(1500); // 1000 + 0.5 * 1000
  });

  it('caps at maxMs and never overflows after many failures', () => {
    expect(backoffDelay(10, { baseMs: 500, maxMs: 30_000, random: () => 1 })).toBe(30_000);
    expect(backoffDelay(100_000, { random: () => 0 })).toBe(15_000);
    expect(Number.isFinite(backoffDelay(1e9, { random: () => 0.3 }))).toBe(true);
  });

  it('honours base and factor', () => {
    expect(backoffDelay(2, { baseMs: 100, factor: 3, random: () => 1 })).toBe(900);
  });
});

describe('Backoff', () => {
  it('grows per attempt and restarts after reset', () => {
    const b = new Backoff({ random: () => 1 });
    expect([b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000]);
    expect(b.attempt).toBe(3);
    b.reset();
    expect(b.next()).toBe(500);
  });

  it('spreads clients: different random draws give different delays within bounds', () => {
    const draws = [0.1, 0.9, 0.5];
    const delays = draws.map((r) => backoffDelay(4, { random: () => r }));
    expect(new Set(delays).size).toBe(3);
    for (const d of delays) expect(d >= 4000 && d <= 8000).toBe(true);
  });
});
