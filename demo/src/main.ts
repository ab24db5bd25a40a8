/**
 * The tutorial page: this tab becomes a federated client. It fetches its simulation shard, starts a
 * FedClient (training in a Web Worker on the fastest tfjs backend), and shows the session live.
 *
 * Query parameters (used by the simulation harness; a person needs none):
 * - `client=<id>`: the client id (default: one per tab, kept in sessionStorage so a reload is the same client)
 * - `backend=auto|webgpu|webgl|wasm|cpu` (default auto: measured on the model)
 * - `validation=<n>`: held-out digits this tab validates the global model on (default 500, 0 = none)
 */
import './style.css';
import { FedClient } from '@fedweb/sdk-client';
import type { BackendChoice, BackendReport, Dataset } from '@fedweb/sdk-client';
import { decodeShard, type DecodedShard } from '@fedweb/codec';
import { fetchBytes, fetchSessionView, fetchSimReference, startSessionLike } from './api.js';
import { createPredictor } from './predictor.js';
import { createRoundChart } from './ui/chart.js';
import { createDrawPad } from './ui/draw.js';
import { formatBytes, formatPercent } from './ui/format.js';
import { endText, renderRoundLog, renderSessionEnd } from './ui/session-view.js';
import type { DemoState } from './state.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
};

const params = new URLSearchParams(location.search);
const clientId = params.get('client') ?? tabClientId();
const backend = (params.get('backend') ?? 'auto') as BackendChoice;
const validationSize = Number(params.get('validation') ?? 500);

const state: DemoState = { clientId, status: 'starting', bytesUp: 0, f32Bytes: 0, bytesDown: 0, f32BytesDown: 0, updatesAcked: 0, updatesRefused: 0, roundsSeen: [], trail: [], clientsOnline: 0, errors: [] };
(window as unknown as { __fedweb: DemoState }).__fedweb = state;

