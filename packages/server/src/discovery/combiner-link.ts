/**
 * The controller's side of a combiner link: `combiner.hello` first (authenticated, never taking over a live id),
 * then every message and binary frame to the registry.
 */
import { toFedError, type Message, type MessageOf } from '@fedweb/codec';
import { authorizeCombinerId, type Authenticator } from '../auth.js';
import type { Logger } from '../log.js';
import type { Peer, PeerHandlers } from '../transport.js';
import type { CombinerHandle, CombinerRegistry } from './registry.js';

/**
 * Accepts one combiner link on the controller side (WebSocket or the embedded in-process pair): the first
 * message must be `combiner.hello` with a combiner token for that id, or an admin token (not needed for the
 * embedded link); a hello for an id that is live is refused (CONFLICT).
 * @example
 * ```ts
 * let peer: Peer;
 * peer = wsPeer(socket, log, combinerLinkHandlers(registry, auth, log, false, requestToken(req), () => peer));
 * ```
 */
export function combinerLinkHandlers(
  registry: CombinerRegistry,
  auth: Authenticator,
  log: Logger,
  embedded: boolean,
  httpToken: string | undefined,
  getPeer: () => Peer,
): PeerHandlers {
  let handle: CombinerHandle | null = null;
  let helloPending = false;
  const queue: Array<{ msg?: Message; bin?: Uint8Array }> = [];
  const flush = (): void => {
    for (const item of queue.splice(0)) {
      if (!handle) return;
      if (item.msg) registry.handleMessage(handle, item.msg);
      else if (item.bin) registry.handleBinary(handle, item.bin);
    }
  };
  const onHello = async (hello: MessageOf<'combiner.hello'>): Promise<void> => {
    try {
      if (!embedded) authorizeCombinerId(await auth.verify(hello.token ?? httpToken), hello.combinerId);
      handle = registry.register(hello, getPeer(), embedded);
      flush();
    } catch (e) {
      const err = toFedError(e);
      log.warn({ combinerId: hello.combinerId, code: err.code }, `combiner refused: ${err.message}`);
      getPeer().send({ v: 2, kind: 'error', code: err.code, message: err.message.slice(0, 2000) });
      getPeer().close(4401, err.code);
    } finally {
      helloPending = false;
    }
  };
  return {
    message(msg) {
      if (handle) return registry.handleMessage(handle, msg);
      if (helloPending) {
        if (queue.length < 1000) queue.push({ msg });
        return;
      }
      if (msg.kind !== 'combiner.hello') {
        getPeer().send({ v: 2, kind: 'error', code: 'BAD_MESSAGE', message: 'the first message must be combiner.hello' });
        return;
      }
      helloPending = true;
      void onHello(msg);
    },
    binary(bytes) {
      if (handle) return registry.handleBinary(handle, bytes);
      if (helloPending && queue.length < 1000) queue.push({ bin: bytes });
    },
    frame(uploadId, bytes) {
      if (handle) registry.handleFrame(handle, uploadId, bytes);
    },
    close() {
      if (handle) registry.drop(handle, 'link closed');
    },
  };
}
