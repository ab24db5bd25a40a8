/**
 * Pieces the kiosk tests' misbehaving servers share: a round's `task.train`, a model frame of zeros for a layout,
 * and an endless HTTP body. Test-only.
 */
import type { ServerResponse } from 'node:http';
import { encodeFrame, type BlobRef, type MessageInput, type TensorSpec } from '@fedweb/codec';

/**
 * The `task.train` of round `roundId` (task id `t-<roundId>`, session `s1`, a deadline a while ahead).
 * @example
 * ```ts
 * server.send(trainTask('r1', model, pkg, { settings: { localEpochs: 1, batchSize: 2, learningRate: 1e9 } }));
 * ```
 */
export function trainTask(roundId: string, model: BlobRef, pkg: BlobRef, over: Partial<MessageInput<'task.train'>> = {}): MessageInput<'task.train'> {
  return {
    v: 2,
    kind: 'task.train',
    taskId: `t-${roundId}`,
    sessionId: 's1',
    roundId,
    model,
    package: pkg,
    settings: { localEpochs: 1, batchSize: 2, learningRate: 0.1 },
    deadline: Date.now() + 120_000,
    ...over,
  };
}

/**
 * A model frame (f32) of zeros for `layout`.
 * @example
 * ```ts
 * const frame = await zerosFrame([{ name: 'w0', shape: [4, 3] }, { name: 'w1', shape: [3] }]);
 * ```
 */
export function zerosFrame(layout: readonly TensorSpec[]): Promise<Uint8Array> {
  return encodeFrame(layout.map((s) => ({ name: s.name, shape: [...s.shape], data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) })));
}

/**
 * Answers 200 with `head` and then bytes without end, until the peer hangs up.
 * @example
 * ```ts
 * server.intercept = (req, res) => req.url === '/api/discover' && (endless(res, '{"url":"'), true);
 * ```
 */
export function endless(res: ServerResponse, head = ''): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
  if (head) res.write(head);
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}
