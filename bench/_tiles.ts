/**
 * Real update deltas, relabelled: the MLP and CNN deltas of `bench/fixtures` with hidden units and channels
 * permuted (a symmetry of each network, so every result is exactly the delta of an equivalent model). `codec.ts`
 * tiles them to 1M/10M parameters; `_rounds-fold.ts` draws 1,000 of them for the accumulation-error key.
 */
import { createRng, shuffleInPlace, type NamedTensor, type Rng } from '@fedweb/codec';

function randomPerm(n: number, rng: Rng): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), rng);
}

/** out[..., k, ...] = in[..., perm[k], ...] along `axis` (row-major). */
function permuteAxis(t: NamedTensor, axis: number, perm: number[]): NamedTensor {
  const dims = t.shape;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = dims[axis]!;
  const outer = t.data.length / (n * inner);
  const out = new Float32Array(t.data.length);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) {
      const src = (o * n + perm[k]!) * inner;
      out.set(t.data.subarray(src, src + inner), (o * n + k) * inner);
    }
  }
  return { name: t.name, shape: t.shape, data: out };
}

/**
 * The same real delta with its hidden units / channels relabelled: a symmetry of the network, so the result is
 * exactly the delta of an equivalent model. Tiles made this way are real updates but not byte-identical copies,
 * so deflate cannot shrink a tiled update by matching one tile against the previous one.
 */
export function relabel(mlp: NamedTensor[], cnn: NamedTensor[], rng: Rng): NamedTensor[] {
  const [m0, m1, m2, m3] = mlp as [NamedTensor, NamedTensor, NamedTensor, NamedTensor];
  const h = randomPerm(m0.shape[1]!, rng);
  const mlpOut = [permuteAxis(m0, 1, h), permuteAxis(m1, 0, h), permuteAxis(m2, 0, h), m3];
  const [c0, c1, c2, c3, c4, c5, c6, c7] = cnn as [NamedTensor, NamedTensor, NamedTensor, NamedTensor, NamedTensor, NamedTensor, NamedTensor, NamedTensor];
  const ch1 = randomPerm(c0.shape[3]!, rng);
  const ch2 = randomPerm(c2.shape[3]!, rng);
  const units = randomPerm(c4.shape[1]!, rng);
  // Flatten of [5, 5, ch2] puts the channel fastest: row (pos * ch2 + c) of the dense kernel.
  const rows = Array.from({ length: c4.shape[0]! }, (_, r) => r - (r % ch2.length) + ch2[r % ch2.length]!);
  const cnnOut = [
    permuteAxis(c0, 3, ch1),
    permuteAxis(c1, 0, ch1),
    permuteAxis(permuteAxis(c2, 2, ch1), 3, ch2),
    permuteAxis(c3, 0, ch2),
    permuteAxis(permuteAxis(c4, 0, rows), 1, units),
    permuteAxis(c5, 0, units),
    permuteAxis(c6, 0, units),
    c7,
  ];
  return [...mlpOut.map((t) => ({ ...t, name: `mlp/${t.name}` })), ...cnnOut.map((t) => ({ ...t, name: `cnn/${t.name}` }))];
}

/**
 * Tiles the real update (MLP + CNN deltas) to exactly `params` values: tile 0 is the delta as trained, tile r a
 * relabelled copy (see `relabel`); tensor names get the tile as prefix, the last tensor is cut to fit.
 */
export function tile(mlp: NamedTensor[], cnn: NamedTensor[], params: number): NamedTensor[] {
  const out: NamedTensor[] = [];
  const rng = createRng(42);
  let left = params;
  for (let rep = 0; left > 0; rep++) {
    const base = rep === 0 ? relabelIdentity(mlp, cnn) : relabel(mlp, cnn, rng);
    for (const t of base) {
      if (left === 0) break;
      if (t.data.length <= left) {
        out.push({ name: `r${rep}/${t.name}`, shape: t.shape, data: t.data });
        left -= t.data.length;
      } else {
        out.push({ name: `r${rep}/${t.name}`, shape: [left], data: t.data.subarray(0, left) });
        left = 0;
      }
    }
  }
  return out;
}

export function relabelIdentity(mlp: NamedTensor[], cnn: NamedTensor[]): NamedTensor[] {
  return [...mlp.map((t) => ({ ...t, name: `mlp/${t.name}` })), ...cnn.map((t) => ({ ...t, name: `cnn/${t.name}` }))];
}

