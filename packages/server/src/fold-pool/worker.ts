/**
 * A fold-pool worker: inflates (native zlib, synchronously: blocking is what this thread is for) and validates
 * update frames, and computes their stats, so the combiner's event loop only accumulates. Entry:
 * `worker-entry.mjs` (registers tsx, then imports this file).
 */
import { parentPort } from 'node:worker_threads';
import { parseFrame, parsedStats, toFedError, type ParsedFrame } from '@fedweb/codec';
import { nodeZlibSyncCompressor } from '@fedweb/codec/node';
import { ParseRequestSchema, type ParseReply } from './protocol.js';

/**
 * The buffers to hand back without a copy: the inflated body (or the frame copy the main thread transferred in).
 * Buffers no larger than Node's Buffer pool slab may be that shared slab, so those are copied instead.
 */
function transferables(parsed: ParsedFrame): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of parsed.tensors) {
    for (const v of Object.values(t)) {
      if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && v.buffer.byteLength > Buffer.poolSize) out.add(v.buffer);
    }
  }
  return [...out];
}

const port = parentPort;
if (!port) throw new Error('fold-pool worker started outside a worker thread');
port.on('message', (raw: unknown) => {
  const req = ParseRequestSchema.safeParse(raw);
  if (!req.success) {
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
    port.postMessage({ id, ok: false, code: 'BAD_MESSAGE', message: `fold worker: bad request: ${req.error.issues[0]?.message ?? 'invalid'}` } satisfies ParseReply);
    return;
  }
  const { id, frame, limits } = req.data;
  parseFrame(frame, { compressor: nodeZlibSyncCompressor, ...(limits ? { limits } : {}) }).then(
    (parsed) => port.postMessage({ id, ok: true, parsed, stats: parsedStats(parsed) } satisfies ParseReply, transferables(parsed)),
    (e: unknown) => {
      const err = toFedError(e, 'BAD_FRAME');
      port.postMessage({ id, ok: false, code: err.code, message: err.message } satisfies ParseReply);
    },
  );
});
