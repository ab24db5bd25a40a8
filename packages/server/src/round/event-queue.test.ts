import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.js';

describe('EventQueue', () => {
  it('is bounded: push reports full at its capacity, and onDrain fires once the reader is down to half', async () => {
    const q = new EventQueue<number>(4);
    const signal = new AbortController().signal;
    expect([1, 2, 3].map((i) => q.push(i))).toEqual([true, true, true]);
    expect(q.push(4)).toBe(false);
    // Nothing is dropped: the producer is told to stop, and told when to go on.
    expect(q.push(5)).toBe(false);
    let resumed = 0;
    q.onDrain(() => resumed++);
    expect(await q.next(1000, signal)).toBe(1);
    expect(await q.next(1000, signal)).toBe(2);
    expect(resumed).toBe(0);
    expect(await q.next(1000, signal)).toBe(3);
    expect(resumed).toBe(1);
    expect(q.size).toBe(2);
    // Below half already: at once.
    q.onDrain(() => resumed++);
    expect(resumed).toBe(2);
    expect(await q.next(1000, signal)).toBe(4);
    expect(await q.next(1000, signal)).toBe(5);
    expect(await q.next(10, signal)).toBeNull();
  });

  it('hands an item straight to a waiting reader', async () => {
    const q = new EventQueue<string>(1);
    const next = q.next(1000, new AbortController().signal);
    expect(q.push('x')).toBe(true);
    expect(await next).toBe('x');
  });
});
