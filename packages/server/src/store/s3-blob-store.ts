/**
 * S3 {@link BlobStore} (`@aws-sdk/client-s3`): AWS S3 or any S3-compatible server (MinIO, Cloudflare R2, Ceph
 * RGW). Keys are content-addressed, `<prefix><aa>/<sha256>`; a blob is written once (a key that exists is not
 * rewritten), in one PutObject, or as a multipart upload (`@aws-sdk/lib-storage`) above the threshold. S3
 * makes an object visible only once its PUT (or CompleteMultipartUpload) succeeded, so a reader never sees half
 * a blob, and a process killed mid-upload leaves no object. Reads check the SHA-256 of what came back.
 * Endpoint, region and credentials come from the options or the standard AWS environment (`AWS_ENDPOINT_URL`,
 * `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, profiles); the SDK retries transient failures.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { fedError } from '@fedweb/codec';
import { sha256Node } from './fs-blob-store.js';
import type { BlobStore } from './types.js';
import { redactSecrets } from './urls.js';

const SHA = /^[0-9a-f]{64}$/;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix (e.g. `fedweb/`); empty for the bucket root. */
  prefix?: string;
  /** An S3-compatible server's URL (MinIO, R2, RGW, a test server); default AWS (or `AWS_ENDPOINT_URL`). */
  endpoint?: string;
  /** Default `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`); default true when `endpoint` is set, else false. */
  forcePathStyle?: boolean;
  /** Default: the SDK's chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Blobs larger than this go up as a multipart upload (default 16 MiB; S3's minimum part is 5 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of a multipart upload (default 8 MiB). */
  partSizeBytes?: number;
  /** Attempts per request, retries included (default 3). */
  maxAttempts?: number;
  /** TCP connect timeout, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Socket inactivity timeout of one request, ms (default 30 000). */
  requestTimeoutMs?: number;
}

const notFound = (e: unknown): boolean => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
};

/**
 * The S3 blob store (see the module comment).
 * @example
 * ```ts
 * const blobs = new S3BlobStore({ bucket: 'fedweb', prefix: 'prod/', endpoint: 'http://minio:9000' });
 * const { sha256 } = await blobs.put(frame);
 * ```
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  /** The SDK client (its middleware stack can instrument every request). */
  readonly s3: S3Client;
  private readonly threshold: number;
  private readonly partSize: number;

  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
    this.threshold = opts.multipartThresholdBytes ?? 16 * 1024 * 1024;
    this.partSize = Math.max(5 * 1024 * 1024, opts.partSizeBytes ?? 8 * 1024 * 1024);
    const endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    this.s3 = new S3Client({
      region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? !!endpoint,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 5000, requestTimeout: opts.requestTimeoutMs ?? 30_000, throwOnRequestTimeout: true },
    });
  }

  private key(sha256: string): string {
    return `${this.prefix}${sha256.slice(0, 2)}/${sha256}`;
  }

  private storageError(what: string, e: unknown): Error {
    const err = e as { name?: string; message?: string };
    return fedError('STORAGE', `S3 ${what} (s3://${this.bucket}/${this.prefix}) failed: ${err.name ?? 'Error'}: ${redactSecrets(err.message ?? String(e))}`);
  }

  locate(sha256: string): string {
    if (!SHA.test(sha256)) throw fedError('NOT_FOUND', `not a sha256: ${sha256.slice(0, 80)}`);
    return `s3://${this.bucket}/${this.key(sha256)}`;
  }

  async put(bytes: Uint8Array): Promise<{ sha256: string; bytes: number; path: string }> {
    const sha256 = sha256Node(bytes);
    const path = this.locate(sha256);
    if (await this.has(sha256)) return { sha256, bytes: bytes.byteLength, path };
    const params = { Bucket: this.bucket, Key: this.key(sha256), Body: bytes, ContentType: 'application/octet-stream', Metadata: { sha256 } };
    try {
      if (bytes.byteLength > this.threshold) {
        // Multipart: parts go up in parallel; an upload that fails is aborted (no parts left behind).
        await new Upload({ client: this.s3, params, partSize: this.partSize, queueSize: 4, leavePartsOnError: false }).done();
      } else {
        await this.s3.send(new PutObjectCommand(params));
      }
    } catch (e) {
      throw this.storageError(`put ${sha256}`, e);
    }
    return { sha256, bytes: bytes.byteLength, path };
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    if (!SHA.test(sha256)) return null;
    let bytes: Uint8Array;
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
      if (!res.Body) return null;
      bytes = await res.Body.transformToByteArray();
    } catch (e) {
      if (notFound(e)) return null;
      throw this.storageError(`get ${sha256}`, e);
    }
    if (sha256Node(bytes) !== sha256) throw fedError('STORAGE', `S3 object ${this.locate(sha256)} does not match its SHA-256 (corrupted or overwritten)`);
    return bytes;
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA.test(sha256)) return false;
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
      return true;
    } catch (e) {
      if (notFound(e)) return false;
      throw this.storageError(`head ${sha256}`, e);
    }
  }

  /** Releases the HTTP agent's sockets. */
  close(): void {
    this.s3.destroy();
  }
}
