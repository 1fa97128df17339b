// Private messages, /messages: a two-pane messenger. On the left the
// conversations (GET /api/dm: the other user, the last message, when, and how
// many of theirs are unread, most recent first); on the right the open one
// (GET /api/dm/{name}: 50 a page newest first, ?before=<id> for older ones;
// shown oldest at the top) and a composer (POST /api/dm/{name}; Enter sends,
// Shift+Enter starts a new line). Below 720 px one pane shows at a time, with
// a back button.
//
// New messages arrive live on GET /ws/me (inbox.js), to every tab of both
// users; after a reconnect the list and the open conversation are asked
// again. A conversation that is open and in view is marked read
// (POST /api/dm/{name}/read); the server then sends a dm_read envelope to
// both users' tabs, so my messages show "Read" at once and my other tabs
// clear the unread count.
//
// ?to=<name> opens a conversation with that user, a new one too. Anonymous
// visitors go to /login?next=/messages. Blocking (POST / DELETE
// /api/users/{name}/block) is in the conversation's header; the list and
// the conversation say whom I block ("blocked").
//
// A voice message (the record button beside Send: hold it, speak, release)
// is uploaded with POST /api/voice?to=<name> and sent with
// POST /api/dm/{name} {"voice": {"id"}}; the conversation shows it as a
// player (voice.js), the list as "Voice message (0:07)".
//
// Text from users is set with textContent only, never parsed as HTML.
//
// window.state (read by tests):
//   status        "loading" | "ready" | "error"
//   user          my name, or null
//   socket        "connecting" | "open" | "closed" (GET /ws/me)
//   view          "list" | "thread": the pane a narrow screen shows
//   conversations [{name, unread, last}] as listed (last: the last text)
//   unreadTotal   the unread messages in all conversations
//   open          the open conversation's user name, or null
//   loading       the open conversation's first page is on its way
//   messages      messages shown in the open conversation
//   older         whether older messages can be loaded
//   lastText      the text of the newest message shown ("" when none)
//   lastStatus    "Sent" | "Read" under my newest message, "" when none
//   blocked       whether I block the open conversation's user
//   sendError     the error under the composer, "" when none
//   reads         conversations marked read by this page
//   lastVoice     the clip id of the newest message shown when it is a voice message, else ""
//   voice         the record button's {status, lastError, sent} (see voice.js)

import { api, displayName, fetchMe, loginURL, NAME_PATTERN, renderAccount } from './api.js';
import { charCount } from './chat.js';
import { errorMessage, h, hueOf, icon, initialOf, param, setText } from './common.js';
import { countUnreadHere, listenDMs, setUnreadTotal, sumUnread } from './inbox.js';
import { fmtDuration, mountRecorder, voiceOf, voicePlayer } from './voice.js';

/** The server's limit, in characters (code points) after trimming. */
export const MAX_CHARS = 1000;
const TICK_MS = 60_000;
const RUN_GAP_MS = 5 * 60_000; // messages closer than this from one sender share one time
const MAX_INPUT_PX = 160;
const DAY_MS = 86_400_000;
const wide = matchMedia('(min-width: 720px)');

countUnreadHere();

const $ = (id) => document.getElementById(id);
const ui = {
  dm: $('dm'),
  account: $('account'),
  newForm: $('dm-new'),
  to: $('dm-to'),
  newError: $('dm-new-error'),
  error: $('dm-error'),
  convs: $('dm-convs'),
  listEmpty: $('dm-list-empty'),
  placeholder: $('dm-placeholder'),
  head: $('dm-thread-head'),
  back: $('dm-back'),
  avatar: $('dm-avatar'),
  whoName: $('dm-who-name'),
  whoHandle: $('dm-who-handle'),
  block: $('dm-block'),
  scroll: $('dm-scroll'),
  older: $('dm-older'),
  note: $('dm-thread-note'),
  messages: $('dm-messages'),
  blockedNote: $('dm-blocked-note'),
  composer: $('dm-composer'),
  input: $('dm-input'),
  send: $('dm-send'),
  sendError: $('dm-send-error'),
  count: $('dm-count'),
};

