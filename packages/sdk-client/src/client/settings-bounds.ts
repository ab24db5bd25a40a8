/**
 * Bounds on the per-round settings of a `task.train` (learning rate, epochs, batch size, examples, time budget):
 * the client's own defaults, tightened by what the compute package declares (`manifest.bounds`) and loosened only
 * by the page's `settingsBounds` option. A task outside them is refused before anything is trained, and the
 * combiner is told at once (the dispatcher reports the `BAD_CONFIG`).
 */
import { fedError, type ComputePackageManifest, type TrainSettings } from '@fedweb/codec';

/**
 * The bounds in force for one task.
 * @example
 * ```ts
 * const b: SettingsBounds = { ...DEFAULT_SETTINGS_BOUNDS, maxLocalEpochs: 5 };
 * ```
 */
export interface SettingsBounds {
  /** Largest learning rate (default 10). */
  maxLearningRate: number;
  /** Most local epochs per round (default 100). */
  maxLocalEpochs: number;
  /** Largest batch size (default 4096). */
  maxBatchSize: number;
  /** Most examples processed per round: local epochs times local examples (default 10 000 000). */
  maxExamples: number;
  /** Time budget of one round's local training, ms (default: `timeouts.trainMs`, 30 min). */
  maxTrainMs: number;
}

/**
 * The client's defaults (`maxTrainMs` is `timeouts.trainMs`).
 * @example
 * ```ts
 * new FedClient({ server, data, settingsBounds: { maxLocalEpochs: 500 } });
 * ```
 */
export const DEFAULT_SETTINGS_BOUNDS: Readonly<Omit<SettingsBounds, 'maxTrainMs'>> = {
  maxLearningRate: 10,
  maxLocalEpochs: 100,
  maxBatchSize: 4096,
  maxExamples: 10_000_000,
};

/**
 * The bounds for a task of `manifest`'s package: each the smaller of the client's (defaults or `own`) and the
 * package's.
 * @example
 * ```ts
 * boundsFor(manifest, options.settingsBounds, timeouts.trainMs).maxLocalEpochs; // e.g. 100
 * ```
 */
export function boundsFor(manifest: ComputePackageManifest, own: Partial<SettingsBounds> | undefined, trainMs: number): SettingsBounds {
  const client: SettingsBounds = { ...DEFAULT_SETTINGS_BOUNDS, maxTrainMs: trainMs, ...own };
  const pkg = manifest.bounds ?? {};
  const pick = (k: keyof SettingsBounds) => Math.min(client[k], pkg[k] ?? Number.POSITIVE_INFINITY);
  return {
    maxLearningRate: pick('maxLearningRate'),
    maxLocalEpochs: pick('maxLocalEpochs'),
    maxBatchSize: pick('maxBatchSize'),
    maxExamples: pick('maxExamples'),
    maxTrainMs: pick('maxTrainMs'),
  };
}

/**
 * Throws `BAD_CONFIG` naming the first setting outside `bounds` (`examples`: the local example count, once known).
 * @example
 * ```ts
 * checkSettings(task.settings, bounds); // throws "settings.learningRate 1e9 is above 10 ..."
 * ```
 */
export function checkSettings(settings: TrainSettings, bounds: SettingsBounds, examples?: number): void {
  const over = (field: string, value: number, max: number, bound: keyof SettingsBounds) =>
    fedError('BAD_CONFIG', `settings.${field} ${value} is above ${max} (${bound}, from the compute package or the client's settingsBounds); the task is refused`);
  if (!(settings.learningRate > 0) || settings.learningRate > bounds.maxLearningRate) throw over('learningRate', settings.learningRate, bounds.maxLearningRate, 'maxLearningRate');
  if (settings.localEpochs > bounds.maxLocalEpochs) throw over('localEpochs', settings.localEpochs, bounds.maxLocalEpochs, 'maxLocalEpochs');
  if (settings.batchSize > bounds.maxBatchSize) throw over('batchSize', settings.batchSize, bounds.maxBatchSize, 'maxBatchSize');
  if (examples !== undefined && settings.localEpochs * examples > bounds.maxExamples) {
    throw over('localEpochs x examples', settings.localEpochs * examples, bounds.maxExamples, 'maxExamples');
  }
}
