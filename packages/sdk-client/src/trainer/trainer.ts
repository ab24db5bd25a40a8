/**
 * The trainer: one implementation of {@link TrainerApi}, shared by the browser Web Worker and Node. It owns the
 * tfjs model, the local data and the error-feedback residual; the page (FedClient) only moves bytes.
 */
import type * as TfModule from '@tensorflow/tfjs';
import {
  ErrorFeedback,
  TrainSettingsSchema,
  decodeFrame,
  encodeFrame,
  fedError,
  flattenTensors,
  layoutSize,
  parseFedSgdSettings,
  unflattenTensors,
  toFedError,
  type ComputePackageManifest,
  type NamedTensor,
  type TensorSpec,
  type TrainSettings,
} from '@fedweb/codec';
import { z } from 'zod';
import type { BackendChoice, BackendReport, Dataset, TrainerApi, TrainProgress, TrainRequest, TrainResult, ValidateResult } from './api.js';
import { recoverEngine, selectBackend, short } from './backends.js';
import { createOptimizer, defaultLoss, evaluate, featureSize, isClassLabels, trainLoop, trainStep, trainableVariables, yieldToEventLoop, type RoundContext } from './train-loop.js';
import { importModuleFromCode, loadComputePackage, type LoadedPackage } from '../package/load.js';
import type { Model, Tf, TrainHooks, TrainLoopOptions, TrainOutcome } from '../package/types.js';
import { InitSchema, type Trainer, type TrainerOptions } from './trainer-options.js';
import { parseScaffold, residualFits, restoreFeedback, updateLayout } from './update-layout.js';
import { accumulateGradients, type GradientOutcome } from './gradient-mode.js';
import { decodeServerControl, scaffoldControlStep } from './scaffold-client.js';
import { packageData } from './package-data.js';
import { checkWorkerDataset, toArrayBuffer } from './worker-ingress.js';

/**
 * Creates the trainer around a tfjs namespace.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { nodeZlibCompressor } from '@fedweb/codec/node';
 * const trainer = createTrainer(tf, { compressor: nodeZlibCompressor, backends: { candidates: ['cpu'] } });
 * await trainer.init({ backend: 'auto' });
 * const report = await trainer.loadPackage(code, manifest);
 * await trainer.setData({ x, xShape: [784], y, yShape: [] });
 * const { update, numExamples, metrics } = await trainer.train({ roundId: 'r1', model: seedFrame, settings });
 * ```
 */
