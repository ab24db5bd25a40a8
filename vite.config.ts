import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Workspace packages resolve to their sources, so tests and the demo need no build step. */
export const alias = {
  // Subpath entries first: an alias also matches '<key>/...', and the first match wins.
  '@fedweb/codec/node': src('./packages/codec/src/node.ts'),
  '@fedweb/codec': src('./packages/codec/src/index.ts'),
  '@fedweb/server/testing': src('./packages/server/src/testing/index.ts'),
  '@fedweb/server/client': src('./packages/server/src/api-client/index.ts'),
  '@fedweb/server': src('./packages/server/src/index.ts'),
  '@fedweb/sdk-client/node': src('./packages/sdk-client/src/node/index.ts'),
  '@fedweb/sdk-client/build': src('./packages/sdk-client/src/build/build.ts'),
  '@fedweb/sdk-client/trainer': src('./packages/sdk-client/src/trainer/index.ts'),
  '@fedweb/sdk-client': src('./packages/sdk-client/src/index.ts'),
  '@fedweb/demo/state': src('./demo/src/state.ts'),
  '@fedweb/demo/centralized': src('./demo/src/centralized-core.ts'),
};

export default defineConfig({
  resolve: { alias },
  test: {
    // Browser tests share 2 cores with the servers they start: keep files sequential where it matters.
    projects: [
      { extends: true, test: { name: 'codec', include: ['packages/codec/**/*.test.ts'] } },
      { extends: true, test: { name: 'deploy', include: ['deploy/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
      { extends: true, test: { name: 'server', include: ['packages/server/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
      { extends: true, test: { name: 'sdk-client', include: ['packages/sdk-client/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false } },
      { extends: true, test: { name: 'e2e', include: ['e2e/**/*.test.ts', 'demo/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000, fileParallelism: false } },
    ],
  },
});
