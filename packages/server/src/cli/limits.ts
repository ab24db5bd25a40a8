/**
 * The connection-limit flags that `fedweb server` and `fedweb combiner` share (README "Threat model: connections
 * and resource limits"): their help text, their `parseArgs` options, and the options they map to.
 */
/** Help lines of the connection-limit flags. */
export const LIMIT_HELP = `  --max-connections <n>   open connections at once (default 3/4 of the fd limit - 32); more get HTTP 503
  --max-connections-per-address <n> open connections from one address (default 256; loopback exempt)
  --headers-timeout-ms <n> time to send a request's headers (default 10000)
  --idle-timeout-ms <n>   an HTTP connection without traffic is closed (default 60000)
  --hello-timeout-ms <n>  a WebSocket that sends no hello is closed (default 10000)
  --metrics-port <n>      also serve /metrics, without a token, on this port (default: only on the main port, token that may read)
  --metrics-host <h>      address of the metrics port (default 127.0.0.1)`;

export const LIMIT_OPTIONS = {
  'max-connections': { type: 'string' },
  'max-connections-per-address': { type: 'string' },
  'headers-timeout-ms': { type: 'string' },
  'idle-timeout-ms': { type: 'string' },
  'hello-timeout-ms': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
} as const;

/**
 * The connection limits given on the command line (absent flags keep their defaults); `num` parses a number flag.
 * @example
 * ```ts
 * limitFlags({ 'max-connections': '500' }, num); // { connections: { maxConnections: 500 }, combiner: {}, metrics: undefined }
 * ```
 */
export function limitFlags(values: Partial<Record<keyof typeof LIMIT_OPTIONS, string>>, num: (v: unknown, name: string) => number | undefined) {
  const metricsPort = num(values['metrics-port'], 'metrics-port');
  const pick = (flag: keyof typeof LIMIT_OPTIONS, key: string): Record<string, number> => (values[flag] === undefined ? {} : { [key]: num(values[flag], flag) as number });
  return {
    connections: {
      ...pick('max-connections', 'maxConnections'),
      ...pick('max-connections-per-address', 'maxConnectionsPerAddress'),
      ...pick('headers-timeout-ms', 'headersTimeoutMs'),
      ...pick('idle-timeout-ms', 'idleTimeoutMs'),
    },
    combiner: pick('hello-timeout-ms', 'helloTimeoutMs'),
    /** `--metrics-port` / `--metrics-host`: the separate metrics listener, if asked for. */
    metrics: metricsPort === undefined ? undefined : { port: metricsPort, ...(values['metrics-host'] ? { host: values['metrics-host'] } : {}) },
  };
}

