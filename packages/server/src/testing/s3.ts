/**
 * A local S3-compatible server for tests (`s3rver`, on 127.0.0.1, a free port, a temp folder), with one bucket.
 */
import S3rver from 's3rver';
import type { S3BlobStoreOptions } from '../store/s3-blob-store.js';
import { tempDir } from './harness.js';

/** The credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * Starts s3rver with bucket `bucket`; `options` are ready for `new S3BlobStore(...)`, `env` for a child process.
 * @example
 * ```ts
 * const s3 = await startS3Server();
 * const blobs = new S3BlobStore({ ...s3.options, prefix: 'run1/' });
 * await s3.close();
 * ```
 */
export async function startS3Server(bucket = 'fedweb'): Promise<{
  endpoint: string;
  bucket: string;
  options: S3BlobStoreOptions;
  env: Record<string, string>;
  close(): Promise<void>;
}> {
  const tmp = await tempDir('fedweb-s3-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: tmp.dir, configureBuckets: [{ name: bucket }] });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  return {
    endpoint,
    bucket,
    options: { bucket, endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS },
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey },
    async close() {
      await server.close();
      await tmp.cleanup();
    },
  };
}