export function createTrainer(tf: Tf, opts: TrainerOptions): Trainer {
  const importer = opts.importModule ?? importModuleFromCode;
  let init: z.infer<typeof InitSchema> = { backend: 'auto' };
  let pkg: LoadedPackage | null = null;
  let model: Model | null = null;
  let layout: TensorSpec[] = [];
  let report: BackendReport | null = null;
  let data: Dataset | null = null;
  let feedback: ErrorFeedback | null = null;
  /** SCAFFOLD client control variate c_i (flat, layout order). */
  let clientControl: Float32Array | null = null;
  let running: AbortController | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  /** Serialises model-touching calls: tfjs models are not re-entrant, and a round must not interleave a predict. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p.catch((e: unknown) => {
      throw toFedError(e);
    });
  }

  function requireModel(): { pkg: LoadedPackage; model: Model } {
    if (!pkg || !model) throw fedError('CONFLICT', 'no compute package loaded: call loadPackage() first');
    return { pkg, model };
  }

  /**
   * Decodes a global model frame and checks it against the model's layout (names w0..wN, shapes). The body may
   * inflate to at most what the layout can hold (weights plus as many strategy extras, f32, and 1 MiB): a deflate
   * bomb is refused (`FRAME_TOO_LARGE`) before it is inflated, whatever its header says.
   */
  async function decodeModel(bytes: ArrayBuffer): Promise<NamedTensor[]> {
    const maxBodyBytes = 2 * 4 * layoutSize(layout) + 1024 * 1024;
    const tensors = await decodeFrame(new Uint8Array(bytes), { compressor: opts.compressor, limits: { maxBodyBytes } });
    // The model frame may carry strategy extras after w0..wN (e.g. SCAFFOLD control variates); weights come first.
    const weights = tensors.slice(0, layout.length);
    if (weights.length !== layout.length) throw fedError('SHAPE_MISMATCH', `model frame has ${tensors.length} tensors, the package's model has ${layout.length} weights`);
    weights.forEach((t, i) => {
      const spec = layout[i]!;
      if (t.name !== spec.name || t.shape.length !== spec.shape.length || t.shape.some((d, j) => d !== spec.shape[j])) {
        throw fedError('SHAPE_MISMATCH', `model tensor ${i} is ${t.name} [${t.shape}], the package's model expects ${spec.name} [${spec.shape}]`);
      }
    });
    return tensors;
  }

  function setWeights(m: Model, weights: NamedTensor[]): void {
    const ts = weights.slice(0, layout.length).map((t) => tf.tensor(t.data, t.shape));
    try {
      m.setWeights(ts);
    } finally {
      tf.dispose(ts);
    }
  }

  async function readWeights(m: Model): Promise<Float32Array[]> {
    return Promise.all(m.weights.map(async (w) => (await w.read().data()) as Float32Array));
  }

  async function runRound(req: TrainRequest, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
    const { pkg: p, model: m } = requireModel();
    if (!data) throw fedError('CONFLICT', 'no local data: call setData() before train()');
    const parsed = TrainSettingsSchema.safeParse(req.settings);
    if (!parsed.success) throw fedError('BAD_CONFIG', `train settings are invalid: ${parsed.error.message}`);
    const settings: TrainSettings = { ...parsed.data, extra: { ...p.manifest.settings, ...parsed.data.extra } };
    const mu = Number(settings.strategy.mu ?? 0);
    if (!Number.isFinite(mu) || mu < 0) throw fedError('BAD_CONFIG', `strategy.mu must be a non-negative number, got ${String(settings.strategy.mu)}`);
    const scaffold = parseScaffold(settings.strategy.scaffold);
    const fedsgd = parseFedSgdSettings(settings.strategy.fedsgd);
    if (fedsgd && scaffold) throw fedError('BAD_CONFIG', 'a task cannot ask for both FedSGD gradients and SCAFFOLD control variates');
    const global = await decodeModel(req.model);
    const d = packageData(m, data, 'train');
    const paramCount = layoutSize(layout);
    if (req.residual) feedback = restoreFeedback(new Float32Array(req.residual), scaffold ? updateLayout(layout, scaffold.prefix) : layout);
    // SCAFFOLD: server control c (c/w0..), and this client's c_i (flat, layout order; zeros at first).
    let serverControl: Float32Array | null = null;
    if (scaffold) {
      serverControl = await decodeServerControl(req.strategyTensors, layout, scaffold.prefix, opts.compressor);
      if (req.controlVariate) {
        const ci = new Float32Array(req.controlVariate);
        if (ci.length !== paramCount) throw fedError('SHAPE_MISMATCH', `SCAFFOLD client control variate has ${ci.length} floats, the model ${paramCount}`);
        clientControl = ci;
      }
      if (!clientControl || clientControl.length !== paramCount) clientControl = new Float32Array(paramCount);
    }

    const started = performance.now();
    const abort = new AbortController();
    running = abort;
    const vars = trainableVariables(m);
    const owned: TfModule.Tensor[] = [];
    let optimizer: TfModule.Optimizer | null = null;
    let ctx: RoundContext | null = null;
    try {
      setWeights(m, global);
      const globalTensors = mu > 0 ? vars.map((_, i) => tf.tensor(global[i]!.data, global[i]!.shape)) : null;
      if (globalTensors) owned.push(...globalTensors);
      let control: TfModule.Tensor[] | null = null;
      if (serverControl && clientControl) {
        // Per trainable variable: c − c_i (Karimireddy et al. 2020, Algorithm 1 line 10).
        const ci = clientControl;
        const c = serverControl;
        let off = 0;
        control = vars.map((v, i) => {
          const n = layoutSize([layout[i]!]);
          const diff = new Float32Array(n);
          for (let j = 0; j < n; j++) diff[j] = c[off + j]! - ci[off + j]!;
          off += n;
          return tf.tensor(diff, v.shape);
        });
        owned.push(...control);
      }
      const loss = p.module.loss ?? defaultLoss(m, isClassLabels(d));
      const makeCtx = (lo: TrainLoopOptions = {}): RoundContext => {
        optimizer?.dispose();
        const learningRate = lo.learningRate ?? settings.learningRate;
        optimizer = createOptimizer(tf, lo.optimizer ?? (settings.extra.optimizer as TrainLoopOptions['optimizer']), learningRate);
        ctx = { tf, model: m, vars, optimizer, loss: lo.loss ?? loss, corrections: { mu, global: globalTensors, control }, steps: ctx?.steps ?? 0, learningRate };
        return ctx;
      };
      const emit = (pr: TrainProgress) => {
        try {
          onProgress?.(pr);
        } catch {
          // A progress listener must never break training.
        }
      };
      const hooks: TrainHooks = {
        signal: abort.signal,
        onBatchEnd: emit,
        trainLoop: (lo = {}) =>
          trainLoop(
            makeCtx(lo),
            d,
            { epochs: lo.epochs ?? settings.localEpochs, batchSize: lo.batchSize ?? settings.batchSize, ...(lo.shuffle === undefined ? {} : { shuffle: lo.shuffle }) },
            { signal: abort.signal, onBatchEnd: emit, progressEveryMs: opts.progressEveryMs ?? 100 },
          ),
        trainStep: (x, y) => trainStep(ctx ?? makeCtx(), x, y),
        yield: yieldToEventLoop,
      };
      let outcome: TrainOutcome;
      let gradient: GradientOutcome | null = null;
      try {
        if (fedsgd) {
          // FedSGD: the gradient at the global model, no local step (gradient-mode.ts).
          gradient = await accumulateGradients(makeCtx(), d, fedsgd, settings.batchSize, { signal: abort.signal });
          outcome = { numExamples: gradient.numExamples, metrics: { loss: gradient.loss } };
        } else outcome = p.module.train ? await p.module.train(tf, m, d, settings, hooks) : await hooks.trainLoop();
      } catch (e) {
        recoverEngine(tf);
        if (abort.signal.aborted) throw fedError('ABORTED', `training aborted: ${String(abort.signal.reason ?? 'abort()')}`, undefined, e);
        if (/^missing kernel/.test(short(e))) throw fedError('BACKEND_UNAVAILABLE', `backend ${tf.getBackend()} cannot train this model: ${short(e)}; use backend 'auto'`, undefined, e);
        throw toFedError(e);
      }
      if (abort.signal.aborted) throw fedError('ABORTED', `training aborted: ${String(abort.signal.reason ?? 'abort()')}`);
      if (!outcome || !Number.isInteger(outcome.numExamples) || outcome.numExamples <= 0) {
        throw fedError('PACKAGE_INVALID', `the package's train() must return { numExamples > 0, metrics }, got ${JSON.stringify(outcome)}`);
      }
      const trainMs = performance.now() - started;

      // delta = local − global, in model.getWeights() order (tensors w0..wN); FedSGD: the gradient (0 for non-trainable weights).
      const local = gradient ? null : await readWeights(m);
      let update: NamedTensor[] = layout.map((spec, i) => {
        const g = global[i]!.data;
        if (gradient) return { name: spec.name, shape: [...spec.shape], data: gradient.grads[i] ?? new Float32Array(g.length) };
        const l = local![i]!;
        const out = new Float32Array(l.length);
        for (let j = 0; j < l.length; j++) out[j] = l[j]! - g[j]!;
        return { name: spec.name, shape: [...spec.shape], data: out };
      });
      let nextControl: Float32Array | null = null;
      if (scaffold && serverControl && clientControl) {
        // Option II: c_i⁺ = c_i − c + (x − y)/(K η_l) = c_i − c − Δy/(K η_l); send Δc_i = c_i⁺ − c_i.
        // Only trainable weights take SGD steps; non-trainable ones (e.g. batch-norm statistics) keep Δc = 0.
        const k = ctx ? (ctx as RoundContext).steps : 0;
        const eta = ctx ? (ctx as RoundContext).learningRate : settings.learningRate;
        const c = scaffoldControlStep(serverControl, clientControl, flattenTensors(update), k, eta, layoutSize(layout.slice(0, vars.length)));
        nextControl = c.next;
        update = update.concat(unflattenTensors(c.delta, layout).map((t) => ({ ...t, name: scaffold.prefix + t.name })));
      }
      const encodeOpts = {
        encoding: settings.encoding,
        compressor: opts.compressor,
        ...(settings.topkFraction === undefined ? {} : { topkFraction: settings.topkFraction }),
        // Stochastic rounding draws from a fresh random seed per update (the codec's default): unbiased, not secret.
        ...(settings.rounding === undefined ? {} : { rounding: settings.rounding }),
      };
      let residual: ArrayBuffer | undefined;
      let frame: Uint8Array;
      if (settings.encoding === 'topk') {
        // Error feedback (Stich et al., NeurIPS 2018): what top-k drops this round is added to the next update.
        if (!feedback || !residualFits(feedback, update)) feedback = new ErrorFeedback();
        update = feedback.compensate(update);
        frame = await encodeFrame(update, encodeOpts);
        feedback.record(update, await decodeFrame(frame, { compressor: opts.compressor }));
        residual = flattenTensors(feedback.residual()).buffer as ArrayBuffer;
      } else {
        frame = await encodeFrame(update, encodeOpts);
      }
      // Commit SCAFFOLD state only once the update exists (a failed round keeps the old c_i).
      if (nextControl) clientControl = nextControl;
      const metrics: Record<string, number> = {};
      for (const [k, v] of Object.entries(outcome.metrics ?? {})) if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
      const f32Bytes = 4 * layoutSize(update);
      return {
        update: toArrayBuffer(frame),
        numExamples: outcome.numExamples,
        metrics,
        trainMs,
        f32Bytes,
        ...(residual ? { residual } : {}),
        ...(nextControl ? { controlVariate: nextControl.slice().buffer as ArrayBuffer } : {}),
      };
    } finally {
      if (running === abort) running = null;
      (optimizer as TfModule.Optimizer | null)?.dispose();
      tf.dispose(owned);
    }
  }

  const trainer: Trainer = {
    async init(o) {
      const parsed = InitSchema.safeParse(o);
      if (!parsed.success) throw fedError('BAD_CONFIG', `trainer init options are invalid: ${parsed.error.message}`);
      init = parsed.data;
    },

    loadPackage(code, manifest: ComputePackageManifest) {
      return exclusive(async () => {
        const loaded = await loadComputePackage(new Uint8Array(code), manifest, importer);
        if (model) {
          model.dispose();
          model = null;
          pkg = null;
        }
        const settings = loaded.manifest.settings;
        const lr = typeof settings.learningRate === 'number' && settings.learningRate > 0 ? settings.learningRate : 0.01;
        const cached = init.cachedReport;
        const choice: BackendChoice = cached ? cached.chosen : init.backend;
        const r = await selectBackend(tf, choice, opts.backends, {
          ...opts.probe,
          ...(typeof settings.batchSize === 'number' && opts.probe?.batchSize === undefined ? { batchSize: settings.batchSize } : {}),
          makeModel: () => loaded.module.createModel(tf, settings),
          learningRate: lr,
          ...(loaded.module.loss ? { loss: loaded.module.loss } : {}),
          ...(loaded.manifest.inputShape ? { inputShape: loaded.manifest.inputShape } : {}),
          ...(init.wasmPaths === undefined ? {} : { wasmPaths: init.wasmPaths }),
          ...(init.candidates ? { candidates: init.candidates } : {}),
        });
        report = cached ? { chosen: cached.chosen, candidates: cached.candidates, cached: true } : r;
        const m = await loaded.module.createModel(tf, settings);
        if (!m || typeof m.getWeights !== 'function' || typeof m.apply !== 'function') {
          throw fedError('PACKAGE_INVALID', `createModel() of ${loaded.manifest.name} must return a tf.LayersModel`);
        }
        model = m;
        pkg = loaded;
        layout = m.weights.map((w, i) => ({ name: `w${i}`, shape: w.shape.map((d) => d ?? 0) }));
        feedback = null;
        clientControl = null;
        return report;
      });
    },

    async setData(d) {
      const n = checkWorkerDataset(d);
      data = d;
      return { numExamples: n };
    },

    train(req, onProgress) {
      return exclusive(() => runRound(req, onProgress));
    },

    validate(modelBytes) {
      return exclusive(async (): Promise<ValidateResult> => {
        const { pkg: p, model: m } = requireModel();
        if (!data) throw fedError('CONFLICT', 'no local data: call setData() before validate()');
        setWeights(m, await decodeModel(modelBytes));
        const d = packageData(m, data, 'validation');
        const metrics = p.module.validate ? await p.module.validate(tf, m, d) : await evaluate(tf, m, d, p.module.loss ?? defaultLoss(m, isClassLabels(d)));
        const clean: Record<string, number> = {};
        for (const [k, v] of Object.entries(metrics ?? {})) if (typeof v === 'number' && Number.isFinite(v)) clean[k] = v;
        return { numExamples: d.numExamples, metrics: clean };
      });
    },

    predict(modelBytes, x, xShape) {
      return exclusive(async () => {
        const { model: m } = requireModel();
        setWeights(m, await decodeModel(modelBytes));
        const per = featureSize(xShape);
        if (per <= 0 || x.length % per !== 0) throw fedError('SHAPE_MISMATCH', `input of ${x.length} values does not hold whole examples of shape [${xShape}]`);
        // Same size, maybe another shape (784 pixels for a [28, 28, 1] input): use the model's input shape.
        const inShape = m.inputs[0]?.shape.slice(1) ?? [];
        const shape = inShape.every((v): v is number => typeof v === 'number') ? inShape : xShape;
        if (featureSize(shape) !== per) throw fedError('SHAPE_MISMATCH', `input examples have shape [${xShape}], the model expects [${shape.join(',')}]`);
        const out = tf.tidy(() => {
          const y = m.predict(tf.tensor(x, [x.length / per, ...shape])) as TfModule.Tensor;
          const last = m.layers[m.layers.length - 1];
          const act = last ? (last.getConfig() as { activation?: unknown }).activation : undefined;
          return act === 'softmax' || act === 'sigmoid' ? y : tf.softmax(y);
        });
        try {
          return (await out.data()) as Float32Array;
        } finally {
          out.dispose();
        }
      });
    },

    async abort(reason) {
      running?.abort(reason ?? 'abort()');
    },

    async memory() {
      const mem = tf.memory();
      return { numTensors: mem.numTensors, numBytes: mem.numBytes };
    },

    async dispose() {
      running?.abort('dispose()');
      await queue;
      model?.dispose();
      model = null;
      pkg = null;
      data = null;
      feedback = null;
      clientControl = null;
    },
  };
  return trainer;
}
