/**
 * Backend selection. A fixed order (WebGPU > WebGL > WASM > CPU) is wrong: on a software GPU, WASM trains an
 * MLP 12x faster than WebGPU, and cannot train a CNN at all (no `Conv2DBackpropFilter` kernel). So `auto`
 * initialises each candidate, runs a few real training steps of THE package's model on synthetic data of the
 * right shape, in several interleaved passes (webgpu, webgl, wasm, cpu, then back), and keeps the fastest by
 * mean, unless a backend that scales better is within the noise of the measurement (probe-stats.ts), recording
 * why every other one lost.
 */
import type * as TfModule from '@tensorflow/tfjs';
import { fedError } from '@fedweb/codec';
import type { BackendName, BackendReport } from './api.js';
import type { LossFn, Model, Tf } from '../package/types.js';
import { defaultLoss, trainStep, trainableVariables, type RoundContext } from './train-loop.js';
import { describeStats, pickBackend, summarize, undecided } from './probe-stats.js';

/** Every backend name, in the order `auto` probes them (ties go to the earlier one). */
export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * How a platform makes a backend available: import its module (it registers itself with tfjs) and configure it
 * (e.g. `setWasmPaths`). Absent entries mean the backend is built into the tfjs bundle (webgl, cpu).
 */
export interface BackendEnv {
  /** Candidates `auto` may probe on this platform (Node: `['wasm', 'cpu']`). */
  candidates: readonly BackendName[];
  /** Called once before the first `tf.setBackend(name)`. */
  register?: Partial<Record<BackendName, (opts: { wasmPaths?: string }) => Promise<void>>>;
  /**
   * Checks, before tfjs tries, that the platform has what the backend needs (a WebGPU adapter, a WebGL context):
   * null when it does, else why not. An expected absence is then one line in the probe table, not tfjs'
   * "Initialization of backend webgpu failed" and its stack trace on the console.
   */
  available?: Partial<Record<BackendName, () => Promise<string | null>>>;
}

/** Probe budget. Defaults keep `auto` under a few seconds even for a slow CNN on a software GPU. */
export interface ProbeOptions {
  /** Examples per probe step (default: the round's batch size, at most 32). */
  batchSize?: number;
  /** Timed steps per pass at least (default 3) ... */
  minSteps?: number;
  /** ... and at least this long (default 300 ms) ... */
  minMs?: number;
  /** ... but timed steps stop after this (default 2000 ms; at least one timed step always runs, after an untimed warm-up step). */
  maxMs?: number;
  /**
   * Interleaved passes over the backends in `auto`: at least `minPasses` (default 3), then more while the leader's
   * 95% interval still overlaps another's and is wider than ±10%, up to `maxPasses` (default 6). Each pass times
   * every backend once (a slow moment of the machine hits all of them); `selectBackend` caps a pass at 400 ms
   * unless `maxMs` is given.
   */
  minPasses?: number;
  maxPasses?: number;
}

/** Result of one backend's probe. */
export type ProbeResult = { ok: true; examplesPerSecond: number } | { ok: false; reason: string };

const registered = new WeakMap<object, Set<BackendName>>();

/**
 * Makes `name` the active tfjs backend, registering its module first if needed. Returns null on success, or
 * why it could not initialise (no WebGPU adapter, no WebGL context, wasm file not found ...).
 *
 * @example
 * ```ts
 * const why = await activateBackend(tf, 'wasm', env, { wasmPaths: '/tfjs-wasm/' });
 * if (why) console.warn('wasm unavailable:', why);
 * ```
 */
export async function activateBackend(tf: Tf, name: BackendName, env: BackendEnv, opts: { wasmPaths?: string }): Promise<string | null> {
  let done = registered.get(tf);
  if (!done) registered.set(tf, (done = new Set()));
  try {
    const missing = await env.available?.[name]?.();
    if (missing) return missing;
    const reg = env.register?.[name];
    if (reg && !done.has(name)) {
      await reg(opts);
      done.add(name);
    }
    if (!tf.findBackendFactory(name)) return 'not registered on this platform';
    if (tf.getBackend() === name) return null;
    const ok = await tf.setBackend(name);
    if (!ok) return `failed to initialise${name === 'webgpu' ? ' (no WebGPU adapter)' : name === 'webgl' ? ' (no WebGL context)' : ''}`;
    await tf.ready();
    return null;
  } catch (e) {
    return `failed to initialise: ${short(e)}`;
  }
}

