/**
 * The configurations `npm run bench -- strategies-cnn` compares on the MNIST CNN (10 clients, Dirichlet 0.5, all
 * 7,000 training digits). Each is chosen on the VALIDATION split; test accuracy is only reported. `centralized`
 * is the baseline: the same model, data, local optimizer and number of epochs, trained in one place.
 */

export interface CnnConfig {
  /** Unique label (file name of its partial result). */
  label: string;
  /** A registered strategy, or `centralized`. */
  strategy: string;
  options?: Record<string, unknown>;
  local: { epochs: number; batchSize: number; learningRate: number; momentum: number; learningRateDecay?: number };
  /** What this configuration tests. */
  why: string;
}

/** The demo CNN's local defaults (demo/README "Simulations"), one epoch per round here to halve the cost. */
const DEMO_LOCAL = { epochs: 1, batchSize: 64, learningRate: 0.03, momentum: 0.9 };

export const CNN_CONFIGS: CnnConfig[] = [
  { label: 'centralized', strategy: 'centralized', local: DEMO_LOCAL, why: 'baseline: same model, data, optimizer and epochs in one place' },
  { label: 'fedavg', strategy: 'fedavg', local: DEMO_LOCAL, why: 'the current default' },
  { label: 'fedprox-mu0.01', strategy: 'fedprox', options: { mu: 0.01 }, local: DEMO_LOCAL, why: 'proximal term against drift (Li et al. 2020)' },
  { label: 'scaffold-sgd0.1', strategy: 'scaffold', local: { epochs: 1, batchSize: 32, learningRate: 0.1, momentum: 0 }, why: 'control variates (Karimireddy et al. 2020); plain local SGD as in the paper' },
  { label: 'fedadam-eta0.01', strategy: 'fedadam', options: { eta: 0.01 }, local: DEMO_LOCAL, why: 'adaptive server optimizer (Reddi et al. 2021), paper defaults' },
  { label: 'fedavgm-b0.9-lr0.2', strategy: 'fedavgm', options: { momentum: 0.9, lr: 0.2 }, local: DEMO_LOCAL, why: 'server momentum (Hsu et al. 2019)' },
  { label: 'fedavg-decay0.9', strategy: 'fedavg', local: { ...DEMO_LOCAL, learningRateDecay: 0.9 }, why: 'local learning-rate schedule: lr x 0.9 per round' },
  { label: 'fedavg-2ep-lr0.015', strategy: 'fedavg', local: { ...DEMO_LOCAL, epochs: 2, learningRate: 0.015 }, why: 'more local steps at a smaller rate' },
  { label: 'scaffold-sgd0.05-b32-2ep', strategy: 'scaffold', local: { epochs: 2, batchSize: 32, learningRate: 0.05, momentum: 0 }, why: 'SCAFFOLD with more local steps at a smaller rate' },
  { label: 'fedadam-eta0.003', strategy: 'fedadam', options: { eta: 0.003 }, local: DEMO_LOCAL, why: 'FedAdam, smaller server rate' },
  { label: 'fedavg-2ep-lr0.03', strategy: 'fedavg', local: { ...DEMO_LOCAL, epochs: 2 }, why: 'more local steps at the same rate (separates steps from rate)' },
  { label: 'fedavg-lr0.015', strategy: 'fedavg', local: { ...DEMO_LOCAL, learningRate: 0.015 }, why: 'a smaller rate at the same steps (separates rate from steps)' },
  { label: 'fedprox-mu0.1', strategy: 'fedprox', options: { mu: 0.1 }, local: DEMO_LOCAL, why: 'a stronger proximal term' },
  { label: 'fedadam-eta0.03', strategy: 'fedadam', options: { eta: 0.03 }, local: DEMO_LOCAL, why: 'FedAdam, larger server rate' },
  { label: 'fedavgm-b0.5-lr1-2ep', strategy: 'fedavgm', options: { momentum: 0.5, lr: 1 }, local: { ...DEMO_LOCAL, epochs: 2 }, why: 'the two best: server momentum and 2 local epochs' },
  { label: 'fedavgm-b0.5-lr1', strategy: 'fedavgm', options: { momentum: 0.5, lr: 1 }, local: DEMO_LOCAL, why: 'server momentum at full server rate, lighter momentum' },
];