const state = {
  status: 'loading', user: null, socket: 'connecting', view: 'list', conversations: [], unreadTotal: 0,
  open: null, loading: false, messages: 0, older: false, lastText: '', lastStatus: '', blocked: false, sendError: '', reads: 0,
};
window.state = state;

let me = null; // the logged-in user
/** name → {person: {name, display_name}, last: message | null, unread} */
const convs = new Map();
/** The open conversation: {name, person, msgs: Map id → message, next: cursor or "", loading, error}. */
let thread = null;

// A message as the page keeps it: {id, at (ms), mine, text, read, voice}
// (voice: {id, durationMs} of a voice message, else null). ids are ULIDs, so
// they sort by time.

function fromAPI(m) {
  return { id: String(m.id), at: Date.parse(m.at) || 0, mine: m.from?.name === me.name, text: String(m.text ?? ''), read: !!m.read, voice: voiceOf(m.voice) };
}

function fromEnvelope(env) {
  return { id: String(env.id), at: Number(env.ts) || Date.now(), mine: env.from?.name === me.name, text: String(env.body.text ?? ''), read: false, voice: voiceOf(env.body.voice) };
}

const newest = (a, b) => (a && (!b || a.id > b.id) ? a : b);

/** What a message says in one line: its text, or "Voice message (0:07)". */
const summary = (m) => (m.voice ? `Voice message (${fmtDuration(m.voice.durationMs)})` : m.text);

// ---------------------------------------------------------------------------
// Formatting

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

const daysAgo = (ms, now) => Math.round((startOfDay(now) - startOfDay(ms)) / DAY_MS);

function shortDate(ms, now, opts = {}) {
  const year = new Date(ms).getFullYear() !== new Date(now).getFullYear() ? 'numeric' : undefined;
  return new Date(ms).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year, ...opts });
}

/** When, for the list: "now", "5 min", "3 h", "Yesterday", "Mon", "12 Mar". */
export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return '';
  const min = Math.max(0, Math.floor((now - ms) / 60_000));
  if (min < 1) return 'now';
  if (min < 60) return `${min} min`;
  const days = daysAgo(ms, now);
  if (days === 0) return `${Math.floor(min / 60)} h`;
  if (days === 1) return 'Yesterday';
  if (days < 7) return new Date(ms).toLocaleDateString(undefined, { weekday: 'short' });
  return shortDate(ms, now);
}

/** A day's heading in a conversation: "Today", "Yesterday", "Mon, 12 Mar". */
function dayLabel(ms, now = Date.now()) {
  const days = daysAgo(ms, now);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return shortDate(ms, now, { weekday: 'short' });
}

const clock = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

function fillAvatar(el, person) {
  setText(el, initialOf(displayName(person), person.name));
  el.style.setProperty('--hue', String(hueOf(person.name)));
  return el;
}

// ---------------------------------------------------------------------------
// The conversation list

let drawnList = ''; // what the list shows, to redraw it only when that changes

function renderList() {
  const key = (c) => (c.last ? c.last.id : '');
  const sorted = [...convs.values()].sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  const drawn = JSON.stringify([thread?.name, sorted.map((c) => [displayName(c.person), key(c), c.unread, fmtAgo(c.last?.at)])]);
  if (drawn !== drawnList) {
    drawnList = drawn;
    const focused = document.activeElement?.closest?.('.dm-conv')?.dataset.name;
    ui.convs.replaceChildren(...sorted.map(convItem));
    if (focused) ui.convs.querySelector(`.dm-conv[data-name="${CSS.escape(focused)}"]`)?.focus();
  }
  ui.listEmpty.hidden = sorted.length > 0 || state.status === 'loading';
  state.conversations = sorted.map((c) => ({ name: c.person.name, unread: c.unread, last: c.last ? summary(c.last) : '' }));
  const total = sumUnread(sorted);
  state.unreadTotal = total;
  setUnreadTotal(total);
  document.title = `${total ? `(${total}) ` : ''}Messages · onair`;
}

