/**
 * `int4_accuracy_drop_pt` of `npm run bench -- codec`: the accuracy cost of int4 updates against int8 on the same
 * short federated simulation, in process: Node clients (tfjs CPU backend) training the benchmark MLP (784-128-10)
 * on IID shards of real MNIST digits (`mnistSplit`), FedAvg over their example-weighted deltas. Every arm starts
 * from the same seeded model and sees the same batches in the same order; only how each client's delta is encoded
 * (f32, int8, int4, int8/int4 with stochastic rounding, seeded per client and round) differs. The update goes
 * through `encodeFrame` (deflated) and the server's `foldInto`, as in a real round. Accuracy: 2,000 held-out digits.
 */
import { createRng, encodeFrame, foldInto, type EncodeFrameOptions, type NamedTensor } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { accuracy, loadTf, makeMlp, mnistSplit, trainBatches } from './make-codec-fixture.js';

export const SIM = { clients: 8, rounds: 6, batchesPerRound: 6, batchSize: 32, learningRate: 0.1 } as const;

type Arm = 'f32' | 'int8' | 'int4' | 'int8_sr' | 'int4_sr';
const ARMS: Record<Arm, Omit<EncodeFrameOptions, 'seed'>> = {
  f32: { encoding: 'f32' },
  int8: { encoding: 'int8' },
  int4: { encoding: 'int4' },
  int8_sr: { encoding: 'int8', rounding: 'stochastic' },
  int4_sr: { encoding: 'int4', rounding: 'stochastic' },
};

/** Final test accuracy (fraction) of each arm, and the setup. */
export async function simulateEncodings(): Promise<{ accuracy: Record<Arm, number>; bytesPerUpdate: Record<Arm, number>; setup: string }> {
  const tf = await loadTf();
  const { train, test } = mnistSplit();
  const shards = Array.from({ length: SIM.clients }, (_, c) => train.filter((_, i) => i % SIM.clients === c));
  const model = makeMlp(tf);
  model.compile({ optimizer: tf.train.sgd(SIM.learningRate), loss: 'categoricalCrossentropy' });
  const init = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  const shapes = model.getWeights().map((w) => w.shape);
  const layout = shapes.map((shape, i) => ({ name: `w${i}`, shape }));
  const n = init.reduce((a, w) => a + w.length, 0);
  const setWeights = (ws: Float32Array[]) => {
    const ts = ws.map((w, i) => tf.tensor(w, shapes[i]));
    model.setWeights(ts);
    tf.dispose(ts);
  };
  const out = { accuracy: {} as Record<Arm, number>, bytesPerUpdate: {} as Record<Arm, number> };
  for (const [arm, enc] of Object.entries(ARMS) as [Arm, (typeof ARMS)[Arm]][]) {
    const global = init.map((w) => w.slice());
    let bytes = 0;
    for (let r = 0; r < SIM.rounds; r++) {
      const acc = new Float32Array(n);
      let total = 0;
      for (let c = 0; c < SIM.clients; c++) {
        setWeights(global);
        await trainBatches(tf, model, shards[c]!, r * SIM.batchesPerRound * SIM.batchSize, SIM.batchesPerRound, SIM.batchSize, false);
        const delta: NamedTensor[] = model.getWeights().map((w, i) => {
          const after = w.dataSync();
          return { name: `w${i}`, shape: w.shape, data: Float32Array.from(after, (v, j) => v - global[i]![j]!) };
        });
        const frame = await encodeFrame(delta, { ...enc, compressor: nodeZlibCompressor, ...(enc.rounding ? { rng: createRng(1000 * r + c) } : {}) });
        bytes += frame.length;
        const weight = shards[c]!.length;
        await foldInto(acc, frame, weight, { layout, compressor: nodeZlibCompressor });
        total += weight;
      }
      let off = 0;
      for (const w of global) for (let j = 0; j < w.length; j++) w[j] = w[j]! + acc[off++]! / total;
    }
    setWeights(global);
    out.accuracy[arm] = accuracy(tf, model, test);
    out.bytesPerUpdate[arm] = Math.round(bytes / (SIM.rounds * SIM.clients));
    console.log(`  simulation ${arm}: test accuracy ${(out.accuracy[arm] * 100).toFixed(2)} %, ${out.bytesPerUpdate[arm]} bytes per update`);
  }
  const setup = `FedAvg, ${SIM.clients} Node clients (tfjs CPU) on IID shards of MNIST (mnistSplit train), MLP 784-128-10 from the same seeded init, ${SIM.rounds} rounds x ${SIM.batchesPerRound} batches of ${SIM.batchSize}, SGD lr ${SIM.learningRate}; deltas encoded per arm (deflated) and folded with foldInto; accuracy on the 2,000 held-out digits`;
  return { ...out, setup };
}
