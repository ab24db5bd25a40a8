/**
 * A scripted {@link TrainerHandle} for FedClient protocol tests: records every call, checks what it is given,
 * can hold training until released, fail the next call like a dying worker, and produces a deterministic
 * "update" derived from the model bytes it received. Test-only (the real trainers are tested by their own suites).
 */
import { fedError, type ComputePackageManifest } from '@fedweb/codec';
import type { BackendChoice, BackendReport, Dataset, TrainProgress, TrainRequest, TrainResult, ValidateResult } from '../../trainer/api.js';
import type { TrainerHandle } from '../types.js';

export interface FakeTrainerScript {
  /** Size of the produced update in bytes (default 64). */
  updateBytes?: number;
  report?: BackendReport;
}

/** The deterministic update for a model: byte i = (model[i % n] + i + roundId.length) & 255. */
export function fakeUpdate(model: Uint8Array, roundId: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = ((model[i % model.length] ?? 0) + i + roundId.length) & 255;
  return out;
}

export class FakeTrainers {
  readonly calls: string[] = [];
  readonly trainRequests: { roundId: string; model: Uint8Array; settings: TrainRequest['settings'] }[] = [];
  readonly packages: Uint8Array[] = [];
  readonly datasets: number[] = [];
  handles: { terminated: boolean }[] = [];
  factoryCalls = 0;
  /** While true, `train` waits for `release()` (or abort / terminate). */
  hold = false;
  /** The next `train` call rejects with this code (then the flag clears). */
  failNextTrain: 'WORKER_DIED' | 'BACKEND_UNAVAILABLE' | undefined;
  #release: (() => void) | undefined;
  #onTrainStart: (() => void)[] = [];

  constructor(private readonly script: FakeTrainerScript = {}) {}

  /** Resolves when the next `train` call starts. */
  trainStarted(): Promise<void> {
    return new Promise((r) => this.#onTrainStart.push(r));
  }

  release(): void {
    this.#release?.();
  }

  readonly factory = (): TrainerHandle => {
    this.factoryCalls++;
    const self = this;
    const state = { terminated: false };
    this.handles.push(state);
    let rejectRunning: ((e: Error) => void) | undefined;
    let diedResolve!: (e: Error) => void;
    const died = new Promise<Error>((r) => (diedResolve = r));
    const alive = () => {
      if (state.terminated) throw fedError('WORKER_DIED', 'fake trainer terminated');
    };
    const n = { examples: 0 };
    return {
      died,
      terminate() {
        self.calls.push('terminate');
        state.terminated = true;
        const e = fedError('WORKER_DIED', 'fake trainer terminated');
        rejectRunning?.(e);
        diedResolve(e);
      },
      api: {
        async init(o: { backend: BackendChoice; wasmPaths?: string }) {
          alive();
          self.calls.push(`init:${o.backend}`);
        },
        async loadPackage(code: ArrayBuffer, manifest: ComputePackageManifest): Promise<BackendReport> {
          alive();
          self.calls.push(`loadPackage:${manifest.sha256.slice(0, 8)}`);
          self.packages.push(new Uint8Array(code.slice(0)));
          return self.script.report ?? { chosen: 'cpu', candidates: { cpu: '900 ex/s', wasm: 'missing kernel Conv2DBackpropFilter' }, cached: false };
        },
        async setData(d: Dataset) {
          alive();
          n.examples = d.y.length;
          self.calls.push(`setData:${n.examples}`);
          self.datasets.push(n.examples);
          return { numExamples: n.examples };
        },
        async train(req: TrainRequest, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
          alive();
          self.calls.push(`train:${req.roundId}`);
          const model = new Uint8Array(req.model.slice(0));
          self.trainRequests.push({ roundId: req.roundId, model, settings: req.settings });
          for (const r of self.#onTrainStart.splice(0)) r();
          onProgress?.({ epoch: 0, epochs: 1, batch: 0, batches: 2, loss: 1.5 });
          if (self.failNextTrain) {
            const code = self.failNextTrain;
            self.failNextTrain = undefined;
            if (code === 'WORKER_DIED') {
              state.terminated = true;
              diedResolve(fedError('WORKER_DIED', 'fake worker crashed'));
            }
            throw fedError(code, `fake trainer: ${code}`);
          }
          if (self.hold) {
            await new Promise<void>((resolve, reject) => {
              self.#release = resolve;
              rejectRunning = reject;
            });
          }
          alive();
          onProgress?.({ epoch: 0, epochs: 1, batch: 1, batches: 2, loss: 1.0 });
          const update = fakeUpdate(model, req.roundId, self.script.updateBytes ?? 64);
          return { update: update.buffer as ArrayBuffer, numExamples: n.examples, metrics: { loss: 1.0, accuracy: 0.5 }, trainMs: 5, f32Bytes: update.length * 4 };
        },
        async validate(model: ArrayBuffer): Promise<ValidateResult> {
          alive();
          self.calls.push(`validate:${model.byteLength}`);
          return { numExamples: n.examples, metrics: { loss: 0.7, accuracy: 0.8 } };
        },
        async predict() {
          return new Float32Array(10);
        },
        async abort(reason?: string) {
          self.calls.push('abort');
          rejectRunning?.(fedError('ABORTED', reason ?? 'aborted'));
        },
        async memory() {
          return { numTensors: 0, numBytes: 0 };
        },
        async dispose() {
          self.calls.push('dispose');
        },
      },
    };
  };
}
