import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { activateBackend, probeActiveBackend } from './backends.js';
import { nodeBackends } from './in-process.js';
import { createModel } from '../../examples/mnist-cnn/package.js';
import type { Tf } from '../package/types.js';

describe('backend probe (Node)', () => {
  it('a probe that fails mid-gradient (CNN on wasm: no Conv2DBackpropFilter) leaves no tensor behind', async () => {
    const t = tf as unknown as Tf;
    expect(await activateBackend(t, 'wasm', nodeBackends, {})).toBeNull();
    const before = tf.memory().numTensors;
    const r = await probeActiveBackend(t, () => createModel(tf) as never, { learningRate: 0.01, batchSize: 4, minSteps: 1, minMs: 0 });
    expect(r).toEqual({ ok: false, reason: 'missing kernel Conv2DBackpropFilter' });
    // The tape kept the forward pass's tensors for the backward pass that never ran (37 of them before the fix).
    expect(tf.memory().numTensors - before).toBe(0);
  });

  it('a platform check that says no skips tfjs initialisation (an info line, no tfjs stack trace)', async () => {
    const why = await activateBackend(tf as unknown as Tf, 'cpu', { candidates: ['cpu'], available: { cpu: async () => 'no such device here' } }, {});
    expect(why).toBe('no such device here');
  });
});
