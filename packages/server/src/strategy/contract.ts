/**
 * The conformance suite every strategy runs (after hono's shared router tests): call
 * `runStrategyContract(() => myStrategy, { options })` from the strategy's `*.test.ts`.
 *
 * It checks, on a small two-tensor model with seeded random updates sent as real codec frames:
 *  - options: the schema defaults `{}` (or the given options) and refuses unknown option names;
 *  - determinism: the same seed and updates give bit-identical models and states;
 *  - associativity: the same updates folded by 1 combiner or by 3 (partials sent through
 *    `encodePartial`/`decodePartial`, merged in two different trees) give the same model to 1e-6;
 *  - an empty round keeps the previous model (`serverStep` returns null);
 *  - refusal of mismatched shapes: wrong shape, missing tensor, unknown tensor -> SHAPE_MISMATCH, and the
 *    partial is left untouched; a merged partial with a wrong-size tensor -> SHAPE_MISMATCH;
 *  - state round-trip: `encodeState` -> JSON.stringify/parse -> `decodeState` resumes to the same model;
 *  - `configureFit` output and `clientTensors` are JSON-/layout-compatible.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, isFedError, layoutSize } from '@fedweb/codec';
import type { NamedTensor, TensorSpec } from '@fedweb/codec';
import { createFoldTools } from './fold-tools.js';
import { decodePartial, encodePartial } from './partial-codec.js';
import { createRng, type Rng } from '@fedweb/codec';
import type { ClientUpdate, PartialAggregate, Strategy, StrategyContext } from './types.js';

export interface ContractOptions {
  /** Raw options (parsed with the strategy's schema); default `{}`. */
  options?: unknown;
  /**
   * Extra tensors a client of this strategy adds to its update frame, e.g. SCAFFOLD's `c/<name>`.
   * Receives the model-delta tensors and a seeded rng.
   */
  extraTensors?: (delta: NamedTensor[], rng: Rng) => NamedTensor[];
  /** Updates per round (default 9, split 2/3/4 over three combiners). */
  updates?: number;
  /** Absolute tolerance, scaled by max(1, |value|) (default 1e-6). */
  tolerance?: number;
}

const LAYOUT: TensorSpec[] = [
  { name: 'w0', shape: [3, 4] },
  { name: 'w1', shape: [4] },
];

function ctxFor(round: number, seed = 1234): StrategyContext {
  // Seeded noise for DP strategies, so that determinism can be checked (hosts use the CSPRNG).
  const testNoise = (out: Float32Array, std: number): void => createRng(seed + round).addGaussian(out, std);
  return { sessionId: 'contract', round, layout: LAYOUT, paramCount: layoutSize(LAYOUT), seed: seed + round, testNoise };
}

interface RawUpdate {
  clientId: string;
  tensors: NamedTensor[];
  numExamples: number;
  staleness: number;
}

function makeUpdates(round: number, count: number, extra: ContractOptions['extraTensors']): RawUpdate[] {
  const rng = createRng(9000 + round);
  return Array.from({ length: count }, (_, i) => {
    const delta = LAYOUT.map((s) => {
      const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
      // Mostly small deltas with one larger client, so clipping/median/trim paths are all exercised.
      rng.addGaussian(data, i === count - 1 ? 2 : 0.1);
      return { name: s.name, shape: [...s.shape], data };
    });
    return {
      clientId: `c${i}`,
      tensors: extra ? [...delta, ...extra(delta, rng)] : delta,
      numExamples: 1 + Math.floor(rng.next() * 100),
      staleness: i % 3,
    };
  });
}

async function toUpdates(raw: RawUpdate[]): Promise<ClientUpdate[]> {
  return Promise.all(
    raw.map(async (r, i) => ({
      clientId: r.clientId,
      // Alternate encodings: the fold tools must accept what clients send (int8 is the SDK default).
      frame: await encodeFrame(r.tensors, { encoding: i % 2 === 0 ? 'f32' : 'int8' }),
      numExamples: r.numExamples,
      staleness: r.staleness,
    })),
  );
}

function initialGlobal(): Float32Array {
  const g = new Float32Array(layoutSize(LAYOUT));
  createRng(77).addGaussian(g, 1);
  return g;
}

async function foldAll(s: Strategy<any, any>, o: unknown, ups: ClientUpdate[], ctx: StrategyContext): Promise<PartialAggregate> {
  const tools = createFoldTools({ layout: LAYOUT });
  const p = s.createPartial(o, ctx);
  for (const u of ups) await s.foldUpdate(o, p, u, tools, ctx);
  return p;
}

