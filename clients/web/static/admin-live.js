// The admins' live wall, /admin/live: every live room, private ones too (GET
// /api/admin/live, most viewers first), as a tile with its current snapshot
// (fetched again every REFRESH_MS under a new query, so no cache answers),
// title, streamer, viewers and how long it has been live, and three actions:
// "End broadcast" (POST /api/admin/rooms/{room}/end; only the node the room
// is live on can), "Ban streamer" (POST /api/admin/users/{name}/ban with a
// reason) and "History": the pictures kept of the room (GET
// /api/admin/rooms/{room}/snapshots, newest first, "Older" for the next
// page) as a strip of thumbnails with their times. Anyone who is not an
// admin is told so in words (the API answers 401 or 403).
//
// window.state (read by tests):
//   status    "loading" until the first answer, then "ready" | "denied" | "error"
//   error     the message shown ("" when none)
//   rooms     number of tiles shown
//   pictures  number of tiles whose current snapshot has loaded
//   user      the logged-in user's name, or null
//   history   {room, status: "closed" | "loading" | "ready" | "error", shown,
//              loaded, error}: the History panel
//   action    the last action: {room, action: "end" | "ban", status: "busy" |
//              "done" | "error", error}

import { api, displayName, fetchMe, loginURL, renderAccount } from './api.js';
import { errorMessage, every, fmtCount, fmtSince, h, hueOf, icon, initialOf, plural, renderKeyed, setText, updateRoomFace } from './common.js';

const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);
const ui = {
  account: $('account'),
  grid: $('wall-grid'),
  empty: $('empty'),
  denied: $('denied'),
  deniedTitle: $('denied-title'),
  deniedText: $('denied-text'),
  error: $('wall-error'),
  count: $('live-count'),
  history: $('history'),
  historyTitle: $('history-title'),
  historyNote: $('history-note'),
  historyStrip: $('history-strip'),
  historyView: $('history-view'),
  historyBig: $('history-big'),
  historyCaption: $('history-caption'),
  historyError: $('history-error'),
  historyMore: $('history-more'),
};

const state = {
  status: 'loading',
  error: '',
  rooms: 0,
  pictures: 0,
  user: null,
  history: { room: '', status: 'closed', shown: 0, loaded: 0, error: '' },
  action: null,
};
window.state = state;

/** id → {el, refs, last}: the tile of each room shown. */
const tiles = new Map();

const enc = encodeURIComponent;

