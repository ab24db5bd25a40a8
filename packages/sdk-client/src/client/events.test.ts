import { describe, expect, it } from 'vitest';
import { TypedEmitter } from './events.js';

describe('TypedEmitter', () => {
  it('delivers payloads to subscribers and stops after unsubscribe', () => {
    const e = new TypedEmitter<{ a: number; b: string }>();
    const got: number[] = [];
    const off = e.on('a', (n) => got.push(n));
    e.emit('a', 1);
    e.emit('b', 'ignored');
    off();
    e.emit('a', 2);
    expect(got).toEqual([1]);
    expect(e.listenerCount('a')).toBe(0);
  });

  it('isolates a throwing handler: others still run and the error is reported', () => {
    const reported: unknown[] = [];
    const e = new TypedEmitter<{ a: number }>((err) => reported.push(err));
    const got: number[] = [];
    e.on('a', () => {
      throw new Error('boom');
    });
    e.on('a', (n) => got.push(n));
    expect(() => e.emit('a', 7)).not.toThrow();
    expect(got).toEqual([7]);
    expect((reported[0] as Error).message).toBe('boom');
  });

  it('once fires a single time', () => {
    const e = new TypedEmitter<{ a: number }>();
    const got: number[] = [];
    e.once('a', (n) => got.push(n));
    e.emit('a', 1);
    e.emit('a', 2);
    expect(got).toEqual([1]);
  });
});
