/**
 * The demo's MNIST CNN (`packages/sdk-client/examples/mnist-cnn`: conv 8@5x5 relu - maxpool 2 - conv 16@5x5 relu -
 * maxpool 2 - dense 128 relu - dense 10 softmax, 37,610 parameters, same tensor names, shapes and layouts as the
 * tfjs model's frame) in plain Float32Array maths, for strategy simulations in Node.
 *
 * Why not tfjs: in Node the CNN trains on tfjs' pure-JS CPU backend (the WASM backend has no convolution
 * gradients) at ~15-20 examples/s here; these loops skip the zero pixels and zero activations and run about
 * 20x faster, which makes comparing strategies on the CNN affordable on a shared 2-core machine.
 *
 * Layout (tfjs channels-last, kernels [kh, kw, in, out] row-major): w0 [5,5,1,8], w1 [8], w2 [5,5,8,16], w3 [16],
 * w4 [256,128] (the flattened 4x4x16 map in (row, col, channel) order), w5 [128], w6 [128,10], w7 [10].
 * Initialisation like tfjs' layers: He normal for the convolutions and the hidden dense layer (the example
 * package's `heNormal`), Glorot uniform for the output layer, zero biases.
 */
import { createRng } from '@fedweb/codec';
import type { TensorSpec } from '@fedweb/codec';
import { softmaxInPlace, type Examples, type SimModel } from '../strategy/sim-model.js';

const H0 = 28;
const K = 5;
const C1 = 8;
const H1 = H0 - K + 1; // 24
const P1 = H1 / 2; // 12
const C2 = 16;
const H2 = P1 - K + 1; // 8
const P2 = H2 / 2; // 4
const FLAT = P2 * P2 * C2; // 256
const HID = 128;
const OUT = 10;

export const CNN_LAYOUT: TensorSpec[] = [
  { name: 'w0', shape: [K, K, 1, C1] },
  { name: 'w1', shape: [C1] },
  { name: 'w2', shape: [K, K, C1, C2] },
  { name: 'w3', shape: [C2] },
  { name: 'w4', shape: [FLAT, HID] },
  { name: 'w5', shape: [HID] },
  { name: 'w6', shape: [HID, OUT] },
  { name: 'w7', shape: [OUT] },
];
const SIZES = CNN_LAYOUT.map((t) => t.shape.reduce((a, b) => a * b, 1));
const OFF = SIZES.map((_, i) => SIZES.slice(0, i).reduce((a, b) => a + b, 0));
export const CNN_PARAMS = SIZES.reduce((a, b) => a + b, 0);
const [O_K1, O_B1, O_K2, O_B2, O_W3, O_B3, O_W4, O_B4] = OFF as [number, number, number, number, number, number, number, number];

/** Per-example activations, reused across examples (one set per call). */
interface Work {
  z1: Float32Array; // conv1 output after relu, 24x24x8
  p1: Float32Array; // pool1, 12x12x8
  i1: Int32Array; // argmax positions in z1
  z2: Float32Array; // conv2 after relu, 8x8x16
  p2: Float32Array; // pool2, 4x4x16
  i2: Int32Array;
  h: Float32Array; // dense1 after relu
  o: Float64Array; // logits, then probabilities
  // backward
  dz1: Float32Array;
  dp1: Float32Array;
  dz2: Float32Array;
  dh: Float32Array;
}

function work(): Work {
  return {
    z1: new Float32Array(H1 * H1 * C1),
    p1: new Float32Array(P1 * P1 * C1),
    i1: new Int32Array(P1 * P1 * C1),
    z2: new Float32Array(H2 * H2 * C2),
    p2: new Float32Array(FLAT),
    i2: new Int32Array(FLAT),
    h: new Float32Array(HID),
    o: new Float64Array(OUT),
    dz1: new Float32Array(H1 * H1 * C1),
    dp1: new Float32Array(P1 * P1 * C1),
    dz2: new Float32Array(H2 * H2 * C2),
    dh: new Float32Array(HID),
  };
}

/**
 * A valid 5x5 convolution with bias and relu of an `h x h x cIn` map into `out` (`(h−4) x (h−4) x cOut`), kernel at
 * `p[kOff..]` ([5, 5, cIn, cOut]) and bias at `p[bOff..]`. Zero inputs are skipped (most MNIST pixels and relu
 * outputs are zero).
 */
