// The publisher page, /studio/{room}: camera and microphone pickers, local
// preview, codec and resolution, WHIP publishing (RFC 9725) with a stream key,
// live stats, and the co-hosts area (a WHEP session to the same room with the
// same key, so the server leaves this publisher's own tracks out).
//
// Query parameters (for tests and links): ?key=K uses that stream key,
// ?autostart=1 goes live without a click, ?codec=H264 picks H.264,
// ?res=360 picks 360p, ?simulcast=0 sends one encoding.
//
// Simulcast (on by default, where the browser can): the camera goes out as
// three encodings of one video m-line, RIDs q, h and f (RFC 8853): a quarter,
// half and the full picture, so the server gives each viewer the one its link
// carries. A picture under 960x540 (360p, or a camera that cannot do 720p)
// goes out as h and f only, and one under 480x270 as a single encoding: the
// browser would leave the layers over its limit silent, the full one first.
// The stats card lists each layer as getStats reports it.
//
// Logged in as the room's owner (GET /api/me, GET /api/rooms/{room}), the page
// also shows "Room settings" (title, cover, category, private: PATCH
// /api/rooms/{room}; admins get it for any room) and "Get a new stream key"
// (POST /api/me/stream-key), which fills the key field. Logged out, or with a
// server that has no accounts (--dev), the key comes from ?key=, this
// browser's storage, or is generated on Go live, as before.
//
// window.state (read by tests):
//   status        "offline" | "connecting" | "live" | "error"
//   error         the message shown to the user ("" when none)
//   bitrateKbps   outgoing, audio + video
//   width, height, fps, framesEncoded   of the outgoing video (its largest layer)
//   simulcast     true while publishing in layers (three from 720p, two at 360p)
//   pausedLayers  RIDs the server said no viewer can take now (paused here)
//   layers        per sent encoding, lowest first: {rid, width, height, fps,
//                 kbps, framesEncoded, active, qualityLimitationReason,
//                 scalabilityMode}
//   rttMs         remote-inbound-rtp roundTripTime, else the candidate pair's
//   and: codec, encoder, qualityLimitationReason, previewing,
//        cohosts (co-host slots with video), cohostFramesDecoded
//   user          the logged-in user's name, or null
//   owner         true when that user owns this room
//   settings      room settings card: "hidden" | "loading" | "ready" |
//                 "saving" | "saved" | "error"
//   settingsError the message shown on the card ("" when none)
//   keyIssued     true once "Get a new stream key" gave a key
//   chat          the chat panel: {status, messages, lastText, lastError,
//                 bullets} (see chat.js)
//   restream      the restream card: {status, error, targets} (see restream.js)
//   recording     the "Record broadcasts" switch: {status, record, effective,
//                 platformDefault, error} (see recording-switch.js)

import { api, displayName, fetchMe, isAdmin, isStreamer, loginURL } from './api.js';
import {
  endpointURL,
  errorMessage,
  exchangeSDP,
  fetchIceServers,
  fillStats,
  fmtKbps,
  fmtMs,
  fmtRes,
  param,
  h,
  randomKey,
  Rates,
  roomFromPath,
  safeImageURL,
  setPill,
  setText,
  store,
  summarizeOutbound,
} from './common.js';
import { mountChat } from './chat.js';
import { mountRestream } from './restream.js';
import { mountRecordingSwitch } from './recording-switch.js';
import { Stage } from './stage.js';
import { LayerControl } from './layers.js';

const RESOLUTIONS = {
  720: { width: 1280, height: 720, maxBitrate: 2_500_000 },
  360: { width: 640, height: 360, maxBitrate: 800_000 },
};
// The simulcast layers, lowest first; the full one ('f') gets the
// resolution's bit rate.
const LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f' },
];
// Each layer is one temporal layer (L1T1), not Chromium's default L1T3 for
// simulcast VP8: the server forwards whole layers and never drops temporal
// ones, so they would only cost bits. And an L1T3 stream's PictureID and
// TL0PICIDX differ per layer: an SFU that does not renumber them per viewer
// (onair did not at first) makes a Chromium viewer stall for 3 s at about
// half of its layer switches (measured with e2e TestBrowserSimulcast).
const SCALABILITY = 'L1T1';
const LAYER_NAMES = { q: 'Low', h: 'Mid', f: 'High' };
const CONNECT_TIMEOUT_MS = 20000;
const COHOST_RETRY_MS = 3000;

