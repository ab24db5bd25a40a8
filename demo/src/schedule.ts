/**
 * The centralized baseline's training schedule, shared by the page (`centralized.html`, WebGL) and the harness's
 * Node trainer: the same epochs, batch size, optimizer and learning-rate schedule as the federated run.
 *
 * With a constant rate (decay 1) it is one training call of rounds x epochsPerRound epochs (one optimizer for
 * the whole run). With a per-round decay it is one call per round, `epochsPerRound` epochs at
 * `learningRate * decay^r`, each continuing from the previous call's model (so the optimizer restarts every
 * "round", as every client's does).
 */
import { decodeFrame, encodeFrame, type Metrics, type NamedTensor, type TrainSettings } from '@fedweb/codec';

export interface ScheduleOptions {
  rounds: number;
  epochsPerRound: number;
  batchSize: number;
  learningRate: number;
  /** Per-round factor of the learning rate (the session's `learningRateDecay`); 1 = constant. */
  learningRateDecay: number;
  /** Settings extras (optimizer, ...), already merged over the package manifest's. */
  extra: Record<string, unknown>;
  onRound?: (round: number, metrics: Metrics) => void;
}

/** What one training call gives back (the trainer API's `train`, reduced to what the schedule needs). */
export interface TrainCall {
  (model: ArrayBuffer, settings: TrainSettings): Promise<{ update: ArrayBuffer; numExamples: number; trainMs: number; metrics: Metrics }>;
}

/**
 * Trains `seed` (an f32 frame) with the schedule and returns the trained model as an f32 frame.
 * @example
 * ```ts
 * const r = await trainOnSchedule((model, settings) => api.train({ roundId: 'c', model, settings }), seed, { rounds: 20, epochsPerRound: 2, batchSize: 64, learningRate: 0.03, learningRateDecay: 0.9, extra: { optimizer: 'momentum' } });
 * ```
 */
export async function trainOnSchedule(train: TrainCall, seed: Uint8Array, o: ScheduleOptions): Promise<{ model: Uint8Array; numExamples: number; trainMs: number; metrics: Metrics }> {
  const calls = o.learningRateDecay === 1 ? [{ epochs: o.rounds * o.epochsPerRound, lr: o.learningRate }] : Array.from({ length: o.rounds }, (_, r) => ({ epochs: o.epochsPerRound, lr: o.learningRate * o.learningRateDecay ** r }));
  let model = seed;
  let trainMs = 0;
  let numExamples = 0;
  let metrics: Metrics = {};
  for (const [r, call] of calls.entries()) {
    const settings: TrainSettings = { localEpochs: call.epochs, batchSize: o.batchSize, learningRate: call.lr, encoding: 'f32', strategy: {}, extra: o.extra };
    const out = await train(model.slice().buffer, settings);
    model = await addDelta(model, new Uint8Array(out.update));
    trainMs += out.trainMs;
    numExamples = out.numExamples;
    metrics = out.metrics;
    o.onRound?.(r + 1, out.metrics);
  }
  return { model, numExamples, trainMs, metrics };
}

/** model + delta, tensor by tensor, as an f32 frame. */
async function addDelta(model: Uint8Array, delta: Uint8Array): Promise<Uint8Array> {
  const m = await decodeFrame(model);
  const d = new Map((await decodeFrame(delta)).map((t) => [t.name, t]));
  const out: NamedTensor[] = m.map((t) => {
    const dt = d.get(t.name);
    if (!dt || dt.data.length !== t.data.length) throw new Error(`the trainer's update lacks ${t.name}`);
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (t.data[i] as number) + (dt.data[i] as number);
    return { ...t, data };
  });
  return encodeFrame(out, { encoding: 'f32' });
}
