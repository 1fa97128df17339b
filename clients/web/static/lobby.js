// The lobby, /: the rooms live now (GET /api/rooms, already sorted by viewers,
// most first) as a grid of cards that link to /watch/{id}, refreshed every
// 5 s. Cards are keyed by room id and updated in place, so a refresh changes
// only the text that changed and moves cards only when the order changed.
// A room without a cover shows its live snapshot (GET
// /api/rooms/{id}/snapshot.jpg), fetched again every SNAPSHOT_MS.
// The top bar shows "Log in" / "Sign up", or the user with "Log out" (and
// "My studio" for streamers).
//
// window.state (read by tests):
//   status  "loading" until the first answer, then "ready" | "error"
//   rooms   number of cards shown
//   user    the logged-in user's name, or null
//   error   the message shown when the last refresh failed ("" when none)
//   top     names of this week's top streamers by earnings, as shown

import { api, displayName, fetchMe, renderAccount } from './api.js';
import { errorMessage, every, fmtCount, fmtSince, h, hueOf, icon, initialOf, plural, renderKeyed, safeImageURL, setText, updateRoomFace } from './common.js';

const REFRESH_MS = 5000;
const SNAPSHOT_MS = 10000;

/** A live room's snapshot: a new URL every SNAPSHOT_MS, so it is fetched again. */
const snapshotURL = (id) => `/api/rooms/${encodeURIComponent(id)}/snapshot.jpg?t=${Math.floor(Date.now() / SNAPSHOT_MS)}`;

const $ = (id) => document.getElementById(id);
const ui = {
  account: $('account'),
  grid: $('room-grid'),
  empty: $('empty'),
  error: $('lobby-error'),
  count: $('live-count'),
  top: $('top-streamers'),
  topList: $('top-list'),
};

const state = { status: 'loading', rooms: 0, user: null, error: '', top: [] };
window.state = state;

/** id → {el, refs, last}: the card of each room shown. */
const cards = new Map();

// ---------------------------------------------------------------------------
// Cards

function createCard(id) {
  const initial = h('span', { class: 'cover-initial', 'aria-hidden': 'true' });
  // The image fades in over the placeholder once it loads (data-loaded); a
  // missing or broken image leaves the placeholder.
  const img = h('img', { alt: '', loading: 'lazy', decoding: 'async' });
  img.addEventListener('load', () => (img.dataset.loaded = 'true'));
  img.addEventListener('error', () => delete img.dataset.loaded);
  const viewers = h('span', { class: 'viewers-n' });
  const viewersLabel = h('span', { class: 'sr-only' });
  const uptime = h('span', { class: 'cover-uptime' });
  const title = h('h2', { class: 'room-title' });
  const streamer = h('p', { class: 'room-streamer' });
  const category = h('span', { class: 'badge category' });
  const stage = h('span', { class: 'room-stage' });
  const link = h(
    'a',
    { class: 'room-link', href: `/watch/${encodeURIComponent(id)}` },
    h(
      'div',
      { class: 'cover' },
      initial,
      img,
      h('span', { class: 'badge live' }, 'LIVE'),
      h('span', { class: 'cover-viewers' }, icon('eye', 15), viewers, viewersLabel),
      uptime,
    ),
    h('div', { class: 'room-body' }, title, streamer, h('p', { class: 'room-tags' }, category, stage)),
  );
  const el = h('li', { class: 'room-card', 'data-id': id }, link);
  return { el, refs: { link, cover: link.firstChild, initial, img, viewers, viewersLabel, uptime, title, streamer, category, stage }, last: {} };
}

/** Sets what changed since the card's last update. */
function updateCard(card, room) {
  const r = card.refs;
  const who = displayName(room.streamer) || room.id;
  const next = {
    title: String(room.title || '').trim() || `${who} is live`,
    streamer: who,
    initial: initialOf(who, room.title, room.id),
    hue: hueOf(room.id),
    cover: safeImageURL(room.cover_url) || snapshotURL(room.id),
    viewers: Number(room.viewers) || 0,
    category: String(room.category || '').trim(),
    uptime: fmtSince(room.started_at),
    publishers: Number(room.publishers) || 0,
  };
  const was = card.last;
  updateRoomFace(r, next, was);
  if (next.cover !== was.cover) {
    // A newer snapshot replaces the one shown once it has loaded.
    if (next.cover.split('?')[0] !== String(was.cover || '').split('?')[0]) delete r.img.dataset.loaded;
    r.img.hidden = !next.cover;
    if (next.cover) r.img.src = next.cover;
    else r.img.removeAttribute('src');
  }
  if (next.viewers !== was.viewers) {
    setText(r.viewers, fmtCount(next.viewers));
    setText(r.viewersLabel, next.viewers === 1 ? ' viewer' : ' viewers');
  }
  if (next.category !== was.category) {
    setText(r.category, next.category);
    r.category.hidden = !next.category;
  }
  if (next.uptime !== was.uptime) {
    setText(r.uptime, next.uptime);
    r.uptime.hidden = !next.uptime;
    r.uptime.title = next.uptime ? `Live for ${next.uptime}` : '';
  }
  if (next.publishers !== was.publishers) {
    setText(r.stage, next.publishers > 1 ? `${next.publishers} on stage` : '');
    r.stage.hidden = next.publishers <= 1;
  }
  card.last = next;
}

/** Shows rooms in the order given, reusing the cards of rooms already shown. */
function renderRooms(rooms) {
  state.rooms = renderKeyed(ui.grid, cards, rooms, createCard, updateCard);
  ui.empty.hidden = cards.size > 0;
  ui.grid.hidden = cards.size === 0;
  setText(ui.count, cards.size > 0 ? plural(cards.size, 'room') : '');
}

// ---------------------------------------------------------------------------
// Refresh every 5 s (paused while the page is hidden)

async function refresh() {
  try {
    const data = await api('/api/rooms');
    loadTop();
    await userShown; // "ready" means the top bar is final too
    renderRooms(Array.isArray(data?.rooms) ? data.rooms : []);
    state.status = 'ready';
    state.error = '';
  } catch (err) {
    await userShown;
    state.status = 'error';
    state.error = errorMessage(err);
    if (cards.size === 0) ui.empty.hidden = true;
  } finally {
    ui.grid.setAttribute('aria-busy', 'false');
    setText(ui.error, state.error ? `Could not load the live rooms: ${state.error} Retrying…` : '');
    ui.error.hidden = !state.error;
  }
}

// This week's top streamers by earnings, with every refresh.
async function loadTop() {
  try {
    const out = await api('/api/leaderboards/streamers?period=week&limit=10');
    const entries = Array.isArray(out?.entries) ? out.entries : [];
    state.top = entries.map((e) => String(e.user?.name || ''));
    ui.topList.replaceChildren(...entries.map((e) => {
      const name = String(e.user?.name || '');
      return h('li', { class: 'top-item' },
        h('a', { href: `/watch/${encodeURIComponent(name)}` },
          h('span', { class: 'top-rank' }, String(e.rank)),
          h('span', { class: 'top-name' }, displayName(e.user || {})),
          h('span', { class: 'top-score' }, `${fmtCount(Number(e.score) || 0)} earned`)));
    }));
    ui.top.hidden = entries.length === 0;
  } catch {
    /* the lobby works without it */
  }
}

// ---------------------------------------------------------------------------

function showUser(user) {
  state.user = user ? user.name : null;
  renderAccount(ui.account, user, { onLogout: () => showUser(null) });
}

const userShown = fetchMe().then(({ user }) => showUser(user));
every(REFRESH_MS, refresh);
