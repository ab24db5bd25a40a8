import { describe, expect, it } from 'vitest';
import { parseSessionView } from './api.js';

describe('parseSessionView', () => {
  it('reads clients, session progress, the live round and the validation trail', () => {
    const view = parseSessionView(
      { clientsOnline: 3, auth: true, live: [{ sessionId: 's1', round: 2, phase: 'training', selected: 3 }] },
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
      canStart: false,
    });
  });

  it('marks failed rounds with their reason and summarises a finished session', () => {
    const view = parseSessionView(
      { clientsOnline: 2, auth: false, live: [] },
      { id: 's2', name: 'demo', status: 'completed', completedRounds: 3, config: { rounds: 3, clientsRequired: 2 } },
      { models: [{ round: 0, metrics: {} }, { round: 1, metrics: { 'val.accuracy': 0.8 } }, { round: 3, metrics: { 'val.accuracy': 0.93 } }] },
      { rounds: [{ round: 1, status: 'committed' }, { round: 2, status: 'failed', reason: 'too few updates' }, { round: 3, status: 'committed' }] },
    );
    expect(view.trail).toEqual([{ round: 0 }, { round: 1, accuracy: 0.8 }, { round: 2, failed: 'too few updates' }, { round: 3, accuracy: 0.93 }]);
    expect(view.ended).toEqual({ status: 'completed', rounds: 3, failed: 1, finalAccuracy: 0.93 });
    expect(view.rounds).toBe(3);
    expect(view.canStart).toBe(true);
    expect(view.config).toEqual({ rounds: 3, clientsRequired: 2 });
  });

  it('copes with a server that has no session yet', () => {
    expect(parseSessionView({}, {}, {})).toEqual({ completedRounds: 0, clientsOnline: 0, trail: [], canStart: false });
  });
});
