/**
 * Graceful withdrawal in FedClient (issue 16.5) against the FakeServer: the device stops meeting the task's
 * conditions (battery, metered connection, hidden page) or the page calls `withdraw()` -> a `withdraw` message,
 * the training aborted in the trainer, the `withdrawn` event, and no update sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Capabilities, DeviceConditions } from '@fedweb/codec';
import { harness, runCleanups, testPlatform, type Harness } from './testing/harness.js';
import type { FedPlatform } from './types.js';

afterEach(runCleanups);

/** A platform whose capabilities the test changes; `change` also fires the device-change listeners (if any). */
function device(initial: Capabilities, events = true) {
  let caps: Capabilities = { platform: 'node', ...initial };
  const listeners = new Set<() => void>();
  const platform: FedPlatform = {
    ...testPlatform,
    capabilities: async () => structuredClone(caps),
    ...(events ? { onDeviceChange: (cb: () => void) => (listeners.add(cb), () => void listeners.delete(cb)) } : {}),
  };
  const change = (next: Capabilities) => {
    caps = { ...caps, ...next };
    for (const l of listeners) l();
  };
  return { platform, change };
}

const settings = (conditions?: DeviceConditions) => ({ localEpochs: 1, batchSize: 2, learningRate: 0.1, ...(conditions ? { conditions } : {}) });
const FULL: Capabilities = { battery: { level: 0.9, charging: false }, connection: { type: 'wifi' }, visible: true };

/** Sends a task with `conditions` and holds its training; resolves once the trainer runs it. */
async function training(h: Harness, roundId: string, conditions?: DeviceConditions): Promise<void> {
  h.trainers.hold = true;
  const started = h.trainers.trainStarted();
  h.server.send(h.task(roundId, { settings: settings(conditions) }));
  await started;
}

