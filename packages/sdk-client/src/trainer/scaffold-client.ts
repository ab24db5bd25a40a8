/**
 * SCAFFOLD's client side around the train loop (Karimireddy et al., ICML 2020, Algorithm 1): decoding the server
 * control variate c the task ships, and option II's control update after K local steps.
 */
import { decodeFrame, fedError, flattenTensors, layoutSize, type Compressor, type TensorSpec } from '@fedweb/codec';

/**
 * The server control c (tensors `<prefix>w0..`) as one flat array in layout order; zeros when the task shipped none.
 * @example
 * ```ts
 * const c = await decodeServerControl(req.strategyTensors, layout, 'c/', compressor);
 * ```
 */
export async function decodeServerControl(bytes: ArrayBuffer | undefined, layout: TensorSpec[], prefix: string, compressor: Compressor): Promise<Float32Array> {
  const paramCount = layoutSize(layout);
  if (!bytes) return new Float32Array(paramCount);
  const expect = layout.map((s) => ({ name: prefix + s.name, shape: s.shape }));
  const cs = await decodeFrame(new Uint8Array(bytes), { compressor, limits: { maxBodyBytes: 4 * paramCount + 1024 * 1024 } });
  const byName = new Map(cs.map((t) => [t.name, t]));
  const ordered = expect.map((e) => {
    const t = byName.get(e.name);
    if (!t || t.data.length !== layoutSize([e])) throw fedError('SHAPE_MISMATCH', `SCAFFOLD control frame lacks ${e.name} [${e.shape}]`);
    return t;
  });
  return flattenTensors(ordered);
}

/**
 * Option II: c_i⁺ = c_i − c + (x − y)/(K η_l) = c_i − c − Δy/(K η_l); returns c_i⁺ and Δc_i = c_i⁺ − c_i (sent as
 * `<prefix>w_i`). Only the first `trainableCount` floats take SGD steps; the others (e.g. batch-norm statistics)
 * keep Δc = 0.
 * @example
 * ```ts
 * const { next, delta } = scaffoldControlStep(c, ci, flatDelta, steps, lr, trainableCount);
 * ```
 */
export function scaffoldControlStep(c: Float32Array, ci: Float32Array, flatDelta: Float32Array, steps: number, eta: number, trainableCount: number): { next: Float32Array; delta: Float32Array } {
  if (steps <= 0) throw fedError('PACKAGE_INVALID', 'SCAFFOLD needs at least one local step through trainStep/trainLoop');
  const n = ci.length;
  const next = new Float32Array(n);
  const delta = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const step = j < trainableCount ? -c[j]! - flatDelta[j]! / (steps * eta) : 0;
    delta[j] = step;
    next[j] = ci[j]! + step;
  }
  return { next, delta };
}
