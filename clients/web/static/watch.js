// The player page, /watch/{room}: WHEP (RFC 9725) with up to four stage slots,
// muted autoplay with a "Tap to unmute" button, a stats overlay, and the
// "room" data channel. When nothing is live (404) it shows the offline state
// and retries every few seconds; it reconnects when the connection fails.
// Under the player: the room's title, streamer, viewers and followers (GET
// /api/rooms/{room}, every 5 s) and a Follow button (POST / DELETE
// /api/users/{owner}/follow); logged out, Follow links to /login?next=.
// The quality menu (Auto / High / Mid / Low) and the small-player cap go to
// the session's WHEP layer resource (see layers.js); it shows only when the
// server advertised one.
//
// window.state (read by tests):
//   status        "connecting" | "live" | "offline" | "error"
//   framesDecoded sum over the video tracks of the current session
//   width, height of the largest playing slot
//   firstFrameMs  from the WHEP POST to framesDecoded > 0 (null before)
//   codec         e.g. "VP8", "H264"
//   packetsLost   audio + video
//   error         message of the last error ("" when none)
//   and: bitrateKbps, fps, latencyMs, rttMs, packetsLostPct, slots,
//        channel (data channel readyState), messages (received on it), attempts
//   title         the room's title from the API ("" when unknown)
//   following     whether the logged-in user follows the streamer
//   viewers, followers   from the API
//   user          the logged-in user's name, or null
//   roomInfo      "loading" | "ready" | "unknown" (404) | "error"
//   chat          the chat panel (GET /ws/rooms/{room}) and danmaku overlay:
//                 {status, messages, lastText, lastError, bullets, deleted,
//                 moderation: {lastAction, lastError, ...}} (see chat.js);
//                 "Report room" lands in moderation too (lastAction "report_room")
//   likes         the like button: {total, sent, pending, taps, hearts} (see likes.js)
//   gifts         the gift bar, effects and leaderboard (see gifts.js)
//   redpackets    red packets: {cards, created, lastResult, lastCoins, lastError} (see redpacket.js)
//   quality       the layer choice: {available, url, choice, caps (per slot: "low",
//                 "mid", "none", "" when idle), posts, lastRequest, error}
//                 (see layers.js)

import { api, displayName, fetchMe, loginURL, setFollowing } from './api.js';
import {
  endpointURL,
  errorMessage,
  exchangeSDP,
  fetchIceServers,
  fillStats,
  fmtKbps,
  fmtMs,
  fmtRes,
  h,
  hueOf,
  icon,
  initialOf,
  plural,
  roomFromPath,
  setPill,
  setText,
} from './common.js';
import { mountChat } from './chat.js';
import { mountLikes } from './likes.js';
import { mountRedPackets } from './redpacket.js';
import { mountGifts } from './gifts.js';
import { reasonForm, report } from './moderation.js';
import { pastBroadcasts } from './replay.js';
import { RoomChannel } from './room-channel.js';
import { Stage } from './stage.js';
import { LayerControl } from './layers.js';

const OFFLINE_RETRY_MS = 3000;
const ERROR_RETRY_MS = [3000, 5000, 10000, 15000];
const DISCONNECTED_GRACE_MS = 5000;
const CONNECT_TIMEOUT_MS = 15000;

const $ = (id) => document.getElementById(id);
const ui = {
  room: $('room-name'),
  pill: $('status-pill'),
  grid: $('stage-grid'),
  message: $('player-message'),
  unmute: $('unmute'),
  statsToggle: $('stats-toggle'),
  overlay: $('stats-overlay'),
  note: $('retry-note'),
  log: $('room-log'),
  info: $('room-info'),
  avatar: $('info-avatar'),
  title: $('info-title'),
  streamer: $('info-streamer'),
  category: $('info-category'),
  viewers: $('info-viewers'),
  viewersWrap: $('info-viewers-wrap'),
  followers: $('info-followers'),
  follow: $('follow'),
  followLogin: $('follow-login'),
  followError: $('follow-error'),
  like: $('like'),
  hearts: $('hearts'),
  reportRoom: $('report-room'),
  reportSlot: $('report-slot'),
  quality: $('quality'),
};

const state = {
  status: 'connecting',
  framesDecoded: 0,
  width: 0,
  height: 0,
  firstFrameMs: null,
  codec: '',
  packetsLost: 0,
  error: '',
  bitrateKbps: 0,
  fps: 0,
  latencyMs: null,
  rttMs: null,
  packetsLostPct: 0,
  slots: 0,
  channel: 'closed',
  messages: 0,
  attempts: 0,
  title: '',
  following: false,
  viewers: 0,
  followers: 0,
  user: null,
  roomInfo: 'loading',
};
window.state = state;

