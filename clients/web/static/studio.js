// The publisher page, /studio/{room}: camera and microphone pickers, local
// preview, codec and resolution, WHIP publishing (RFC 9725) with a stream key,
// live stats, and the co-hosts area (a WHEP session to the same room with the
// same key, so the server leaves this publisher's own tracks out).
//
// Query parameters (for tests and links): ?key=K uses that stream key,
// ?autostart=1 goes live without a click, ?codec=H264 picks H.264,
// ?res=360 picks 360p.
//
// window.state (read by tests):
//   status        "offline" | "connecting" | "live" | "error"
//   error         the message shown to the user ("" when none)
//   bitrateKbps   outgoing, audio + video
//   width, height, fps, framesEncoded   of the outgoing video
//   rttMs         remote-inbound-rtp roundTripTime, else the candidate pair's
//   and: codec, encoder, qualityLimitationReason, previewing,
//        cohosts (co-host slots with video), cohostFramesDecoded

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
  randomKey,
  Rates,
  roomFromPath,
  setPill,
  setText,
  store,
  summarizeOutbound,
} from './common.js';
import { Stage } from './stage.js';

const RESOLUTIONS = {
  720: { width: 1280, height: 720, maxBitrate: 2_500_000 },
  360: { width: 640, height: 360, maxBitrate: 800_000 },
};
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
  key: $('stream-key'),
  keyToggle: $('key-toggle'),
  settings: $('settings'),
  stats: $('stats'),
  watchLink: $('watch-link'),
  copyLink: $('copy-link'),
  cohostGrid: $('cohost-grid'),
  cohostNote: $('cohost-note'),
  cohostUnmute: $('cohost-unmute'),
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
  codec: '',
  encoder: '',
  qualityLimitationReason: '',
  previewing: false,
  cohosts: 0,
  cohostFramesDecoded: 0,
};
window.state = state;

const room = roomFromPath('studio');
const whipURL = room ? endpointURL('whip', room) : '';
const whepURL = room ? endpointURL('whep', room) : '';
const keyStorage = `onair.streamKey.${room}`;

let stream = null; // the local MediaStream (preview and publishing)
let pc = null; // the WHIP peer connection
let session = null; // the WHIP Session
let videoSender = null;
let audioSender = null;
let busy = false; // a go-live or stop is running
let generation = 0;
let rates = new Rates();
let connectTimer = 0;

let cohostSession = null;
let cohostGeneration = 0;
let cohostTimer = 0;
const cohosts = new Stage(ui.cohostGrid, {
  caption: (i) => `Slot ${i + 1}`,
  onChange: () => renderCohosts(),
  onAutoplayBlocked: () => renderCohosts(),
});

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
  ui.key.disabled = publishing;
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
  await listDevices();
  if (videoSender) await videoSender.replaceTrack(stream.getVideoTracks()[0] || null);
  if (audioSender) await audioSender.replaceTrack(stream.getAudioTracks()[0] || null);
  await applyBitrate();
  render();
}

async function applyBitrate() {
  if (!videoSender) return;
  const res = RESOLUTIONS[ui.resolution.value] || RESOLUTIONS[720];
  const params = videoSender.getParameters();
  if (!params.encodings || params.encodings.length === 0) return;
  params.encodings[0].maxBitrate = res.maxBitrate;
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
    const res = RESOLUTIONS[ui.resolution.value] || RESOLUTIONS[720];
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    if (!videoTrack) throw new Error('No camera track to publish.');
    const vt = pc.addTransceiver(videoTrack, {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [{ maxBitrate: res.maxBitrate }],
    });
    const prefs = codecPreferences(ui.codec.value);
    if (prefs) vt.setCodecPreferences(prefs);
    else if (ui.codec.value !== 'VP8') throw new Error(`This browser cannot encode ${ui.codec.value}.`);
    videoSender = vt.sender;
    if (audioTrack) {
      audioSender = pc.addTransceiver(audioTrack, { direction: 'sendonly', streams: [stream] }).sender;
    }
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
    if (gen === generation) fail(errorMessage(err));
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
  fillStats(ui.stats, {});
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
  } catch (err) {
    if (gen !== cohostGeneration) return;
    retryCohosts(gen, errorMessage(err));
  }
}

function retryCohosts(gen, reason) {
  console.info('studio: co-hosts:', reason);
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

// ---------------------------------------------------------------------------
// Wiring

function initControls() {
  const codec = (param('codec') || '').toUpperCase().replace('.', '');
  if (codec === 'H264' || codec === 'VP8') ui.codec.value = codec;
  const res = param('res');
  if (res && RESOLUTIONS[res]) ui.resolution.value = res;
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
  statsLoop();
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