async function viaWire(p: PartialAggregate, ctx: StrategyContext): Promise<PartialAggregate> {
  return decodePartial(await encodePartial(p), { tensorLength: ctx.paramCount });
}

/** Runs `rounds` rounds with one combiner, returning models and encoded states after each. */
async function runRounds(s: Strategy<any, any>, o: unknown, rounds: RawUpdate[][]) {
  let global = initialGlobal();
  let state = s.initState(o, global, ctxFor(1));
  const models: Float32Array[] = [];
  const states: string[] = [];
  for (let r = 0; r < rounds.length; r++) {
    const ctx = ctxFor(r + 1);
    const merged = await foldAll(s, o, await toUpdates(rounds[r]!), ctx);
    const res = s.serverStep(o, state, global, merged, ctx);
    if (!res) throw new Error(`serverStep returned null on round ${r + 1} with ${merged.count} updates`);
    global = res.model;
    state = res.state;
    models.push(global);
    states.push(JSON.stringify(s.encodeState(state).json));
  }
  return { models, states, state, global };
}

function expectClose(a: Float32Array, b: Float32Array, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!));
    if (!(err <= worst)) worst = err; // NaN-safe: NaN makes worst NaN and fails below
  }
  expect(worst).toBeLessThanOrEqual(tol);
}

async function expectFedError(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    expect(isFedError(e) ? e.code : `not a FedError: ${String(e)}`).toBe(code);
    return;
  }
  throw new Error(`expected FedError ${code}, nothing was thrown`);
}

function snapshot(p: PartialAggregate): string {
  return JSON.stringify({ c: p.count, w: p.weight, s: p.scalars, t: Object.entries(p.tensors).map(([k, v]) => [k, Array.from(v)]) });
}

/**
 * Registers the contract tests for one strategy (call at the top level of a test file).
 * @example
 * ```ts
 * runStrategyContract(() => fedadam, { options: { eta: 0.1 } });
 * ```
 */
