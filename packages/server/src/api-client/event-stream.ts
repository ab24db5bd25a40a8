/**
 * A Server-Sent Events body as `{ event, data }` with `data` parsed as JSON. The SSE framing is parsed by
 * `eventsource-parser` (browser-safe: web streams only).
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { fedError } from '@fedweb/codec';

/**
 * Yields each event of an SSE body until it ends; an event whose data is not JSON is a `BAD_FRAME`.
 * @example
 * ```ts
 * for await (const { event, data } of jsonEvents(res.body!, 'GET /api/events')) console.log(event, data);
 * ```
 */
export async function* jsonEvents(body: ReadableStream<Uint8Array>, what: string): AsyncGenerator<{ event: string; data: unknown }> {
  const stream = body.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).pipeThrough(new EventSourceParserStream());
  for await (const ev of stream as unknown as AsyncIterable<{ event?: string; data: string }>) {
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      throw fedError('BAD_FRAME', `${what}: an event's data is not JSON (${ev.data.slice(0, 80)})`);
    }
    yield { event: ev.event ?? 'message', data };
  }
}