function convItem(c) {
  const name = c.person.name;
  const preview = c.last ? `${c.last.mine ? 'You: ' : ''}${summary(c.last)}` : 'No messages yet';
  const bottom = h('span', { class: 'dm-conv-bottom' }, h('span', { class: 'dm-conv-preview' }, preview));
  if (c.unread) {
    bottom.append(h('span', { class: 'dm-unread', title: `${c.unread} unread` }, c.unread > 99 ? '99+' : String(c.unread)),
      h('span', { class: 'sr-only' }, `, ${c.unread} unread`));
  }
  const time = h('time', { class: 'dm-conv-time' }, fmtAgo(c.last?.at));
  if (c.last?.at) time.setAttribute('datetime', new Date(c.last.at).toISOString());
  const btn = h('button', {
    type: 'button', class: 'dm-conv', 'data-name': name,
    'data-unread': c.unread > 0, 'aria-current': thread?.name === name ? 'true' : null,
  },
  fillAvatar(h('span', { class: 'avatar dm-conv-avatar', 'aria-hidden': 'true' }), c.person),
  h('span', { class: 'dm-conv-main' },
    h('span', { class: 'dm-conv-top' }, h('span', { class: 'dm-conv-name' }, displayName(c.person)), time),
    bottom));
  btn.addEventListener('click', () => openConversation(name));
  return h('li', {}, btn);
}

/** Asks for the list again and merges it with what arrived meanwhile. */
async function loadConversations() {
  let data;
  try {
    data = await api('/api/dm');
  } catch (err) {
    if (err.status === 401) return toLogin();
    showBanner(`Could not load your conversations: ${errorMessage(err)}`);
    return;
  }
  showBanner('');
  for (const c of Array.isArray(data?.conversations) ? data.conversations : []) {
    const person = c.with;
    if (!person || typeof person.name !== 'string') continue;
    const last = c.last && c.last.id ? fromAPI(c.last) : null;
    const local = convs.get(person.name);
    if (local?.last && (!last || local.last.id > last.id)) {
      local.person = person; // a message newer than this answer arrived meanwhile
      local.blocked = c.blocked === true;
      continue;
    }
    convs.set(person.name, { person, last, unread: Math.max(0, Number(c.unread) || 0), blocked: c.blocked === true });
  }
  if (thread) {
    const c = convs.get(thread.name);
    if (c) {
      thread.person = c.person;
      if (c.last?.mine && c.last.read) readUpTo(c.last.id);
      renderHeader();
    }
  }
  renderList();
  markReadIfInView();
}

function showBanner(text) {
  setText(ui.error, text);
  ui.error.hidden = !text;
}

// ---------------------------------------------------------------------------
// The open conversation

function setView(view) {
  state.view = view;
  ui.dm.dataset.view = view;
}

const inView = () => !!thread && !document.hidden && (wide.matches || state.view === 'thread');

function normalizeName(raw) {
  return String(raw || '').trim().replace(/^@/, '').toLowerCase();
}

function showNewError(text) {
  setText(ui.newError, text);
  ui.newError.hidden = !text;
  ui.to.setAttribute('aria-invalid', String(!!text));
}

let openSeq = 0;
/** name → the unsent text of a conversation left for another. */
const drafts = new Map();

function keepDraft() {
  if (!thread) return;
  if (ui.input.value.trim()) drafts.set(thread.name, ui.input.value);
  else drafts.delete(thread.name);
}

