import { describe, expect, it } from 'vitest';
import { freePort, medianOf as median, waitFor } from './net.js';

describe('harness helpers', () => {
  it('computes medians by hand', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
  it('finds a free port and waits for a condition', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : undefined), { timeoutMs: 5000, everyMs: 1, what: 'n' })).toBe(3);
    await expect(waitFor(() => undefined, { timeoutMs: 20, everyMs: 5, what: 'never' })).rejects.toThrow(/never/);
  });
});
