// The review queue in the chat panel: messages the platform's word list held
// for a moderator (GET /api/rooms/{room}/held), each with Approve (published
// to the room as from its sender) and Reject (POST .../held/{id}
// {action}). It shows only to those the server lets read the queue — the
// room's streamer, its moderators and admins; anybody else's first 401/403
// hides it for good. It polls while the page is visible.
//
// state.review (read by tests): {enabled, count, open, lastAction, lastError}
// Everything from users is set with textContent.

import { api } from './api.js';
import { h, setText } from './common.js';
import { actionError } from './moderation.js';

const POLL_MS = 5000;

const heldPath = (room) => `/api/rooms/${encodeURIComponent(room)}/held`;

/** Builds the queue into an empty element el; start() begins polling. */
export function mountReview(el, { room, state }) {
  const review = { enabled: false, count: 0, open: false, lastAction: null, lastError: null };
  state.review = review;
  const countEl = h('span', { class: 'review-count', id: 'review-count' }, '0');
  const toggle = h('button', { type: 'button', class: 'review-toggle', id: 'review-toggle', 'aria-expanded': 'false', 'aria-controls': 'review-list' },
    'Held for review', countEl);
  const list = h('ol', { class: 'review-list', id: 'review-list', hidden: true });
  const error = h('p', { class: 'review-error', role: 'alert', hidden: true });
  el.replaceChildren(toggle, error, list);
  el.classList.add('review');
  el.hidden = true;

  let timer = 0;
  let stopped = false;
  toggle.addEventListener('click', () => {
    review.open = !review.open;
    toggle.setAttribute('aria-expanded', String(review.open));
    list.hidden = !review.open;
  });

  function showError(msg) {
    review.lastError = msg;
    setText(error, msg || '');
    error.hidden = !msg;
  }

  function render(messages) {
    review.count = messages.length;
    setText(countEl, String(messages.length));
    el.hidden = !review.enabled || messages.length === 0;
    list.replaceChildren(...messages.map(item));
  }

  function item(m) {
    const body = m.body && typeof m.body === 'object' ? m.body : {};
    const approve = h('button', { type: 'button', class: 'btn small primary', 'data-action': 'approve' }, 'Approve');
    const reject = h('button', { type: 'button', class: 'btn small danger', 'data-action': 'reject' }, 'Reject');
    const li = h('li', { class: 'review-item', 'data-id': String(m.id || '') },
      h('span', { class: 'chat-name' }, String(m.from?.name || 'someone')),
      h('span', { class: 'chat-text' }, typeof body.text === 'string' ? body.text : ''),
      h('span', { class: 'review-actions' }, approve, reject));
    const decide = async (action) => {
      approve.disabled = reject.disabled = true;
      try {
        await api(`${heldPath(room)}/${encodeURIComponent(m.id)}`, { method: 'POST', body: { action } });
        review.lastAction = action;
        showError('');
      } catch (err) {
        // 404: another moderator decided it first; the refresh drops it.
        if (err?.status !== 404) showError(actionError(err));
      }
      poll();
    };
    approve.addEventListener('click', () => decide('approve'));
    reject.addEventListener('click', () => decide('reject'));
    return li;
  }

  async function poll() {
    clearTimeout(timer);
    if (stopped) return;
    if (document.visibilityState === 'visible') {
      try {
        const out = await api(heldPath(room));
        review.enabled = true;
        render(Array.isArray(out?.messages) ? out.messages : []);
      } catch (err) {
        if (err?.status === 401 || err?.status === 403 || err?.status === 404) {
          stop();
          return;
        }
      }
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    review.enabled = false;
    el.hidden = true;
  }

  return {
    start() {
      if (!room) return;
      stopped = false;
      poll();
    },
    stop,
  };
}
