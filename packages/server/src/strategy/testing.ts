/**
 * Federated simulation for strategy tests and the `strategies` / `strategies-cnn` benchmarks: every client
 * trains locally with the reference client logic (`local-train.ts`: FedProx, SCAFFOLD, FedSGD hooks) on a
 * {@link SimModel} (logistic regression by default, or the CNN of `../sim/cnn.ts`), its update travels as a real
 * codec frame, combiners fold, the reducer merges and steps. No tfjs.
 */
import { encodeFrame, parseFedSgdSettings, unflattenTensors } from '@fedweb/codec';
import type { Encoding, NamedTensor, TensorSpec } from '@fedweb/codec';
import { decodePartial, encodePartial } from './partial-codec.js';
import { createFoldTools } from './fold-tools.js';
import { createRng, mixSeed } from '@fedweb/codec';
import { SCAFFOLD_PREFIX } from './scaffold/index.js';
import { localGradient, localTrain, type LocalTrainResult } from './local-train.js';
import { logreg } from './logreg.js';
import type { Examples, SimModel } from './sim-model.js';
import type { ClientUpdate, PartialAggregate, Strategy, StrategyContext } from './types.js';

export * from './logreg.js';
export * from './local-train.js';
export type { SimModel } from './sim-model.js';

export interface SimulationOptions {
  strategy: Strategy<any, any>;
  /** Raw options, parsed with the strategy's schema. */
  options?: unknown;
  clients: Examples[];
  test: Examples;
  /** Also evaluated after every round (e.g. the validation split used for tuning). */
  validation?: Examples;
  rounds: number;
  /** The model (default: the logistic regression, zero-initialised). */
  model?: SimModel;
  /**
   * Local work. `epochs` may differ per client (an array indexed by client): the "systems heterogeneity"
   * of Li et al. 2020, where devices do variable amounts of work.
   */
  local: {
    epochs: number | number[];
    batchSize: number;
    learningRate: number;
    /** Local heavy-ball momentum (0 = SGD). */
    momentum?: number;
    /** Round r trains with learningRate * decay^(r-1) (the session's `learningRateDecay`). Default 1. */
    learningRateDecay?: number;
  };
  /** Called after every round (progress lines of long benchmark runs). */
  onRound?: (h: SimulationResult['history'][number]) => void;
  seed: number;
  /** Combiners the clients are spread over (partials go through encodePartial/decodePartial). Default 1. */
  combiners?: number;
  /** Update encoding (default f32). */
  encoding?: Encoding;
  /** Clients sampled (seeded, without replacement) per round; default all (partial participation when fewer). */
  clientsPerRound?: number;
  /** One misbehaving client: its delta is multiplied by `scale` (e.g. 100). */
  attack?: { client: number; scale: number };
}

export interface SimulationResult {
  /** After each round: test loss and accuracy of the global model. */
  history: { round: number; loss: number; accuracy: number; validation?: { loss: number; accuracy: number }; metrics?: Record<string, number> }[];
  initial: { loss: number; accuracy: number };
  model: Float32Array;
  /** Wall time of each `serverStep` call, ms (for reports only; never asserted). */
  serverStepMs: number[];
}

function toNamed(flat: Float32Array, layout: TensorSpec[], prefix = ''): NamedTensor[] {
  return unflattenTensors(flat, layout).map((t) => ({ ...t, name: prefix + t.name }));
}

/**
 * Runs `rounds` federated rounds of the logistic regression with the given strategy: every client trains
 * locally (with the FedProx/SCAFFOLD hooks the strategy's `configureFit` asks for), its update travels as
 * a real codec frame, combiners fold, the reducer merges and steps. Async strategies (FedBuff) get
 * updates from odd-numbered clients one model version stale.
 * @example
 * ```ts
 * const r = await simulate({ strategy: fedavg, clients, test, rounds: 10, local: { epochs: 1, batchSize: 32, learningRate: 0.1 }, seed: 1 });
 * ```
 */