/** Opens the conversation with name (a new one too); resolves when its first page is shown. */
async function openConversation(raw) {
  const name = normalizeName(raw);
  if (!NAME_PATTERN.test(name)) {
    showNewError('A user name is 3–32 characters: lowercase letters, digits, - and _.');
    return false;
  }
  if (name === me.name) {
    showNewError('That is you: choose someone else to write to.');
    return false;
  }
  showNewError('');
  if (thread?.name === name && !thread.error) {
    setView('thread');
    markReadIfInView();
    return true;
  }
  keepDraft();
  const seq = ++openSeq;
  const known = convs.get(name);
  thread = { name, person: known ? known.person : { name, display_name: '' }, msgs: new Map(), next: '', loading: true, error: '' };
  history.replaceState(null, '', `/messages?to=${encodeURIComponent(name)}`);
  setView('thread');
  clearSendError();
  ui.input.value = drafts.get(name) || '';
  renderHeader();
  renderThread('bottom');
  renderList();
  let page;
  try {
    page = await api(`/api/dm/${encodeURIComponent(name)}`);
  } catch (err) {
    if (seq !== openSeq) return false;
    if (err.status === 401) return toLogin();
    if (err.status === 404) {
      closeConversation();
      ui.to.value = name;
      showNewError(`There is no user called “${name}”.`);
      return false;
    }
    thread.error = `Could not load the messages: ${errorMessage(err)}`;
  }
  if (seq !== openSeq) return false;
  thread.loading = false;
  if (page) {
    addPage(page);
    setBlocked(name, page.blocked === true);
    if (page.with && typeof page.with.name === 'string') thread.person = page.with;
  }
  renderHeader();
  renderThread('bottom');
  markReadIfInView();
  if (wide.matches) ui.input.focus();
  return true;
}

function closeConversation() {
  keepDraft();
  openSeq++;
  thread = null;
  history.replaceState(null, '', '/messages');
  setView('list');
  renderHeader();
  renderList();
}

/** Adds a page of GET /api/dm/{name} to the open conversation. */
function addPage(page) {
  for (const m of Array.isArray(page?.messages) ? page.messages : []) {
    if (!m || !m.id) continue;
    const msg = fromAPI(m);
    thread.msgs.set(msg.id, msg);
    const other = msg.mine ? m.to : m.from;
    if (other && other.name === thread.name && !thread.person.display_name) thread.person = other;
  }
  thread.next = typeof page?.next === 'string' ? page.next : '';
}

async function loadOlder() {
  if (!thread || !thread.next || thread.loadingOlder) return;
  const t = thread;
  t.loadingOlder = true;
  ui.older.disabled = true;
  setText(ui.older, 'Loading…');
  try {
    const page = await api(`/api/dm/${encodeURIComponent(t.name)}?before=${encodeURIComponent(t.next)}`);
    if (thread !== t) return;
    addPage(page);
    renderThread('older');
  } catch (err) {
    if (err.status === 401) return toLogin();
    if (thread === t) setText(ui.note, `Could not load older messages: ${errorMessage(err)}`);
  } finally {
    t.loadingOlder = false;
    ui.older.disabled = false;
    setText(ui.older, 'Load older messages');
  }
}

/** After a reconnect: the newest page again, merged (or instead, when there is a gap). */
async function refreshThread() {
  if (!thread || thread.loading) return;
  const t = thread;
  let page;
  try {
    page = await api(`/api/dm/${encodeURIComponent(t.name)}`);
  } catch {
    return; // the next reconnect tries again
  }
  if (thread !== t) return;
  const msgs = Array.isArray(page?.messages) ? page.messages : [];
  const gap = t.msgs.size > 0 && page.next && !msgs.some((m) => t.msgs.has(String(m.id)));
  const next = t.next;
  if (gap) t.msgs.clear();
  addPage(page);
  if (!gap && t.msgs.size > msgs.length) t.next = next; // older pages stay loaded
  renderThread();
}

const nearBottom = () => ui.scroll.scrollHeight - ui.scroll.scrollTop - ui.scroll.clientHeight < 60;

/**
 * Draws the open conversation. mode: "bottom" scrolls to the newest,
 * "older" keeps what is in view where it is while older messages appear
 * above it, "auto" follows new messages only when the newest were in view.
 */
