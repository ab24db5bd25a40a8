import { describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { linkedController, sleep, withTimeout } from './abort.js';

describe('withTimeout', () => {
  it('resolves with the value when the work finishes', async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, 'x')).resolves.toBe(42);
  });

  it('rejects with TIMEOUT naming the operation, and aborts the inner signal', async () => {
    let inner: AbortSignal | undefined;
    const p = withTimeout((s) => ((inner = s), new Promise<never>(() => {})), 5, 'GET /x');
    await expect(p).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('GET /x') });
    expect(inner?.aborted).toBe(true);
  });

  it('rejects with ABORTED when the outer signal aborts, and propagates the work error otherwise', async () => {
    const ctl = new AbortController();
    const p = withTimeout(new Promise<never>(() => {}), 60_000, 'x', ctl.signal);
    ctl.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(withTimeout(Promise.reject(new Error('nope')), 1000, 'x')).rejects.toThrow('nope');
  });

  it('rejects at once for an already-aborted signal', async () => {
    const ctl = new AbortController();
    ctl.abort();
    const err = await withTimeout(Promise.resolve(1), 1000, 'x', ctl.signal).catch((e) => e);
    expect(isFedError(err, 'ABORTED')).toBe(true);
  });
});

describe('sleep and linkedController', () => {
  it('sleep rejects when aborted', async () => {
    const ctl = new AbortController();
    const p = sleep(60_000, ctl.signal);
    ctl.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('a linked controller follows its parents, and dispose detaches it', () => {
    const a = new AbortController();
    const b = new AbortController();
    const child = linkedController(a.signal, b.signal);
    b.abort('why');
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe('why');
    const other = linkedController(a.signal);
    other.dispose();
    a.abort();
    expect(other.signal.aborted).toBe(false);
  });
});
