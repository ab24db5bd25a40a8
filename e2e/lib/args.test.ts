import { describe, expect, it } from 'vitest';
import { parseSimulateArgs } from './args.js';

describe('parseSimulateArgs', () => {
  it('applies the issue defaults and per-model sizes', () => {
    const o = parseSimulateArgs([]);
    expect(o).toMatchObject({ tabs: 10, rounds: 20, split: 'dirichlet:0.5', strategy: 'fedavgm', strategyOptions: { momentum: 0.5, lr: 1 }, model: 'cnn', dataset: 'mnist', shardSize: 0, epochs: 2, batchSize: 64, learningRate: 0.03, optimizer: 'momentum', learningRateDecay: 1, backend: 'webgl', combiners: 1, centralized: true });
    expect(parseSimulateArgs(['--model', 'mlp']).backend).toBe('wasm');
    expect(parseSimulateArgs(['--model', 'mlp', '--backend', 'auto']).backend).toBe('auto');
    // The 800-example cap is an option now; by default the shards cover the whole training split (issue 16).
    expect(parseSimulateArgs(['--model', 'mlp']).shardSize).toBe(0);
  });
  it('parses every flag', () => {
    const o = parseSimulateArgs(['--tabs', '4', '--rounds', '3', '--split', 'labels:2', '--strategy', 'fedadam', '--node-clients', '2', '--combiners', '3', '--kill-tab-every', '2', '--kill-combiner-at-round', '2', '--shard-size', '100', '--optimizer', 'adam', '--lr', '0.001', '--lr-decay', '0.9', '--no-centralized', '--dataset', 'fashion', '--strategy-options', '{"momentum":0.5,"lr":1}']);
    expect(o).toMatchObject({ tabs: 4, rounds: 3, split: 'labels:2', strategy: 'fedadam', nodeClients: 2, combiners: 3, killTabEvery: 2, killCombinerAtRound: 2, shardSize: 100, optimizer: 'adam', learningRate: 0.001, learningRateDecay: 0.9, centralized: false, dataset: 'fashion', strategyOptions: { momentum: 0.5, lr: 1 } });
    // Options of the recommended strategy only go with it: another strategy starts from its own defaults.
    expect(parseSimulateArgs(['--strategy', 'fedavg']).strategyOptions).toEqual({});
  });
  it('refuses bad values and impossible combinations', () => {
    expect(() => parseSimulateArgs(['--split', 'noniid'])).toThrow(/split/);
    expect(() => parseSimulateArgs(['--tabs', '-1'])).toThrow(/tabs/);
    expect(() => parseSimulateArgs(['--kill-combiner-at-round', '2'])).toThrow(/combiners 2/);
    expect(() => parseSimulateArgs(['--optimizer', 'rmsprop'])).toThrow(/optimizer/);
    expect(() => parseSimulateArgs(['--lr-decay', '1.2'])).toThrow(/learningRateDecay/);
    expect(() => parseSimulateArgs(['--bogus'])).toThrow();
    expect(() => parseSimulateArgs(['--dataset', 'cifar'])).toThrow(/dataset/);
    expect(() => parseSimulateArgs(['--strategy-options', '{momentum: 0.5}'])).toThrow(/--strategy-options: not JSON/);
    expect(() => parseSimulateArgs(['--strategy-options', '[0.5]'])).toThrow(/strategyOptions/);
  });
});
