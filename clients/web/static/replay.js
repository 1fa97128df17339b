// The replay page (/replay/{id}): a recorded broadcast played in a <video>
// from /replay-media/{id}/replay.mp4 (one MP4 with its index in front, so
// every browser plays and seeks it with range requests; no script player),
// and, for the room's streamer or an admin, a button that deletes it.
// The watch page lists a room's past broadcasts with pastBroadcasts().
//
// window.state (for tests): { status: "loading" | "ready" | "error", error }

import { api, fetchMe, isAdmin, renderAccount } from './api.js';
import { errorMessage, h, setText } from './common.js';

/** 75 s → "1:15", 3725 s → "1:02:05". */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

function fmtWhen(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

/**
 * Fills list (a <ul>) with the room's past broadcasts, each a link to its
 * replay page; resolves to how many there are. Errors leave it empty.
 */
export async function pastBroadcasts(room, list) {
  let recs = [];
  try {
    recs = (await api(`/api/rooms/${encodeURIComponent(room)}/recordings`)).recordings.filter((r) => r.replay_url);
  } catch {
    recs = [];
  }
  list.replaceChildren(...recs.map((r) => h('li', { class: 'past-item' },
    h('a', { href: r.replay_url }, fmtWhen(r.started_at)), ' ', h('span', { class: 'hint' }, fmtDuration(r.duration_ms)))));
  return recs.length;
}

async function main() {
  const state = { status: 'loading', error: '' };
  window.state = state;
  const $ = (id) => document.getElementById(id);
  const page = $('replay-page');
  const fail = (err) => {
    state.status = 'error';
    state.error = errorMessage(err);
    setText($('replay-error'), state.error);
    $('replay-error').hidden = false;
    page.removeAttribute('aria-busy');
  };
  const id = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
  let rec;
  try {
    rec = await api(`/api/recordings/${encodeURIComponent(id)}`);
  } catch (err) {
    fail(err);
    return;
  }
  document.title = `${rec.room} · replay · onair`;
  setText($('replay-title'), `${rec.room} — past broadcast`);
  const roomLink = $('replay-room');
  roomLink.href = `/watch/${encodeURIComponent(rec.room)}`;
  setText(roomLink, rec.room);
  setText($('replay-when'), fmtWhen(rec.started_at));
  setText($('replay-duration'), fmtDuration(rec.duration_ms));
  const video = $('replay-video');
  video.addEventListener('error', () => fail(new Error('This recording cannot be played here.')));
  if (rec.media_url) video.src = rec.media_url;
  state.status = 'ready';
  page.removeAttribute('aria-busy');

  const { user } = await fetchMe();
  renderAccount($('account'), user, { onLogout: () => location.reload() });
  if (user && (user.name === rec.room || isAdmin(user))) {
    const del = $('replay-delete');
    del.hidden = false;
    del.addEventListener('click', async () => {
      if (!confirm('Delete this recording for good?')) return;
      try {
        await api(`/api/recordings/${encodeURIComponent(rec.id)}`, { method: 'DELETE' });
        location.href = roomLink.href;
      } catch (err) {
        fail(err);
      }
    });
  }
}

if (document.body?.classList.contains('page-replay')) main();
