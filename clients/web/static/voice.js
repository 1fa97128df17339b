// Voice messages in the chat panel and on the messages page: a press-and-hold
// record button and a small player.
//
// Recording: press and hold the button (mouse, touch or Space / Enter) and
// the browser's MediaRecorder records the microphone as Opus, in WebM or Ogg,
// whichever it supports; releasing it (or reaching MAX_MS) stops. The clip is
// uploaded with POST /api/voice?room=<room> or ?to=<user> (multipart field
// "audio"), where the server converts it to Ogg/Opus; the page then sends the
// voice message with the clip's id. A browser without Opus recording gets a
// disabled button that says so.
//
// Playing: voicePlayer(id, durationMs) is an <audio controls preload="none">
// of /api/voice/{id} and the clip's length. The id must look like the
// server's (a ULID) and is only ever put in the URL; nothing from users is
// parsed as HTML.

import { h, problemFromResponse, ProblemError, setText } from './common.js';

/** The server's default limit; the server refuses longer clips anyway. */
export const MAX_MS = 60_000;
/** A press shorter than this is a click, not a recording. */
const MIN_MS = 400;
const TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus'];
const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// The look of the button and the player lives beside this module.
if (typeof document !== 'undefined' && !document.querySelector('link[data-voice-css]')) {
  document.head.append(h('link', { rel: 'stylesheet', href: '/static/voice.css', 'data-voice-css': true }));
}

/** The recording type this browser supports ("" when none). */
export function recordingType() {
  if (typeof MediaRecorder === 'undefined' || !MediaRecorder.isTypeSupported) return '';
  return TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || '';
}

/**
 * "0:07", "1:00": whole seconds, as the browsers' own audio controls count
 * them, and at least 0:01 for any sound at all.
 */
export function fmtDuration(ms) {
  const n = Number(ms) || 0;
  const s = n > 0 ? Math.max(1, Math.floor(n / 1000)) : 0;
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const MIC = 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11z';

function micIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'voice-mic');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', MIC);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

/** A voice message's body from the server, or null: {id, durationMs}. */
export function voiceOf(body) {
  const id = body && typeof body.id === 'string' ? body.id : '';
  if (!ID.test(id)) return null;
  return { id, durationMs: Math.max(0, Number(body.duration_ms) || 0) };
}

/** A player for a voice message: <audio controls> and its length. */
export function voicePlayer(voice) {
  const audio = h('audio', { controls: true, preload: 'none', src: `/api/voice/${encodeURIComponent(voice.id)}`, 'aria-label': 'Voice message' });
  return h('span', { class: 'voice-msg', 'data-voice': voice.id },
    audio, h('span', { class: 'voice-len' }, fmtDuration(voice.durationMs)));
}

/** POST /api/voice: where is {room} or {to}; resolves to the stored clip. */
export async function uploadVoice(blob, where) {
  const q = where.room ? `room=${encodeURIComponent(where.room)}` : `to=${encodeURIComponent(where.to)}`;
  const form = new FormData();
  const ext = blob.type.includes('ogg') ? 'ogg' : 'webm';
  form.append('audio', blob, `voice.${ext}`);
  let resp;
  try {
    resp = await fetch(`/api/voice?${q}`, { method: 'POST', body: form, credentials: 'same-origin', headers: { Accept: 'application/json, application/problem+json' } });
  } catch {
    throw new ProblemError(0, 'Cannot reach the server', 'Cannot reach the server. Check your connection and try again.');
  }
  if (!resp.ok) throw await problemFromResponse(resp);
  return resp.json();
}

/**
 * A press-and-hold record button. where() says where a clip goes ({room} or
 * {to}; null: nowhere now), send(clip) sends the voice message once the clip
 * is uploaded, onError(message) shows a refusal. state is kept current (read
 * by tests): {status: "idle" | "starting" (the microphone is opening) |
 * "recording" | "uploading" | "unsupported", lastError, sent}.
 */
export function mountRecorder({ where, send, onError = () => {}, state = {} }) {
  Object.assign(state, { status: 'idle', lastError: null, sent: 0 });
  const type = recordingType();
  // Idle, the button is a microphone; while recording it shows the time.
  const label = h('span', { class: 'voice-label', 'aria-live': 'polite' });
  const btn = h('button', { type: 'button', class: 'btn voice-rec', 'aria-label': 'Hold to record a voice message', title: 'Hold to record a voice message' },
    micIcon(), h('span', { class: 'voice-dot', 'aria-hidden': 'true' }), label);
  if (!type) {
    state.status = 'unsupported';
    btn.disabled = true;
    btn.title = 'This browser cannot record voice messages';
  }
  let rec = null; // {recorder, stream, chunks, started, timer, held}
  const show = (status, text) => {
    state.status = status;
    btn.dataset.state = status;
    setText(label, text);
  };
  const fail = (msg) => {
    state.lastError = msg;
    onError(msg);
  };

  async function start() {
    if (rec || state.status !== 'idle' || !where()) return;
    const r = { chunks: [], held: true, started: 0, timer: 0 };
    rec = r;
    show('starting', '0:00');
    try {
      r.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      rec = null;
      show('idle', '');
      fail(err?.name === 'NotAllowedError' ? 'Allow the microphone to record voice messages.' : 'No microphone to record with.');
      return;
    }
    r.recorder = new MediaRecorder(r.stream, { mimeType: type, audioBitsPerSecond: 32000 });
    r.recorder.addEventListener('dataavailable', (e) => e.data.size && r.chunks.push(e.data));
    r.recorder.addEventListener('stop', () => finish(r));
    r.recorder.start(250);
    r.started = performance.now();
    show('recording', '0:00');
    r.timer = setInterval(() => {
      const ms = performance.now() - r.started;
      setText(label, fmtDuration(ms));
      if (ms >= MAX_MS) stop();
    }, 200);
    if (!r.held) stop(); // released while the microphone was starting
  }

  function stop() {
    const r = rec;
    if (!r) return;
    r.held = false;
    if (r.recorder && r.recorder.state === 'recording') r.recorder.stop();
  }

  async function finish(r) {
    clearInterval(r.timer);
    r.stream.getTracks().forEach((t) => t.stop());
    rec = null;
    const ms = performance.now() - r.started;
    if (ms < MIN_MS) {
      show('idle', '');
      fail('Hold the button while you speak.');
      return;
    }
    const to = where();
    if (!to) {
      show('idle', '');
      return;
    }
    show('uploading', 'Sending…');
    try {
      const clip = await uploadVoice(new Blob(r.chunks, { type }), to);
      await send(clip);
      state.sent++;
      state.lastError = null;
    } catch (err) {
      fail(err?.message || 'The voice message was not sent.');
    } finally {
      show('idle', '');
    }
  }

  btn.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    btn.setPointerCapture?.(e.pointerId);
    start();
  });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) btn.addEventListener(ev, stop);
  btn.addEventListener('keydown', (e) => {
    if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) {
      e.preventDefault();
      start();
    }
  });
  btn.addEventListener('keyup', (e) => {
    if (e.key === ' ' || e.key === 'Enter') stop();
  });
  btn.addEventListener('contextmenu', (e) => e.preventDefault()); // a long press on a phone
  show(state.status, '');
  return { button: btn, state };
}