function convForward(p: Float32Array, input: Float32Array, h: number, cIn: number, kOff: number, bOff: number, cOut: number, out: Float32Array): void {
  const ho = h - K + 1;
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < ho; j++) {
      const ob = (i * ho + j) * cOut;
      for (let f = 0; f < cOut; f++) out[ob + f] = p[bOff + f]!;
      for (let di = 0; di < K; di++) {
        for (let dj = 0; dj < K; dj++) {
          const ib = ((i + di) * h + j + dj) * cIn;
          for (let c = 0; c < cIn; c++) {
            const v = input[ib + c]!;
            if (v === 0) continue;
            const kb = kOff + ((di * K + dj) * cIn + c) * cOut;
            for (let f = 0; f < cOut; f++) out[ob + f] = out[ob + f]! + v * p[kb + f]!;
          }
        }
      }
      for (let f = 0; f < cOut; f++) if (out[ob + f]! < 0) out[ob + f] = 0;
    }
  }
}

/**
 * The backward pass of {@link convForward} given `dOut` (already masked by the relu): adds the kernel and bias
 * gradients into `g`, and (when `dIn` is given) the gradient into the input's non-zero entries — a zero input is a
 * relu output of zero (or a blank pixel), whose gradient the layer below masks anyway.
 */
function convBackward(p: Float32Array, input: Float32Array, h: number, cIn: number, kOff: number, bOff: number, cOut: number, dOut: Float32Array, g: Float32Array, dIn: Float32Array | null): void {
  const ho = h - K + 1;
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < ho; j++) {
      const ob = (i * ho + j) * cOut;
      let any = false;
      for (let f = 0; f < cOut; f++) if (dOut[ob + f] !== 0) any = true;
      if (!any) continue;
      for (let f = 0; f < cOut; f++) g[bOff + f] = g[bOff + f]! + dOut[ob + f]!;
      for (let di = 0; di < K; di++) {
        for (let dj = 0; dj < K; dj++) {
          const ib = ((i + di) * h + j + dj) * cIn;
          for (let c = 0; c < cIn; c++) {
            const v = input[ib + c]!;
            if (v === 0) continue;
            const kb = kOff + ((di * K + dj) * cIn + c) * cOut;
            let s = 0;
            for (let f = 0; f < cOut; f++) {
              const d = dOut[ob + f]!;
              g[kb + f] = g[kb + f]! + v * d;
              s += p[kb + f]! * d;
            }
            if (dIn) dIn[ib + c] = dIn[ib + c]! + s;
          }
        }
      }
    }
  }
}

/** 2x2 max-pooling with stride 2 of an `h x h x c` map; records the argmax positions. */
function maxPool(src: Float32Array, h: number, c: number, dst: Float32Array, arg: Int32Array): void {
  const ho = h / 2;
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < ho; j++) {
      for (let ch = 0; ch < c; ch++) {
        let best = ((2 * i) * h + 2 * j) * c + ch;
        for (const [a, b] of [[0, 1], [1, 0], [1, 1]] as const) {
          const at = ((2 * i + a) * h + 2 * j + b) * c + ch;
          if (src[at]! > src[best]!) best = at;
        }
        const o = (i * ho + j) * c + ch;
        dst[o] = src[best]!;
        arg[o] = best;
      }
    }
  }
}

/** Forward pass of example `e`; leaves the softmax probabilities in `w.o` and returns the log-partition. */
function forward(p: Float32Array, x: Float32Array, e: number, w: Work): number {
  const xo = e * H0 * H0;
  convForward(p, x.subarray(xo, xo + H0 * H0), H0, 1, O_K1, O_B1, C1, w.z1);
  maxPool(w.z1, H1, C1, w.p1, w.i1);
  convForward(p, w.p1, P1, C1, O_K2, O_B2, C2, w.z2);
  maxPool(w.z2, H2, C2, w.p2, w.i2);
  // dense 256 -> 128 relu
  for (let u = 0; u < HID; u++) w.h[u] = p[O_B3 + u]!;
  for (let k = 0; k < FLAT; k++) {
    const v = w.p2[k]!;
    if (v === 0) continue;
    const rb = O_W3 + k * HID;
    for (let u = 0; u < HID; u++) w.h[u] = w.h[u]! + v * p[rb + u]!;
  }
  for (let u = 0; u < HID; u++) if (w.h[u]! < 0) w.h[u] = 0;
  // dense 128 -> 10
  for (let j = 0; j < OUT; j++) w.o[j] = p[O_B4 + j]!;
  for (let u = 0; u < HID; u++) {
    const v = w.h[u]!;
    if (v === 0) continue;
    const rb = O_W4 + u * OUT;
    for (let j = 0; j < OUT; j++) w.o[j] = w.o[j]! + v * p[rb + j]!;
  }
  return softmaxInPlace(w.o);
}

