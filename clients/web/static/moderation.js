// Reports and room moderation as the chat panel and the watch page use them.
//
//   report        POST /api/reports {room, message_id?, reason} (logged in; 429 when flooding)
//   deleteMessage DELETE /api/rooms/{room}/messages/{id}
//   timeout, ban  POST /api/rooms/{room}/bans {name, minutes (0 = until lifted), reason}
//   kick          POST /api/rooms/{room}/kick/{name}
//
// The moderation calls are allowed to the room's streamer, its moderators and
// admins; the server answers anybody else with 403 and a detail that the panel
// shows as it is. Everything shown is set with textContent.

import { api } from './api.js';
import { errorMessage, h } from './common.js';

export const TIMEOUT_MINUTES = 10;
export const MAX_REASON = 500;

const roomPath = (room) => `/api/rooms/${encodeURIComponent(room)}`;

export function report(room, reason, messageId = '') {
  const body = { room, reason };
  if (messageId) body.message_id = messageId;
  return api('/api/reports', { method: 'POST', body });
}

export function deleteMessage(room, id) {
  return api(`${roomPath(room)}/messages/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function banFromRoom(room, name, minutes, reason) {
  return api(`${roomPath(room)}/bans`, { method: 'POST', body: { name, minutes, reason } });
}

export function kick(room, name) {
  return api(`${roomPath(room)}/kick/${encodeURIComponent(name)}`, { method: 'POST' });
}

/** What a person reads when a report or a moderation call fails. */
export function actionError(err) {
  if (err?.status === 401) return 'Your session ended. Log in again.';
  if (err?.status === 429) {
    const s = err.retryAfter;
    return s ? `Too many reports; try again in ${s} s.` : 'Too many reports; try again later.';
  }
  return errorMessage(err);
}

/**
 * A small inline form asking for a reason: a text input, a submit and a
 * cancel button, and an error line. onSubmit(reason) returns a promise; while
 * it runs the form is disabled; a rejection's message is shown in the form.
 * Returns {el, focus(), showError(msg)}.
 */
export function reasonForm({ id = '', label, placeholder = '', value = '', submitText, danger = false, onSubmit, onCancel }) {
  const input = h('input', {
    type: 'text', class: 'reason-input', maxlength: String(MAX_REASON), autocomplete: 'off',
    enterkeyhint: 'send', placeholder, 'aria-label': label, required: true,
  });
  input.value = value;
  const submit = h('button', { type: 'submit', class: `btn small ${danger ? 'danger' : 'primary'} reason-submit` }, submitText);
  const cancel = h('button', { type: 'button', class: 'btn small ghost reason-cancel' }, 'Cancel');
  const error = h('p', { class: 'reason-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'reason-form', novalidate: true, ...(id ? { id } : {}) },
    h('label', { class: 'reason-label' }, label),
    h('div', { class: 'reason-row' }, input, submit, cancel),
    error);
  const showError = (msg) => {
    error.textContent = msg;
    error.hidden = !msg;
  };
  cancel.addEventListener('click', () => onCancel && onCancel());
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      if (onCancel) onCancel();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const reason = input.value.trim();
    if (!reason) {
      showError('Say why in a few words.');
      input.focus();
      return;
    }
    if (Array.from(reason).length > MAX_REASON) {
      showError(`At most ${MAX_REASON} characters.`);
      return;
    }
    showError('');
    input.disabled = submit.disabled = true;
    try {
      await onSubmit(reason);
    } catch (err) {
      showError(err?.message || String(err));
    } finally {
      input.disabled = submit.disabled = false;
    }
  });
  return { el: form, focus: () => input.focus(), showError };
}
