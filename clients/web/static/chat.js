// Room chat for the watch and studio pages: the room socket (GET
// /ws/rooms/{room}, same origin, the session cookie authenticates; anonymous
// users read only), a chat panel and a danmaku overlay.
//
// Every frame the server sends is a JSON array of envelopes
// {"v":1,"type":"chat"|"danmaku"|"system"|"error","id","room","from":{"id","name"},"ts","body"}.
// The first frame after connecting is the recent history; a reconnect asks
// only for what it missed with ?after=<last id seen>, and ids already shown
// are skipped. error envelopes go only to the sender: their message is shown
// briefly under the input.
//
// Everything from the server or other users is set with textContent.
//
// mountChat(panel, {room, overlay, state}) fills panel (an empty element) and
// keeps state.chat up to date (read by tests):
//   status    "connecting" | "open" | "closed"
//   messages  lines shown in the panel (chat, danmaku and system)
//   lastText  text of the newest chat or danmaku message ("" before one)
//   lastError code of the last error envelope, or null (cleared on send)
//   bullets   danmaku elements on the overlay now

import { fetchMe, loginURL } from './api.js';
import { h, setText, store } from './common.js';

export const MAX_CHARS = 200;
const MAX_LINES = 300;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const STABLE_MS = 5000; // an open socket that lasted this long resets the backoff
const ERROR_SHOW_MS = 4000;
const FRESH_MS = 5000; // history younger than this still flies as danmaku
const SEEN_MAX = 2000;

const SYSTEM_TEXT = {
  live_started: 'The stream started',
  live_ended: 'The stream ended',
  cohost_joined: 'A co-host joined',
  cohost_left: 'A co-host left',
};

const ERROR_TEXT = {
  login_required: 'Log in to chat.',
  too_long: `Messages are at most ${MAX_CHARS} characters.`,
  slow_down: 'You are sending too fast; wait a moment.',
  duplicate: 'You just sent that.',
  empty: 'Type a message first.',
};

/** Number of characters as the server counts them (code points). */
export function charCount(text) {
  return Array.from(text).length;
}

/** A "#rrggbb" colour from a message body, or "". */
export function safeColor(c) {
  return typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c) ? c : '';
}

// ---------------------------------------------------------------------------
// Danmaku overlay

export const DENSITIES = ['off', 'low', 'high'];
const FLY_MS = 8000;
const FIXED_MS = 4000;
const GAP_PX = 24;

/**
 * Bullets over a video. Scrolling bullets fly right to left in lanes that
 * never overlap: a bullet takes the first lane whose last bullet has cleared
 * the right edge (and that it cannot catch up before the left edge); when
 * every lane is busy it is dropped. top / bottom bullets stay centred for 4 s.
 */
export class Danmaku {
  constructor(el, { onChange = () => {} } = {}) {
    this.el = el;
    this.onChange = onChange;
    this.density = 'low';
    this.enabled = true;
    this.scrollLanes = []; // per lane: {clearAt, leaveAt} in performance.now() ms
    this.fixedTop = [];
    this.fixedBottom = [];
    this.dropped = 0;
  }

  get count() {
    return this.el.childElementCount;
  }

  set(enabled, density) {
    this.enabled = enabled;
    this.density = DENSITIES.includes(density) ? density : 'low';
    this.el.hidden = !this.active;
    if (!this.active) this.clear();
  }

  get active() {
    return this.enabled && this.density !== 'off';
  }

  clear() {
    this.el.replaceChildren();
    this.scrollLanes = [];
    this.fixedTop = [];
    this.fixedBottom = [];
    this.onChange();
  }

  /** Lane height and how many lanes the density allows. */
  lanes() {
    const height = this.el.clientHeight;
    const laneH = height < 320 ? 26 : 36;
    const all = Math.max(1, Math.floor((height - 8) / laneH));
    const n = this.density === 'high' ? all : this.density === 'low' ? Math.max(1, Math.ceil(all / 3)) : 0;
    return { laneH, n };
  }