/** Backward pass of the example whose activations are in `w` (after {@link forward}); adds scale * dL/dp to g. */
function backward(p: Float32Array, x: Float32Array, e: number, label: number, scale: number, w: Work, g: Float32Array): void {
  const xo = e * H0 * H0;
  // output layer: dL/dlogit = prob − onehot
  w.dh.fill(0);
  for (let j = 0; j < OUT; j++) {
    const d = (w.o[j]! - (j === label ? 1 : 0)) * scale;
    g[O_B4 + j] = g[O_B4 + j]! + d;
    for (let u = 0; u < HID; u++) {
      g[O_W4 + u * OUT + j] = g[O_W4 + u * OUT + j]! + w.h[u]! * d;
      w.dh[u] = w.dh[u]! + p[O_W4 + u * OUT + j]! * d;
    }
  }
  for (let u = 0; u < HID; u++) if (w.h[u]! <= 0) w.dh[u] = 0;
  // hidden dense layer; gradient into the pooled map
  w.dz2.fill(0);
  for (let u = 0; u < HID; u++) g[O_B3 + u] = g[O_B3 + u]! + w.dh[u]!;
  for (let k = 0; k < FLAT; k++) {
    const v = w.p2[k]!;
    const rb = O_W3 + k * HID;
    let s = 0;
    for (let u = 0; u < HID; u++) {
      const d = w.dh[u]!;
      if (v !== 0) g[rb + u] = g[rb + u]! + v * d;
      s += p[rb + u]! * d;
    }
    // unpool + relu: the gradient goes to the argmax, only where the activation was positive
    if (v > 0) w.dz2[w.i2[k]!] = w.dz2[w.i2[k]!]! + s;
  }
  // conv2, with the gradient into its input (the pooled conv1 map)
  w.dp1.fill(0);
  convBackward(p, w.p1, P1, C1, O_K2, O_B2, C2, w.dz2, g, w.dp1);
  w.dz1.fill(0);
  for (let k = 0; k < w.dp1.length; k++) if (w.p1[k]! > 0) w.dz1[w.i1[k]!] = w.dz1[w.i1[k]!]! + w.dp1[k]!;
  // conv1 (no gradient into the input)
  convBackward(p, x.subarray(xo, xo + H0 * H0), H0, 1, O_K1, O_B1, C1, w.dz1, g, null);
}

/**
 * The CNN as a {@link SimModel}.
 * @example
 * ```ts
 * const params = cnn.init(42);
 * const grad = new Float32Array(cnn.paramCount);
 * const loss = cnn.gradient(params, train, [0, 1, 2], grad);
 * ```
 */
export const cnn: SimModel = {
  name: 'cnn',
  layout: CNN_LAYOUT,
  paramCount: CNN_PARAMS,
  init(seed) {
    const rng = createRng(seed);
    const p = new Float32Array(CNN_PARAMS);
    const he = (off: number, n: number, fanIn: number) => rng.addGaussian(p.subarray(off, off + n), Math.sqrt(2 / fanIn));
    he(O_K1, SIZES[0]!, K * K);
    he(O_K2, SIZES[2]!, K * K * C1);
    he(O_W3, SIZES[4]!, FLAT);
    const limit = Math.sqrt(6 / (HID + OUT));
    for (let i = 0; i < SIZES[6]!; i++) p[O_W4 + i] = (2 * rng.next() - 1) * limit;
    return p;
  },
  gradient(params: Float32Array, data: Examples, indices: ArrayLike<number>, grad: Float32Array): number {
    const w = work();
    const b = indices.length;
    let loss = 0;
    for (let n = 0; n < b; n++) {
      const e = indices[n]!;
      const label = data.y[e]!;
      forward(params, data.x, e, w);
      loss += -Math.log(Math.max(w.o[label]!, 1e-12));
      backward(params, data.x, e, label, 1 / b, w, grad);
    }
    return loss / Math.max(1, b);
  },
  evaluate(params: Float32Array, data: Examples) {
    const w = work();
    let loss = 0;
    let correct = 0;
    for (let e = 0; e < data.n; e++) {
      forward(params, data.x, e, w);
      const label = data.y[e]!;
      loss += -Math.log(Math.max(w.o[label]!, 1e-12));
      let arg = 0;
      for (let j = 1; j < OUT; j++) if (w.o[j]! > w.o[arg]!) arg = j;
      if (arg === label) correct++;
    }
    return { loss: loss / Math.max(1, data.n), accuracy: correct / Math.max(1, data.n) };
  },
};