const $ = (id) => document.getElementById(id);
const ui = {
  room: $('room-name'),
  pill: $('status-pill'),
  preview: $('preview'),
  previewEmpty: $('preview-empty'),
  liveBadge: $('live-badge'),
  goLive: $('golive'),
  statusLine: $('status-line'),
  camera: $('camera'),
  microphone: $('microphone'),
  codec: $('codec'),
  resolution: $('resolution'),
  simulcast: $('simulcast'),
  simulcastNote: $('simulcast-note'),
  simulcastLabel: $('simulcast-label'),
  layerStats: $('layer-stats'),
  layerRows: $('layer-rows'),
  key: $('stream-key'),
  keyToggle: $('key-toggle'),
  settings: $('settings'),
  stats: $('stats'),
  watchLink: $('watch-link'),
  copyLink: $('copy-link'),
  cohostGrid: $('cohost-grid'),
  cohostNote: $('cohost-note'),
  cohostUnmute: $('cohost-unmute'),
  keyHint: $('key-hint'),
  keyTools: $('key-tools'),
  newKey: $('new-key'),
  newKeyBox: $('new-key-box'),
  newKeyValue: $('new-key-value'),
  copyKey: $('copy-key'),
  newKeyError: $('new-key-error'),
  accountHint: $('account-hint'),
  roomCard: $('room-settings'),
  roomNote: $('room-settings-note'),
  roomForm: $('room-form'),
  roomTitle: $('room-title'),
  roomTitleCount: $('room-title-count'),
  roomTitleError: $('room-title-error'),
  roomCover: $('room-cover'),
  roomCoverImg: $('room-cover-img'),
  roomCoverError: $('room-cover-error'),
  roomCategory: $('room-category'),
  roomCategoryError: $('room-category-error'),
  roomPrivate: $('room-private'),
  roomError: $('room-error'),
  roomSave: $('room-save'),
  roomStatus: $('room-status'),
};

const state = {
  status: 'offline',
  error: '',
  bitrateKbps: 0,
  width: 0,
  height: 0,
  fps: 0,
  rttMs: null,
  framesEncoded: 0,
  simulcast: false,
  layers: [],
  pausedLayers: [],
  codec: '',
  encoder: '',
  qualityLimitationReason: '',
  previewing: false,
  cohosts: 0,
  cohostFramesDecoded: 0,
  user: null,
  owner: false,
  settings: 'hidden',
  settingsError: '',
  keyIssued: false,
};
window.state = state;

const room = roomFromPath('studio');
const whipURL = room ? endpointURL('whip', room) : '';
const whepURL = room ? endpointURL('whep', room) : '';
const keyStorage = `onair.streamKey.${room}`;

let stream = null; // the local MediaStream (preview and publishing)
let pc = null; // the WHIP peer connection
let chat = null; // the chat panel (chat.js); the WHIP session's data channel carries it while live
let session = null; // the WHIP Session
let videoSender = null;
let audioSender = null;
let busy = false; // a go-live or stop is running
let generation = 0;
let rates = new Rates();
let connectTimer = 0;
let keyBusy = false; // POST /api/me/stream-key is running

let cohostSession = null;
let cohostGeneration = 0;
let cohostTimer = 0;
let cohostLayers = null; // LayerControl of the co-hosts' stage
const cohosts = new Stage(ui.cohostGrid, {
  caption: (i) => `Slot ${i + 1}`,
  onChange: () => {
    renderCohosts();
    if (cohostLayers) cohostLayers.schedule();
  },
  onAutoplayBlocked: () => renderCohosts(),
});
// Co-host tiles are small: the server is asked for no more than they show.
cohostLayers = new LayerControl(cohosts);

// ---------------------------------------------------------------------------
// Status

function setStatus(status, error = '') {
  state.status = status;
  state.error = error;
  render();
}

function render() {
  const labels = { offline: 'Offline', connecting: 'Connecting', live: 'Live', error: 'Error' };
  setPill(ui.pill, state.status, labels[state.status]);
  let line = '';
  switch (state.status) {
    case 'offline':
      line = state.previewing ? 'Offline — ready to go live' : 'Offline';
      break;
    case 'connecting':
      line = 'Connecting…';
      break;
    case 'live':
      line = 'You are live';
      break;
    case 'error':
      line = state.error;
      break;
  }
  setText(ui.statusLine, line);
  ui.statusLine.dataset.status = state.status;
  const publishing = pc != null || busy;
  ui.goLive.textContent = publishing ? 'Stop' : 'Go live';
  ui.goLive.classList.toggle('danger', publishing);
  ui.goLive.classList.toggle('primary', !publishing);
  ui.goLive.disabled = !room; // while connecting, Stop cancels
  ui.liveBadge.hidden = state.status !== 'live';
  ui.codec.disabled = publishing;
  ui.simulcast.disabled = publishing;
  ui.key.disabled = publishing;
  ui.newKey.disabled = publishing || keyBusy;
  ui.newKey.title = publishing ? 'Stop the stream to change its key.' : '';
  ui.previewEmpty.hidden = state.previewing;
}