/**
 * Trains `makeModel()`'s model for a few steps on synthetic data on the ACTIVE backend and measures
 * examples/s. Catches missing kernels and any other failure, and disposes everything it created.
 *
 * @example
 * ```ts
 * const r = await probeActiveBackend(tf, () => pkg.createModel(tf, {}), { learningRate: 0.01 });
 * r.ok ? r.examplesPerSecond : r.reason; // e.g. "missing kernel Conv2DBackpropFilter"
 * ```
 */
export async function probeActiveBackend(
  tf: Tf,
  makeModel: () => Model | Promise<Model>,
  opts: ProbeOptions & { learningRate: number; loss?: LossFn; inputShape?: number[]; warmUp?: boolean },
): Promise<ProbeResult> {
  const before = tf.memory().numTensors;
  let model: Model | undefined;
  let optimizer: TfModule.Optimizer | undefined;
  let x: TfModule.Tensor | undefined;
  let y: TfModule.Tensor | undefined;
  try {
    model = await makeModel();
    const bs = Math.max(1, Math.min(opts.batchSize ?? 32, 32));
    const inShape = sampleShape(model.inputs[0]?.shape, opts.inputShape, 'input');
    const outShape = sampleShape(model.outputs[0]?.shape, undefined, 'output');
    const numClasses = outShape.length === 1 ? outShape[0]! : 0;
    const m = model;
    x = tf.tidy(() => tf.randomUniform([bs, ...inShape]));
    y = tf.tidy(() => (numClasses > 1 ? tf.oneHot(tf.randomUniform([bs], 0, numClasses, 'int32'), numClasses).toFloat() : tf.randomUniform([bs, ...outShape])));
    optimizer = tf.train.sgd(opts.learningRate);
    const ctx: RoundContext = { tf, model: m, vars: trainableVariables(m), optimizer, loss: opts.loss ?? defaultLoss(m, numClasses > 1), corrections: { mu: 0, global: null, control: null }, steps: 0, learningRate: opts.learningRate };
    const step = async () => {
      const l = trainStep(ctx, x!, y!);
      try {
        const v = (await l.data())[0]!;
        if (!Number.isFinite(v)) throw new Error(`loss is ${v}`);
      } finally {
        l.dispose();
      }
    };
    // Warm-up step, not timed: shader compilation (WebGL/WebGPU take seconds here) and kernel caches are a
    // one-off cost, and counting them made WebGPU look 30x slower than it trains.
    // Later passes of `auto` skip it (warmUp: false): the backend's shaders and kernels are compiled by then, and
    // an untimed step of a CNN on the CPU backend costs seconds.
    if (opts.warmUp !== false) await step();
    const minSteps = opts.minSteps ?? 3;
    const minMs = opts.minMs ?? 300;
    const maxMs = opts.maxMs ?? 2000;
    let steps = 0;
    const t1 = performance.now();
    let elapsed = 0;
    do {
      await step();
      steps++;
      elapsed = performance.now() - t1;
    } while ((steps < minSteps || elapsed < minMs) && elapsed < maxMs);
    return { ok: true, examplesPerSecond: (steps * bs) / (elapsed / 1000) };
  } catch (e) {
    recoverEngine(tf);
    return { ok: false, reason: short(e) };
  } finally {
    optimizer?.dispose();
    x?.dispose();
    y?.dispose();
    if (model && typeof model.dispose === 'function') model.dispose();
    const leaked = tf.memory().numTensors - before;
    if (leaked > 0) console.warn(`[fedweb] backend probe left ${leaked} tensors`);
  }
}

/**
 * After a kernel throws inside `tf.variableGrads` (e.g. a missing gradient kernel), tfjs 4 leaves its gradient
 * tape active, so every later op would be recorded on it forever, and the forward pass's tensors that the tape
 * kept for the backward pass stay allocated (37 for the MNIST CNN on WASM). Dispose them and clear the tape, as
 * tfjs' own `gradients` does after a successful backward pass, when no gradient is in progress.
 */
export function recoverEngine(tf: Tf): void {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number; activeTape?: Array<{ saved?: Array<{ dispose(): void }> }> | null } }).state;
  if (!state || state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}

function sampleShape(shape: (number | null)[] | undefined, fallback: number[] | undefined, what: string): number[] {
  const rest = shape?.slice(1);
  if (rest && rest.every((d): d is number => typeof d === 'number' && d > 0)) return rest;
  if (fallback) return fallback;
  throw new Error(`the model's ${what} shape ${JSON.stringify(shape)} is not fully known (give the manifest an inputShape)`);
}