const room = roomFromPath('watch');
const whepURL = room ? endpointURL('whep', room) : '';

let session = null; // current WHEP Session
let channel = null; // current RoomChannel
let postedAt = 0; // performance.now() of the current WHEP POST
let firstFrameAt = 0; // performance.now() of the session's first frame event
let generation = 0; // bumps on every (re)connect; stale callbacks check it
let retryTimer = 0;
let retryAt = 0;
let errorStreak = 0;
let graceTimer = 0;
let connectTimer = 0;
let statsTimer = 0; // the next statsLoop
let statsBusy = false; // a statsLoop is awaiting getStats
let statsPending = false; // sample again as soon as it returns

let layers = null; // the LayerControl, made once the stage exists
const stage = new Stage(ui.grid, {
  onChange: () => {
    render();
    if (layers) layers.schedule();
  },
  // A slot shows its first frame: note when, and confirm it with getStats at
  // once instead of at the next tick of the stats loop.
  onFrame: () => {
    if (state.firstFrameMs != null || !stage.pc) return;
    if (!firstFrameAt) firstFrameAt = performance.now();
    statsSoon();
  },
});

state.quality = {};
layers = new LayerControl(stage, { state: state.quality, onChange: () => renderQuality() });

function setStatus(status, error = '') {
  if (status === 'offline' && state.status !== 'offline') showPast();
  state.status = status;
  state.error = error;
  render();
}

// While the room is offline, its past broadcasts are listed under the player.
async function showPast() {
  const past = document.getElementById('past');
  const n = await pastBroadcasts(room, document.getElementById('past-list'));
  past.hidden = n === 0 || state.status !== 'offline';
}

function render() {
  const labels = { connecting: 'Connecting', live: 'Live', offline: 'Offline', error: 'Error' };
  setPill(ui.pill, state.status, labels[state.status] || state.status);
  let msg = '';
  if (!room) msg = 'No room in the address. Open /watch/<room>.';
  else if (state.status === 'offline') msg = 'Offline — waiting for the stream';
  else if (state.status === 'error') msg = state.error || 'Something went wrong';
  else if (state.status === 'connecting') msg = 'Connecting…';
  else if (state.status === 'live' && stage.activeCount === 0) msg = 'Waiting for video…';
  setText(ui.message, msg);
  ui.message.hidden = msg === '';
  ui.message.dataset.kind = state.status;
  ui.unmute.hidden = !(stage.muted && state.status === 'live' && stage.activeCount > 0);
}

function clearTimers() {
  clearTimeout(retryTimer);
  clearTimeout(graceTimer);
  clearTimeout(connectTimer);
  retryTimer = graceTimer = connectTimer = 0;
  retryAt = 0;
  setText(ui.note, '');
}

function teardown() {
  generation++;
  clearTimers();
  if (session) session.close();
  session = null;
  layers.attach('');
  channel = null;
  stage.close();
  state.channel = 'closed';
  state.framesDecoded = 0;
  state.firstFrameMs = null;
  postedAt = 0;
  firstFrameAt = 0;
}

function scheduleRetry(ms) {
  clearTimeout(retryTimer);
  retryAt = Date.now() + ms;
  retryTimer = setTimeout(connect, ms);
  setText(ui.note, `Retrying in ${Math.ceil(ms / 1000)} s`);
}

/** Tears down the current session and connects again at once. */
function reconnect(reason) {
  console.info('watch: reconnecting:', reason);
  teardown();
  setStatus('connecting');
  connect();
}