function renderCohosts() {
  state.cohosts = cohosts.activeCount;
  let note = '';
  if (state.status !== 'live') note = 'Co-hosts who go live in this room appear here while you are live.';
  else if (cohosts.activeCount === 0) note = 'No other co-host is live right now.';
  setText(ui.cohostNote, note);
  ui.cohostNote.hidden = note === '';
  ui.cohostUnmute.hidden = !(cohosts.muted && cohosts.activeCount > 0);
}

// ---------------------------------------------------------------------------
// Devices and preview

function constraints() {
  const res = RESOLUTIONS[ui.resolution.value] || RESOLUTIONS[720];
  const video = { width: { ideal: res.width }, height: { ideal: res.height }, frameRate: { ideal: 30 } };
  if (ui.camera.value) video.deviceId = { exact: ui.camera.value };
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (ui.microphone.value) audio.deviceId = { exact: ui.microphone.value };
  return { video, audio };
}

function fillSelect(select, devices, current, fallbackLabel) {
  select.replaceChildren();
  devices.forEach((d, i) => {
    const opt = document.createElement('option');
    opt.value = d.deviceId;
    opt.textContent = d.label || `${fallbackLabel} ${i + 1}`;
    select.append(opt);
  });
  if (devices.length === 0) {
    const opt = document.createElement('option');
    opt.value = '';
    opt.textContent = `No ${fallbackLabel.toLowerCase()} found`;
    select.append(opt);
  }
  if (current && devices.some((d) => d.deviceId === current)) select.value = current;
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const cam = stream?.getVideoTracks()[0]?.getSettings().deviceId || ui.camera.value;
  const mic = stream?.getAudioTracks()[0]?.getSettings().deviceId || ui.microphone.value;
  fillSelect(ui.camera, devices.filter((d) => d.kind === 'videoinput'), cam, 'Camera');
  fillSelect(ui.microphone, devices.filter((d) => d.kind === 'audioinput'), mic, 'Microphone');
}

/** (Re)opens the camera and microphone from the pickers; swaps the tracks when live. */
async function startPreview() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('This browser cannot capture a camera here (a secure origin, https or localhost, is required).');
  }
  if (stream) for (const t of stream.getTracks()) t.stop();
  stream = null;
  state.previewing = false;
  try {
    stream = await navigator.mediaDevices.getUserMedia(constraints());
  } catch (err) {
    // A device that vanished: fall back to any device.
    if (err.name !== 'OverconstrainedError' && err.name !== 'NotFoundError') throw err;
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  }
  ui.preview.muted = true; // never play your own microphone back
  ui.preview.srcObject = stream;
  ui.preview.play().catch(() => {});
  state.previewing = true;
  renderSimulcast();
  await listDevices();
  if (videoSender) await videoSender.replaceTrack(stream.getVideoTracks()[0] || null);
  if (audioSender) await audioSender.replaceTrack(stream.getAudioTracks()[0] || null);
  await applyBitrate();
  render();
}

/**
 * How many simulcast layers a picture takes: libwebrtc's simulcast table
 * sends 3 from 960x540 up, 2 from 480x270, else 1 (by pixel count).
 */
function layerCount(track) {
  const { width = 0, height = 0 } = track?.getSettings?.() || {};
  const px = width * height;
  if (px >= 960 * 540) return 3;
  if (px >= 480 * 270) return 2;
  return 1;
}

/**
 * The video's send encodings: the top count simulcast layers (with
 * scalabilityMode when scalability is given), or one encoding.
 */
function sendEncodings(count, scalability = '') {
  const res = RESOLUTIONS[ui.resolution.value] || RESOLUTIONS[720];
  if (count < 2) return [{ maxBitrate: res.maxBitrate }];
  const layers = LAYERS.slice(-count).map((l) => ({ maxBitrate: res.maxBitrate, ...l }));
  if (scalability) for (const l of layers) l.scalabilityMode = scalability;
  return layers;
}

/**
 * Adds the camera's transceiver, in layers when asked, the picture is large
 * enough, and the browser takes them: a browser without simulcast throws on
 * RIDs or keeps a single encoding; one without scalabilityMode may throw on
 * it. Returns the transceiver and how many layers it sends.
 */
function addVideo(pc, track, simulcast) {
  const count = simulcast ? layerCount(track) : 1;
  for (const scalability of count > 1 ? [SCALABILITY, ''] : []) {
    try {
      const vt = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: sendEncodings(count, scalability) });
      if ((vt.sender.getParameters().encodings || []).length === count) return { vt, layers: count };
      pc.removeTrack(vt.sender);
      vt.stop?.();
      break;
    } catch (err) {
      console.info(`studio: no simulcast${scalability ? ` with ${scalability}` : ''} here:`, err);
    }
  }
  const vt = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: sendEncodings(1) });
  return { vt, layers: 1 };
}

