import type { BlobStore } from './types.js';
/**
 * Hex SHA-256 with node:crypto (the server's hot path; the codec's WebCrypto version is for browsers).
 * @example
 * ```ts
 * sha256Node(new Uint8Array()) // 'e3b0c442...'
 * ```
 */
export declare function sha256Node(bytes: Uint8Array): string;
export declare class FsBlobStore implements BlobStore {
    readonly dir: string;
    constructor(dir: string);
    locate(sha256: string): string;
    put(bytes: Uint8Array): Promise<{
        sha256: string;
        bytes: number;
        path: string;
    }>;
    get(sha256: string): Promise<Uint8Array | null>;
    has(sha256: string): Promise<boolean>;
}
