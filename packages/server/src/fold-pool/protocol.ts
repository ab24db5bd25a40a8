/**
 * The fold pool's worker protocol: pure types plus the zod schemas each side parses what it receives with
 * (comlink's `protocol.ts` idea). The main thread sends an update frame (a copy, transferred); the worker inflates
 * and validates it once and answers with the parsed frame (typed views over the inflated body, its buffer
 * transferred back, no copy) and the frame's stats, or a typed error.
 */
import { z } from 'zod';
import { ERROR_CODES, type FrameStats, type ParsedFrame } from '@fedweb/codec';

const limit = z.number().int().nonnegative();

/** Main -> worker: parse one frame. */
export const ParseRequestSchema = z
  .object({
    id: z.number().int().nonnegative(),
    frame: z.instanceof(Uint8Array),
    limits: z.object({ maxFrameBytes: limit, maxBodyBytes: limit, maxTensors: limit, maxElements: limit }).partial().optional(),
  })
  .strict();
export type ParseRequest = z.infer<typeof ParseRequestSchema>;

const codes = Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]];

/** Worker -> main: the parsed frame and its stats, or the FedError that refused it. */
export const ParseReplySchema = z.discriminatedUnion('ok', [
  z.object({ id: z.number().int().nonnegative(), ok: z.literal(true), parsed: z.custom<ParsedFrame>((v) => typeof v === 'object' && v !== null && Array.isArray((v as ParsedFrame).tensors)), stats: z.object({ sumSq: z.number(), maxAbs: z.number() }) }),
  z.object({ id: z.number().int().nonnegative(), ok: z.literal(false), code: z.enum(codes), message: z.string() }),
]);
export type ParseReply = { id: number; ok: true; parsed: ParsedFrame; stats: FrameStats } | { id: number; ok: false; code: keyof typeof ERROR_CODES; message: string };