/** The simulcast switch's label and note, for the camera's picture now. */
function renderSimulcast(sending = 0) {
  const count = layerCount(stream?.getVideoTracks()[0]);
  setText(ui.simulcastLabel, count > 1 ? `Simulcast (${count} layers)` : 'Simulcast');
  let note = 'Viewers on slow links get a smaller picture instead of stalling.';
  if (count < 2) note = 'The camera’s picture is too small for layers: it goes out as one.';
  else if (ui.simulcast.checked && state.status !== 'offline' && sending === 1) note = 'This browser sends one layer: viewers on slow links may stall.';
  setText(ui.simulcastNote, note);
}

/**
 * A message of the server's on the room channel: 'layers' pauses the
 * simulcast encodings no viewer can take now (no encoding, no upload) and
 * resumes them when one can.
 */
function onServerMessage(data) {
  let env;
  try {
    env = JSON.parse(data);
  } catch {
    return;
  }
  if (env && env.type === 'layers' && env.body && env.body.active) applyLayerDemand(env.body.active);
}

async function applyLayerDemand(active) {
  if (!videoSender) return;
  const params = videoSender.getParameters();
  if (!params.encodings || params.encodings.length < 2) return;
  let changed = false;
  for (const e of params.encodings) {
    if (e.rid && e.rid in active && e.active !== Boolean(active[e.rid])) {
      e.active = Boolean(active[e.rid]);
      changed = true;
    }
  }
  if (!changed) return;
  state.pausedLayers = params.encodings.filter((e) => !e.active).map((e) => e.rid);
  try {
    await videoSender.setParameters(params);
  } catch (err) {
    console.warn('studio: pause layers', err);
  }
}

async function applyBitrate() {
  if (!videoSender) return;
  const res = RESOLUTIONS[ui.resolution.value] || RESOLUTIONS[720];
  const params = videoSender.getParameters();
  if (!params.encodings || params.encodings.length === 0) return;
  // The full picture: the only encoding, or simulcast's 'f'.
  const top = params.encodings.find((e) => e.rid === 'f') || params.encodings[params.encodings.length - 1];
  top.maxBitrate = res.maxBitrate;
  try {
    await videoSender.setParameters(params);
  } catch (err) {
    console.warn('studio: setParameters', err);
  }
}

async function onDeviceChange() {
  try {
    await startPreview();
    if (state.status === 'error' && !pc) setStatus('offline');
  } catch (err) {
    setStatus('error', errorMessage(err));
  }
}

// ---------------------------------------------------------------------------
// Publishing

function streamKey() {
  let key = ui.key.value.trim();
  if (!key) {
    key = randomKey();
    ui.key.value = key;
  }
  store.set(keyStorage, key);
  return key;
}

/** Codec preferences with the chosen codec first and its repair streams kept. */
function codecPreferences(choice) {
  const caps = RTCRtpSender.getCapabilities('video');
  if (!caps) return null;
  const want = `video/${choice}`.toLowerCase();
  const chosen = caps.codecs.filter((c) => c.mimeType.toLowerCase() === want);
  if (chosen.length === 0) return null;
  const repair = caps.codecs.filter((c) => ['video/rtx', 'video/red', 'video/ulpfec'].includes(c.mimeType.toLowerCase()));
  return [...chosen, ...repair];
}

async function goLive() {
  if (busy || pc) return;
  busy = true;
  const gen = ++generation;
  setStatus('connecting');
  try {
    const key = streamKey();
    if (!stream) await startPreview();
    const iceServers = await fetchIceServers(whipURL);
    if (gen !== generation) return;

    pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    const mine = pc;
    rates = new Rates();
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    if (!videoTrack) throw new Error('No camera track to publish.');
    const { vt, layers } = addVideo(pc, videoTrack, ui.simulcast.checked);
    state.simulcast = layers > 1;
    renderSimulcast(layers);
    const prefs = codecPreferences(ui.codec.value);
    if (prefs) vt.setCodecPreferences(prefs);
    else if (ui.codec.value !== 'VP8') throw new Error(`This browser cannot encode ${ui.codec.value}.`);
    videoSender = vt.sender;
    if (audioTrack) {
      audioSender = pc.addTransceiver(audioTrack, { direction: 'sendonly', streams: [stream] }).sender;
    }
    // The room's data channel rides on the WHIP session (created before the offer);
    // the server also says on it which simulcast layers viewers can take.
    const dc = pc.createDataChannel('room', { ordered: true });
    if (chat) chat.socket.attach(dc);
    dc.addEventListener('message', (e) => onServerMessage(e.data));
    pc.addEventListener('connectionstatechange', () => onConnectionState(mine, gen));
    render();

    const result = await exchangeSDP(whipURL, pc, { token: key });
    if (gen !== generation) {
      result.session.close();
      return;
    }
    session = result.session;
    if (pc.connectionState !== 'connected') {
      connectTimer = setTimeout(() => {
        if (gen === generation && pc && pc.connectionState !== 'connected') {
          fail('Could not connect to the media server (no ICE connection). A firewall may block UDP.');
        }
      }, CONNECT_TIMEOUT_MS);
    }
    await applyBitrate();
  } catch (err) {
    if (gen !== generation) return;
    let message = errorMessage(err);
    if (err.status === 401 && state.owner && isStreamer(currentUser)) {
      message += ' Use “Get a new stream key” below, then go live again.';
    }
    fail(message);
  } finally {
    busy = false;
    render();
  }
}