export function runStrategyContract(make: () => Strategy<any, any>, opts: ContractOptions = {}): void {
  const strategy = make();
  const count = opts.updates ?? 9;
  const tol = opts.tolerance ?? 1e-6;
  const parse = (): unknown => {
    const r = strategy.optionsSchema.safeParse(opts.options ?? {});
    if (!r.success) throw new Error(`options invalid: ${r.error.message}`);
    return r.data;
  };

  describe(`strategy contract: ${strategy.name}`, () => {
    it('parses its options with defaults and refuses unknown option names', () => {
      expect(() => parse()).not.toThrow();
      expect(strategy.optionsSchema.safeParse({ definitelyNotAnOption: 1 }).success).toBe(false);
      expect(['sync', 'async']).toContain(strategy.mode);
      if (strategy.mode === 'async') {
        const cfg = strategy.asyncConfig?.(parse());
        expect(cfg?.bufferSize).toBeGreaterThan(0);
      }
    });

    it('is deterministic for a seed', async () => {
      const o = parse();
      const rounds = [makeUpdates(1, count, opts.extraTensors), makeUpdates(2, count, opts.extraTensors)];
      const a = await runRounds(make(), o, rounds);
      const b = await runRounds(make(), o, rounds);
      for (let r = 0; r < rounds.length; r++) {
        expect(Array.from(a.models[r]!)).toEqual(Array.from(b.models[r]!));
        expect(a.states[r]).toBe(b.states[r]);
      }
      // And it did something: the model moved.
      expect(Array.from(a.models[1]!)).not.toEqual(Array.from(initialGlobal()));
    });

    it('merges partials associatively: 1 combiner or 3 give the same model', async () => {
      const o = parse();
      const ctx = ctxFor(1);
      const ups = await toUpdates(makeUpdates(1, count, opts.extraTensors));
      const global = initialGlobal();
      const state = strategy.initState(o, global, ctx);
      const one = strategy.serverStep(o, state, global, await foldAll(strategy, o, ups, ctx), ctx);
      const cut1 = Math.floor(count / 4);
      const cut2 = cut1 + Math.floor(count / 3);
      const parts = await Promise.all(
        [ups.slice(0, cut1), ups.slice(cut1, cut2), ups.slice(cut2)].map(async (g) => viaWire(await foldAll(strategy, o, g, ctx), ctx)),
      );
      const [p0, p1, p2] = parts as [PartialAggregate, PartialAggregate, PartialAggregate];
      const left = strategy.mergePartials(o, strategy.mergePartials(o, p0, p1, ctx), p2, ctx);
      const right = strategy.mergePartials(o, p0, strategy.mergePartials(o, p1, p2, ctx), ctx);
      // Merging with an empty partial (a combiner that got no update) changes nothing.
      const withEmpty = strategy.mergePartials(o, strategy.createPartial(o, ctx), left, ctx);
      expect(left.count).toBe(count);
      for (const merged of [left, right, withEmpty]) {
        const three = strategy.serverStep(o, state, global, merged, ctx);
        expectClose(three!.model, one!.model, tol);
      }
    });

    it('keeps the previous model when nothing arrived', () => {
      const o = parse();
      const ctx = ctxFor(1);
      const global = initialGlobal();
      expect(strategy.serverStep(o, strategy.initState(o, global, ctx), global, strategy.createPartial(o, ctx), ctx)).toBeNull();
    });

    it('refuses mismatched shapes with SHAPE_MISMATCH and leaves the partial untouched', async () => {
      const o = parse();
      const ctx = ctxFor(1);
      const tools = createFoldTools({ layout: LAYOUT });
      const p = strategy.createPartial(o, ctx);
      const [good] = await toUpdates(makeUpdates(1, 1, opts.extraTensors));
      await strategy.foldUpdate(o, p, good!, tools, ctx);
      const before = snapshot(p);
      const raw = makeUpdates(3, 1, opts.extraTensors)[0]!;
      const variants: NamedTensor[][] = [
        raw.tensors.map((t) => (t.name === 'w0' ? { name: 'w0', shape: [4, 3], data: t.data } : t)),
        raw.tensors.map((t) => (t.name === 'w1' ? { name: 'w1', shape: [5], data: new Float32Array(5) } : t)),
        raw.tensors.filter((t) => t.name !== 'w1'),
        [...raw.tensors, { name: 'w9', shape: [2], data: new Float32Array(2) }],
      ];
      for (const tensors of variants) {
        const frame = await encodeFrame(tensors);
        await expectFedError(strategy.foldUpdate(o, p, { clientId: 'bad', frame, numExamples: 5, staleness: 0 }, tools, ctx), 'SHAPE_MISMATCH');
        expect(snapshot(p)).toBe(before);
      }
      // A partial from another process with a wrong-size tensor is refused at merge time.
      const broken = structuredClone(p);
      const key = Object.keys(broken.tensors)[0]!;
      broken.tensors[key] = new Float32Array(ctx.paramCount + 1);
      await expectFedError(() => strategy.mergePartials(o, p, broken, ctx), 'SHAPE_MISMATCH');
    });

    it('resumes from its serialized state (encodeState -> JSON -> decodeState)', async () => {
      const o = parse();
      const rounds = [makeUpdates(1, count, opts.extraTensors), makeUpdates(2, count, opts.extraTensors)];
      const ref = await runRounds(strategy, o, rounds);
      // Replay round 1, serialize, then continue round 2 from the decoded state.
      const first = await runRounds(strategy, o, [rounds[0]!]);
      const enc = strategy.encodeState(first.state);
      const json = JSON.parse(JSON.stringify(enc.json)) as unknown;
      const tensors = Object.fromEntries(Object.entries(enc.tensors).map(([k, v]) => [k, new Float32Array(v)]));
      const resumed = strategy.decodeState(json, tensors);
      const ctx = ctxFor(2);
      const merged = await foldAll(strategy, o, await toUpdates(rounds[1]!), ctx);
      const res = strategy.serverStep(o, resumed, first.global, merged, ctx);
      expect(Array.from(res!.model)).toEqual(Array.from(ref.models[1]!));
      expect(JSON.stringify(strategy.encodeState(res!.state).json)).toBe(ref.states[1]);
      // Stateful strategies must refuse a state that is not theirs.
      const stateful = Object.keys(enc.tensors).length > 0 || JSON.stringify(enc.json) !== '{}';
      if (stateful) await expectFedError(() => strategy.decodeState({ garbage: true }, {}), 'BAD_CONFIG');
    });

    it('configures clients with JSON and ships layout-shaped tensors only', () => {
      const o = parse();
      const ctx = ctxFor(1);
      const global = initialGlobal();
      const state = strategy.initState(o, global, ctx);
      const fit = strategy.configureFit(o, state, ctx);
      expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
      const extra = strategy.clientTensors?.(o, state, ctx) ?? [];
      for (const t of extra) {
        const spec = LAYOUT.find((s) => t.name.endsWith(`/${s.name}`));
        expect(spec, `client tensor ${t.name} does not name a layout tensor`).toBeDefined();
        expect(t.shape).toEqual(spec!.shape);
        expect(t.data.length).toBe(spec!.shape.reduce((a, b) => a * b, 1));
      }
    });
  });
}
