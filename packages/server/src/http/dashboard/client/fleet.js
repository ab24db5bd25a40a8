// The fleet table: one page of /api/clients at a time (paged by id with the API's cursor), filtered on the page
// by text and online state, with each client's updates counted by this server's combiner (/api/contributions).
import { esc } from './api.js';

const ago = (t) => {
  if (!t) return '';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : new Date(t).toLocaleString();
};

export class Fleet {
  constructor(api, doc) {
    this.api = api;
    this.$ = (id) => doc.getElementById(id);
    this.cursors = [undefined];
    this.page = 0;
    this.next = null;
    this.rows = [];
    this.contrib = {};
    this.pending = null;
    this.$('fleet-q').addEventListener('input', () => this.render());
    this.$('fleet-online').addEventListener('change', () => this.render());
    this.$('fleet-size').addEventListener('change', () => this.reset());
    this.$('fleet-next').addEventListener('click', () => {
      if (!this.next) return;
      this.cursors[this.page + 1] = this.next;
      this.page += 1;
      void this.load();
    });
    this.$('fleet-prev').addEventListener('click', () => {
      if (this.page === 0) return;
      this.page -= 1;
      void this.load();
    });
  }

  reset() {
    this.cursors = [undefined];
    this.page = 0;
    return this.load();
  }

  /** Reloads the current page soon (many `live` events in a row load it once). */
  refreshSoon() {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.load().catch(() => undefined); // the next event tries again
    }, 800);
  }

  async load() {
    // Loads overlap (a page change while a refresh is on its way): only the newest one's answer is shown.
    const seq = (this.seq = (this.seq ?? 0) + 1);
    const size = Number(this.$('fleet-size').value) || 50;
    const after = this.cursors[this.page];
    const page = await this.api('/api/clients?limit=' + size + (after ? '&after=' + encodeURIComponent(after) : ''));
    const ids = page.clients.map((c) => encodeURIComponent(c.clientId)).join(',');
    const contrib = ids ? (await this.api('/api/contributions?ids=' + ids)).contributions : {};
    if (seq !== this.seq) return;
    this.rows = page.clients;
    this.next = page.next;
    this.contrib = contrib;
    this.render();
  }

  render() {
    const q = this.$('fleet-q').value.trim().toLowerCase();
    const want = this.$('fleet-online').value;
    const shown = this.rows.filter((c) => {
      if (want === 'online' && !c.online) return false;
      if (want === 'offline' && c.online) return false;
      if (!q) return true;
      const cap = c.capabilities || {};
      const conn = cap.connection ? cap.connection.type || cap.connection.effectiveType || '' : '';
      return [c.clientId, c.combinerId, c.lastCombinerId, cap.backend, conn].some((v) => String(v ?? '').toLowerCase().includes(q));
    });
    this.$('fleet').querySelector('tbody').innerHTML = shown
      .map((c) => {
        const cap = c.capabilities || {};
        const battery = cap.battery ? Math.round(cap.battery.level * 100) + '%' + (cap.battery.charging ? ' (charging)' : '') : '';
        const conn = cap.connection ? cap.connection.type || cap.connection.effectiveType || '' : '';
        const n = this.contrib[c.clientId] ?? 0;
        const rounds = n > 0 ? String(n) : c.contributedAt ? '≥ 1' : '0';
        const combiner = c.combinerId ? esc(c.combinerId) : c.lastCombinerId ? '<span class="muted">' + esc(c.lastCombinerId) + '</span>' : '';
        return (
          '<tr data-client-id="' + esc(c.clientId) + '"><td>' + esc(c.clientId) + '</td><td class="' + (c.online ? 'on' : 'off') + '">' + (c.online ? 'online' : 'offline') +
          '</td><td>' + combiner + '</td><td>' + esc(cap.backend || '') + '</td><td>' + battery + '</td><td>' + esc(conn) + '</td><td>' + ago(c.lastSeen) + '</td><td>' + rounds + '</td></tr>'
        );
      })
      .join('');
    this.$('fleet-page').textContent = 'page ' + (this.page + 1) + ' · ' + shown.length + ' of ' + this.rows.length + ' shown';
    this.$('fleet-prev').disabled = this.page === 0;
    this.$('fleet-next').disabled = !this.next;
  }
}
