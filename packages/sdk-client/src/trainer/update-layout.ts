/**
 * The shape of what a trainer uploads: the weight delta, then (SCAFFOLD, Karimireddy et al. 2020) the
 * control-variate deltas; and the top-k error-feedback residual carried between rounds (Stich et al. 2018).
 */
import { ErrorFeedback, fedError, layoutSize, unflattenTensors, type NamedTensor, type TensorSpec } from '@fedweb/codec';
import { z } from 'zod';

/** The update's tensors: the weights, then (SCAFFOLD) their control-variate deltas `<prefix>w_i`. */
export function updateLayout(layout: TensorSpec[], scaffoldPrefix?: string): TensorSpec[] {
  return scaffoldPrefix === undefined ? layout : layout.concat(layout.map((s) => ({ name: scaffoldPrefix + s.name, shape: s.shape })));
}

/** Rebuilds error feedback from a persisted flat residual; a residual of another layout is dropped (it only delays information). */
export function restoreFeedback(flat: Float32Array, specs: TensorSpec[]): ErrorFeedback | null {
  if (flat.length !== layoutSize(specs)) {
    console.warn(`[fedweb] ignoring a top-k residual of ${flat.length} floats: this update has ${layoutSize(specs)}`);
    return null;
  }
  return ErrorFeedback.from(unflattenTensors(flat, specs));
}

/** True when the residual has the update's tensors (names and sizes), or none yet. */
export function residualFits(ef: ErrorFeedback, update: NamedTensor[]): boolean {
  const res = ef.residual();
  if (res.length === 0) return true;
  const sizes = new Map(res.map((t) => [t.name, t.data.length]));
  return res.length === update.length && update.every((t) => sizes.get(t.name) === t.data.length);
}

/** `settings.strategy.scaffold` as announced by the server's SCAFFOLD strategy (`{ version: 1, controlPrefix: 'c/' }`). */
export function parseScaffold(v: unknown): { prefix: string } | null {
  if (v === undefined || v === null || v === false) return null;
  const r = z.object({ version: z.literal(1), controlPrefix: z.string().min(1).max(32).default('c/') }).safeParse(v === true ? { version: 1 } : v);
  if (!r.success) throw fedError('BAD_CONFIG', `settings.strategy.scaffold is invalid (this client speaks version 1): ${r.error.message}`);
  return { prefix: r.data.controlPrefix };
}