function renderThread(mode = 'auto') {
  const el = ui.scroll;
  const fromBottom = el.scrollHeight - el.scrollTop;
  const stick = mode === 'bottom' || (mode === 'auto' && nearBottom());
  const list = thread ? [...thread.msgs.values()].sort((a, b) => (a.id < b.id ? -1 : 1)) : [];
  let lastMine = null;
  for (const m of list) if (m.mine) lastMine = m;
  const items = [];
  let day = -1;
  list.forEach((m, i) => {
    const d = startOfDay(m.at);
    if (d !== day) {
      day = d;
      items.push(h('li', { class: 'dm-day' }, dayLabel(m.at)));
    }
    const next = list[i + 1];
    const runEnd = !next || next.mine !== m.mine || next.at - m.at > RUN_GAP_MS || startOfDay(next.at) !== d;
    const li = h('li', { class: `dm-msg ${m.mine ? 'mine' : 'theirs'}`, 'data-id': m.id }, h('p', { class: 'dm-bubble' }, m.voice ? voicePlayer(m.voice) : m.text));
    if (runEnd || m === lastMine) {
      const meta = h('span', { class: 'dm-meta' }, h('time', { datetime: new Date(m.at).toISOString() }, clock(m.at)));
      if (m === lastMine) meta.append(' · ', h('span', { class: 'dm-status', 'data-status': m.read ? 'read' : 'sent' }, m.read ? 'Read' : 'Sent'));
      li.append(meta);
    } else {
      li.classList.add('in-run');
    }
    items.push(li);
  });
  ui.messages.replaceChildren(...items);

  let note = '';
  if (thread?.loading) note = 'Loading…';
  else if (thread?.error) note = thread.error;
  else if (thread && !list.length) note = `No messages yet. Say hello to ${displayName(thread.person)}!`;
  setText(ui.note, note);
  ui.note.hidden = !note;
  ui.older.hidden = !thread?.next;

  if (mode === 'older') el.scrollTop = el.scrollHeight - fromBottom;
  else if (stick) el.scrollTop = el.scrollHeight;

  const last = list[list.length - 1];
  Object.assign(state, {
    loading: !!thread?.loading, messages: list.length, older: !!thread?.next, lastText: last ? last.text : '', lastVoice: last?.voice ? last.voice.id : '',
    lastStatus: lastMine ? (lastMine.read ? 'Read' : 'Sent') : '',
  });
}

function renderHeader() {
  const open = !!thread;
  ui.placeholder.hidden = open;
  ui.head.hidden = !open;
  ui.scroll.hidden = !open;
  ui.composer.hidden = !open;
  state.open = open ? thread.name : null;
  state.blocked = open && isBlocked(thread.name);
  ui.blockedNote.hidden = !state.blocked;
  if (!open) return;
  const who = displayName(thread.person);
  setText(ui.whoName, who);
  setText(ui.whoHandle, `@${thread.name}`);
  fillAvatar(ui.avatar, thread.person);
  setText(ui.block, state.blocked ? 'Unblock' : 'Block');
  ui.block.setAttribute('aria-pressed', String(state.blocked));
  ui.block.title = state.blocked ? `Let ${who} send you messages again` : `Stop ${who} from sending you messages`;
  setText(ui.blockedNote, `You blocked ${who}. They cannot send you messages until you unblock them.`);
  renderComposer();
}

// ---------------------------------------------------------------------------
// Read

let reading = false;

/** Marks the open conversation read when it has unread messages and is in view. */
async function markReadIfInView() {
  if (!inView() || reading) return;
  const name = thread.name;
  const c = convs.get(name);
  if (!c || !c.unread) return;
  reading = true;
  c.unread = 0;
  renderList();
  try {
    await api(`/api/dm/${encodeURIComponent(name)}/read`, { method: 'POST' });
    state.reads++;
  } catch (err) {
    if (err.status === 401) return toLogin();
    // Still unread on the server: the next answer of the list says so.
  } finally {
    reading = false;
  }
  markReadIfInView(); // what arrived meanwhile
}

