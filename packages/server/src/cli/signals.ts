/**
 * Graceful shutdown of the long-running commands (`fedweb server`, `fedweb combiner`).
 */

/**
 * On SIGINT/SIGTERM runs `close` and exits 0 (1 if it fails or takes over 10 s); a second signal exits at once.
 * @example
 * ```ts
 * onSignals(() => server.close());
 * ```
 */
export function onSignals(close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string): void => {
    if (closing) process.exit(1);
    closing = true;
    console.error(`${signal}: shutting down`);
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