/** One id per tab: sessionStorage is per tab and survives reloads (localStorage would be shared by all tabs). */
function tabClientId(): string {
  const key = 'fedweb-demo-client-id';
  let id = sessionStorage.getItem(key);
  if (!id) {
    // getRandomValues, not randomUUID: the latter is missing outside secure contexts, where we still want to explain.
    id = `tab-${Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
    sessionStorage.setItem(key, id);
  }
  return id;
}

function note(error: unknown): void {
  const msg = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
  state.errors.push(msg);
  if (state.errors.length > 50) state.errors.shift();
  console.warn('[fedweb demo]', msg);
}

// ---------------------------------------------------------------- rendering

const chart = createRoundChart($('chart'));

/** The client's own phase; once the session has ended, the page says so instead of "waiting for the next round". */
let clientPhase = 'starting…';
function setPhase(text: string): void {
  clientPhase = text;
  renderPhase();
}
function renderPhase(): void {
  const ended = state.session?.ended;
  const waiting = state.status === 'connected' || state.status === 'reconnecting';
  $('phase').textContent = ended && waiting ? `${endText(ended)}. This tab stays connected and joins the next session.` : clientPhase;
}

function renderHistogram(counts: number[]): void {
  const max = Math.max(1, ...counts);
  const el = $('histogram');
  el.replaceChildren(
    ...counts.map((c, d) => {
      const col = document.createElement('div');
      col.className = 'col';
      col.title = `${c} examples of digit ${d}`;
      const b = document.createElement('div');
      b.className = 'b';
      b.style.height = `${Math.round((c / max) * 48)}px`;
      const label = document.createElement('div');
      label.className = 'd';
      label.textContent = String(d);
      col.append(b, label);
      return col;
    }),
  );
}

function renderBytes(): void {
  const max = Math.max(state.f32Bytes, state.bytesUp, 1);
  $('bytes-up').textContent = formatBytes(state.bytesUp);
  $('bytes-f32').textContent = formatBytes(state.f32Bytes);
  $('bytes-up-bar').style.width = `${(state.bytesUp / max) * 100}%`;
  $('bytes-f32-bar').style.width = `${(state.f32Bytes / max) * 100}%`;
  $('bytes-ratio').textContent = state.f32Bytes > 0 ? formatPercent(state.bytesUp / state.f32Bytes) : '–';
  $('updates-sent').textContent = String(state.updatesAcked);
}

function renderBackend(report: BackendReport): void {
  $('backend').textContent = report.chosen.toUpperCase();
  const rows = Object.entries(report.candidates).map(([name, why]) => {
    const tr = document.createElement('tr');
    if (name === report.chosen) tr.className = 'chosen';
    const a = document.createElement('td');
    a.textContent = name === report.chosen ? `${name} ✓` : name;
    const b = document.createElement('td');
    b.textContent = String(why);
    tr.append(a, b);
    return tr;
  });
  if (report.cached) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 2;
    td.textContent = 'decision cached from an earlier probe on this device';
    tr.append(td);
    rows.push(tr);
  }
  $('probe').querySelector('tbody')?.replaceChildren(...rows);
}

function renderTrail(): void {
  chart.set(state.trail, state.reference);
  const last = [...state.trail].reverse().find((p) => p.accuracy !== undefined);
  $('acc').textContent = formatPercent(last?.accuracy);
}

// ---------------------------------------------------------------- the client

async function main(): Promise<void> {
  $('client-id').textContent = clientId;
  if (!window.isSecureContext) {
    // WebCrypto (which verifies every package and model) exists only on https:// pages and localhost.
    $('conn').textContent = 'needs https';
    $('conn').dataset['state'] = 'error';
    setPhase(`This page was opened over plain http from another device, where browsers disable WebCrypto. Open the https:// address npm start printed (port ${location.port === '8080' ? '8443' : 'of its https front'}) and accept the self-signed certificate once.`);
    return;
  }
  setPhase('fetching this tab’s share of the digits…');
  let shard: DecodedShard;
  let testset: DecodedShard | undefined;
  try {
    shard = decodeShard(await fetchBytes(`/api/sim/shard?client=${encodeURIComponent(clientId)}`));
    if (validationSize > 0) testset = decodeShard(await fetchBytes(`/api/sim/testset?n=${validationSize}`));
  } catch (e) {
    note(e);
    $('conn').textContent = 'no simulation data';
    $('conn').dataset['state'] = 'error';
    setPhase(`Could not fetch the simulation shard (${(e as Error).message}). Is the server running in demo mode?`);
    return;
  }
  state.shard = { n: shard.meta.n, labelCounts: shard.meta.labelCounts, ...(shard.meta.shard !== undefined ? { shard: shard.meta.shard } : {}), ...(shard.meta.split ? { split: shard.meta.split } : {}) };
  renderHistogram(shard.meta.labelCounts);
  const noun = shard.meta.dataset === 'fashion' ? 'Fashion-MNIST images' : 'digits';
  $('shard-text').textContent = `${shard.meta.n} ${noun} (shard ${(shard.meta.shard ?? 0) + 1} of ${shard.meta.numShards ?? '?'}, split ${shard.meta.split ?? '?'})${testset ? `; the global model is checked on ${testset.meta.n} held-out ${testset.meta.heldOut ?? 'test'} ${noun}` : ''}.`;

  const data = {
    // Fresh copies each time: the buffers are transferred to the worker (and detached here).
    load: (): Dataset => ({
      x: shard.x.slice(),
      xShape: shard.meta.xShape,
      y: shard.y.slice(),
      yShape: [],
      ...(testset ? { validation: { x: testset.x.slice(), y: testset.y.slice() } } : {}),
    }),
  };
  // `?trust=<origin>` (repeatable): combiners on other origins this page may join (a simulation's external combiners).
  const client = new FedClient({ server: location.origin, id: clientId, data, backend, trustedOrigins: params.getAll('trust') });

  client.on('status', (s) => {
    state.status = s.status;
    const conn = $('conn');
    conn.textContent = s.status;
    conn.dataset['state'] = s.status === 'failed' ? 'error' : ['connected', 'training', 'uploading', 'downloading', 'validating'].includes(s.status) ? 'online' : 'connecting';
    if (s.backend) {
      state.backend = s.backend;
      renderBackend(s.backend);
    }
    const phases: Record<string, string> = {
      connecting: 'connecting to the server…',
      connected: 'connected; waiting for the next round (it starts once enough clients are online)',
      downloading: 'downloading the global model and the compute package…',
      training: 'training on this tab’s digits…',
      uploading: 'uploading the model update (not the data)…',
      validating: 'checking the new global model on held-out digits…',
      reconnecting: `reconnecting${s.retryInMs ? ` in ${(s.retryInMs / 1000).toFixed(1)} s` : ''}…`,
      failed: `stopped: ${s.error?.message ?? 'error'}`,
      stopped: 'stopped',
    };
    setPhase(phases[s.status] ?? s.status);
  });

  client.on('round', (r) => {
    state.lastRoundId = r.roundId;
    if (!state.roundsSeen.includes(r.roundId)) state.roundsSeen.push(r.roundId);
    if (r.task === 'train' && r.phase === 'acknowledged') {
      state.updatesAcked++;
      state.bytesUp += r.bytes ?? 0;
      state.f32Bytes += r.f32Bytes ?? 0;
      renderBytes();
    }
    if (r.phase === 'refused' || r.phase === 'failed') {
      state.updatesRefused += r.task === 'train' ? 1 : 0;
      if (r.error) note(r.error);
    }
  });

  client.on('model', (m) => {
    state.bytesDown += m.bytes;
    state.f32BytesDown += m.f32Bytes;
  });

  client.on('progress', (p) => {
    state.progress = { epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches };
    const ep = $<HTMLProgressElement>('epoch-progress');
    ep.max = p.epochs;
    ep.value = p.epoch + (p.batches > 0 ? p.batch / p.batches : 0);
    const bp = $<HTMLProgressElement>('batch-progress');
    bp.max = Math.max(1, p.batches);
    bp.value = p.batch;
    $('epoch-text').textContent = `${Math.min(p.epoch + 1, p.epochs)} / ${p.epochs}`;
    $('batch-text').textContent = `${p.batch} / ${p.batches}`;
    $('local-loss').textContent = Number.isFinite(p.loss) ? p.loss.toFixed(4) : '–';
  });

  client.on('metrics', (m) => {
    if (m.task !== 'train') return;
    const acc = m.metrics['accuracy'];
    const loss = m.metrics['loss'];
    $('local-last').textContent = `${m.numExamples} ex${loss !== undefined ? `, loss ${loss.toFixed(3)}` : ''}${acc !== undefined ? `, acc ${formatPercent(acc)}` : ''}${m.trainMs ? `, ${(m.trainMs / 1000).toFixed(1)} s` : ''}`;
  });

  client.on('error', (e) => note(e));
  window.addEventListener('pagehide', () => void client.stop());

  client.start().catch((e) => note(e));
}

