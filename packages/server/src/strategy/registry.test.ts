import { describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { z } from 'zod';
import { asStrategy, describeStrategies, fedavg, getStrategy, listStrategies, parseStrategyOptions, registerStrategy, resolveStrategy } from './index.js';
import type { Strategy } from './types.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isFedError(e) ? e.code : `not a FedError: ${String(e)}`;
  }
  return undefined;
}

describe('strategy registry', () => {
  it('finds built-ins by name', () => {
    expect(getStrategy('fedavg')).toBe(fedavg);
    expect(listStrategies()).toContain('fedavg');
    expect(describeStrategies().find((d) => d.name === 'fedavg')?.mode).toBe('sync');
  });

  it('refuses an unknown name with BAD_CONFIG listing the known names', () => {
    try {
      getStrategy('fedavgg');
      expect.unreachable();
    } catch (e) {
      expect(isFedError(e, 'BAD_CONFIG')).toBe(true);
      expect((e as Error).message).toContain('fedavg');
      expect((e as Error).message).toContain("'fedavgg'");
    }
  });

  it('refuses unknown options with BAD_CONFIG naming the option', () => {
    try {
      parseStrategyOptions('fedavg', { lerningRate: 1 });
      expect.unreachable();
    } catch (e) {
      expect(isFedError(e, 'BAD_CONFIG')).toBe(true);
      expect((e as Error).message).toContain('lerningRate');
    }
    expect(parseStrategyOptions('fedavg', undefined)).toEqual({});
  });

  it('registers a custom strategy, refuses a duplicate, replaces on request', () => {
    const custom: Strategy<{ k: number }, null> = {
      ...(fedavg as unknown as Strategy<{ k: number }, null>),
      name: 'test-custom',
      optionsSchema: z.strictObject({ k: z.number().int().positive().default(3) }),
      initState: () => null,
      encodeState: () => ({ json: null, tensors: {} }),
      decodeState: () => null,
    };
    registerStrategy(custom);
    expect(resolveStrategy({ name: 'test-custom' }).options).toEqual({ k: 3 });
    expect(codeOf(() => parseStrategyOptions('test-custom', { k: -1 }))).toBe('BAD_CONFIG');
    expect(codeOf(() => registerStrategy(custom))).toBe('CONFLICT');
    expect(codeOf(() => registerStrategy(custom, { replace: true }))).toBeUndefined();
  });

  it('asStrategy refuses malformed modules with PACKAGE_INVALID', () => {
    expect(codeOf(() => asStrategy(null))).toBe('PACKAGE_INVALID');
    expect(codeOf(() => asStrategy({ ...fedavg, name: 'Bad Name' }))).toBe('PACKAGE_INVALID');
    expect(codeOf(() => asStrategy({ ...fedavg, serverStep: 'x' }))).toBe('PACKAGE_INVALID');
    expect(codeOf(() => asStrategy({ ...fedavg, optionsSchema: {} }))).toBe('PACKAGE_INVALID');
    expect(codeOf(() => asStrategy({ ...fedavg, mode: 'async' }))).toBe('PACKAGE_INVALID');
  });
});
