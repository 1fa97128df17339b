// Room chat for the watch and studio pages: the room's message stream (the
// media session's "room" data channel while one is open, else the room socket
// GET /ws/rooms/{room}; same origin, the session cookie authenticates;
// anonymous users read only), a chat panel and a danmaku overlay.
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
//   transport "channel" (the media session's data channel) | "socket"
//   messages  lines shown in the panel (chat, danmaku and system)
//   lastText  text of the newest chat or danmaku message ("" before one)
//   lastVoice {id, durationMs} of the newest voice message, or undefined
//   voice     the record button's {status, lastError, sent} (see voice.js)
//   lastError code of the last error envelope, or null (cleared on send)
//   bullets   danmaku elements on the overlay now
//   deleted   delete envelopes received
//   review    the queue of held messages (see review.js)
//   kicked    true once the server closed the socket for a kick or ban (4001)
//   moderation {lastAction, lastError, errorStatus, canModerate, busy}:
//             lastAction  "report" | "delete" | "timeout" | "ban" | "kick" |
//                         "report_room" of the last call that succeeded, or null
//             lastError   what the last failed call said (the server's detail,
//                         e.g. of a 403), or null (cleared when one succeeds)
//             errorStatus HTTP status of the last failed call (0: unreachable),
//                         null when the last call succeeded
//             canModerate whether the message menu offers the moderation items
//             busy        a call is in flight
//
// Each chat line has a "⋯" button (shown on hover, always on touch screens)
// that opens a menu in the line: "Report" (a reason, then POST /api/reports)
// and, for those who may moderate, "Delete message", "Time out 10 min",
// "Ban from room" and "Kick". Who moderates a room is not known here: the
// items are offered to every logged-in user; the room's streamer and admins
// always keep them, anybody else loses them after the server refuses one
// (403, whose detail is shown). Results show in a line above the input.
//
// like envelopes are passed to onLike(count) (see likes.js); every envelope
// is passed to onEnvelope(env, first) (gifts, red packets) before the panel
// shows it. gift envelopes also get a line in the panel.

import { api, fetchMe, isAdmin, loginURL } from './api.js';
import { h, setText, store } from './common.js';
import { mountReview } from './review.js';
import { mountRecorder, voiceOf, voicePlayer } from './voice.js';
import { actionError, banFromRoom, deleteMessage, kick, reasonForm, report, TIMEOUT_MINUTES } from './moderation.js';