// ---------------------------------------------------------------- polling the session

async function poll(): Promise<void> {
  try {
    const view = await fetchSessionView();
    state.session = view;
    state.clientsOnline = view.clientsOnline;
    state.trail = view.trail;
    $('clients').textContent = String(view.clientsOnline);
    const shown = view.live ? view.live.round : view.completedRounds;
    $('round').textContent = view.rounds ? `${shown} / ${view.rounds}` : view.sessionId ? String(shown) : 'no session';
    $('round').title = view.live ? `round ${view.live.round}: ${view.live.phase}` : (view.status ?? '');
    renderTrail();
    renderRoundLog($('round-log'), view.trail);
    renderSessionEnd({ box: $('session-end'), text: $('session-end-text'), button: $<HTMLButtonElement>('new-session'), hint: $('session-end-hint') }, view);
    renderPhase();
  } catch (e) {
    // The next poll retries; keep the page as it is.
    if (state.errors.length < 5) note(e);
  }
}

// ---------------------------------------------------------------- draw a digit

function setupDrawPad(): void {
  const predictor = createPredictor();
  const bars = $('pred-bars');
  const digit = $('pred-digit');
  const hint = $('draw-hint');
  const show = (probs: Float32Array | null) => {
    const p = probs ? Array.from(probs) : new Array<number>(10).fill(0);
    const best = probs ? p.indexOf(Math.max(...p)) : -1;
    digit.textContent = best >= 0 ? String(best) : '?';
    bars.replaceChildren(
      ...p.flatMap((v, d) => {
        const label = document.createElement('span');
        label.textContent = String(d);
        const bar = document.createElement('div');
        bar.className = 'p';
        bar.style.width = `${Math.max(1, v * 100)}%`;
        bar.style.opacity = d === best ? '1' : '0.45';
        return [label, bar];
      }),
    );
  };
  show(null);
  const pad = createDrawPad($<HTMLCanvasElement>('pad'), (input) => {
    if (!input) return show(null);
    hint.textContent = 'asking the global model…';
    predictor
      .predict(input, state.session?.currentModelId)
      .then(({ probs, modelId }) => {
        show(probs);
        const round = /\.m(\d+)$/.exec(modelId)?.[1];
        hint.textContent = round ? `Prediction of the global model after round ${round}.` : 'Prediction of the initial (untrained) model: wait for a round or two.';
      })
      .catch((e: unknown) => {
        hint.textContent = `Cannot predict yet (${(e as Error).message}).`;
      });
  });
  $('clear').addEventListener('click', () => pad.clear());
}

function setupNewSession(): void {
  const button = $<HTMLButtonElement>('new-session');
  button.addEventListener('click', () => {
    const view = state.session;
    if (!view?.ended) return;
    button.disabled = true;
    startSessionLike(view)
      .then(() => poll())
      .catch((e: unknown) => {
        note(e);
        $('session-end-hint').textContent = `The server did not start a session: ${(e as Error).message}`;
      })
      .finally(() => {
        button.disabled = false;
      });
  });
}

setupDrawPad();
setupNewSession();
void fetchSimReference().then((r) => {
  if (r === undefined) return;
  state.reference = r;
  renderTrail();
});
void main();
void poll();
setInterval(() => void poll(), 2000);
