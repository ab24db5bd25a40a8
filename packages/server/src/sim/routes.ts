/**
 * Simulation mode: the server hands each simulated client (a demo tab, a harness tab, a Node client) its
 * shard of MNIST or Fashion-MNIST (`dataset`), like `GetData` in a classroom federated setup. In a real deployment a client brings its
 * own data and these routes are NOT registered; everything they return is flagged `simulation: true`
 * (JSON meta and the `X-Fedweb-Simulation` header), and registering them logs a warning.
 *
 * Routes:
 * - `GET /api/sim/shard?client=<id>`: this client's shard (binary, see `format.ts`). The same id always
 *   gets the same shard; a new id gets the next shard round-robin over `clients` shards.
 *   `?index=<k>` reads shard k without assigning it (for a centralized baseline on the union).
 * - `GET /api/sim/testset?split=test|validation`: a fixed held-out split (MNIST: 2,000 test / 1,000 validation
 *   digits), disjoint from every shard. `test` (the default) is for reporting; tuning uses `validation`.
 * - `GET /api/sim/info`: the configuration and which shard each known client holds (JSON).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { fedError, isFedError, toFedError } from '@fedweb/codec';
import { encodeShard, type ShardMeta } from '@fedweb/codec';
import { gather, NUM_CLASSES, type MnistSet } from './mnist.js';
import { HELD_OUT, loadDataset, parseDataset, type DatasetName, type HeldOut } from './datasets.js';
import { createRng, shuffleInPlace } from '@fedweb/codec';
import { SIM_INFO_DOC, SIM_SHARD_DOC, SIM_TESTSET_DOC } from './route-docs.js';
import { formatSplit, labelHistogram, parseSplit, partition, type SplitSpec } from './split.js';

export interface SimOptions {
  /** The task: `mnist` (default) or `fashion` (Fashion-MNIST). */
  dataset?: DatasetName | string;
  /** `iid`, `dirichlet:<alpha>` or `labels:<k>` (or a parsed spec). Default `iid`. */
  split?: string | SplitSpec;
  /** Seed of the split; the same seed gives the same shards. Default 42. */
  seed?: number | string;
  /** Number of shards (simulated data owners); client ids map onto them round-robin. Default 10. */
  clients?: number;
  /** Truncates every shard to its first N examples (after the seeded shuffle); default: no cap, all training examples. */
  maxExamplesPerShard?: number;
  /** How many client-id -> shard assignments to remember (oldest forgotten first). Default 10,000. */
  maxAssignments?: number;
  /**
   * The centralized reference for this data, when known: the accuracy (0..1) of the same model trained in one
   * place on the same digits, measured beforehand. `/api/sim/info` reports it; the demo draws it on its chart.
   */
  reference?: { accuracy: number; note?: string };
}

export const SIM_NOTE = 'SIMULATION MODE: MNIST / Fashion-MNIST examples handed out by the server for demos and simulations; real clients bring their own data';

const CLIENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The shards of one simulation configuration, computed once. */
export interface SimShards {
  dataset: DatasetName;
  split: string;
  seed: number | string;
  numShards: number;
  /** Training-pool indices of each shard. */
  indices: number[][];
  train: MnistSet;
  validation: MnistSet;
  test: MnistSet;
}

/**
 * The fixed order in which test-set subsets are taken (`GET /api/sim/testset?n=500` is its first 500).
 * @example
 * ```ts
 * testOrder(2000).slice(0, 500); // indices of the 500-digit stratified-ish subset
 * ```
 */
export function testOrder(n: number): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng('fedweb-mnist-test-order'));
}

/**
 * Computes the shards of a configuration in-process (what the routes serve), e.g. for a centralized
 * baseline trained on their union.
 * @example
 * ```ts
 * const sim = simShards({ split: 'dirichlet:0.5', seed: 42, clients: 10 });
 * sim.indices[3].length; // examples of shard 3
 * ```
 */