/** My messages up to id were read by the other user. */
function readUpTo(id) {
  let changed = false;
  for (const m of thread.msgs.values()) {
    if (m.mine && !m.read && m.id <= id) m.read = changed = true;
  }
  if (changed) renderThread();
}

/** dm_read: the other user read my messages, or I read theirs in another tab. */
function onRead(env) {
  const reader = env.from?.name;
  const other = env.body?.with?.name;
  if (typeof reader !== 'string' || typeof other !== 'string') return;
  if (reader === me.name) {
    const c = convs.get(other);
    if (c && c.unread) {
      c.unread = 0;
      renderList();
    }
    return;
  }
  if (other !== me.name) return;
  const c = convs.get(reader);
  if (c?.last?.mine) c.last.read = true;
  if (thread?.name === reader) readUpTo(env.id);
  renderList();
}

// ---------------------------------------------------------------------------
// Live messages

function onDM(env) {
  const msg = fromEnvelope(env);
  const other = msg.mine ? env.body.to : env.from;
  const name = other && typeof other.name === 'string' ? other.name : '';
  if (!name || !msg.id) return;
  let c = convs.get(name);
  const unknown = !c;
  if (!c) {
    c = { person: { name, display_name: '' }, last: null, unread: 0 };
    convs.set(name, c);
  }
  if (c.last && c.last.id === msg.id) return; // already shown (the answer to my send, or a repeat)
  c.last = newest(msg, c.last);
  if (!msg.mine) c.unread++;
  if (thread && thread.name === name && !thread.msgs.has(msg.id)) {
    thread.msgs.set(msg.id, msg);
    renderThread(msg.mine ? 'bottom' : 'auto');
  }
  markReadIfInView();
  renderList();
  if (unknown) loadConversations(); // for the display name
}

function onStatus(status) {
  state.socket = status;
  if (status === 'open' && state.status !== 'loading') {
    loadConversations();
    refreshThread();
  }
}

// ---------------------------------------------------------------------------
// Sending

let sending = false;
let overShown = false; // the "too long" error under the composer is the counter's
let retryUntil = 0;
let retryTimer = 0;

