import { describe, expect, it } from 'vitest';
import { parseSessionView } from './api.js';

describe('parseSessionView', () => {
  it('reads clients, session progress, the live round and the validation trail', () => {
    const view = parseSessionView(
      { clientsOnline: 3, live: [{ sessionId: 's1', round: 2, phase: 'training', selected: 3 }] },
      { id: 's1', status: 'running', completedRounds: 1, rounds: 20, currentModelId: 's1.m1' },
      { models: [{ round: 1, metrics: { 'val.accuracy': 0.8, 'val.loss': 0.6 } }, { round: 0, metrics: {} }] },
    );
    expect(view).toEqual({
      sessionId: 's1',
      status: 'running',
      completedRounds: 1,
      rounds: 20,
      currentModelId: 's1.m1',
      clientsOnline: 3,
      live: { round: 2, phase: 'training', selected: 3 },
      trail: [{ round: 0 }, { round: 1, accuracy: 0.8, loss: 0.6 }],
    });
  });
  it('copes with a server that has no session yet', () => {
    expect(parseSessionView({}, {}, {})).toEqual({ completedRounds: 0, clientsOnline: 0, trail: [] });
  });
});
