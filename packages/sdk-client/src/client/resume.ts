/**
 * Resuming after a reload, a restart or a cut. The cache holds, per client id, at most one train task received
 * and not yet trained (stored when training starts, removed once its update is stored) and one update trained and
 * not yet acknowledged (stored before the first chunk is sent, removed on `update.ack`, `DUPLICATE_UPDATE` or a
 * final refusal). The combiner's `welcome` names the round it still expects this client's update for
 * (`openRoundId`); work for any other round is dropped, since the combiner would refuse it as `STALE_ROUND`. An
 * update the combiner already counted (`countedRoundId`: its ack was lost in a cut) is acknowledged, not dropped.
 */
import type { MessageOf } from '@fedweb/codec';
import { requireCache, type ClientContext } from './context.js';
import type { Dispatcher } from './dispatcher.js';
import type { Uploader } from './uploader.js';

/**
 * What resuming uses.
 * @example
 * ```ts
 * const parts: ResumeParts = { ctx, uploader, dispatcher, train: (task, stop) => dispatcher.train(task, stop, run) };
 * ```
 */
export interface ResumeParts {
  ctx: ClientContext;
  uploader: Uploader;
  dispatcher: Dispatcher;
  /** Queues a cached train task again (as if the server had sent it). */
  train(task: MessageOf<'task.train'>, stop: AbortSignal): void;
}

/**
 * After (re)joining: uploads the unacknowledged update, or queues the unfinished train task, if the combiner
 * still has its round open; drops them otherwise. Resolves once a resumed upload is over.
 * @example
 * ```ts
 * resume(parts, welcome, stopSignal).catch((e) => reporter.error(toFedError(e)));
 * ```
 */
export async function resume(parts: ResumeParts, welcome: MessageOf<'welcome'>, stop: AbortSignal): Promise<void> {
  const { ctx, uploader, dispatcher } = parts;
  const cache = requireCache(ctx);
  const cid = ctx.clientId();
  const open = welcome.openRoundId;
  const pending = await cache.getPendingUpdate(cid);
  if (pending && !uploader.isUploading(pending.uploadId)) {
    if (pending.roundId === open) await uploader.resume(pending, stop);
    else if (pending.roundId === welcome.countedRoundId) await uploader.counted(pending);
    else await cache.deletePendingUpdate(cid, pending.uploadId);
  }
  const pt = await cache.getPendingTask(cid);
  if (!pt) return;
  const running = dispatcher.isTraining(pt.task.roundId);
  if (pt.task.roundId === open && !running && !(pending && pending.roundId === open)) {
    // The train task announces itself as resumed (it finds itself in the cache), whoever queues it first.
    parts.train(pt.task, stop);
  } else if (pt.task.roundId !== open && !running) {
    await cache.deletePendingTask(cid, pt.task.roundId);
  }
}
