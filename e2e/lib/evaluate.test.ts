import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEvaluator } from './evaluate.js';
import { ensurePackagesBuilt } from './prepare.js';

describe('harness evaluator', () => {
  it('scores the untrained seed model near chance on the 2,000 held-out digits', async () => {
    const dir = await ensurePackagesBuilt('mlp');
    const judge = await createEvaluator(dir);
    const seed = new Uint8Array(readFileSync(join(dir, 'seed-model.fwf')));
    const r = await judge.evaluate(seed);
    // 10 classes: an untrained softmax is right about 1 time in 10, and its cross-entropy is near ln 10 = 2.30.
    expect(r.accuracy).toBeGreaterThan(0.01);
    expect(r.accuracy).toBeLessThan(0.3);
    expect(r.loss).toBeGreaterThan(1.5);
    judge.dispose();
  });
});
