import { describe, expect, it } from 'vitest';
import { createMemoryLink, type PeerHandlers } from './transport.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

/** A memory link whose controller side records the first byte of every binary message it reads. */
function linkPair() {
  const link = createMemoryLink(quiet);
  const got: number[] = [];
  const handlers = (onBinary: (b: Uint8Array) => void): PeerHandlers => ({ message: () => undefined, binary: onBinary, close: () => undefined });
  const controller = link.connectA(handlers((b) => got.push(b[0] as number)));
  const combiner = link.connectB(handlers(() => undefined));
  return { got, controller, combiner };
}

describe('memory link', () => {
  it('a paused side holds back the other side’s binary sends until it resumes (backpressure of the embedded combiner link)', async () => {
    const { got, controller, combiner } = linkPair();
    const release = controller.hold();
    let sent = false;
    const send = combiner.sendBinary(new Uint8Array([7])).then(() => (sent = true));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(false);
    expect(got).toEqual([]);
    release();
    await send;
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([7]);
    // Closing the link rejects what still waits.
    controller.hold();
    const held = combiner.sendBinary(new Uint8Array([8]));
    combiner.close();
    await expect(held).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('holds are counted: one holder releasing (twice, even) does not undo another holder’s pause', async () => {
    const { got, controller, combiner } = linkPair();
    const engine = controller.hold();
    const operator = controller.hold();
    let sent = false;
    const send = combiner.sendBinary(new Uint8Array([9])).then(() => (sent = true));
    engine();
    engine();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(false);
    operator();
    await send;
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([9]);
  });
});