function onConnectionState(mine, gen) {
  if (gen !== generation || mine !== pc) return;
  switch (mine.connectionState) {
    case 'connected':
      clearTimeout(connectTimer);
      setStatus('live');
      renderCohosts();
      startCohosts();
      break;
    case 'failed':
      fail('The connection to the media server was lost. Press Go live to try again.');
      break;
  }
}

/** Ends publishing with an error shown to the user. */
function fail(message) {
  teardown();
  setStatus('error', message);
}

function teardown() {
  generation++;
  clearTimeout(connectTimer);
  stopCohosts();
  if (session) session.close();
  session = null;
  if (pc) pc.close();
  pc = null;
  videoSender = audioSender = null;
  for (const k of ['bitrateKbps', 'width', 'height', 'fps', 'framesEncoded']) state[k] = 0;
  state.rttMs = null;
  state.encoder = state.qualityLimitationReason = state.codec = '';
  state.simulcast = false;
  state.layers = [];
  state.pausedLayers = [];
  fillStats(ui.stats, {});
  renderLayers([]);
  renderSimulcast();
}

async function stop() {
  teardown();
  setStatus('offline');
  renderCohosts();
}

// ---------------------------------------------------------------------------
// Co-hosts: WHEP to the same room with the same key

async function startCohosts() {
  stopCohosts();
  const gen = ++cohostGeneration;
  const key = ui.key.value.trim();
  const iceServers = await fetchIceServers(whepURL);
  if (gen !== cohostGeneration || !pc) return;
  const cpc = cohosts.open({ iceServers });
  cpc.addEventListener('connectionstatechange', () => {
    if (gen === cohostGeneration && cpc.connectionState === 'failed') retryCohosts(gen, 'connection failed');
  });
  try {
    const res = await exchangeSDP(whepURL, cpc, { token: key });
    if (gen !== cohostGeneration) {
      res.session.close();
      return;
    }
    cohostSession = res.session;
    cohostLayers.attach(res.layerURL);
  } catch (err) {
    if (gen !== cohostGeneration) return;
    retryCohosts(gen, errorMessage(err));
  }
}

function retryCohosts(gen, reason) {
  console.info('studio: co-hosts:', reason);
  cohostLayers.attach('');
  cohosts.close();
  if (cohostSession) cohostSession.close();
  cohostSession = null;
  clearTimeout(cohostTimer);
  cohostTimer = setTimeout(() => {
    if (gen === cohostGeneration && pc && state.status === 'live') startCohosts();
  }, COHOST_RETRY_MS);
}

function stopCohosts() {
  cohostGeneration++;
  clearTimeout(cohostTimer);
  cohostLayers.attach('');
  if (cohostSession) cohostSession.close();
  cohostSession = null;
  cohosts.close();
  state.cohosts = 0;
  state.cohostFramesDecoded = 0;
}

// ---------------------------------------------------------------------------
// Stats, once a second

async function statsLoop() {
  const mine = pc;
  if (mine) {
    try {
      const s = summarizeOutbound(await mine.getStats(), rates);
      if (mine === pc) {
        Object.assign(state, s);
        fillStats(ui.stats, {
          bitrate: fmtKbps(s.bitrateKbps),
          resolution: fmtRes(s.width, s.height),
          fps: s.fps ? String(s.fps) : '',
          rtt: fmtMs(s.rttMs),
          encoder: [s.codec, s.encoder].filter(Boolean).join(' · '),
          limit: s.qualityLimitationReason,
        });
        renderLayers(state.simulcast ? s.layers : []);
      }
    } catch (err) {
      console.warn('studio: getStats', err);
    }
  }
  if (cohosts.pc) {
    const c = await cohosts.poll();
    state.cohostFramesDecoded = c.framesDecoded;
    state.cohosts = cohosts.activeCount;
  }
  setTimeout(statsLoop, 1000);
}

