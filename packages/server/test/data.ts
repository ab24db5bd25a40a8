/**
 * Test-only data shared by the server's socket suites: a six-parameter seed model and two uniform updates, so
 * expected models can be computed by hand (FedAvg of ONES and TWOS: (1*1 + 3*2) / 4 = 1.75 per parameter).
 */
import type { TestUpdate } from '../src/testing/test-client.js';

/** Seed model: w0 = [1, 2, 3, 4], w1 = [0, 1] (6 parameters). */
export const SEED = [
  { name: 'w0', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
  { name: 'w1', shape: [2], data: new Float32Array([0, 1]) },
];
/** The seed's layout (what `sendUpdate` needs). */
export const LAYOUT = SEED.map((t) => ({ name: t.name, shape: t.shape }));
/** The seed, flat, plus `d` everywhere. */
export const seedPlus = (d: number): number[] => [1, 2, 3, 4, 0, 1].map((v) => v + d);
/** +1 everywhere, 1 example. */
export const ONES: TestUpdate = { delta: new Float32Array(6).fill(1), numExamples: 1, encoding: 'f32' };
/** +2 everywhere, 3 examples. */
export const TWOS: TestUpdate = { delta: new Float32Array(6).fill(2), numExamples: 3, encoding: 'f32' };
