/**
 * `settings.strategy.fedsgd` of a training task: the server's FedSGD strategy asks clients to send the gradient of
 * their loss at the global model instead of a locally trained delta. One schema, read by the server (what it
 * announces) and by every client (what it computes). Pure TypeScript.
 */
import { z } from 'zod';
import { fedError } from './errors.js';

export const FedSgdSettingsSchema = z.strictObject({
  /** Wire version of this block; a client that speaks another refuses the task with BAD_CONFIG. */
  version: z.literal(1),
  /** Mini-batches of the session's `batchSize` the gradient is taken over; 0 = all local examples as one batch. */
  batches: z.number().int().min(0).max(10_000),
  /** `mean`: the mean of the batch gradients (each the mean over its examples); `sum`: their sum. */
  reduce: z.enum(['mean', 'sum']),
});
export type FedSgdSettings = z.infer<typeof FedSgdSettingsSchema>;

/**
 * Parses `settings.strategy.fedsgd`: `null` when absent (not a FedSGD round), FedError `BAD_CONFIG` when malformed.
 * @example
 * ```ts
 * const g = parseFedSgdSettings(settings.strategy.fedsgd); // { version: 1, batches: 1, reduce: 'mean' } | null
 * ```
 */
export function parseFedSgdSettings(raw: unknown): FedSgdSettings | null {
  if (raw === undefined || raw === null) return null;
  const r = FedSgdSettingsSchema.safeParse(raw);
  if (!r.success) throw fedError('BAD_CONFIG', `settings.strategy.fedsgd is invalid (this client speaks version 1): ${z.prettifyError(r.error)}`);
  return r.data;
}
