// The model trail as a tree (each model under its parent), with a download button per model and, for operators,
// a rollback button: the session's next round trains that model (POST /api/sessions/:id/rollback { modelId }).
import { esc } from './api.js';

const fmt = (m) =>
  Object.entries(m || {})
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => esc(k) + ' ' + +v.toPrecision(3))
    .join(', ');

export class Trail {
  constructor(client, doc, onError) {
    this.client = client;
    this.el = doc.getElementById('trail');
    this.onError = onError;
    this.models = new Map();
    this.canOperate = false;
    this.el.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-action]');
      if (b) void this.act(b.dataset.action, b.dataset.model);
    });
  }

  async load() {
    const { models } = await this.client.api('/api/models');
    for (const m of models) this.models.set(m.id, m); // merged: a model event may have come first
    this.render();
  }

  add(model) {
    this.models.set(model.id, model);
    this.render();
  }

  async act(action, id) {
    const m = this.models.get(id);
    if (!m) return;
    try {
      if (action === 'download') await this.client.download(m.url, m.id + '.fwf');
      if (action === 'rollback') {
        if (!confirm('Roll session ' + m.sessionId + ' back to ' + m.id + '? Its next round trains this model.')) return;
        await this.client.api('/api/sessions/' + encodeURIComponent(m.sessionId) + '/rollback', { method: 'POST', body: { modelId: m.id } });
      }
    } catch (e) {
      this.onError(e.message);
    }
  }

  render() {
    const kids = new Map();
    const roots = [];
    for (const m of this.models.values()) {
      if (m.parentId && this.models.has(m.parentId)) {
        if (!kids.has(m.parentId)) kids.set(m.parentId, []);
        kids.get(m.parentId).push(m);
      } else roots.push(m);
    }
    const sorted = (id) => (kids.get(id) || []).sort((a, b) => a.round - b.round || a.createdAt - b.createdAt);
    // A line of descent stays at one level; a second child (a rollback's new line) opens a branch under its parent.
    const chain = (first) => {
      let html = '';
      for (let m = first; m; ) {
        const [main, ...branches] = sorted(m.id);
        const label = m.round === 0 ? 'seed' : 'round ' + m.round;
        const rollback = this.canOperate && m.sessionId ? '<button data-action="rollback" data-model="' + esc(m.id) + '">rollback</button>' : '';
        html +=
          '<li data-model-id="' + esc(m.id) + '"><b>' + label + '</b> <code>' + esc(m.id) + '</code> <span class="muted">' + (m.bytes / 1024).toFixed(1) + ' KiB ' + fmt(m.metrics) + '</span>' +
          '<button data-action="download" data-model="' + esc(m.id) + '">download</button>' + rollback +
          branches.map((b) => '<ul class="branch">' + chain(b) + '</ul>').join('') + '</li>';
        m = main;
      }
      return html;
    };
    this.el.classList.toggle('muted', roots.length === 0);
    this.el.innerHTML = roots.length ? '<div>' + roots.sort((a, b) => a.createdAt - b.createdAt).map((r) => '<ul>' + chain(r) + '</ul>').join('') + '</div>' : 'no models';
  }
}
