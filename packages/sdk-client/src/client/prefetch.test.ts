/**
 * `model.prefetch` against a fake server (README "Delta downloads"): the announced model is fetched once, verified
 * and held, one prefetch at a time; the task that then names it downloads nothing; a prefetch naming another origin
 * is ignored with a warning, and one whose weights do not match is dropped without an event.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, weightsSha256, type BlobRef, type MessageInput } from '@fedweb/codec';
import { harness, runCleanups } from './testing/harness.js';

afterEach(runCleanups);

/** An f32 model frame served by the fake server, with its weights' SHA-256. */
async function served(h: Awaited<ReturnType<typeof harness>>, id: string, seed: number): Promise<{ ref: BlobRef; weights: string }> {
  const data = Float32Array.from({ length: 64 }, (_, i) => Math.sin(seed + i));
  const frame = await encodeFrame([{ name: 'w0', shape: [64], data }], { encoding: 'f32' });
  const ref = await h.server.blob(id, `/api/blobs/${id}`, frame);
  return { ref, weights: await weightsSha256(data) };
}

const prefetch = (model: BlobRef, weightsSha256: string): MessageInput<'model.prefetch'> => ({ v: 2, kind: 'model.prefetch', sessionId: 's1', model, download: { weightsSha256 } });

describe('model.prefetch', () => {
  it('fetches the announced model once; the task naming it downloads nothing and emits no second event', async () => {
    const h = await harness();
    const { client, ev } = await h.joined();
    const m = await served(h, 'm2', 2);
    const gets = () => h.server.requests.filter((r) => r === `GET ${m.ref.url}`).length;
    // Twice at once: the second is ignored while the first runs (or because the model is then held).
    h.server.send(prefetch(m.ref, m.weights));
    h.server.send(prefetch(m.ref, m.weights));
    const held = await ev.wait('model', (e) => e.prefetch === true);
    expect(held).toMatchObject({ via: 'full', weightsSha256: m.weights, roundId: '', taskId: '', bytes: m.ref.bytes });
    expect(gets()).toBe(1);

    h.server.send(h.task('r2', { model: m.ref, download: { weightsSha256: m.weights } }));
    await h.server.next('update', (u) => u.roundId === 'r2');
    expect(gets()).toBe(1);
    expect(ev.log.model).toHaveLength(1);
    expect(client.status).not.toBe('failed');
  });

  it('ignores a prefetch from another origin, and drops one whose weights are not the announced ones', async () => {
    const h = await harness();
    const warnings: string[] = [];
    const { ev } = await h.joined({ logger: { warn: (w) => warnings.push(w) } });
    const m = await served(h, 'm3', 3);
    const before = h.server.requests.length;
    h.server.send(prefetch({ ...m.ref, url: `http://127.0.0.1:9${m.ref.url}` }, m.weights));
    h.server.send(prefetch({ ...m.ref, url: `//evil.example${m.ref.url}` }, m.weights));
    await h.handled(ev);
    expect(warnings.filter((w) => /must be paths on this server/.test(w))).toHaveLength(2);
    expect(h.server.requests.slice(before)).toEqual([]);

    // Right bytes (the BlobRef's SHA-256 holds), wrong weights: no event, a warning, and nothing held.
    h.server.send(prefetch(m.ref, 'f'.repeat(64)));
    await until(() => warnings.some((w) => /prefetching model m3 failed/.test(w)));
    expect(ev.log.model).toEqual([]);
  });
});

async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