describe('withdrawal', () => {
  it('battery drops below the threshold mid-training: heartbeat and withdraw sent, training aborted in the trainer, withdrawn emitted, no update', async () => {
    const d = device(FULL);
    const h = await harness({ platform: d.platform });
    const { client, ev } = await h.joined();
    await training(h, 'r1', { minBattery: 0.2 });
    d.change({ battery: { level: 0.1, charging: false } });
    const beat = await h.server.next('heartbeat', (m) => m.capabilities?.battery?.level === 0.1);
    const w = await h.server.next('withdraw');
    expect(w).toMatchObject({ roundId: 'r1', taskId: 't-r1', reason: 'battery', capabilities: { battery: { level: 0.1, charging: false } } });
    expect(beat.capabilities?.battery).toEqual({ level: 0.1, charging: false });
    const withdrawn = await ev.wait('withdrawn');
    expect(withdrawn).toMatchObject({ roundId: 'r1', taskId: 't-r1', reason: 'battery' });
    await ev.wait('round', (r) => r.phase === 'withdrawn' && r.roundId === 'r1');
    await ev.wait('status', (s) => s.status === 'connected' && ev.log.status.some((x) => x.status === 'training'));
    expect(h.trainers.calls).toContain('abort');
    await h.handled(ev);
    expect(h.server.pendingKinds()).not.toContain('update');
    expect(ev.log.round.some((r) => r.phase === 'trained' || r.phase === 'failed')).toBe(false);
    expect(ev.log.error).toEqual([expect.objectContaining({ details: { ref: 'mark-1' } })]);
    expect(client.status).toBe('connected');
  });

  it('a task that arrives while the connection is metered is withdrawn from at once: nothing is downloaded or trained', async () => {
    const d = device({ ...FULL, connection: { type: 'cellular' } });
    const h = await harness({ platform: d.platform });
    const { ev } = await h.joined();
    h.server.send(h.task('r1', { settings: settings({ excludeConnectionTypes: ['cellular'] }) }));
    expect(await h.server.next('withdraw')).toMatchObject({ roundId: 'r1', reason: 'metered', capabilities: { connection: { type: 'cellular' } } });
    await ev.wait('withdrawn', (w) => w.reason === 'metered');
    await h.handled(ev);
    expect(h.trainers.calls.filter((c) => c.startsWith('train:'))).toEqual([]);
    // saveData counts as metered too; back on wifi the next task trains and uploads.
    d.change({ connection: { type: 'wifi', saveData: true } });
    h.server.send(h.task('r2', { settings: settings({ excludeSaveData: true }) }));
    expect(await h.server.next('withdraw')).toMatchObject({ roundId: 'r2', reason: 'metered' });
    d.change({ connection: { type: 'wifi', saveData: false } });
    h.server.send(h.task('r3', { settings: settings({ excludeConnectionTypes: ['cellular'], excludeSaveData: true }) }));
    expect((await h.server.next('update')).roundId).toBe('r3');
  });

  it('a page hidden while the session asks for foreground training withdraws (hidden)', async () => {
    const d = device(FULL);
    const h = await harness({ platform: d.platform });
    const { ev } = await h.joined();
    await training(h, 'r1', { requireVisible: true });
    d.change({ visible: false });
    expect(await h.server.next('withdraw')).toMatchObject({ roundId: 'r1', reason: 'hidden', capabilities: { visible: false } });
    await ev.wait('withdrawn', (w) => w.reason === 'hidden');
  });

  it('without conditions in the task (or before the threshold) nothing is withdrawn: the update is sent', async () => {
    const d = device(FULL);
    const h = await harness({ platform: d.platform });
    const { ev } = await h.joined();
    await training(h, 'r1');
    d.change({ battery: { level: 0.01, charging: false }, visible: false, connection: { type: 'cellular' } });
    await h.server.next('heartbeat', (m) => m.capabilities?.battery?.level === 0.01);
    h.trainers.release();
    const u1 = await h.server.next('update');
    expect(u1.roundId).toBe('r1');
    await h.server.nextFrame(u1.uploadId);
    h.ack(u1);
    // Charging: a low level is fine, and a drop while charging withdraws nothing.
    d.change({ battery: { level: 0.05, charging: true } });
    await training(h, 'r2', { minBattery: 0.2 });
    d.change({ battery: { level: 0.04, charging: true } });
    await h.server.next('heartbeat', (m) => m.capabilities?.battery?.level === 0.04);
    h.trainers.release();
    expect((await h.server.next('update')).roundId).toBe('r2');
    expect(ev.log.withdrawn).toEqual([]);
  });

  it('a platform without device events is checked on every heartbeat', async () => {
    const d = device({ ...FULL, battery: { level: 0.5, charging: true } }, false);
    const h = await harness({ platform: d.platform, heartbeatMs: 100 });
    const { ev } = await h.joined();
    await training(h, 'r1', { requireCharging: true });
    // Unplugged, with no event to say so: the next heartbeat's reading withdraws.
    d.change({ battery: { level: 0.5, charging: false } });
    expect(await h.server.next('withdraw')).toMatchObject({ roundId: 'r1', reason: 'battery' });
    await ev.wait('withdrawn');
  });

  it('withdraw() leaves the round under way (reason user) and is false when nothing trains', async () => {
    const h = await harness();
    const { client, ev } = await h.joined();
    expect(client.withdraw()).toBe(false);
    await training(h, 'r1');
    expect(client.withdraw()).toBe(true);
    const w = await h.server.next('withdraw');
    expect(w).toMatchObject({ roundId: 'r1', taskId: 't-r1', reason: 'user' });
    expect(w.capabilities).toBeUndefined();
    await ev.wait('withdrawn', (x) => x.reason === 'user');
    await ev.wait('status', (s) => s.status === 'connected' && ev.log.status.some((x) => x.status === 'training'));
    expect(client.withdraw()).toBe(false);
    // The same round's task again (as after a reconnect that lost the withdraw): left again, not trained.
    h.server.send(h.task('r1', { taskId: 't-r1-again' }));
    expect(await h.server.next('withdraw')).toMatchObject({ roundId: 'r1', taskId: 't-r1-again', reason: 'user' });
    expect(h.trainers.calls.filter((c) => c === 'train:r1')).toHaveLength(1);
    // Still joined: the next round trains.
    h.trainers.hold = false;
    h.server.send(h.task('r2'));
    expect((await h.server.next('update')).roundId).toBe('r2');
  });
});