function renderComposer() {
  const n = charCount(ui.input.value.trim());
  const over = n > MAX_CHARS;
  setText(ui.count, `${n}/${MAX_CHARS}`);
  ui.count.dataset.over = String(over);
  if (over) showSendError(`Too long: a message is at most ${MAX_CHARS} characters (remove ${n - MAX_CHARS}).`);
  else if (overShown) showSendError('');
  overShown = over;
  ui.send.disabled = !thread || sending || n === 0 || over || Date.now() < retryUntil;
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, MAX_INPUT_PX)}px`;
}

function showSendError(text) {
  state.sendError = text;
  setText(ui.sendError, text);
  ui.sendError.hidden = !text;
}

function clearSendError() {
  clearInterval(retryTimer);
  retryUntil = 0;
  showSendError('');
}

/** Seconds to wait after a 429: Retry-After, else the "wait N s" of the detail. */
function retrySeconds(err) {
  if (err.retryAfter != null) return Math.max(1, err.retryAfter);
  const m = /wait ([\d.]+) ?s/.exec(err.detail || '');
  return m ? Math.max(1, Math.ceil(Number(m[1]))) : 5;
}

function slowDown(seconds) {
  clearInterval(retryTimer);
  retryUntil = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.ceil((retryUntil - Date.now()) / 1000);
    if (left <= 0) {
      clearSendError();
      renderComposer();
      return;
    }
    showSendError(`You are sending messages too fast. Try again in ${left} s.`);
  };
  tick();
  retryTimer = setInterval(tick, 1000);
}

/** The words for a refused message. */
function sendErrorText(err, person) {
  const who = displayName(person);
  if (err.status === 403 && err.title === 'Blocked') return `${who} does not accept messages from you.`;
  if (err.status === 400 && err.title === 'Message too long') return `Too long: a message is at most ${MAX_CHARS} characters.`;
  if (err.status === 400 && err.title === 'Empty message') return 'Type a message first.';
  if (err.status === 404) return `There is no user called “${person.name}” any more.`;
  return `Not sent: ${errorMessage(err)}`;
}

async function send() {
  if (!thread || sending) return;
  const text = ui.input.value.trim();
  const n = charCount(text);
  if (n === 0 || n > MAX_CHARS || Date.now() < retryUntil) return;
  const t = thread;
  sending = true;
  renderComposer();
  try {
    const env = await api(`/api/dm/${encodeURIComponent(t.name)}`, { method: 'POST', body: { text } });
    if (thread === t && ui.input.value.trim() === text) ui.input.value = '';
    clearSendError();
    if (env && env.id && env.body) onDM(env);
  } catch (err) {
    if (err.status === 401) return toLogin();
    if (thread !== t) return;
    if (err.status === 429) slowDown(retrySeconds(err));
    else showSendError(sendErrorText(err, t.person));
  } finally {
    sending = false;
    renderComposer();
  }
}

// ---------------------------------------------------------------------------
// Blocking

const isBlocked = (name) => (thread?.name === name ? !!thread.blocked : !!convs.get(name)?.blocked);

function setBlocked(name, on) {
  if (thread?.name === name) thread.blocked = on;
  const c = convs.get(name);
  if (c) c.blocked = on;
}

async function toggleBlock() {
  if (!thread) return;
  const t = thread;
  const on = !isBlocked(t.name);
  ui.block.disabled = true;
  try {
    await api(`/api/users/${encodeURIComponent(t.name)}/block`, { method: on ? 'POST' : 'DELETE' });
    setBlocked(t.name, on);
  } catch (err) {
    if (err.status === 401) return toLogin();
    if (thread === t) showSendError(`Could not ${on ? 'block' : 'unblock'} ${displayName(t.person)}: ${errorMessage(err)}`);
  } finally {
    ui.block.disabled = false;
  }
  if (thread === t) renderHeader();
}

// ---------------------------------------------------------------------------
// Start

function toLogin() {
  location.replace(loginURL());
}

ui.newForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (await openConversation(ui.to.value)) ui.to.value = '';
});
ui.to.addEventListener('input', () => showNewError(''));
ui.back.addEventListener('click', closeConversation);
ui.older.addEventListener('click', loadOlder);
ui.block.addEventListener('click', toggleBlock);
// Press and hold beside Send: the clip is uploaded for the open conversation,
// then sent as a private message.
const recorder = mountRecorder({
  where: () => (thread ? { to: thread.name } : null),
  send: async (clip) => {
    const env = await api(`/api/dm/${encodeURIComponent(clip.to)}`, { method: 'POST', body: { voice: { id: clip.id } } });
    clearSendError();
    if (env && env.id && env.body) onDM(env);
  },
  onError: (msg) => showSendError(msg),
  state: (state.voice = {}),
});
recorder.button.id = 'dm-voice';
ui.send.before(recorder.button);
ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});
ui.input.addEventListener('input', renderComposer);
ui.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && me) loadConversations();
});
wide.addEventListener('change', () => markReadIfInView());
setInterval(() => {
  if (me && !document.hidden) renderList(); // the times in the list
}, TICK_MS);

async function start() {
  const { user, status } = await fetchMe();
  if (!user) {
    if (status === 401) return toLogin();
    state.status = 'error';
    showBanner(status === 404 ? 'Private messages need accounts, which this server does not have.' : 'Cannot reach the server. Reload to try again.');
    return;
  }
  me = user;
  state.user = user.name;
  renderAccount(ui.account, user, { onLogout: () => location.assign('/') });
  renderHeader();
  await loadConversations();
  state.status = 'ready';
  ui.dm.setAttribute('aria-busy', 'false');
  renderList();
  listenDMs({ onDM, onRead, onStatus });
  const to = param('to');
  if (to) await openConversation(to);
}

ui.placeholder.prepend(icon('chat', 44));
start();
