#!/usr/bin/env node
// The `fedweb` command: runs the TypeScript CLI sources through tsx's ESM loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`fedweb: ${e && e.code && e.code !== 'INTERNAL' ? `${e.code}: ` : ''}${e && e.message ? e.message : String(e)}`);
    process.exit(1);
  },
);