/** One row per simulcast layer in the stats card; hidden without simulcast. */
function renderLayers(layers) {
  ui.layerStats.hidden = layers.length === 0;
  const rows = layers.map((l) => {
    const off = !l.active || !l.framesEncoded;
    const name = LAYER_NAMES[l.rid] ? `${LAYER_NAMES[l.rid]} (${l.rid})` : l.rid || '–';
    const tr = h('tr', { 'data-rid': l.rid, class: off ? 'off' : false },
      h('th', { scope: 'row' }, name),
      h('td', {}, fmtRes(l.width, l.height)),
      h('td', {}, off ? '–' : String(l.fps)),
      h('td', {}, off ? (l.active ? 'starting' : 'paused') : fmtKbps(l.kbps)));
    if (l.qualityLimitationReason && l.qualityLimitationReason !== 'none') tr.title = `Limited by ${l.qualityLimitationReason}`;
    return tr;
  });
  ui.layerRows.replaceChildren(...rows);
}

// ---------------------------------------------------------------------------
// Account: room settings and the stream key, for the room's owner

let currentUser = null;
let roomData = null; // the room as the server last answered
let savedTimer = 0;

const LIMITS = { title: 80, category: 32 };

/** Length in characters (code points), as the server counts. */
const chars = (s) => Array.from(s).length;

async function initAccount() {
  const { user, status } = await fetchMe();
  currentUser = user;
  state.user = user ? user.name : null;
  state.owner = !!user && user.name === room;
  if (!user) {
    // 401: the server has accounts and nobody is logged in. Anything else
    // (404 with --dev, no server yet) leaves the page as it always was.
    if (status === 401) {
      ui.accountHint.replaceChildren(
        'Is this your room? ',
        h('a', { href: loginURL() }, 'Log in'),
        ' to change its title and get a stream key.',
      );
      ui.accountHint.hidden = false;
    }
    return;
  }
  if (state.owner && isStreamer(user)) {
    ui.keyTools.hidden = false;
    ui.key.placeholder = 'Paste your key or get a new one';
    setText(ui.keyHint, 'Use the same key in OBS or another WHIP encoder. It is kept in this browser for this room.');
  }
  if (state.owner || isAdmin(user)) {
    mountRestream($('restream'), { room, state });
    mountRecordingSwitch($('recording'), { room, state });
    await loadRoomSettings();
  }
}

async function loadRoomSettings() {
  ui.roomCard.hidden = false;
  setSettings('loading');
  setRoomFormDisabled(true);
  try {
    roomData = await api(`/api/rooms/${encodeURIComponent(room)}`);
    fillRoomForm(roomData);
    setRoomFormDisabled(false);
    setSettings('ready');
    if (!state.owner) setText(ui.roomNote, `As an admin, for ${displayName(roomData.owner) || room}`);
  } catch (err) {
    const message = err.status === 404 ? 'This room does not exist yet.' : `Could not load the room: ${errorMessage(err)}`;
    setSettings('error', message);
  }
}

function setSettings(status, error = '') {
  state.settings = status;
  state.settingsError = error;
  setText(ui.roomError, error);
  ui.roomError.hidden = !error;
  const labels = { loading: 'Loading…', saving: 'Saving…', saved: 'Saved' };
  setText(ui.roomStatus, labels[status] || '');
  ui.roomStatus.dataset.status = status;
  renderRoomSave();
}

function setRoomFormDisabled(disabled) {
  for (const el of [ui.roomTitle, ui.roomCover, ui.roomCategory, ui.roomPrivate]) el.disabled = disabled;
}

function fillRoomForm(r) {
  ui.roomTitle.value = r.title || '';
  ui.roomCover.value = r.cover_url || '';
  ui.roomCategory.value = r.category || '';
  ui.roomPrivate.checked = !!r.private;
  for (const f of ['title', 'cover_url', 'category']) showRoomError(f, '');
  renderTitleCount();
  renderCoverPreview();
  renderRoomSave();
}

function roomFormValues() {
  return {
    title: ui.roomTitle.value.trim(),
    cover_url: ui.roomCover.value.trim(),
    category: ui.roomCategory.value.trim(),
    private: ui.roomPrivate.checked,
  };
}

/** The fields that differ from what the server has. */
function roomChanges() {
  if (!roomData) return {};
  const v = roomFormValues();
  const changes = {};
  if (v.title !== (roomData.title || '')) changes.title = v.title;
  if (v.cover_url !== (roomData.cover_url || '')) changes.cover_url = v.cover_url;
  if (v.category !== (roomData.category || '')) changes.category = v.category;
  if (v.private !== !!roomData.private) changes.private = v.private;
  return changes;
}

