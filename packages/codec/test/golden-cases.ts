/**
 * The inputs behind the golden frames in `test/golden/`. `make-golden.ts` encodes them; `golden.test.ts` checks that
 * the stored bytes still decode to the stored values and that encoding these inputs again gives the same bytes.
 * Changing the wire format must change these fixtures on purpose (re-run `npx tsx packages/codec/test/make-golden.ts`).
 */
import type { NamedTensor } from '../src/types.js';

export interface GoldenCase {
  name: string;
  tensors: NamedTensor[];
  encoding: 'f32' | 'int8' | 'topk';
  blockSize?: number;
  topkFraction?: number;
  deflate: boolean;
}

const t = (name: string, shape: number[], values: number[]): NamedTensor => ({ name, shape, data: Float32Array.from(values) });

export const goldenCases: GoldenCase[] = [
  {
    name: 'f32-two-tensors',
    tensors: [t('dense/kernel', [2, 3], [1, -2, 0.5, 0, 1e-7, -3.25]), t('dense/bias', [3], [0.125, -1, 65504])],
    encoding: 'f32',
    deflate: false,
  },
  {
    name: 'f32-deflate',
    tensors: [t('w0', [4, 4], Array.from({ length: 16 }, (_, i) => (i % 4) * 0.25)), t('w1', [4], [0, 0, 0, 1])],
    encoding: 'f32',
    deflate: true,
  },
  {
    name: 'f32-scalar-and-empty',
    tensors: [t('step', [], [42]), t('nothing', [0, 3], [])],
    encoding: 'f32',
    deflate: false,
  },
  {
    // Block 4: [1.27, -0.635, 0.005, 0.015] scale 0.01 (ties away from zero), a zero block, a 2-value tail block.
    name: 'int8-blocks',
    tensors: [t('x', [10], [1.27, -0.635, 0.005, 0.015, 0, 0, 0, 0, -4, 2])],
    encoding: 'int8',
    blockSize: 4,
    deflate: false,
  },
  {
    name: 'int8-deflate',
    tensors: [t('w', [8, 64], Array.from({ length: 512 }, (_, i) => Math.round(Math.sin(i) * 1000) / 1e5))],
    encoding: 'int8',
    deflate: true,
  },
  {
    // k = round(20 * 0.2) = 4: indices 1, 5, 6, 19 (gaps 1, 3, 0, 12).
    name: 'topk',
    tensors: [t('g', [20], [0, -9, 0, 0.5, 0, 8, 7, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 6.5])],
    encoding: 'topk',
    topkFraction: 0.2,
    deflate: false,
  },
];