  /** Shows a message; returns false when it was dropped. */
  add(text, { color = '', position = 'scroll' } = {}) {
    if (!this.active || !text || this.el.clientWidth === 0) return false;
    const { laneH, n } = this.lanes();
    if (n === 0) return false;
    const b = h('div', { class: 'bullet' }, text);
    const c = safeColor(color);
    if (c) b.style.color = c;
    const now = performance.now();
    if (position === 'top' || position === 'bottom') {
      const slots = position === 'top' ? this.fixedTop : this.fixedBottom;
      const max = Math.max(1, Math.min(3, n));
      let lane = -1;
      for (let i = 0; i < max; i++) {
        if (!slots[i] || slots[i] <= now) {
          lane = i;
          break;
        }
      }
      if (lane < 0) return this.drop();
      slots[lane] = now + FIXED_MS;
      b.classList.add('fixed');
      b.style[position] = `${4 + lane * laneH}px`;
      b.style.setProperty('--dur', `${FIXED_MS}ms`);
      this.mount(b);
      return true;
    }
    // Measure the bullet off screen, then pick a lane.
    b.classList.add('scroll');
    b.style.visibility = 'hidden';
    this.mount(b, false);
    const width = b.offsetWidth;
    const stage = this.el.clientWidth;
    const speed = (stage + width) / FLY_MS; // px per ms
    const reachLeft = now + stage / speed; // when its head reaches the left edge
    let lane = -1;
    for (let i = 0; i < n; i++) {
      const l = this.scrollLanes[i];
      if (!l || (l.clearAt <= now && l.leaveAt <= reachLeft)) {
        lane = i;
        break;
      }
    }
    if (lane < 0) {
      b.remove();
      return this.drop();
    }
    this.scrollLanes[lane] = { clearAt: now + (width + GAP_PX) / speed, leaveAt: now + FLY_MS };
    b.style.top = `${4 + lane * laneH}px`;
    b.style.setProperty('--from', `${stage}px`);
    b.style.setProperty('--to', `${-width}px`);
    b.style.setProperty('--dur', `${FLY_MS}ms`);
    b.style.visibility = '';
    b.classList.add('go');
    this.onChange();
    return true;
  }

  mount(b, notify = true) {
    const done = () => {
      b.remove();
      this.onChange();
    };
    b.addEventListener('animationend', done);
    // A backup for a tab in the background, where animations may not end.
    setTimeout(done, FLY_MS + 1000);
    this.el.append(b);
    if (notify) this.onChange();
  }

  drop() {
    this.dropped++;
    return false;
  }
}

// ---------------------------------------------------------------------------
// The room socket

/**
 * A room socket that reconnects with backoff and ?after=<last id>, delivering
 * each envelope once. onBatch(envelopes, first) gets new envelopes; first is
 * true for the first frame of a connection (the history).
 */
export class RoomSocket {
  constructor(room, { onBatch, onStatus }) {
    this.room = room;
    this.onBatch = onBatch;
    this.onStatus = onStatus;
    this.ws = null;
    this.lastId = '';
    this.seen = new Set();
    this.failures = 0;
    this.timer = 0;
    this.status = 'closed';
    this.stopped = false;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = this.lastId ? `?after=${encodeURIComponent(this.lastId)}` : '';
    return `${proto}//${location.host}/ws/rooms/${encodeURIComponent(this.room)}${q}`;
  }

  setStatus(s) {
    this.status = s;
    this.onStatus(s);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.setStatus('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let openedAt = 0;
    let first = true;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      openedAt = performance.now();
      this.setStatus('open');
    });
    ws.addEventListener('message', (e) => {
      if (this.ws !== ws || typeof e.data !== 'string') return;
      let batch;
      try {
        batch = JSON.parse(e.data);
      } catch {
        return;
      }
      if (!Array.isArray(batch)) batch = [batch];
      const fresh = [];
      for (const env of batch) {
        if (!env || typeof env !== 'object' || typeof env.type !== 'string') continue;
        if (typeof env.id === 'string' && env.id) {
          if (this.seen.has(env.id)) continue;
          this.seen.add(env.id);
          if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value);
          this.lastId = env.id;
        }
        fresh.push(env);
      }
      const wasFirst = first;
      first = false;
      if (fresh.length) this.onBatch(fresh, wasFirst);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (openedAt && performance.now() - openedAt > STABLE_MS) this.failures = 0;
      this.retry();
    });
  }

  retry() {
    this.setStatus('closed');
    if (this.stopped) return;
    const base = BACKOFF_MS[Math.min(this.failures++, BACKOFF_MS.length - 1)];
    this.timer = setTimeout(() => this.connect(), base + Math.random() * base * 0.3);
  }

  /** Sends {type, body}; returns false when the socket is not open. */
  send(type, body) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ type, body }));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}

// ---------------------------------------------------------------------------
// The panel

/**
 * Builds the chat panel in panel, connects to room, and flies messages over
 * overlay (an empty element on top of the video; optional). state.chat is
 * created and kept current.
 */