/** The message for one field, or "". */
function roomFieldError(field, v = roomFormValues()) {
  switch (field) {
    case 'title':
      return chars(v.title) > LIMITS.title ? `Use at most ${LIMITS.title} characters (now ${chars(v.title)}).` : '';
    case 'cover_url': {
      if (!v.cover_url) return '';
      let ok = /^https:\/\/\S+$/i.test(v.cover_url);
      if (ok) {
        try {
          ok = new URL(v.cover_url).protocol === 'https:';
        } catch {
          ok = false;
        }
      }
      return ok ? '' : 'Use an address that starts with https://, or leave it empty.';
    }
    case 'category':
      return chars(v.category) > LIMITS.category ? `Use at most ${LIMITS.category} characters.` : '';
  }
  return '';
}

const ROOM_FIELDS = {
  title: () => [ui.roomTitle, ui.roomTitleError],
  cover_url: () => [ui.roomCover, ui.roomCoverError],
  category: () => [ui.roomCategory, ui.roomCategoryError],
};

function showRoomError(field, message) {
  const [input, el] = ROOM_FIELDS[field]();
  setText(el, message);
  el.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function validateRoom() {
  let first = null;
  for (const f of Object.keys(ROOM_FIELDS)) {
    const msg = roomFieldError(f);
    showRoomError(f, msg);
    if (msg && !first) first = ROOM_FIELDS[f]()[0];
  }
  if (first) first.focus();
  return !first;
}

function renderTitleCount() {
  const n = chars(ui.roomTitle.value.trim());
  setText(ui.roomTitleCount, `${n}/${LIMITS.title}`);
  ui.roomTitleCount.dataset.over = String(n > LIMITS.title);
}

function renderCoverPreview() {
  const url = roomFieldError('cover_url') ? '' : safeImageURL(ui.roomCover.value.trim());
  if (!url) {
    ui.roomCoverImg.hidden = true;
    ui.roomCoverImg.removeAttribute('src');
  } else if (ui.roomCoverImg.getAttribute('src') !== url) {
    ui.roomCoverImg.hidden = true;
    ui.roomCoverImg.src = url;
  }
}

function renderRoomSave() {
  const dirty = Object.keys(roomChanges()).length > 0;
  ui.roomSave.disabled = !roomData || state.settings === 'saving' || !dirty;
}

/** Maps a 400's detail to the field it names, else the form. */
function fieldOfProblem(detail) {
  if (/cover/i.test(detail)) return 'cover_url';
  if (/categor/i.test(detail)) return 'category';
  if (/title/i.test(detail)) return 'title';
  return '';
}

async function saveRoom(e) {
  e.preventDefault();
  if (state.settings === 'saving' || !roomData) return;
  setSettings(state.settings === 'error' ? 'ready' : state.settings);
  if (!validateRoom()) {
    setSettings('error', 'Fix the fields marked above.');
    return;
  }
  const changes = roomChanges();
  if (Object.keys(changes).length === 0) return;
  clearTimeout(savedTimer);
  setSettings('saving');
  try {
    const updated = await api(`/api/rooms/${encodeURIComponent(room)}`, { method: 'PATCH', body: changes });
    roomData = updated && typeof updated === 'object' && 'title' in updated ? updated : { ...roomData, ...changes };
    fillRoomForm(roomData);
    setSettings('saved');
    savedTimer = setTimeout(() => {
      if (state.settings === 'saved') setSettings('ready');
    }, 3000);
  } catch (err) {
    const message = errorMessage(err);
    const field = err.status === 400 ? fieldOfProblem(err.detail || '') : '';
    if (field) {
      showRoomError(field, message);
      ROOM_FIELDS[field]()[0].focus();
      setSettings('error', 'Fix the fields marked above.');
    } else if (err.status === 401) {
      setSettings('error', 'Your session has ended. Log in again to save.');
    } else if (err.status === 403) {
      setSettings('error', message || 'You may not change this room.');
    } else {
      setSettings('error', message);
    }
  }
}

function initRoomForm() {
  ui.roomForm.addEventListener('submit', saveRoom);
  const onEdit = (field) => {
    if (state.settings === 'saved' || state.settings === 'error') setSettings('ready');
    if (field) {
      const [, el] = ROOM_FIELDS[field]();
      // Lengths are checked as you type; the address once you leave it.
      if (field !== 'cover_url' || !el.hidden) showRoomError(field, roomFieldError(field));
    }
    renderRoomSave();
  };
  ui.roomTitle.addEventListener('input', () => {
    renderTitleCount();
    onEdit('title');
  });
  ui.roomCategory.addEventListener('input', () => onEdit('category'));
  ui.roomCover.addEventListener('input', () => onEdit('cover_url'));
  ui.roomCover.addEventListener('change', () => {
    showRoomError('cover_url', roomFieldError('cover_url'));
    renderCoverPreview();
  });
  ui.roomPrivate.addEventListener('change', () => onEdit(''));
  ui.roomCoverImg.addEventListener('load', () => (ui.roomCoverImg.hidden = false));
  ui.roomCoverImg.addEventListener('error', () => (ui.roomCoverImg.hidden = true));
}

async function newStreamKey() {
  if (keyBusy || pc || busy) return;
  keyBusy = true;
  render();
  ui.newKeyError.hidden = true;
  try {
    const res = await api('/api/me/stream-key', { method: 'POST' });
    const key = res && typeof res.stream_key === 'string' ? res.stream_key : '';
    if (!key) throw new Error('The server answered without a key.');
    ui.key.value = key;
    store.set(keyStorage, key);
    setText(ui.newKeyValue, key);
    ui.newKeyBox.hidden = false;
    state.keyIssued = true;
    ui.newKeyBox.scrollIntoView({ block: 'nearest' });
    if (state.status === 'error' && !pc) setStatus('offline');
  } catch (err) {
    setText(ui.newKeyError, `Could not get a new key: ${errorMessage(err)}`);
    ui.newKeyError.hidden = false;
  } finally {
    keyBusy = false;
    render();
  }
}

async function copyKey() {
  try {
    await navigator.clipboard.writeText(ui.newKeyValue.textContent);
    setText(ui.copyKey, 'Copied');
  } catch {
    // No clipboard here (http on another host): select the key to copy by hand.
    getSelection()?.selectAllChildren(ui.newKeyValue);
    setText(ui.copyKey, 'Selected');
  }
  setTimeout(() => setText(ui.copyKey, 'Copy'), 1500);
}

// ---------------------------------------------------------------------------
// Wiring

function initControls() {
  const codec = (param('codec') || '').toUpperCase().replace('.', '');
  if (codec === 'H264' || codec === 'VP8') ui.codec.value = codec;
  const res = param('res');
  if (res && RESOLUTIONS[res]) ui.resolution.value = res;
  if (param('simulcast') === '0') ui.simulcast.checked = false;
  ui.key.value = param('key') || store.get(keyStorage) || '';

  const watchPath = `/watch/${encodeURIComponent(room)}`;
  ui.watchLink.href = watchPath;
  setText(ui.watchLink, `${location.host}${watchPath}`);
  ui.copyLink.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(new URL(watchPath, location.origin).href);
      setText(ui.copyLink, 'Copied');
    } catch {
      setText(ui.copyLink, 'Copy failed');
    }
    setTimeout(() => setText(ui.copyLink, 'Copy'), 1500);
  });

  ui.settings.addEventListener('submit', (e) => e.preventDefault());
  ui.camera.addEventListener('change', onDeviceChange);
  ui.microphone.addEventListener('change', onDeviceChange);
  ui.resolution.addEventListener('change', onDeviceChange);
  ui.keyToggle.addEventListener('click', () => {
    const show = ui.key.type === 'password';
    ui.key.type = show ? 'text' : 'password';
    setText(ui.keyToggle, show ? 'Hide' : 'Show');
    ui.keyToggle.setAttribute('aria-pressed', String(show));
  });
  ui.key.addEventListener('change', () => {
    const key = ui.key.value.trim();
    if (key) store.set(keyStorage, key);
  });
  ui.goLive.addEventListener('click', () => (pc || busy ? stop() : goLive()));
  ui.newKey.addEventListener('click', newStreamKey);
  ui.copyKey.addEventListener('click', copyKey);
  initRoomForm();
  ui.cohostUnmute.addEventListener('click', () => {
    cohosts.setMuted(false);
    renderCohosts();
  });
  navigator.mediaDevices?.addEventListener?.('devicechange', () => listDevices().catch(() => {}));
  addEventListener('pagehide', () => {
    if (session) session.close();
    if (cohostSession) cohostSession.close();
  });
}

async function main() {
  setText(ui.room, room || 'No room');
  document.title = room ? `Studio · ${room} · onair` : 'Studio · onair';
  if (!room) {
    setStatus('error', 'No room in the address. Open /studio/<room>.');
    return;
  }
  initControls();
  // Co-hosts play with sound when the browser allows it (a click on Go live
  // counts); otherwise they start muted behind a button.
  cohosts.muted = false;
  render();
  renderCohosts();
  chat = mountChat($('chat'), { room, overlay: $('danmaku'), state });
  statsLoop();
  initAccount().catch((err) => console.warn('studio: account', err));
  try {
    await startPreview();
    render();
  } catch (err) {
    setStatus('error', errorMessage(err));
    return;
  }
  if (param('autostart') === '1') goLive();
}

main();
