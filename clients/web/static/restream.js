// The studio's "Restream" card: the room's RTMP(S) targets (GET/POST
// /api/rooms/{room}/restream, PATCH/DELETE /api/rooms/{room}/restream/{id}),
// each with its status while the room is live (offline, connecting, live,
// error and why), refreshed every few seconds. Keys are typed here and sent
// once; the server only ever shows their last characters.
//
// state.restream (read by tests): {status: "hidden" | "loading" | "ready" |
// "error", error, targets: [{id, name, state, reason}]}

import { api } from './api.js';
import { errorMessage, h, setText } from './common.js';

const REFRESH_MS = 3000;
const LABELS = { offline: 'Offline', connecting: 'Connecting', live: 'Live', error: 'Error' };

export function mountRestream(card, { room, state }) {
  const $ = (id) => card.querySelector(`#${id}`);
  const list = $('restream-list');
  const form = $('restream-form');
  const fields = { name: $('restream-name'), url: $('restream-url'), key: $('restream-key') };
  const errorBox = $('restream-error');
  const base = `/api/rooms/${encodeURIComponent(room)}/restream`;
  state.restream = { status: 'loading', error: '', targets: [] };
  card.hidden = false;

  const showError = (message) => {
    state.restream.error = message;
    setText(errorBox, message);
    errorBox.hidden = !message;
  };

  function row(t) {
    const st = t.status || { state: 'offline' };
    const toggle = h('input', { type: 'checkbox', role: 'switch', 'aria-label': `Push to ${t.name || t.url}` });
    toggle.checked = t.enabled;
    toggle.addEventListener('change', () => change(t.id, { method: 'PATCH', body: { enabled: toggle.checked } }));
    const remove = h('button', { type: 'button', class: 'btn small danger' }, 'Remove');
    remove.addEventListener('click', () => change(t.id, { method: 'DELETE' }));
    return h('li', { class: 'restream-item', 'data-id': t.id },
      h('div', { class: 'restream-head' },
        h('strong', {}, t.name || 'Target'),
        h('span', { class: 'pill', 'data-status': st.state }, LABELS[st.state] || st.state)),
      h('code', { class: 'restream-url' }, `${t.url}/${t.key_hint}`),
      st.reason ? h('small', { class: 'restream-reason' }, st.reason) : '',
      h('div', { class: 'restream-actions' }, h('label', { class: 'switch' }, toggle,
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', { class: 'switch-text' }, 'On')), remove));
  }

  function render(targets) {
    state.restream.targets = targets.map((t) => ({ id: t.id, name: t.name, state: t.status?.state, reason: t.status?.reason || '' }));
    list.replaceChildren(...targets.map(row));
    if (!targets.length) list.append(h('li', { class: 'hint' }, 'No targets yet. Add a platform\'s RTMP server and stream key.'));
  }

  async function refresh() {
    try {
      const out = await api(base);
      render(out.targets || []);
      state.restream.status = 'ready';
    } catch (err) {
      state.restream.status = 'error';
      showError(`Could not load the restream targets: ${errorMessage(err)}`);
    }
  }

  async function change(id, init) {
    showError('');
    try {
      await api(`${base}/${encodeURIComponent(id)}`, init);
    } catch (err) {
      showError(errorMessage(err));
    }
    await refresh();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: fields.name.value.trim(), url: fields.url.value.trim(), key: fields.key.value.trim() };
    if (!/^rtmps?:\/\//i.test(body.url)) return showError('The server URL starts with rtmp:// or rtmps://.');
    if (!body.key) return showError('Paste the stream key the platform gave you.');
    showError('');
    try {
      await api(base, { method: 'POST', body });
      form.reset();
    } catch (err) {
      showError(errorMessage(err));
    }
    await refresh();
  });

  refresh();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
}