/** Turns an error into a short reason: `missing kernel Conv2DBackpropFilter` for tfjs' kernel errors. */
export function short(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const k = /Kernel '([^']+)' not registered/.exec(msg);
  if (k) return `missing kernel ${k[1]}`;
  return msg.length > 160 ? `${msg.slice(0, 157)}...` : msg;
}

/** Formats a probe result for {@link BackendReport.candidates} (at most 200 characters, the wire limit). */
export function describe(r: ProbeResult): string {
  return r.ok ? `${r.examplesPerSecond.toFixed(r.examplesPerSecond < 10 ? 1 : 0)} ex/s` : r.reason.slice(0, 200);
}

/**
 * Chooses the backend: a fixed choice is activated as is (`BACKEND_UNAVAILABLE` if it cannot initialise);
 * `auto` probes every candidate that initialises with this model in interleaved passes (the order reversed
 * every other pass; 3 to 6, more while the result is undecided) and keeps the fastest geometric mean, or the
 * earliest of {@link BACKEND_NAMES} within noise of it (the 95% interval of their paired speed ratio reaches 1), saying so in its cell. Leaves the chosen backend active.
 *
 * @example
 * ```ts
 * const report = await selectBackend(tf, 'auto', env, { makeModel: () => pkg.createModel(tf, {}), learningRate: 0.01 });
 * report.chosen;      // 'wasm'
 * report.candidates;  // { wasm: '3012 ex/s (95% CI 2930-3100, 3 runs)', cpu: '894 ex/s (95% CI 850-940, 3 runs)' }
 * ```
 */
export async function selectBackend(
  tf: Tf,
  choice: BackendName | 'auto',
  env: BackendEnv,
  opts: ProbeOptions & { makeModel: () => Model | Promise<Model>; learningRate: number; loss?: LossFn; inputShape?: number[]; wasmPaths?: string; candidates?: readonly BackendName[] },
): Promise<BackendReport> {
  const wasm = opts.wasmPaths === undefined ? {} : { wasmPaths: opts.wasmPaths };
  if (choice !== 'auto') {
    const why = await activateBackend(tf, choice, env, wasm);
    if (why) throw fedError('BACKEND_UNAVAILABLE', `backend ${choice} is not available here: ${why}; use backend 'auto'`, { backend: choice, reason: why });
    return { chosen: choice, candidates: { [choice]: 'fixed by configuration' }, cached: false };
  }
  const allowed = opts.candidates ?? env.candidates;
  const list = env.candidates.filter((c) => allowed.includes(c));
  const candidates: Partial<Record<BackendName, string>> = {};
  const samples = new Map<BackendName, number[]>();
  for (const name of list) {
    const why = await activateBackend(tf, name, env, wasm);
    if (why) candidates[name] = why.slice(0, 200);
    else samples.set(name, []);
  }
  const minPasses = Math.max(1, Math.min(opts.minPasses ?? 3, 10));
  const maxPasses = Math.max(minPasses, Math.min(opts.maxPasses ?? 6, 10));
  const probe = { ...opts, ...(opts.maxMs === undefined && maxPasses > 1 ? { maxMs: 400, minMs: Math.min(opts.minMs ?? 300, 200) } : {}) };
  for (let pass = 0; pass < maxPasses && (pass < minPasses || undecided(samples)); pass++) {
    const order = [...samples.keys()];
    if (pass % 2 === 1) order.reverse();
    for (const name of order) {
      const why = await activateBackend(tf, name, env, wasm);
      const r = why ? { ok: false as const, reason: why } : await probeActiveBackend(tf, opts.makeModel, { ...probe, warmUp: pass === 0 });
      if (r.ok) samples.get(name)?.push(r.examplesPerSecond);
      else {
        candidates[name] = describe(r);
        samples.delete(name);
      }
    }
  }
  for (const name of env.candidates) if (!list.includes(name)) candidates[name] = 'excluded by configuration';
  for (const [name, xs] of samples) candidates[name] = describeStats(summarize(xs));
  const pick = pickBackend(samples, BACKEND_NAMES);
  if (!pick) {
    throw fedError('BACKEND_UNAVAILABLE', `no backend can train this model here: ${Object.entries(candidates).map(([k, v]) => `${k}: ${v}`).join('; ')}`, { candidates });
  }
  if (pick.note) candidates[pick.chosen] = `${candidates[pick.chosen]}; ${pick.note}`.slice(0, 200);
  const why = await activateBackend(tf, pick.chosen, env, wasm);
  if (why) throw fedError('BACKEND_UNAVAILABLE', `backend ${pick.chosen} won the probe but failed to re-activate: ${why}`, { candidates });
  return { chosen: pick.chosen, candidates, cached: false };
}
