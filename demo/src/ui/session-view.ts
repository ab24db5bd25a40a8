/**
 * The page's view of the session's course: the end banner ("Session finished: 20 rounds, final accuracy 93.0%")
 * with the offer to start a new session, and the round log (every round, a failed one with the server's reason).
 */
import type { SessionSummary, TrailPoint } from '../api.js';
import { formatPercent } from './format.js';

/**
 * The sentence the end banner shows, or null while the session runs.
 * @example
 * ```ts
 * endText({ status: 'completed', rounds: 20, failed: 0, finalAccuracy: 0.93 }); // 'Session finished: 20 rounds, final accuracy 93.0%'
 * ```
 */
export function endText(end: SessionSummary['ended']): string | null {
  if (!end) return null;
  const rounds = `${end.rounds} round${end.rounds === 1 ? '' : 's'}${end.failed ? ` (${end.failed} failed)` : ''}`;
  const acc = end.finalAccuracy !== undefined ? `, final accuracy ${formatPercent(end.finalAccuracy)}` : '';
  if (end.status === 'completed') return `Session finished: ${rounds}${acc}`;
  if (end.status === 'stopped') return `Session stopped by the operator after ${rounds}${acc}`;
  return `Session failed after ${rounds}${acc}${end.error ? `: ${end.error}` : ''}`;
}

/**
 * One line of the round log.
 * @example
 * ```ts
 * roundLine({ round: 4, failed: 'too few updates' }); // 'round 4 failed: too few updates (the global model is unchanged)'
 * ```
 */
export function roundLine(p: TrailPoint): string {
  if (p.failed !== undefined) return `round ${p.round} failed: ${p.failed} (the global model is unchanged)`;
  if (p.round === 0) return 'round 0: the initial model';
  const metrics = [p.accuracy !== undefined ? `accuracy ${formatPercent(p.accuracy)}` : '', p.loss !== undefined ? `loss ${p.loss.toFixed(3)}` : ''].filter(Boolean).join(', ');
  return `round ${p.round} committed${metrics ? `: ${metrics}` : ''}`;
}

/**
 * Renders the round log into an `<ol>`, newest first (failed rounds carry the class `failed`).
 * @example
 * ```ts
 * renderRoundLog(document.getElementById('round-log')!, view.trail);
 * ```
 */
export function renderRoundLog(el: HTMLElement, trail: readonly TrailPoint[]): void {
  el.replaceChildren(
    ...[...trail].reverse().map((p) => {
      const li = document.createElement('li');
      li.textContent = roundLine(p);
      li.dataset['round'] = String(p.round);
      if (p.failed !== undefined) li.className = 'failed';
      return li;
    }),
  );
}

/**
 * Shows or hides the end banner; the "start a new session" button only where the server lets the page start one.
 * @example
 * ```ts
 * renderSessionEnd({ box, text, button, hint }, view);
 * ```
 */
export function renderSessionEnd(els: { box: HTMLElement; text: HTMLElement; button: HTMLButtonElement; hint: HTMLElement }, view: SessionSummary): void {
  const text = endText(view.ended);
  els.box.hidden = text === null;
  if (text === null) return;
  els.text.textContent = text;
  els.button.hidden = !view.canStart;
  els.hint.textContent = view.canStart
    ? 'This server runs in demo mode (auth off): anyone here may start another session with the same settings. This tab joins it.'
    : 'Another session starts when an operator runs `fedweb session start`; this tab joins it.';
}
