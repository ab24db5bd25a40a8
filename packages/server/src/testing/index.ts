/**
 * `@fedweb/server/testing`: a protocol-level Node test client and tiny compute packages, for tests, the e2e
 * harness and benchmarks.
 * @example
 * ```ts
 * import { TestClient, makeTestPackage } from '@fedweb/server/testing';
 * ```
 */
export { TestClient, connectClients, api, type TestClientOptions, type TestUpdate, type TrainContext, type TrainTask, type ValidateTask } from './test-client.js';
export { makeTestPackage, uploadPackage, writePackageDir, type TestPackage } from './package.js';
export { spawnCli, spawnScript, FEDWEB_BIN, type CliProcess } from './spawn.js';
export { NetLab, netLabUnavailable, type NetHost } from './netns.js';