export function simShards(options: SimOptions = {}): SimShards {
  const spec = typeof options.split === 'object' ? options.split : parseSplit(options.split ?? 'iid');
  const seed = options.seed ?? 42;
  const numShards = options.clients ?? 10;
  const max = options.maxExamplesPerShard;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw fedError('BAD_CONFIG', `maxExamplesPerShard must be an integer >= 1, got ${max}`);
  const dataset = parseDataset(options.dataset ?? 'mnist');
  const { train, validation, test } = loadDataset(dataset);
  let indices = partition(train.y, numShards, spec, seed, { numClasses: NUM_CLASSES });
  if (max !== undefined) indices = indices.map((s) => s.slice(0, max));
  return { dataset, split: formatSplit(spec), seed, numShards, indices, train, validation, test };
}

/**
 * The simulation routes as a Fastify plugin. Register it only in demo / simulation mode.
 * @example
 * ```ts
 * await app.register(simRoutes({ split: 'dirichlet:0.5', seed: 42, clients: 10 }));
 * // GET /api/sim/shard?client=tab-1 -> binary shard, GET /api/sim/testset -> the held-out digits
 * ```
 */
export function simRoutes(options: SimOptions = {}): FastifyPluginAsync {
  // Parse eagerly so a bad configuration fails at registration, not at the first request.
  const spec = typeof options.split === 'object' ? options.split : parseSplit(options.split ?? 'iid');
  const dataset = parseDataset(options.dataset ?? 'mnist');
  const numShards = options.clients ?? 10;
  if (!Number.isInteger(numShards) || numShards < 1 || numShards > 10_000) throw fedError('BAD_CONFIG', `clients must be an integer in 1..10000, got ${numShards}`);
  const maxAssignments = options.maxAssignments ?? 10_000;
  const ref = options.reference?.accuracy;
  if (ref !== undefined && !(ref >= 0 && ref <= 1)) throw fedError('BAD_CONFIG', `reference.accuracy must be in 0..1, got ${ref}`);

  return async (app) => {
    let sim: SimShards | undefined;
    const encoded = new Map<number, Uint8Array>();
    const testBodies = new Map<string, Uint8Array>();
    const assigned = new Map<string, number>();
    let nextShard = 0;
    const getSim = (): SimShards => (sim ??= simShards({ ...options, dataset, split: spec, clients: numShards }));

    app.log.warn({ dataset, split: formatSplit(spec), seed: options.seed ?? 42, shards: numShards }, SIM_NOTE);

    const sendError = (reply: FastifyReply, e: unknown) => {
      const err = toFedError(e);
      const status = err.code === 'BAD_CONFIG' || err.code === 'BAD_MESSAGE' ? 400 : err.code === 'NOT_FOUND' ? 404 : 500;
      return reply.code(status).header('x-fedweb-simulation', 'true').send({ error: err.toJSON(), simulation: true });
    };

    app.get('/api/sim/shard', { config: { doc: SIM_SHARD_DOC } }, async (request, reply) => {
      try {
        const query = request.query as Record<string, unknown>;
        const client = query['client'];
        const index = query['index'];
        let shard: number | undefined;
        if (index !== undefined) {
          // A given shard, without assigning it to anyone (the harness's centralized baseline reads the union).
          shard = Number(index);
          if (!Number.isInteger(shard) || shard < 0 || shard >= numShards) throw fedError('BAD_CONFIG', `query parameter index must be an integer in 0..${numShards - 1}`);
        } else if (typeof client !== 'string' || !CLIENT_ID.test(client)) {
          throw fedError('BAD_CONFIG', 'query parameter client must be 1..128 characters of letters, digits and . _ : @ -');
        } else shard = assigned.get(client);
        if (shard === undefined && typeof client === 'string') {
          shard = nextShard;
          nextShard = (nextShard + 1) % numShards;
          if (assigned.size >= maxAssignments) {
            const oldest = assigned.keys().next().value;
            if (oldest !== undefined) assigned.delete(oldest);
          }
          assigned.set(client, shard);
          request.log.info({ client, shard }, 'simulation: shard assigned');
        }
        if (shard === undefined) throw fedError('BAD_CONFIG', 'query parameter client or index is required');
        let body = encoded.get(shard);
        if (!body) {
          const s = getSim();
          const idx = s.indices[shard] as number[];
          const part = gather(s.train, idx);
          const meta: ShardMeta = {
            simulation: true,
            kind: 'shard',
            n: part.n,
            xShape: [28, 28, 1],
            numClasses: NUM_CLASSES,
            labelCounts: labelHistogram(s.train.y, idx, NUM_CLASSES),
            dataset,
            split: s.split,
            seed: s.seed,
            shard,
            numShards,
            note: SIM_NOTE,
          };
          body = encodeShard(meta, part.x, part.y);
          encoded.set(shard, body);
        }
        return reply
          .header('content-type', 'application/octet-stream')
          .header('x-fedweb-simulation', 'true')
          .header('x-fedweb-shard', String(shard))
          .header('cache-control', 'no-store')
          .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      } catch (e) {
        if (!isFedError(e)) request.log.error({ err: e }, 'simulation shard failed');
        return sendError(reply, e);
      }
    });

    app.get('/api/sim/testset', { config: { doc: SIM_TESTSET_DOC } }, async (request, reply) => {
      try {
        const query = request.query as Record<string, unknown>;
        const raw = query['n'];
        const which = query['split'] ?? 'test';
        if (typeof which !== 'string' || !(HELD_OUT as readonly string[]).includes(which)) throw fedError('BAD_CONFIG', `query parameter split must be ${HELD_OUT.join(' or ')}`);
        const heldOut = which as HeldOut;
        const test = getSim()[heldOut];
        let n = test.n;
        if (raw !== undefined) {
          n = Number(raw);
          if (!Number.isInteger(n) || n < 1 || n > test.n) throw fedError('BAD_CONFIG', `query parameter n must be an integer in 1..${test.n}`);
        }
        const key = `${heldOut}:${n}`;
        let body = testBodies.get(key);
        if (!body) {
          // A stratified subset: the first n of a fixed seeded permutation of the (class-ordered) test set.
          const order = n === test.n ? Array.from({ length: test.n }, (_, i) => i) : testOrder(test.n).slice(0, n);
          // The meta says which held-out split this is, so a page labels its accuracy correctly.
          const part = gather(test, order);
          body = encodeShard(
            { simulation: true, kind: 'testset', n, xShape: [28, 28, 1], numClasses: NUM_CLASSES, labelCounts: labelHistogram(test.y, order, NUM_CLASSES), dataset, heldOut, note: SIM_NOTE },
            part.x,
            part.y,
          );
          // Bounded: at most a few distinct sizes are ever asked for; forget them all if someone probes many.
          if (testBodies.size >= 8) testBodies.clear();
          testBodies.set(key, body);
        }
        return reply
          .header('content-type', 'application/octet-stream')
          .header('x-fedweb-simulation', 'true')
          .header('cache-control', 'public, max-age=3600')
          .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      } catch (e) {
        if (!isFedError(e)) request.log.error({ err: e }, 'simulation testset failed');
        return sendError(reply, e);
      }
    });

    app.get('/api/sim/info', { config: { doc: SIM_INFO_DOC } }, async (_request, reply) => {
      const s = sim;
      return reply.header('x-fedweb-simulation', 'true').send({
        simulation: true,
        note: SIM_NOTE,
        dataset,
        split: formatSplit(spec),
        seed: options.seed ?? 42,
        numShards,
        maxExamplesPerShard: options.maxExamplesPerShard ?? null,
        shardSizes: s ? s.indices.map((i) => i.length) : null,
        assignments: Object.fromEntries(assigned),
        reference: options.reference ?? null,
      });
    });
  };
}