export const MAX_CHARS = 200;
const MAX_LINES = 300;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const STABLE_MS = 5000; // an open socket that lasted this long resets the backoff
const ERROR_SHOW_MS = 4000;
const FRESH_MS = 5000; // history younger than this still flies as danmaku
const SEEN_MAX = 2000;
// The server closes a kicked or banned user's socket with 4001 (do not
// reconnect); 4002 (too slow) and 1001 (shutting down) are worth a reconnect.
const CLOSE_KICKED = 4001;

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
  banned: 'You cannot chat in this room right now.',
};
const NOTE_SHOW_MS = 6000;
const RESTORE_MS = 5000; // an error this soon after a send gives the text back

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
  add(text, { color = '', position = 'scroll', id = '' } = {}) {
    if (!this.active || !text || this.el.clientWidth === 0) return false;
    const { laneH, n } = this.lanes();
    if (n === 0) return false;
    const b = h('div', { class: 'bullet', 'data-id': id || false }, text);
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
 * The room's message stream, delivering each envelope once. It reads the
 * room socket (GET /ws/rooms/{room}), which reconnects with backoff and
 * ?after=<last id>; when the page has a media session, attach(dc) hands it
 * that session's "room" data channel: while the channel is open it carries
 * the stream (the socket is closed), and when it closes the socket comes back
 * asking only for what it missed. onBatch(envelopes, first) gets new
 * envelopes; first is true for the first frame of a connection (the history).
 */
export class RoomSocket {
  constructor(room, { onBatch, onStatus, onKicked = null }) {
    this.room = room;
    this.onBatch = onBatch;
    this.onStatus = onStatus;
    this.onKicked = onKicked;
    this.ws = null;
    this.dc = null; // the open data channel that carries the stream, or null
    this.lastId = '';
    this.seen = new Set();
    this.failures = 0;
    this.timer = 0;
    this.status = 'closed';
    this.stopped = false;
  }

  /** "channel" while a data channel carries the stream, else "socket". */
  get transport() {
    return this.dc ? 'channel' : 'socket';
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = this.lastId ? `?after=${encodeURIComponent(this.lastId)}` : '';
    return `${proto}//${location.host}/ws/rooms/${encodeURIComponent(this.room)}${q}`;
  }

  setStatus(s) {
    this.status = s;
    this.onStatus(s, this.transport);
  }

  /** A frame reader for one connection: its first frame is the history. */
  reader() {
    let first = true;
    return (data) => {
      if (typeof data !== 'string') return;
      let batch;
      try {
        batch = JSON.parse(data);
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
    };
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped || this.dc) return;
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
    const read = this.reader();
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      openedAt = performance.now();
      this.setStatus('open');
    });
    ws.addEventListener('message', (e) => {
      if (this.ws === ws) read(e.data);
    });
    ws.addEventListener('close', (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (e.code === CLOSE_KICKED) {
        // Kicked or banned: coming straight back would only be refused.
        this.stopped = true;
        this.setStatus('closed');
        this.onKicked?.();
        return;
      }
      if (openedAt && performance.now() - openedAt > STABLE_MS) this.failures = 0;
      this.retry();
    });
  }

  /**
   * Lets dc (an RTCDataChannel labelled "room") carry the stream once it is
   * open. The server sends the history on it first; what was already shown
   * is skipped by id.
   */
  attach(dc) {
    if (!dc || this.stopped) return;
    const read = this.reader();
    const take = () => {
      if (this.stopped || dc.readyState !== 'open') return;
      this.dc = dc;
      clearTimeout(this.timer);
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close();
      this.failures = 0;
      this.setStatus('open');
    };
    dc.addEventListener('message', (e) => {
      if (this.dc === dc) read(e.data);
    });
    dc.addEventListener('close', () => {
      if (this.dc !== dc) return;
      this.dc = null;
      this.connect();
    });
    if (dc.readyState === 'open') take();
    else dc.addEventListener('open', take);
  }

  retry() {
    this.setStatus('closed');
    if (this.stopped) return;
    const base = BACKOFF_MS[Math.min(this.failures++, BACKOFF_MS.length - 1)];
    this.timer = setTimeout(() => this.connect(), base + Math.random() * base * 0.3);
  }

  /** Sends {type, body}; returns false when nothing is open to send on. */
  send(type, body) {
    const frame = JSON.stringify({ type, body });
    if (this.dc && this.dc.readyState === 'open') {
      this.dc.send(frame);
      return true;
    }
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame);
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
    this.dc = null;
  }
}

// ---------------------------------------------------------------------------
// The panel

/**
 * Builds the chat panel in panel, connects to room, and flies messages over
 * overlay (an empty element on top of the video; optional). state.chat is
 * created and kept current.
 */
