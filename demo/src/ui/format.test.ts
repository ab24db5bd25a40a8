import { describe, expect, it } from 'vitest';
import { formatBytes, formatPercent } from './format.js';

describe('formatBytes / formatPercent', () => {
  it('formats byte counts and fractions for people', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1536)).toBe('1.54 kB');
    expect(formatBytes(123_456)).toBe('123 kB');
    expect(formatBytes(25_000_000)).toBe('25.0 MB');
    expect(formatBytes(-1)).toBe('–');
    expect(formatPercent(0.9712)).toBe('97.1%');
    expect(formatPercent(undefined)).toBe('–');
  });
});
