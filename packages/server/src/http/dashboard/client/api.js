// The dashboard's link to the server: the token (taken from the URL fragment once, then kept in session storage
// and sent only in Authorization headers), JSON calls, downloads, and the /api/events stream read with fetch.
import { createParser } from './eventsource-parser.js';

const KEY = 'fedweb.dashboard.token';

/** The token of `/dashboard#token=<jwt>` (removed from the address bar), else the one this tab kept. */
export function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const t = params.get('token');
  if (t) {
    sessionStorage.setItem(KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

export const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** JSON calls, downloads and the event stream, all with the token in a header. */
export function createApi(token) {
  const auth = token ? { Authorization: 'Bearer ' + token } : {};

  async function api(path, init = {}) {
    const headers = { ...auth, ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
    const r = await fetch(path, { ...init, headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body.code || r.status) + ': ' + (body.message || r.statusText));
    return body;
  }

  async function download(path, name) {
    const r = await fetch(path, { headers: auth });
    if (!r.ok) throw new Error('download failed: ' + r.status);
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  /**
   * Reads `path` as Server-Sent Events, calling onEvent(name, data) for each; reconnects with backoff.
   * onState('live' | 'down' | 'denied', detail). A 401/403 stops (the token will not get better).
   */
  function stream(path, onEvent, onState) {
    let delay = 500;
    const run = async () => {
      for (;;) {
        try {
          const r = await fetch(path, { headers: { ...auth, Accept: 'text/event-stream' }, cache: 'no-store' });
          if (r.status === 401 || r.status === 403) {
            const body = await r.json().catch(() => ({}));
            onState('denied', body.message || r.statusText);
            return;
          }
          if (!r.ok || !r.body) throw new Error('event stream: HTTP ' + r.status);
          onState('live');
          delay = 500;
          // The SSE framing is parsed by eventsource-parser (served from this server's node_modules).
          const parser = createParser({ onEvent: (ev) => onEvent(ev.event || 'message', JSON.parse(ev.data)) });
          const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value);
          }
          onState('down', 'stream ended');
        } catch (e) {
          onState('down', e.message);
        }
        await new Promise((res) => setTimeout(res, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    };
    void run();
  }

  return { api, download, stream };
}