/** A time as "14:05:09", with the day when it is not today. */
function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`;
}

function countPictures() {
  let n = 0;
  for (const t of tiles.values()) if (t.refs.img.dataset.loaded === 'true') n++;
  state.pictures = n;
}

// ---------------------------------------------------------------------------
// Tiles

function createTile(id) {
  const initial = h('span', { class: 'cover-initial', 'aria-hidden': 'true' });
  const img = h('img', { alt: '', decoding: 'async' });
  const note = h('span', { class: 'cover-note', hidden: true });
  img.addEventListener('load', () => {
    img.dataset.loaded = 'true';
    note.hidden = true;
    countPictures();
  });
  const viewers = h('span', { class: 'viewers-n' });
  const uptime = h('span', { class: 'cover-uptime' });
  const privateBadge = h('span', { class: 'badge private' }, 'Private');
  const title = h('h2', { class: 'room-title' });
  const streamer = h('p', { class: 'room-streamer' });
  const where = h('p', { class: 'hint tile-where' });
  const link = h(
    'a',
    { class: 'room-link', href: `/watch/${enc(id)}`, target: '_blank', rel: 'noopener' },
    h('div', { class: 'cover' }, initial, img, note,
      h('span', { class: 'cover-badges' }, h('span', { class: 'badge live' }, 'LIVE'), privateBadge),
      h('span', { class: 'cover-viewers' }, icon('eye', 15), viewers),
      uptime),
    h('div', { class: 'room-body' }, title, streamer),
  );
  const end = h('button', { type: 'button', class: 'btn small danger', 'data-action': 'end' }, 'End broadcast');
  const ban = h('button', { type: 'button', class: 'btn small', 'data-action': 'ban' }, 'Ban streamer');
  const history = h('button', { type: 'button', class: 'btn small ghost', 'data-action': 'history' }, 'History');
  const confirm = h('form', { class: 'tile-confirm', hidden: true, novalidate: true });
  const message = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const el = h('li', { class: 'room-card wall-tile', 'data-id': id }, link, where,
    h('div', { class: 'tile-actions' }, end, ban, history), confirm, message);
  const tile = { id, el, refs: { link, cover: link.firstChild, initial, img, note, viewers, uptime, privateBadge, title, streamer, where, end, ban, history, confirm, message }, last: {}, room: null };
  end.addEventListener('click', () => askEnd(tile));
  ban.addEventListener('click', () => askBan(tile));
  history.addEventListener('click', () => openHistory(tile.id, tile.room));
  return tile;
}

/** Sets what changed since the tile's last update; the picture every time. */
function updateTile(tile, room) {
  const r = tile.refs;
  tile.room = room;
  const who = displayName(room.streamer) || room.id;
  const next = {
    title: String(room.title || '').trim() || `${who} is live`,
    streamer: `${who} · @${room.streamer?.name || room.id}`,
    initial: initialOf(who, room.title, room.id),
    hue: hueOf(room.id),
    viewers: Number(room.viewers) || 0,
    uptime: fmtSince(room.started_at),
    private: !!room.private,
    here: !!room.here,
    publishers: Number(room.publishers) || 0,
  };
  const was = tile.last;
  updateRoomFace(r, next, was);
  if (next.viewers !== was.viewers) {
    setText(r.viewers, fmtCount(next.viewers));
    r.viewers.parentElement.title = plural(next.viewers, 'viewer');
  }
  if (next.uptime !== was.uptime) {
    setText(r.uptime, next.uptime ? `live ${next.uptime}` : '');
    r.uptime.hidden = !next.uptime;
  }
  if (next.private !== was.private) r.privateBadge.hidden = !next.private;
  if (next.here !== was.here || next.publishers !== was.publishers) {
    const parts = [];
    if (next.publishers > 1) parts.push(`${next.publishers} on stage`);
    if (!next.here) parts.push('live on another node');
    setText(r.where, parts.join(' · '));
    r.where.hidden = parts.length === 0;
    r.end.disabled = !next.here;
    r.end.title = next.here ? 'End this broadcast now, every co-host' : 'Live on another node: only the wall of that node can end it';
  }
  r.history.hidden = !room.snapshots_url;
  if (room.snapshot_url) {
    loadPicture(tile, `${room.snapshot_url}?t=${Date.now()}`);
  } else {
    r.img.removeAttribute('src');
    delete r.img.dataset.loaded;
    setText(r.note, 'Snapshots are off on this server');
    r.note.hidden = false;
  }
  tile.last = next;
}

/**
 * Fetches a new picture aside and shows it once it has loaded, so the one
 * shown never turns into a broken image; until a first one loads (a room
 * that just went live has none yet) the placeholder says so.
 */
function loadPicture(tile, url) {
  const next = new Image();
  tile.pending = next;
  next.onload = () => {
    if (tile.pending === next) tile.refs.img.src = url;
  };
  next.onerror = () => {
    if (tile.pending !== next || tile.refs.img.dataset.loaded === 'true') return;
    setText(tile.refs.note, 'No picture yet');
    tile.refs.note.hidden = false;
  };
  next.src = url;
}

function renderRooms(rooms) {
  state.rooms = renderKeyed(ui.grid, tiles, rooms, createTile, updateTile);
  countPictures();
  ui.empty.hidden = tiles.size > 0;
  ui.grid.hidden = tiles.size === 0;
  setText(ui.count, tiles.size > 0 ? plural(tiles.size, 'room') : '');
}

// ---------------------------------------------------------------------------
// Actions: a small form in the tile asks first

function closeConfirm(tile) {
  tile.refs.confirm.hidden = true;
  tile.refs.confirm.replaceChildren();
}

function showMessage(tile, text) {
  setText(tile.refs.message, text);
  tile.refs.message.hidden = !text;
}

/** Opens the tile's confirmation: text, an optional reason field, and buttons. */
function ask(tile, { text, reason = false, label, run }) {
  const form = tile.refs.confirm;
  showMessage(tile, '');
  const input = reason
    ? h('input', { type: 'text', maxlength: '200', placeholder: 'Reason (the streamer is shown it)', 'aria-label': 'Reason', required: true })
    : null;
  const yes = h('button', { type: 'submit', class: 'btn small danger' }, label);
  const no = h('button', { type: 'button', class: 'btn small ghost' }, 'Cancel');
  no.addEventListener('click', () => closeConfirm(tile));
  form.onsubmit = async (e) => {
    e.preventDefault();
    const value = input ? input.value.trim() : '';
    if (input && !value) {
      showMessage(tile, 'Give a reason: the streamer is shown it.');
      input.focus();
      return;
    }
    yes.disabled = no.disabled = true;
    try {
      await run(value);
      closeConfirm(tile);
    } catch (err) {
      yes.disabled = no.disabled = false;
      showMessage(tile, errorMessage(err));
    }
  };
  form.replaceChildren(h('p', { class: 'tile-confirm-text' }, text), ...(input ? [input] : []), h('div', { class: 'button-row' }, yes, no));
  form.hidden = false;
  (input || yes).focus();
}

/** Runs an admin action on a room, keeping state.action. */
async function act(tile, action, call) {
  state.action = { room: tile.id, action, status: 'busy', error: '' };
  try {
    await call();
    state.action.status = 'done';
  } catch (err) {
    state.action = { room: tile.id, action, status: 'error', error: errorMessage(err) };
    throw err;
  }
  refreshNow();
}

function askEnd(tile) {
  ask(tile, {
    text: `End ${tile.last.title ? `“${tile.last.title}”` : 'this broadcast'} now? Every co-host's stream stops; the streamer may go live again.`,
    label: 'End now',
    run: () => act(tile, 'end', () => api(`/api/admin/rooms/${enc(tile.id)}/end`, { method: 'POST' })),
  });
}