async function connect() {
  clearTimers();
  if (!room) {
    setStatus('error', 'No room in the address.');
    return;
  }
  teardown();
  const gen = generation;
  state.attempts++;
  // While offline or failing, keep showing that state during the retry.
  if (state.status !== 'offline' && state.status !== 'error') setStatus('connecting');

  const iceServers = await fetchIceServers(whepURL);
  if (gen !== generation) return;
  const pc = stage.open({
    iceServers,
    beforeOffer: (pc) => {
      channel = new RoomChannel(pc, { logElement: ui.log });
      channel.on('open', () => (state.channel = 'open'));
      channel.on('close', () => (state.channel = 'closed'));
      channel.on('*', () => (state.messages = channel ? channel.received : state.messages));
      chat.socket.attach(channel.dc);
    },
  });
  state.channel = 'connecting';
  pc.addEventListener('connectionstatechange', () => onConnectionState(pc, gen));

  try {
    const res = await exchangeSDP(whepURL, pc);
    if (gen !== generation) {
      res.session.close();
      return;
    }
    session = res.session;
    postedAt = res.postedAt;
    layers.attach(res.layerURL);
    renderQuality();
    // Sample the stats every 50 ms from now on until the first frame.
    statsSoon();
  } catch (err) {
    if (gen !== generation) return;
    stage.close();
    if (err.status === 404) {
      errorStreak = 0;
      setStatus('offline');
      scheduleRetry(OFFLINE_RETRY_MS);
    } else {
      setStatus('error', errorMessage(err));
      scheduleRetry(ERROR_RETRY_MS[Math.min(errorStreak++, ERROR_RETRY_MS.length - 1)]);
    }
    return;
  }
  errorStreak = 0;
  if (pc.connectionState !== 'connected') {
    setStatus('connecting');
    connectTimer = setTimeout(() => {
      if (gen === generation && pc.connectionState !== 'connected') reconnect('connect timeout');
    }, CONNECT_TIMEOUT_MS);
  }
}

function onConnectionState(pc, gen) {
  if (gen !== generation) return;
  switch (pc.connectionState) {
    case 'connected':
      clearTimeout(graceTimer);
      clearTimeout(connectTimer);
      setStatus('live');
      break;
    case 'disconnected':
      // Often recovers by itself; give it a moment.
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => {
        if (gen === generation && pc.connectionState !== 'connected') reconnect('disconnected');
      }, DISCONNECTED_GRACE_MS);
      break;
    case 'failed':
      reconnect('connection failed');
      break;
  }
}

/**
 * Runs statsLoop now, or right after the sample in flight, instead of at its
 * next tick (which may be up to 1 s away).
 */
function statsSoon() {
  if (statsBusy) {
    statsPending = true;
    return;
  }
  clearTimeout(statsTimer);
  statsTimer = setTimeout(statsLoop, 0);
}

// Stats: every 50 ms from the WHEP answer until the first frame (so
// firstFrameMs is precise), then every 1 s. firstFrameMs is set together with
// framesDecoded > 0, at the earlier of the first frame event and this sample.
async function statsLoop() {
  clearTimeout(statsTimer);
  statsTimer = 0;
  statsBusy = true;
  try {
    await sampleStats();
  } finally {
    statsBusy = false;
  }
  const fast = state.firstFrameMs == null && stage.pc;
  statsTimer = setTimeout(statsLoop, statsPending ? 0 : fast ? 50 : 1000);
  statsPending = false;
}

async function sampleStats() {
  const gen = generation;
  const s = await stage.poll();
  if (gen === generation && stage.pc) {
    state.framesDecoded = s.framesDecoded;
    state.width = s.width;
    state.height = s.height;
    state.fps = s.fps;
    state.codec = s.codec;
    state.packetsLost = s.packetsLost;
    state.packetsLostPct = Math.round(s.packetsLostPct * 100) / 100;
    state.bitrateKbps = s.bitrateKbps;
    state.latencyMs = s.latencyMs;
    state.rttMs = s.rttMs;
    state.slots = s.slots;
    if (state.firstFrameMs == null && s.framesDecoded > 0 && postedAt) {
      const now = performance.now();
      const at = firstFrameAt && firstFrameAt >= postedAt && firstFrameAt < now ? firstFrameAt : now;
      state.firstFrameMs = Math.round(at - postedAt);
    }
    if (channel) state.messages = channel.received;
    if (!ui.overlay.hidden) renderStats(s);
    render();
    renderQuality();
  }
  if (retryAt) {
    setText(ui.note, `Retrying in ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s`);
  }
}

function renderStats(s) {
  fillStats(ui.overlay, {
    latency: fmtMs(s.latencyMs),
    bitrate: fmtKbps(s.bitrateKbps),
    resolution: fmtRes(s.width, s.height),
    fps: s.fps ? String(s.fps) : '',
    frames: String(s.framesDecoded),
    lost: `${s.packetsLost} (${s.packetsLostPct.toFixed(2)} %)`,
    quality: qualityText(),
    codec: s.codec,
    rtt: fmtMs(s.rttMs),
    first: state.firstFrameMs != null ? `${state.firstFrameMs} ms` : '',
  });
}