export function mountChat(panel, { room, overlay = null, state = window.state || (window.state = {}), onLike = null, onEnvelope = null }) {
  const moderation = { lastAction: null, lastError: null, errorStatus: null, canModerate: false, busy: false };
  const chat = { status: 'connecting', transport: 'socket', messages: 0, lastText: '', lastError: null, bullets: 0, deleted: 0, moderation };
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
  // Press and hold to record: the clip is uploaded for this room, then sent
  // as a voice message on the room's stream.
  const recorder = mountRecorder({
    where: () => (me && room ? { room } : null),
    send: async (clip) => {
      if (!socket.send('voice', { id: clip.id })) throw new Error('Not connected to the chat; reconnecting…');
    },
    onError: (msg) => flash(msg),
    state: (chat.voice = {}),
  });
  recorder.button.id = 'chat-voice';
  const count = h('small', { class: 'counter chat-count', id: 'chat-count', 'aria-live': 'polite' }, `0/${MAX_CHARS}`);
  const login = h('a', { class: 'btn primary chat-login', id: 'chat-login', href: loginURL(), hidden: true }, 'Log in to chat');
  const error = h('p', { class: 'chat-error', id: 'chat-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'chat-form', id: 'chat-form', autocomplete: 'off', novalidate: true },
    h('div', { class: 'chat-row' }, input, recorder.button, send, login),
    h('div', { class: 'chat-under' }, error, count));
  const note = h('p', { class: 'chat-note', id: 'chat-note', role: 'status', hidden: true });
  const held = h('div', { class: 'chat-review', id: 'chat-review' });
  panel.replaceChildren(head, held, body, note, form);
  const review = mountReview(held, { room, state: chat });
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
    if (env.type === 'gift') {
      const what = `sent ${String(b.name || b.gift || 'a gift')} ×${Number(b.count) || 1}${Number(b.combo) > Number(b.count) ? ` (combo ×${Number(b.combo)})` : ''}`;
      return h('li', { class: 'chat-line is-gift', 'data-id': String(env.id || '') },
        h('span', { class: 'chat-name' }, String(env.from?.name || 'someone')),
        h('span', { class: 'chat-text' }, `${String(b.icon || '🎁')} ${what}`));
    }
    const text = typeof b.text === 'string' ? b.text : '';
    const name = String(env.from?.name || 'someone');
    const li = h('li', { class: `chat-line is-${env.type}`, 'data-id': String(env.id || '') },
      h('span', { class: 'chat-name' }, name), h('span', { class: 'chat-text' }, text));
    if (env.type === 'voice') {
      const v = voiceOf(b);
      li.querySelector('.chat-text').replaceChildren(v ? voicePlayer(v) : 'sent a voice message');
    }
    if (me && name === me) li.classList.add('mine');
    const c = safeColor(b.color);
    if (c) li.style.setProperty('--swatch', c);
    if (env.ts) li.title = new Date(env.ts).toLocaleTimeString();
    if (env.id) {
      li.dataset.from = name;
      li.append(h('button', { type: 'button', class: 'chat-menu-btn', 'aria-label': `Actions for ${name}'s message`, 'aria-haspopup': 'true', 'aria-expanded': 'false' }, '⋯'));
    }
    return li;
  }

  function showBatch(envs, first) {
    const stick = nearBottom();
    let added = false;
    for (const env of envs) {
      if (onEnvelope) {
        try {
          onEnvelope(env, first);
        } catch (err) {
          console.warn('chat: envelope handler', err);
        }
      }
      if (env.type === 'error') {
        showError(env.body);
        continue;
      }
      if (env.type === 'delete') {
        // A moderator removed a message: take it off the list for everyone.
        const gone = String(env.body?.id || '');
        for (const li of list.querySelectorAll('li[data-id]')) {
          if (li.dataset.id === gone) {
            if (menu && menu.li === li) closeMenu();
            li.remove();
          }
        }
        if (overlay && gone) {
          for (const b of overlay.querySelectorAll('.bullet[data-id]')) {
            if (b.dataset.id === gone) b.remove();
          }
          chat.bullets = danmaku ? danmaku.count : 0;
        }
        chat.deleted++;
        continue;
      }
      if (env.type === 'like') {
        const n = Number(env.body?.count);
        if (onLike && Number.isFinite(n) && n > 0) onLike(Math.floor(n));
        continue;
      }
      if (env.type !== 'chat' && env.type !== 'danmaku' && env.type !== 'system' && env.type !== 'gift' && env.type !== 'voice') continue;
      const li = line(env);
      if (!li) continue;
      list.append(li);
      added = true;
      if (env.type === 'voice') chat.lastVoice = voiceOf(env.body);
      if (env.type === 'chat' || env.type === 'danmaku') {
        const b = env.body || {};
        chat.lastText = typeof b.text === 'string' ? b.text : '';
        const fresh = !first || (Number(env.ts) && Date.now() - Number(env.ts) < FRESH_MS);
        if (danmaku && fresh) danmaku.add(chat.lastText, { color: b.color, position: b.position, id: String(env.id || '') });
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
  let lastSentAt = 0;
  function showError(body) {
    const b = body && typeof body === 'object' ? body : {};
    const code = typeof b.code === 'string' ? b.code : 'error';
    chat.lastError = code;
    let msg = typeof b.message === 'string' && b.message.trim() ? b.message.trim() : ERROR_TEXT[code] || 'The message was not sent.';
    if (msg.length > 200) msg = `${msg.slice(0, 200)}…`;
    flash(msg);
    // The text was refused: give it back to edit or resend, unless that is pointless.
    if (lastSent && !input.value && code !== 'duplicate' && code !== 'empty' && performance.now() - lastSentAt < RESTORE_MS) {
      input.value = lastSent;
      updateCount();
    }
    if (code === 'login_required') {
      me = null;
      renderInput();
      renderAuth();
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
    recorder.button.hidden = !can;
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
    lastSentAt = performance.now();
    error.hidden = true;
    input.value = '';
    updateCount();
    list.scrollTop = list.scrollHeight;
    more.hidden = true;
  });

  // ---- socket
  const socket = new RoomSocket(room, {
    onBatch: showBatch,
    onKicked: () => {
      chat.kicked = true;
      showNote('You were removed from this room\'s chat.', 'error');
    },
    onStatus: (s, transport) => {
      chat.status = s;
      chat.transport = transport;
      status.dataset.status = s;
      const label = { connecting: 'Connecting', open: 'Connected', closed: 'Reconnecting' }[s] || s;
      setText(statusText, label);
      status.title = label;
      updateCount();
    },
  });

  // ---- the message menu: reports and moderation
  let user = null; // the logged-in user object
  let owner = ''; // the room's streamer
  let refused = false; // the server refused this user a moderation call
  let menu = null; // {li, el, btn} of the open menu
  let noteTimer = 0;

  function mayModerate() {
    return !!me && (me === owner || isAdmin(user) || !refused);
  }
  function renderAuth() {
    panel.dataset.auth = me ? 'in' : 'out';
    moderation.canModerate = mayModerate();
  }
  function showNote(msg, kind) {
    setText(note, msg);
    note.dataset.kind = kind;
    note.hidden = false;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => (note.hidden = true), NOTE_SHOW_MS);
  }
  function closeMenu() {
    if (!menu) return;
    menu.el.remove();
    menu.btn.setAttribute('aria-expanded', 'false');
    menu.li.classList.remove('menu-open');
    menu = null;
  }

  /**
   * Runs one report or moderation call, keeps state.chat.moderation current
   * and shows the outcome; rethrows the error (for a reason form to show).
   */
  async function act(action, call, done) {
    moderation.busy = true;
    try {
      await call();
      moderation.errorStatus = null;
      moderation.lastAction = action;
      moderation.lastError = null;
      showNote(done, 'ok');
    } catch (err) {
      const msg = actionError(err);
      moderation.errorStatus = err?.status || 0;
      moderation.lastError = msg;
      if (err?.status === 403 && action !== 'report' && me !== owner && !isAdmin(user)) refused = true;
      if (err?.status === 401) {
        me = null;
        renderInput();
      }
      renderAuth();
      showNote(msg, 'error');
      throw new Error(msg);
    } finally {
      moderation.busy = false;
    }
  }

  function openMenu(li, btn) {
    closeMenu();
    const id = li.dataset.id;
    const from = li.dataset.from || '';
    const el = h('div', { class: 'chat-menu', role: 'menu', 'aria-label': 'Message actions' });
    const items = h('div', { class: 'chat-menu-items' });
    el.append(items);
    menu = { li, el, btn };
    const item = (label, key, run, danger = false) => {
      const b = h('button', { type: 'button', role: 'menuitem', class: `chat-menu-item${danger ? ' danger' : ''}`, 'data-action': key }, label);
      b.addEventListener('click', (e) => {
        e.stopPropagation();
        run();
      });
      items.append(b);
    };
    const ask = (opts) => {
      items.hidden = true;
      const f = reasonForm({ ...opts, onCancel: closeMenu });
      el.append(f.el);
      f.focus();
    };
    // A one-click action: the menu closes when it succeeds, else shows why.
    const now = (action, call, done) => {
      items.querySelectorAll('button').forEach((b) => (b.disabled = true));
      act(action, call, done).then(closeMenu, (err) => {
        items.querySelectorAll('button').forEach((b) => (b.disabled = false));
        let p = el.querySelector('.reason-error');
        if (!p) el.append((p = h('p', { class: 'reason-error', role: 'alert' })));
        setText(p, err.message);
      });
    };
    if (from !== me) {
      item('Report', 'report', () => ask({
        label: `Report ${from}'s message`, placeholder: 'What is wrong with it?', submitText: 'Report',
        onSubmit: (reason) => act('report', () => report(room, reason, id), 'Thanks, the report was sent.').then(closeMenu),
      }));
    }
    if (mayModerate()) {
      item('Delete message', 'delete', () => now('delete', () => deleteMessage(room, id), 'The message was deleted.'), true);
      if (from !== me && from !== owner) {
        item(`Time out ${TIMEOUT_MINUTES} min`, 'timeout', () => now('timeout',
          () => banFromRoom(room, from, TIMEOUT_MINUTES, 'Timed out from the chat'), `${from} is timed out for ${TIMEOUT_MINUTES} min.`), true);
        item('Ban from room', 'ban', () => ask({
          label: `Ban ${from} from this room until lifted`, value: 'Breaking the chat rules', submitText: 'Ban', danger: true,
          onSubmit: (reason) => act('ban', () => banFromRoom(room, from, 0, reason), `${from} is banned from this room.`).then(closeMenu),
        }), true);
        item('Kick', 'kick', () => now('kick', () => kick(room, from), `${from} was kicked.`), true);
      }
    }
    if (!items.childElementCount) items.append(h('p', { class: 'chat-menu-none hint' }, 'Nothing to do here.'));
    li.append(el);
    li.classList.add('menu-open');
    btn.setAttribute('aria-expanded', 'true');
    const first = items.querySelector('button');
    if (first) first.focus({ preventScroll: true });
    // Keep the menu in view when it opens on the last lines.
    el.scrollIntoView({ block: 'nearest' });
  }

  list.addEventListener('click', (e) => {
    const btn = e.target.closest('.chat-menu-btn');
    if (!btn || !me) return;
    const li = btn.closest('li');
    if (menu && menu.li === li) closeMenu();
    else openMenu(li, btn);
  });
  document.addEventListener('click', (e) => {
    // A click elsewhere closes a plain menu; a started reason form stays.
    if (menu && !menu.el.contains(e.target) && !e.target.closest('.chat-menu-btn') && !menu.el.querySelector('form')) closeMenu();
  });
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && menu) {
      const btn = menu.btn;
      closeMenu();
      btn.focus();
    }
  });

  renderInput();
  renderAuth();
  fetchMe().then(({ user: u }) => {
    user = u;
    me = u ? u.name : null;
    userKnown = true;
    renderInput();
    renderAuth();
    if (me) review.start(); // the server tells whether this user moderates the room
  });
  if (room) {
    api(`/api/rooms/${encodeURIComponent(room)}`).then((r) => {
      owner = String(r?.owner?.name || '');
      renderAuth();
    }, () => {});
  }
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
  // act: for the watch page's "Report room", so its outcome lands in state.chat.moderation.
  return { socket, danmaku, state: chat, act };
}