export async function simulate(o: SimulationOptions): Promise<SimulationResult> {
  const s = o.strategy;
  const options = s.optionsSchema.parse(o.options ?? {});
  const model = o.model ?? logreg;
  const { layout, paramCount } = model;
  const ctxFor = (round: number): StrategyContext => ({ sessionId: 'sim', round, layout, paramCount, seed: mixSeed(o.seed, round) });
  let global: Float32Array = model.init(o.seed);
  let previous: Float32Array = global;
  let state = s.initState(options, global, ctxFor(1));
  const controls: Float32Array[] = o.clients.map(() => new Float32Array(paramCount));
  const tools = createFoldTools({ layout });
  const combiners = Math.max(1, o.combiners ?? 1);
  const history: SimulationResult['history'] = [];
  const serverStepMs: number[] = [];
  const initial = model.evaluate(global, o.test);

  for (let round = 1; round <= o.rounds; round++) {
    const ctx = ctxFor(round);
    const settings = s.configureFit(options, state, ctx);
    const extra = s.clientTensors?.(options, state, ctx) ?? [];
    const serverControl = extra.length > 0 ? flattenPrefixed(extra, SCAFFOLD_PREFIX, layout) : undefined;
    const fedsgd = parseFedSgdSettings(settings['fedsgd']);
    const learningRate = o.local.learningRate * (o.local.learningRateDecay ?? 1) ** (round - 1);
    const partials: PartialAggregate[] = Array.from({ length: combiners }, () => s.createPartial(options, ctx));
    const picked = sampleClients(o.clients.length, o.clientsPerRound ?? o.clients.length, mixSeed(o.seed ^ 0x5eed, round));
    for (const i of picked) {
      const stale = s.mode === 'async' && i % 2 === 1 && round > 1;
      const base = stale ? previous : global;
      const epochs = Array.isArray(o.local.epochs) ? o.local.epochs[i % o.local.epochs.length]! : o.local.epochs;
      const seed = mixSeed(o.seed, round * 1000 + i);
      const r = fedsgd
        ? (() => {
            const g = localGradient(base, o.clients[i]!, { ...fedsgd, batchSize: o.local.batchSize, seed, model });
            return { delta: g.gradient, numExamples: g.numExamples } as LocalTrainResult;
          })()
        : localTrain(base, o.clients[i]!, {
            ...o.local,
            learningRate,
            epochs,
            seed,
            model,
            strategySettings: settings,
            ...(serverControl ? { serverControl, clientControl: controls[i]! } : {}),
          });
      if (o.attack && o.attack.client === i) for (let j = 0; j < r.delta.length; j++) r.delta[j] = r.delta[j]! * o.attack.scale;
      const tensors = toNamed(r.delta, layout);
      if (r.controlDelta && r.nextControl) {
        tensors.push(...toNamed(r.controlDelta, layout, SCAFFOLD_PREFIX));
        controls[i] = r.nextControl;
      }
      const update: ClientUpdate = {
        clientId: `client-${i}`,
        frame: await encodeFrame(tensors, { encoding: o.encoding ?? 'f32' }),
        numExamples: r.numExamples,
        staleness: stale ? 1 : 0,
      };
      await s.foldUpdate(options, partials[i % combiners]!, update, tools, ctx);
    }
    let merged = partials[0]!;
    for (let k = 1; k < combiners; k++) {
      const wire = await decodePartial(await encodePartial(partials[k]!), { tensorLength: paramCount });
      merged = s.mergePartials(options, merged, wire, ctx);
    }
    const t0 = performance.now();
    const res = s.serverStep(options, state, global, merged, ctx);
    serverStepMs.push(performance.now() - t0);
    if (res) {
      previous = global;
      global = res.model;
      state = res.state;
    }
    const entry = { round, ...model.evaluate(global, o.test), ...(o.validation ? { validation: model.evaluate(global, o.validation) } : {}), ...(res?.metrics ? { metrics: res.metrics } : {}) };
    history.push(entry);
    o.onRound?.(entry);
  }
  return { history, initial, model: global, serverStepMs };
}

/** k distinct client indices out of n, seeded (partial Fisher-Yates), in ascending order. */
function sampleClients(n: number, k: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return idx;
  const rng = createRng(seed);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

function flattenPrefixed(tensors: NamedTensor[], prefix: string, layout: TensorSpec[]): Float32Array {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const out = new Float32Array(layout.reduce((n, s) => n + s.shape.reduce((a, c) => a * c, 1), 0));
  let off = 0;
  for (const spec of layout) {
    const t = byName.get(prefix + spec.name);
    if (t) out.set(t.data, off);
    off += spec.shape.reduce((a, b) => a * b, 1);
  }
  return out;
}