function askBan(tile) {
  const name = tile.room?.streamer?.name || tile.id;
  ask(tile, {
    text: `Ban @${name} from the platform? Their broadcast ends and they are logged out everywhere.`,
    reason: true,
    label: 'Ban',
    run: (reason) => act(tile, 'ban', () => api(`/api/admin/users/${enc(name)}/ban`, { method: 'POST', body: { reason } })),
  });
}

// ---------------------------------------------------------------------------
// History: the pictures kept of a room

let historyNext = '';
let historyGen = 0;

function showBig(s) {
  ui.historyBig.src = s.url;
  setText(ui.historyCaption, fmtTime(s.taken_at));
  ui.historyView.hidden = false;
  for (const b of ui.historyStrip.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.name === s.name));
}

function thumb(s) {
  const img = h('img', { src: s.url, alt: `Snapshot at ${fmtTime(s.taken_at)}`, loading: 'lazy', decoding: 'async' });
  img.addEventListener('load', () => {
    img.dataset.loaded = 'true';
    state.history.loaded = ui.historyStrip.querySelectorAll('img[data-loaded="true"]').length;
  });
  const b = h('button', { type: 'button', class: 'history-thumb', 'data-name': s.name, 'aria-pressed': 'false' },
    img, h('time', { datetime: s.taken_at }, fmtTime(s.taken_at)));
  b.addEventListener('click', () => showBig(s));
  return h('li', {}, b);
}

