/**
 * `fedweb events`: follows the server live (`GET /api/events`, the dashboard's stream): one line per event, a
 * short summary or the event as JSON (`--json`, one object a line), until the stream ends, `--count` events
 * arrived, or Ctrl-C.
 */
import { JSON_HELP, JSON_OPTION, num, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import type { Out } from './output.js';

/** The help text of `fedweb events`. */
export const EVENTS_HELP = `usage: fedweb events [--count n] [--json]

Follows the server's live events (GET /api/events; a viewer token): hello, session, round, model, live.
Prints one line per event until the stream ends, n events arrived (--count), or Ctrl-C.

${REMOTE_HELP}
${JSON_HELP}`;

/** One line about an event (the JSON of its data, shortened). */
export function eventLine(event: string, data: unknown): string {
  const text = JSON.stringify(data);
  return `${new Date().toISOString()} ${event.padEnd(7)} ${text.length > 160 ? `${text.slice(0, 157)}...` : text}`;
}

/**
 * Runs `fedweb events`; returns the exit code.
 * @example
 * ```ts
 * await cmdEvents(['--count', '1', '--json'], STDOUT);
 * ```
 */
export async function cmdEvents(args: string[], out: Out): Promise<number> {
  const { values } = parse(args, { ...REMOTE_OPTIONS, ...JSON_OPTION, count: { type: 'string' } }, false);
  if (values.help) return out.line(EVENTS_HELP), 0;
  const count = num(values.count, 'count');
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  let seen = 0;
  try {
    for await (const { event, data } of remote(values).events({ signal: stop.signal })) {
      out.line(values.json ? JSON.stringify({ event, data }) : eventLine(event, data));
      seen += 1;
      if (count !== undefined && seen >= count) break;
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  } finally {
    process.off('SIGINT', onSignal);
  }
  return 0;
}
