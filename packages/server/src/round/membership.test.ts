import { describe, expect, it } from 'vitest';
import type { CombinerHandle } from '../discovery/registry.js';
import { poissonSample, sampleClients } from './membership.js';

const ids = Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(2, '0')}`);
const participants = [{ handle: { id: 'h' } as CombinerHandle, eligible: ids }];
const chosen = (m: Map<CombinerHandle, string[]>): string[] => [...m.values()].flat();

describe('client sampling', () => {
  it('samples clientsPerRound clients, the same ones for the same seed (no DP)', () => {
    const a = chosen(sampleClients(participants, 5, 7));
    expect(a).toHaveLength(5);
    expect(chosen(sampleClients(participants, 5, 7))).toEqual(a);
  });

  it('with a DP sampling rate: Poisson sampling from the CSPRNG, whatever the seed and clientsPerRound', () => {
    expect(chosen(sampleClients(participants, 5, 7, 1))).toEqual(ids); // q = 1: everyone, clientsPerRound ignored
    // The same seed, 50 draws at q = 0.5: the sets differ (a seeded sampler would repeat one set).
    const sets = new Set(Array.from({ length: 50 }, () => chosen(sampleClients(participants, 5, 7, 0.5)).join(',')));
    expect(sets.size).toBeGreaterThan(40);
  });

  it('takes each item with probability q (binomial count within 5 standard deviations)', () => {
    const n = 20_000;
    const q = 0.3;
    const k = poissonSample(Array.from({ length: n }, (_, i) => i), q).length;
    expect(Math.abs(k - n * q)).toBeLessThan(5 * Math.sqrt(n * q * (1 - q)));
  });
});