async function loadHistory(url, gen) {
  state.history.status = 'loading';
  ui.historyMore.disabled = true;
  try {
    const out = await api(url);
    if (gen !== historyGen) return;
    const list = Array.isArray(out?.snapshots) ? out.snapshots : [];
    ui.historyStrip.append(...list.map(thumb));
    if (!ui.historyView.hidden || list.length === 0) {
      /* keep the picture shown */
    } else if (ui.historyStrip.children.length === list.length) {
      showBig(list[0]);
    }
    historyNext = typeof out?.next === 'string' ? out.next : '';
    state.history.shown = ui.historyStrip.children.length;
    state.history.status = 'ready';
    setText(ui.historyNote, state.history.shown === 0
      ? 'No pictures kept of this room yet: one is kept every minute or so while it is live.'
      : `${plural(state.history.shown, 'picture')}, newest first. Select one to see it larger.`);
  } catch (err) {
    if (gen !== historyGen) return;
    state.history.status = 'error';
    state.history.error = errorMessage(err);
    setText(ui.historyError, `Could not load the pictures: ${state.history.error}`);
    ui.historyError.hidden = false;
  } finally {
    if (gen === historyGen) {
      ui.historyMore.hidden = !historyNext;
      ui.historyMore.disabled = false;
    }
  }
}

function openHistory(id, room) {
  historyGen++;
  historyNext = '';
  state.history = { room: id, status: 'loading', shown: 0, loaded: 0, error: '' };
  const who = room ? displayName(room.streamer) || id : id;
  setText(ui.historyTitle, `History of ${who}`);
  setText(ui.historyNote, 'Loading…');
  ui.historyStrip.replaceChildren();
  ui.historyView.hidden = true;
  ui.historyBig.removeAttribute('src');
  ui.historyError.hidden = true;
  ui.historyMore.hidden = true;
  if (!ui.history.open) ui.history.showModal();
  loadHistory(room?.snapshots_url || `/api/admin/rooms/${enc(id)}/snapshots`, historyGen);
}

ui.historyMore.addEventListener('click', () => {
  if (historyNext) loadHistory(historyNext, historyGen);
});
$('history-close').addEventListener('click', () => ui.history.close());
ui.history.addEventListener('close', () => {
  historyGen++;
  state.history.status = 'closed';
});
// A click on the backdrop (outside the panel) closes it too.
ui.history.addEventListener('click', (e) => {
  if (e.target === ui.history) ui.history.close();
});

// ---------------------------------------------------------------------------
// Refresh every 5 s (paused while the page is hidden)

function deny(err) {
  state.status = 'denied';
  state.error = errorMessage(err);
  ui.grid.hidden = true;
  ui.empty.hidden = true;
  if (err.status === 401) {
    setText(ui.deniedTitle, 'Log in as an admin');
    ui.deniedText.replaceChildren('The live wall is for admins. ', h('a', { href: loginURL() }, 'Log in'), ' with an admin account to see it.');
  } else {
    setText(ui.deniedTitle, 'Admins only');
    setText(ui.deniedText, `The live wall is for admins, and ${state.user ? `@${state.user}` : 'this account'} is not one. Ask an admin if you need to see it.`);
  }
  ui.denied.hidden = false;
}

/** One refresh of the wall; false (an answer that will not change) stops them. */
async function refresh() {
  let again = true;
  try {
    const data = await api('/api/admin/live');
    await userShown;
    renderRooms(Array.isArray(data?.rooms) ? data.rooms : []);
    state.status = 'ready';
    state.error = '';
  } catch (err) {
    await userShown;
    if (err.status === 401 || err.status === 403) {
      deny(err);
      again = false;
    } else {
      state.status = 'error';
      state.error = errorMessage(err);
      if (tiles.size === 0) ui.empty.hidden = true;
    }
  } finally {
    ui.grid.setAttribute('aria-busy', 'false');
    const failed = state.status === 'error';
    setText(ui.error, failed ? `Could not load the live rooms: ${state.error} Retrying…` : '');
    ui.error.hidden = !failed;
  }
  return again;
}

function showUser(user) {
  state.user = user ? user.name : null;
  renderAccount(ui.account, user, { onLogout: () => location.assign('/') });
}

const userShown = fetchMe().then(({ user }) => showUser(user));
const refreshNow = every(REFRESH_MS, refresh);
