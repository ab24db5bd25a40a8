/**
 * The OpenAPI docs of the simulation routes (sim/routes.ts): query parameters as the handlers check them, binary
 * shards in the codec's shard format, and the simulation's own error body (`{ error: { code, message },
 * simulation: true }`).
 */
import { z } from 'zod';
import { ERROR_CODE_NAMES } from '@fedweb/codec';
import type { RouteDoc } from '../http/openapi/route-doc.js';

const SIM = 'Simulation mode only (`npm start`, the e2e harness): MNIST digits handed out by the server; a real deployment does not register it.';
const SimErrorSchema = z.object({ error: z.object({ code: z.enum(ERROR_CODE_NAMES), message: z.string() }).loose(), simulation: z.literal(true) }).loose();
const shard = (what: string) => ({ 200: { description: `${what}: the codec's shard format (\`encodeShard\`: JSON meta with \`simulation: true\`, then the pixels and labels)`, contentType: 'application/octet-stream' } });

/**
 * `GET /api/sim/shard`.
 * @example
 * ```ts
 * app.get('/api/sim/shard', { config: { doc: SIM_SHARD_DOC } }, handler);
 * ```
 */
export const SIM_SHARD_DOC: RouteDoc = {
  tag: 'simulation',
  summary: "A simulated client's shard of MNIST",
  description: `The same client id always gets the same shard; a new id the next one, round-robin. \`index\` reads shard k without assigning it (a centralized baseline). ${SIM}`,
  access: 'token',
  query: z.object({
    client: z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/).optional().describe('the client id (this or `index` is required)'),
    index: z.number().int().min(0).optional().describe('a shard number, 0..shards-1'),
  }),
  responses: shard('the shard'),
  errorSchema: SimErrorSchema,
};

/**
 * `GET /api/sim/testset`.
 * @example
 * ```ts
 * app.get('/api/sim/testset', { config: { doc: SIM_TESTSET_DOC } }, handler);
 * ```
 */
export const SIM_TESTSET_DOC: RouteDoc = {
  tag: 'simulation',
  summary: 'The held-out test set',
  description: `All of it, or a fixed stratified subset of \`n\` digits. ${SIM}`,
  access: 'token',
  query: z.object({ n: z.number().int().min(1).optional().describe('how many digits (default all)') }),
  responses: shard('the test set'),
  errorSchema: SimErrorSchema,
};

/**
 * `GET /api/sim/info`.
 * @example
 * ```ts
 * app.get('/api/sim/info', { config: { doc: SIM_INFO_DOC } }, handler);
 * ```
 */
export const SIM_INFO_DOC: RouteDoc = {
  tag: 'simulation',
  summary: 'The simulation setup',
  description: `The split, seed, shards and their sizes, which shard each client holds, and the centralized reference accuracy when known. ${SIM}`,
  access: 'token',
  responses: {
    200: {
      description: 'the configuration',
      schema: z
        .object({
          simulation: z.literal(true),
          note: z.string(),
          split: z.string(),
          seed: z.union([z.number(), z.string()]),
          numShards: z.number().int(),
          maxExamplesPerShard: z.number().int().nullable(),
          shardSizes: z.array(z.number().int()).nullable(),
          assignments: z.record(z.string(), z.number().int()),
          reference: z.object({ accuracy: z.number(), note: z.string().optional() }).nullable(),
        })
        .loose(),
    },
  },
};