export function mountChat(panel, { room, overlay = null, state = window.state || (window.state = {}) }) {
  const chat = { status: 'connecting', messages: 0, lastText: '', lastError: null, bullets: 0 };
  state.chat = chat;

  // ---- DOM
  const statusText = h('span', { class: 'sr-only' }, 'Connecting');
  const status = h('span', { class: 'chat-status', id: 'chat-status', 'data-status': 'connecting', role: 'status', title: 'Connecting' }, statusText);
  const toggle = h('button', { type: 'button', class: 'btn small chat-toggle', id: 'danmaku-toggle', 'aria-pressed': 'true', title: 'Show messages over the video' }, 'Danmaku');
  const density = h('select', { id: 'danmaku-density', class: 'chat-density', 'aria-label': 'Danmaku density' },
    h('option', { value: 'off' }, 'Off'),
    h('option', { value: 'low' }, 'Low'),
    h('option', { value: 'high' }, 'High'));
  const head = h('div', { class: 'chat-head' }, h('h2', {}, 'Chat'), status, h('span', { class: 'topbar-spacer' }));
  if (overlay) head.append(toggle, density);
  const list = h('ol', { class: 'chat-list', id: 'chat-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const empty = h('p', { class: 'chat-empty hint', id: 'chat-empty' }, 'No messages yet. Say hello!');
  const more = h('button', { type: 'button', class: 'chat-more', id: 'chat-more', hidden: true }, 'New messages ↓');
  const body = h('div', { class: 'chat-body' }, list, empty, more);
  const input = h('input', {
    id: 'chat-input', type: 'text', autocomplete: 'off', enterkeyhint: 'send',
    placeholder: 'Say something…', 'aria-label': 'Message', disabled: true,
    'aria-describedby': 'chat-count chat-error',
  });
  const send = h('button', { type: 'submit', class: 'btn primary', id: 'chat-send', disabled: true }, 'Send');
  const count = h('small', { class: 'counter chat-count', id: 'chat-count', 'aria-live': 'polite' }, `0/${MAX_CHARS}`);
  const login = h('a', { class: 'btn primary chat-login', id: 'chat-login', href: loginURL(), hidden: true }, 'Log in to chat');
  const error = h('p', { class: 'chat-error', id: 'chat-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'chat-form', id: 'chat-form', autocomplete: 'off', novalidate: true },
    h('div', { class: 'chat-row' }, input, send, login),
    h('div', { class: 'chat-under' }, error, count));
  panel.replaceChildren(head, body, form);
  panel.classList.add('chat');

  // ---- danmaku
  const danmaku = overlay ? new Danmaku(overlay, { onChange: () => (chat.bullets = danmaku.count) }) : null;
  const prefs = { on: store.get('onair.danmaku') !== 'off', density: store.get('onair.danmakuDensity') || 'low' };
  function applyDanmaku() {
    if (!danmaku) return;
    danmaku.set(prefs.on, prefs.density);
    density.value = danmaku.density;
    density.disabled = !prefs.on;
    toggle.setAttribute('aria-pressed', String(prefs.on));
    chat.bullets = danmaku.count;
  }
  toggle.addEventListener('click', () => {
    prefs.on = !prefs.on;
    store.set('onair.danmaku', prefs.on ? 'on' : 'off');
    applyDanmaku();
  });
  density.addEventListener('change', () => {
    prefs.density = density.value;
    store.set('onair.danmakuDensity', prefs.density);
    applyDanmaku();
  });
  applyDanmaku();

  // ---- list
  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.addEventListener('scroll', () => {
    if (nearBottom()) more.hidden = true;
  });
  more.addEventListener('click', () => {
    list.scrollTop = list.scrollHeight;
    more.hidden = true;
  });

  let me = null; // the logged-in user's name
  function line(env) {
    const b = env.body && typeof env.body === 'object' ? env.body : {};
    if (env.type === 'system') {
      const ev = String(b.event || '');
      let text = SYSTEM_TEXT[ev];
      if (ev === 'dropped') {
        const n = Number(b.count) || 0;
        text = `${n} message${n === 1 ? '' : 's'} skipped to keep up`;
      }
      if (!text) return null;
      return h('li', { class: 'chat-line is-system', 'data-event': ev }, text);
    }
    const text = typeof b.text === 'string' ? b.text : '';
    const name = String(env.from?.name || 'someone');
    const li = h('li', { class: `chat-line is-${env.type}`, 'data-id': String(env.id || '') },
      h('span', { class: 'chat-name' }, name), h('span', { class: 'chat-text' }, text));
    if (me && name === me) li.classList.add('mine');
    const c = safeColor(b.color);
    if (c) li.style.setProperty('--swatch', c);
    if (env.ts) li.title = new Date(env.ts).toLocaleTimeString();
    return li;
  }

  function showBatch(envs, first) {
    const stick = nearBottom();
    let added = false;
    for (const env of envs) {
      if (env.type === 'error') {
        showError(env.body);
        continue;
      }
      if (env.type === 'delete') {
        // A moderator removed a message: take it off the list for everyone.
        const gone = String(env.body?.id || '');
        for (const li of list.querySelectorAll('li[data-id]')) {
          if (li.dataset.id === gone) li.remove();
        }
        chat.deleted = (chat.deleted || 0) + 1;
        continue;
      }
      if (env.type !== 'chat' && env.type !== 'danmaku' && env.type !== 'system') continue;
      const li = line(env);
      if (!li) continue;
      list.append(li);
      added = true;
      if (env.type === 'chat' || env.type === 'danmaku') {
        const b = env.body || {};
        chat.lastText = typeof b.text === 'string' ? b.text : '';
        const fresh = !first || (Number(env.ts) && Date.now() - Number(env.ts) < FRESH_MS);
        if (danmaku && fresh) danmaku.add(chat.lastText, { color: b.color, position: b.position });
      }
    }
    while (list.childElementCount > MAX_LINES) list.firstElementChild.remove();
    chat.messages = list.childElementCount;
    empty.hidden = chat.messages > 0;
    if (!added) return;
    if (stick) list.scrollTop = list.scrollHeight;
    else more.hidden = false;
  }

  // ---- errors
  let errorTimer = 0;
  let lastSent = '';
  function showError(body) {
    const b = body && typeof body === 'object' ? body : {};
    const code = typeof b.code === 'string' ? b.code : 'error';
    chat.lastError = code;
    let msg = typeof b.message === 'string' && b.message.trim() ? b.message.trim() : ERROR_TEXT[code] || 'The message was not sent.';
    if (msg.length > 200) msg = `${msg.slice(0, 200)}…`;
    flash(msg);
    // The text was refused: give it back to edit or resend, unless that is pointless.
    if (lastSent && !input.value && code !== 'duplicate' && code !== 'empty') {
      input.value = lastSent;
      updateCount();
    }
    if (code === 'login_required') {
      me = null;
      renderInput();
    }
  }
  function flash(msg) {
    setText(error, msg);
    error.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => (error.hidden = true), ERROR_SHOW_MS);
  }

  // ---- input
  let userKnown = false;
  function updateCount() {
    const n = charCount(input.value);
    setText(count, `${n}/${MAX_CHARS}`);
    count.dataset.over = String(n > MAX_CHARS);
    send.disabled = !me || chat.status !== 'open' || n === 0 || n > MAX_CHARS || !input.value.trim();
  }
  function renderInput() {
    const can = !!me;
    input.disabled = !can;
    input.placeholder = !userKnown ? 'Loading…' : can ? 'Say something…' : 'Read only';
    login.hidden = can || !userKnown;
    send.hidden = !can && userKnown;
    count.hidden = !can;
    login.href = loginURL();
    updateCount();
  }
  input.addEventListener('input', updateCount);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!me || !text) return;
    if (charCount(text) > MAX_CHARS) {
      flash(ERROR_TEXT.too_long);
      return;
    }
    chat.lastError = null;
    if (!socket.send('chat', { text })) {
      flash('Not connected to the chat; reconnecting…');
      return;
    }
    lastSent = text;
    error.hidden = true;
    input.value = '';
    updateCount();
    list.scrollTop = list.scrollHeight;
    more.hidden = true;
  });

  // ---- socket
  const socket = new RoomSocket(room, {
    onBatch: showBatch,
    onStatus: (s) => {
      chat.status = s;
      status.dataset.status = s;
      const label = { connecting: 'Connecting', open: 'Connected', closed: 'Reconnecting' }[s] || s;
      setText(statusText, label);
      status.title = label;
      updateCount();
    },
  });

  renderInput();
  fetchMe().then(({ user }) => {
    me = user ? user.name : null;
    userKnown = true;
    renderInput();
  });
  if (room) socket.connect();
  else {
    chat.status = 'closed';
    status.dataset.status = 'closed';
    setText(statusText, 'No room');
  }
  addEventListener('pagehide', () => socket.close());
  addEventListener('pageshow', (e) => {
    if (!e.persisted || !room) return;
    socket.stopped = false;
    socket.connect(); // back from the back/forward cache: catch up with ?after=
  });
  return { socket, danmaku, state: chat };
}
