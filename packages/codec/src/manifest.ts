/**
 * The compute package manifest (`manifest.json` beside the bundle): what a client checks before it runs a package.
 * Re-exported by messages.ts, where the rest of the wire schemas live.
 */
import { z } from 'zod';
import { boundedRecord, CountSchema as count, Sha256HexSchema as sha256Hex } from './limits.js';
import { PackageSignatureSchema } from './package-signature.js';


/**
 * The manifest of a compute package: an ES module bundle exporting `createModel`, `train` and `validate`
 * (names overridable in `entry`), receiving the worker's `tf` instance as an argument (the bundle never
 * bundles tfjs). `sha256` is the bundle's; clients refuse to run a bundle whose hash differs.
 * Model weights travel as frames whose tensors are named `w0`, `w1`, ... in `model.getWeights()` order.
 */
export const ComputePackageManifestSchema = z.object({
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  sha256: sha256Hex,
  bytes: count,
  entry: z
    .object({ createModel: z.string().max(64).default('createModel'), train: z.string().max(64).default('train'), validate: z.string().max(64).default('validate') })
    .default({ createModel: 'createModel', train: 'train', validate: 'validate' }),
  /** Default client settings (merged under the session's). */
  settings: boundedRecord(z.unknown()).default({}),
  /**
   * Bounds on the per-round settings a client accepts for this package; a client refuses a task outside them
   * (and its own defaults apply where the package is silent; a package can tighten them, never loosen them).
   */
  bounds: z
    .object({
      maxLearningRate: z.number().positive().finite(),
      maxLocalEpochs: z.number().int().positive(),
      maxBatchSize: z.number().int().positive(),
      /** Local epochs times local examples, per round. */
      maxExamples: z.number().int().positive(),
      /** Time budget of one round's local training, ms. */
      maxTrainMs: z.number().int().positive(),
    })
    .partial()
    .optional(),
  /** Input and label shapes the package expects, without the batch dimension (documentation and checks). */
  inputShape: z.array(z.number().int().positive()).max(8).optional(),
  numClasses: z.number().int().positive().optional(),
  description: z.string().max(2000).optional(),
  /** Ed25519 signatures over the bundle's SHA-256 (`fedweb package sign`); clients with trusted keys require one. */
  signatures: z.array(PackageSignatureSchema).max(8).optional(),
});
export type ComputePackageManifest = z.infer<typeof ComputePackageManifestSchema>;