const QUALITY_NAMES = { auto: 'Auto', high: 'High', mid: 'Mid', low: 'Low' };

/** The overlay's Quality line: the choice, and the cap of the first playing slot. */
function qualityText() {
  const q = state.quality;
  if (!q.available) return '';
  const name = QUALITY_NAMES[q.choice] || q.choice;
  const cap = (q.caps || []).find((c) => c);
  return q.choice === 'auto' && cap && cap !== 'none' ? `${name}, up to ${QUALITY_NAMES[cap]}` : name;
}

// On a phone the toolbar has no room for "Auto (720p)".
const narrow = matchMedia('(max-width: 420px)');
narrow.addEventListener('change', () => renderQuality());

/** The quality menu: shown with a layer resource; Auto names the height received. */
function renderQuality() {
  ui.quality.hidden = !state.quality.available;
  if (ui.quality.value !== state.quality.choice) ui.quality.value = state.quality.choice;
  const auto = ui.quality.options[0];
  const text = state.status === 'live' && state.height && !narrow.matches ? `Auto (${state.height}p)` : 'Auto';
  if (auto.textContent !== text) auto.textContent = text;
  ui.quality.title = state.quality.error || 'Video quality';
}

ui.quality.addEventListener('change', () => {
  layers.setChoice(ui.quality.value);
  renderQuality();
});

// ---------------------------------------------------------------------------
// Room info and Follow

const INFO_REFRESH_MS = 5000;

let roomInfo = null; // GET /api/rooms/{room}, last answer
let infoTimer = 0;
let followBusy = false;
let userKnown = false; // GET /api/me answered (until then Follow stays hidden)
let followVersion = 0; // bumps on every follow change; older answers keep their hands off

async function loadRoomInfo() {
  clearTimeout(infoTimer);
  if (!room) return;
  if (document.hidden && roomInfo) {
    infoTimer = setTimeout(loadRoomInfo, INFO_REFRESH_MS);
    return;
  }
  const version = followVersion;
  try {
    const r = await api(`/api/rooms/${encodeURIComponent(room)}`);
    if (r && typeof r === 'object') {
      roomInfo = r;
      state.roomInfo = 'ready';
      state.title = String(r.title || '');
      state.viewers = Number(r.viewers) || 0;
      // A follow change made meanwhile wins over this older answer.
      if (!followBusy && version === followVersion) {
        state.following = !!r.following;
        state.followers = Number(r.followers) || 0;
      }
    }
  } catch (err) {
    if (err.status === 404) {
      roomInfo = null;
      state.roomInfo = 'unknown';
      state.title = '';
    } else if (!roomInfo) {
      state.roomInfo = 'error';
    }
  }
  renderInfo();
  infoTimer = setTimeout(loadRoomInfo, INFO_REFRESH_MS);
}

function renderInfo() {
  const owner = roomInfo?.owner || null;
  const who = displayName(owner) || room;
  setText(ui.title, state.title || (roomInfo ? `${who} is live` : room));
  setText(ui.streamer, roomInfo ? who : state.roomInfo === 'unknown' ? 'This room does not exist.' : '');
  ui.streamer.classList.toggle('muted', !roomInfo);
  ui.streamer.title = owner?.name ? `@${owner.name}` : '';
  const category = String(roomInfo?.category || '').trim();
  setText(ui.category, category);
  ui.category.hidden = !category;
  setText(ui.avatar, initialOf(who));
  ui.avatar.style.setProperty('--hue', String(hueOf(room)));
  ui.viewersWrap.hidden = !roomInfo;
  setText(ui.viewers, plural(state.viewers, 'viewer'));
  ui.followers.hidden = !roomInfo;
  setText(ui.followers, plural(state.followers, 'follower'));

  // Follow: a button when logged in, a link to /login when not; nothing for
  // an unknown room or your own.
  const canFollow = userKnown && !!owner?.name && owner.name !== state.user;
  ui.follow.hidden = !canFollow || !state.user;
  ui.followLogin.hidden = !canFollow || !!state.user;
  ui.followLogin.href = loginURL();
  if (state.following) ui.follow.replaceChildren(icon('check', 18), 'Following');
  else setText(ui.follow, 'Follow');
  ui.follow.setAttribute('aria-pressed', String(state.following));
  ui.follow.classList.toggle('primary', !state.following);
  ui.follow.disabled = followBusy;
  ui.reportRoom.hidden = !userKnown || !state.user || !room || owner?.name === state.user;

  document.title = state.title ? `${state.title} · ${who} · onair` : room ? `${who} · onair` : 'onair';
}

async function toggleFollow() {
  const owner = roomInfo?.owner?.name;
  if (followBusy || !owner) return;
  const want = !state.following;
  followBusy = true;
  followVersion++;
  ui.followError.hidden = true;
  // Show the change at once; undo it if the server refuses.
  state.following = want;
  state.followers = Math.max(0, state.followers + (want ? 1 : -1));
  renderInfo();
  try {
    await setFollowing(owner, want);
  } catch (err) {
    state.following = !want;
    state.followers = Math.max(0, state.followers + (want ? -1 : 1));
    if (err.status === 401) {
      state.user = null; // the session ended: Follow becomes a link to /login
    } else {
      setText(ui.followError, `Could not ${want ? 'follow' : 'unfollow'}: ${errorMessage(err)}`);
      ui.followError.hidden = false;
    }
  } finally {
    followBusy = false;
    renderInfo();
  }
}

ui.follow.addEventListener('click', toggleFollow);

ui.unmute.addEventListener('click', () => {
  stage.setMuted(false);
  render();
});

ui.statsToggle.addEventListener('click', () => {
  ui.overlay.hidden = !ui.overlay.hidden;
  ui.statsToggle.setAttribute('aria-pressed', String(!ui.overlay.hidden));
  if (!ui.overlay.hidden) renderStats(stage.summary);
});

addEventListener('pagehide', () => {
  if (session) session.close();
});

setText(ui.room, room || 'No room');
document.title = room ? `${room} · onair` : 'onair';
render();
statsLoop();
renderInfo();
fetchMe().then(({ user }) => {
  state.user = user ? user.name : null;
  userKnown = true;
  renderInfo();
});
loadRoomInfo();
let likes = null;
const gifts = room ? mountGifts({ bar: $('gift-bar'), fx: $('gift-fx'), board: $('leaderboard'), room, state }) : null;
const packets = room ? mountRedPackets({ button: $('redpacket'), tray: $('redpackets'), fx: $('redpacket-fx'), room, state, loggedIn: () => (userKnown ? !!state.user : null) }) : null;
const chat = mountChat($('chat'), {
  room, overlay: $('danmaku'), state, onLike: (n) => likes && likes.receive(n),
  onEnvelope: (env, first) => {
    // History replays old gifts: their effects are over; only recent ones
    // play (a transport switch delivers the newest in a history frame).
    if (env.type === 'gift' && gifts && (!first || Date.now() - Number(env.ts) < 5000)) gifts.receive(env);
    if (env.type.startsWith('redpacket') && packets) packets.receive(env); // history too: cards of open packets
    // A packet dropped or grabbed by me moved my coins: the gift bar shows them.
    if (gifts && !first && env.type.startsWith('redpacket') && state.user && (env.from?.name === state.user || env.body?.user?.name === state.user)) gifts.refreshCoins();
  },
});
likes = mountLikes(ui.like, ui.hearts, {
  send: (count) => chat.socket.send('like', { count }),
  loggedIn: () => (userKnown ? !!state.user : null),
  state,
});
connect(); // after the chat exists: the media session's data channel carries it

// "Report room": a reason, then POST /api/reports {room, reason}.
function closeReport() {
  ui.reportSlot.replaceChildren();
  ui.reportSlot.hidden = true;
  ui.reportRoom.setAttribute('aria-expanded', 'false');
}
ui.reportRoom.addEventListener('click', () => {
  if (!ui.reportSlot.hidden) {
    closeReport();
    return;
  }
  const f = reasonForm({
    id: 'report-room-form',
    label: 'Report this room',
    placeholder: 'What is wrong here?',
    submitText: 'Report',
    onCancel: closeReport,
    onSubmit: async (reason) => {
      await chat.act('report_room', () => report(room, reason), 'Thanks, the report was sent.');
      ui.reportSlot.replaceChildren(h('p', { class: 'hint report-done', role: 'status' }, 'Thanks, the report was sent.'));
      ui.reportRoom.setAttribute('aria-expanded', 'false');
      setTimeout(() => {
        if (ui.reportSlot.querySelector('.report-done')) closeReport();
      }, 5000);
    },
  });
  ui.reportSlot.replaceChildren(f.el);
  ui.reportSlot.hidden = false;
  ui.reportRoom.setAttribute('aria-expanded', 'true');
  f.focus();
});
