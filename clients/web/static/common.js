// Shared helpers for the onair pages: the WHIP/WHEP exchange (RFC 9725),
// problem+json errors (RFC 9457), ice-server Link headers, stats sampling and
// small DOM helpers. No page text that comes from a user or a server is ever
// inserted as HTML: everything goes through textContent.

/** How long to wait for ICE gathering before sending a non-trickle offer. */
export const GATHERING_TIMEOUT_MS = 2000;

/** Returns the path segment after `/{prefix}/`, decoded, or "". */
export function roomFromPath(prefix, pathname = location.pathname) {
  const parts = pathname.split('/').filter(Boolean);
  const i = parts.indexOf(prefix);
  const raw = i >= 0 ? parts[i + 1] : '';
  if (!raw) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Returns a query parameter of the page, or null. */
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/** The URL of a WHIP or WHEP endpoint for a room: kind is "whip" or "whep". */
export function endpointURL(kind, room) {
  return new URL(`/${kind}/${encodeURIComponent(room)}`, location.origin).href;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A random stream key: 24 characters of [a-z0-9]. */
export function randomKey(length = 24) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let key = '';
  for (const b of bytes) key += alphabet[b % alphabet.length];
  return key;
}

/** localStorage that never throws (private windows, disabled storage). */
export const store = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch {
      /* storage unavailable: the value lives for this page only */
    }
  },
};

/** Sets an element's text; a null element is ignored. */
export function setText(el, text) {
  if (el) el.textContent = text == null ? '' : String(text);
}

/**
 * Creates an element. attrs are set as attributes (class via "class"),
 * children are nodes or strings (strings become text nodes, never HTML).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// ---------------------------------------------------------------------------
// Errors

/**
 * An HTTP error, usually from an application/problem+json body (RFC 9457).
 * message is what a person reads: the problem's detail, else its title.
 */
export class ProblemError extends Error {
  constructor(status, title, detail, retryAfter = null) {
    super(detail || title || (status ? `HTTP ${status}` : 'Request failed'));
    this.name = 'ProblemError';
    this.status = status;
    this.title = title || '';
    this.detail = detail || '';
    /** Seconds from a Retry-After header (429, 503), or null. */
    this.retryAfter = retryAfter;
  }
}

/** Seconds to wait from a Retry-After value (delay-seconds or an HTTP date), or null. */
export function parseRetryAfter(value) {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Reads an error response into a ProblemError. */
export async function problemFromResponse(resp) {
  let title = '';
  let detail = '';
  const type = (resp.headers.get('Content-Type') || '').toLowerCase();
  let text = '';
  try {
    text = await resp.text();
  } catch {
    /* body unreadable: fall back to the status */
  }
  if (type.includes('json') && text) {
    try {
      const p = JSON.parse(text);
      if (p && typeof p === 'object') {
        if (typeof p.title === 'string') title = p.title;
        if (typeof p.detail === 'string') detail = p.detail;
      }
    } catch {
      /* not JSON after all */
    }
  } else if (text && type.startsWith('text/plain')) {
    detail = text.trim().slice(0, 300);
  }
  if (!title) title = `${resp.status} ${resp.statusText || 'error'}`.trim();
  return new ProblemError(resp.status, title, detail, parseRetryAfter(resp.headers.get('Retry-After')));
}

/** A short message for any error a page catches. */
export function errorMessage(err) {
  if (!err) return 'Unknown error';
  if (err instanceof ProblemError) return err.message;
  if (err.name === 'NotAllowedError') return 'Permission to use the camera or microphone was denied.';
  if (err.name === 'NotFoundError') return 'No camera or microphone was found.';
  if (err.name === 'NotReadableError') return 'The camera or microphone is in use by another application.';
  if (err.name === 'OverconstrainedError') return 'The camera does not support the chosen resolution.';
  return err.message || String(err);
}

// ---------------------------------------------------------------------------
// ICE servers from Link headers (RFC 9725 §4.6, RFC 8288)

/**
 * Parses Link header values (RFC 8288) into {uri, rels, params}: rels are
 * the lower-cased relation types, params the other attributes (first one
 * wins). Malformed parts are skipped.
 */
export function parseLinks(value) {
  const links = [];
  if (!value) return links;
  const n = value.length;
  const isSpace = (c) => c === ' ' || c === '\t';
  let i = 0;
  while (i < n) {
    const lt = value.indexOf('<', i);
    if (lt < 0) break;
    const gt = value.indexOf('>', lt + 1);
    if (gt < 0) break;
    const uri = value.slice(lt + 1, gt).trim();
    i = gt + 1;
    const params = {};
    while (i < n) {
      while (i < n && isSpace(value[i])) i++;
      if (i >= n) break;
      if (value[i] === ',') {
        i++;
        break;
      }
      if (value[i] !== ';') {
        i++; // stray character: skip it
        continue;
      }
      i++;
      while (i < n && isSpace(value[i])) i++;
      let start = i;
      while (i < n && !'=;,'.includes(value[i]) && !isSpace(value[i])) i++;
      const name = value.slice(start, i).toLowerCase();
      while (i < n && isSpace(value[i])) i++;
      let val = '';
      if (value[i] === '=') {
        i++;
        while (i < n && isSpace(value[i])) i++;
        if (value[i] === '"') {
          i++;
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\' && i + 1 < n) i++;
            val += value[i];
            i++;
          }
          i++; // closing quote
        } else {
          start = i;
          while (i < n && value[i] !== ';' && value[i] !== ',') i++;
          val = value.slice(start, i).trim();
        }
      }
      if (name && !(name in params)) params[name] = val;
    }
    links.push({ uri, rels: (params.rel || '').toLowerCase().split(/\s+/).filter(Boolean), params });
  }
  return links;
}

/**
 * Parses Link header values into RTCIceServer objects. Only links with
 * rel="ice-server" and a stun:, stuns:, turn: or turns: URI are kept;
 * username and credential attributes are copied.
 */
export function parseIceServerLinks(value) {
  const servers = [];
  for (const { uri, rels, params } of parseLinks(value)) {
    if (!rels.includes('ice-server')) continue;
    if (!/^(stun|stuns|turn|turns):/i.test(uri)) continue;
    const server = { urls: uri };
    if ('username' in params) server.username = params.username;
    if ('credential' in params) server.credential = params.credential;
    servers.push(server);
  }
  return servers;
}

/** The relation type of the WHEP layer extension (draft-ietf-wish-whep §4.6.1). */
export const LAYER_REL = 'urn:ietf:params:whep:ext:core:layer';

/** The absolute URL of the first link with relation type rel, or "". */
export function linkURL(value, rel, base) {
  const link = parseLinks(value).find((l) => l.rels.includes(rel.toLowerCase()));
  if (!link) return '';
  try {
    return new URL(link.uri, base).href;
  } catch {
    return '';
  }
}

const iceServerCache = new Map();

/**
 * Asks the endpoint for its ICE servers with OPTIONS and parses the Link
 * headers. Any failure gives [] (host candidates only); the answer is cached
 * per URL for the life of the page.
 */
export function fetchIceServers(url, timeoutMs = 1500) {
  if (!iceServerCache.has(url)) {
    const p = (async () => {
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), timeoutMs);
      try {
        const resp = await fetch(url, { method: 'OPTIONS', signal: ctl.signal });
        return parseIceServerLinks(resp.headers.get('Link'));
      } catch {
        return [];
      } finally {
        clearTimeout(timer);
      }
    })();
    iceServerCache.set(url, p);
  }
  return iceServerCache.get(url);
}

// ---------------------------------------------------------------------------
// WHIP / WHEP

/** Resolves when ICE gathering completes, or after timeoutMs. */
export function waitIceGathering(pc, timeoutMs = GATHERING_TIMEOUT_MS) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** A WHIP or WHEP session resource (the Location of the 201 answer). */
export class Session {
  constructor(url, etag, token) {
    this.url = url;
    this.etag = etag;
    this.token = token;
    this.closed = false;
  }

  /** Ends the session with DELETE; errors are ignored. */
  async close() {
    if (this.closed || !this.url) return;
    this.closed = true;
    const headers = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    try {
      await fetch(this.url, { method: 'DELETE', headers, keepalive: true });
    } catch {
      /* the server ends idle sessions by itself */
    }
  }
}

/**
 * Runs a non-trickle WHIP/WHEP exchange: creates the offer, waits for ICE
 * gathering (at most 2 s), POSTs it as application/sdp (with a Bearer token
 * when given), applies the answer. Returns {session, postedAt} where postedAt
 * is performance.now() when the POST left, and layerURL is the WHEP layer
 * resource the answer advertised (LAYER_REL), or "". Throws a ProblemError on
 * an HTTP error or when the server cannot be reached.
 */
export async function exchangeSDP(url, pc, { token, signal } = {}) {
  await pc.setLocalDescription(await pc.createOffer());
  await waitIceGathering(pc);
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const postedAt = performance.now();
  let resp;
  try {
    resp = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ProblemError(0, 'Cannot reach the server', 'Cannot reach the server. Check your connection; retrying may help.');
  }
  if (resp.status !== 201 && resp.status !== 200) throw await problemFromResponse(resp);
  const answer = await resp.text();
  const location = resp.headers.get('Location');
  const session = new Session(location ? new URL(location, resp.url || url).href : '', resp.headers.get('ETag'), token);
  const layerURL = linkURL(resp.headers.get('Link'), LAYER_REL, resp.url || url);
  if (pc.signalingState === 'closed') {
    session.close();
    throw new ProblemError(0, 'Cancelled', 'The connection was closed.');
  }
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  } catch (err) {
    session.close();
    throw new ProblemError(0, 'Bad answer', `The server's answer was not accepted: ${err.message}`);
  }
  return { session, postedAt, layerURL };
}

// ---------------------------------------------------------------------------
// Stats

/** Turns cumulative byte counters into kbit/s between two samples. */
export class Rates {
  constructor() {
    this.prev = new Map();
  }

  /** Returns kbit/s for the counter `key`, or null on its first sample. */
  kbps(key, bytes, timestampMs) {
    const p = this.prev.get(key);
    this.prev.set(key, { bytes, ts: timestampMs });
    if (!p || timestampMs <= p.ts || bytes < p.bytes) return null;
    return ((bytes - p.bytes) * 8) / (timestampMs - p.ts); // bits per ms = kbit/s
  }

  /** Returns Δa/Δb for two cumulative counters, or null. */
  ratio(key, a, b) {
    const p = this.prev.get(key);
    this.prev.set(key, { a, b });
    if (!p || b <= p.b) return null;
    return (a - p.a) / (b - p.b);
  }
}

/** Round-trip time in ms of the selected candidate pair, or null. */
export function candidatePairRttMs(report) {
  let pair = null;
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId) || pair;
  });
  if (!pair) {
    report.forEach((r) => {
      if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
    });
  }
  return pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null;
}

/** "VP8" for a stats codecId whose mimeType is "video/VP8", or "". */
export function codecName(report, codecId) {
  const c = codecId ? report.get(codecId) : null;
  return c && c.mimeType ? c.mimeType.replace(/^(video|audio)\//i, '') : '';
}

/** The order of simulcast RIDs, lowest layer first (as the server ranks them). */
const RID_RANK = ['q', 'l', '0', 'h', 'm', '1', 'f', '2'];

function ridRank(rid) {
  const i = RID_RANK.indexOf(String(rid || '').toLowerCase());
  return i < 0 ? RID_RANK.length : Math.floor(i / 3);
}

/**
 * Summary of a publisher's outbound stats (see studio.js for the fields).
 * With simulcast there is one video outbound-rtp per encoding: width, height,
 * fps, framesEncoded are the largest layer's, and layers lists each one,
 * lowest first: {rid, width, height, fps, kbps, framesEncoded, active,
 * qualityLimitationReason, scalabilityMode}.
 */
export function summarizeOutbound(report, rates) {
  const out = {
    bitrateKbps: 0,
    width: 0,
    height: 0,
    fps: 0,
    framesEncoded: 0,
    encoder: '',
    qualityLimitationReason: '',
    codec: '',
    rttMs: null,
    layers: [],
  };
  let rtt = null;
  let rttIsVideo = false;
  report.forEach((r) => {
    if (r.type === 'outbound-rtp') {
      const k = rates.kbps(r.id, r.bytesSent || 0, r.timestamp);
      if (k != null) out.bitrateKbps += k;
      if (r.kind === 'video') {
        out.layers.push({
          rid: r.rid || '',
          width: r.frameWidth || 0,
          height: r.frameHeight || 0,
          fps: Math.round(r.framesPerSecond || 0),
          kbps: k != null ? Math.round(k) : 0,
          framesEncoded: r.framesEncoded || 0,
          // Chromium reports active from M114; an encoding it dropped (too
          // small a picture for three layers) sends nothing.
          active: r.active !== false,
          qualityLimitationReason: r.qualityLimitationReason || '',
          scalabilityMode: r.scalabilityMode || '',
        });
        if ((r.frameWidth || 0) * (r.frameHeight || 0) >= out.width * out.height) {
          out.width = r.frameWidth || out.width;
          out.height = r.frameHeight || out.height;
          out.fps = r.framesPerSecond || out.fps;
          out.framesEncoded = Math.max(out.framesEncoded, r.framesEncoded || 0);
        }
        out.encoder = r.encoderImplementation || out.encoder;
        if (r.qualityLimitationReason && r.qualityLimitationReason !== 'none') out.qualityLimitationReason = r.qualityLimitationReason;
        else out.qualityLimitationReason ||= r.qualityLimitationReason || '';
        out.codec = codecName(report, r.codecId) || out.codec;
      }
    } else if (r.type === 'remote-inbound-rtp' && typeof r.roundTripTime === 'number') {
      if (!rttIsVideo) rtt = r.roundTripTime * 1000;
      if (r.kind === 'video') rttIsVideo = true;
    }
  });
  out.layers.sort((a, b) => ridRank(a.rid) - ridRank(b.rid));
  out.rttMs = rtt != null ? rtt : candidatePairRttMs(report);
  out.bitrateKbps = Math.round(out.bitrateKbps);
  out.fps = Math.round(out.fps);
  if (out.rttMs != null) out.rttMs = Math.round(out.rttMs);
  return out;
}

// ---------------------------------------------------------------------------
// Formatting

export function fmtKbps(kbps) {
  if (kbps == null) return '–';
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(2)} Mbit/s` : `${Math.round(kbps)} kbit/s`;
}

export function fmtMs(ms) {
  return ms == null ? '–' : `${Math.round(ms)} ms`;
}

export function fmtRes(w, h) {
  return w && h ? `${w}×${h}` : '–';
}

/** Sets the text of every [data-stat=name] element under root. */
export function fillStats(root, values) {
  for (const el of root.querySelectorAll('[data-stat]')) {
    const v = values[el.dataset.stat];
    setText(el, v == null || v === '' ? '–' : v);
  }
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** A count for people: 950, 1.2K, 3.4M. */
export function fmtCount(n) {
  const v = Number(n);
  if (!Number.isFinite(v) || v < 0) return '0';
  return v < 1000 ? String(Math.round(v)) : compact.format(v);
}

/** "1 viewer", "2 viewers", "1.2K viewers". */
export function plural(n, one, many = `${one}s`) {
  return `${fmtCount(n)} ${Number(n) === 1 ? one : many}`;
}

/** How long ago an ISO time was, short: "5 min", "2 h 05 min", or "" when unknown. */
export function fmtSince(iso, now = Date.now()) {
  const t = Date.parse(iso || '');
  if (Number.isNaN(t)) return '';
  const min = Math.max(0, Math.floor((now - t) / 60000));
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  return `${hours} h ${String(min % 60).padStart(2, '0')} min`;
}

/** The first letter of a name, upper case, for avatars and empty covers. */
export function initialOf(...names) {
  for (const n of names) {
    const first = Array.from(String(n || '').trim())[0];
    if (first) return first.toLocaleUpperCase();
  }
  return '?';
}

/** A stable hue (0–359) for a string, so a room keeps its placeholder colour. */
export function hueOf(s) {
  let x = 2166136261;
  for (const c of String(s || '')) x = Math.imul(x ^ c.codePointAt(0), 16777619);
  // Mix the bits (murmur3's finalizer): short names differ in a few bits only.
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return ((x ^ (x >>> 16)) >>> 0) % 360;
}

/** An https:// (or same-origin path) image URL from a server field, or "". */
export function safeImageURL(url) {
  if (typeof url !== 'string') return '';
  const u = url.trim();
  return /^https:\/\/[^\s]+$/i.test(u) || /^\/[^/\\]/.test(u) ? u : '';
}

const ICONS = {
  eye: 'M12 5C6.5 5 2.7 9.1 1.5 12c1.2 2.9 5 7 10.5 7s9.3-4.1 10.5-7C21.3 9.1 17.5 5 12 5zm0 11.2a4.2 4.2 0 1 1 0-8.4 4.2 4.2 0 0 1 0 8.4zm0-6.4a2.2 2.2 0 1 0 0 4.4 2.2 2.2 0 0 0 0-4.4z',
  people: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM9 13c-3.3 0-7 1.6-7 4.5V20h14v-2.5C16 14.6 12.3 13 9 13zm7.6.1c1.3.9 2.4 2.3 2.4 4.4V20h3v-2.3c0-2.5-2.9-4.2-5.4-4.6z',
  heart: 'M12 21s-7.5-4.6-9.6-9.2C.9 8.4 3 4.5 6.8 4.5c2.1 0 3.6 1.1 5.2 3 1.6-1.9 3.1-3 5.2-3 3.8 0 5.9 3.9 4.4 7.3C19.5 16.4 12 21 12 21z',
  check: 'M9.2 16.6 4.9 12.3l-1.4 1.4 5.7 5.7L21 7.6l-1.4-1.4z',
  chat: 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9.5L4 22v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.2a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z',
};

/** A small inline SVG icon (eye, people, heart, check, chat), hidden from screen readers. */
export function icon(name, size = 16) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name}`);
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name] || '');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

/** Updates a status pill: data-status drives its colour. */
export function setPill(pill, status, label) {
  if (!pill) return;
  pill.dataset.status = status;
  setText(pill, label);
}

// ---------------------------------------------------------------------------
// Lists refreshed in place

/**
 * Sets what changed, since was, of a room card's face (the lobby's, the
 * live wall's): title, streamer, the placeholder's initial and hue. r holds
 * the elements title, streamer, initial and cover.
 */
export function updateRoomFace(r, next, was) {
  if (next.title !== was.title) {
    setText(r.title, next.title);
    r.title.title = next.title;
  }
  if (next.streamer !== was.streamer) setText(r.streamer, next.streamer);
  if (next.initial !== was.initial) setText(r.initial, next.initial);
  if (next.hue !== was.hue) r.cover.style.setProperty('--hue', String(next.hue));
}

/**
 * Shows items (objects with a string id) in list in the order given, one
 * element each, kept across calls: shown maps an id to its entry {el, ...},
 * made by create(id) and refreshed by update(entry, item) on every call;
 * entries of items no longer given are removed. Returns how many are shown.
 */
export function renderKeyed(list, shown, items, create, update) {
  const seen = new Set();
  let i = 0;
  for (const item of items) {
    if (!item || typeof item.id !== 'string' || !item.id || seen.has(item.id)) continue;
    seen.add(item.id);
    let entry = shown.get(item.id);
    if (!entry) {
      entry = create(item.id);
      shown.set(item.id, entry);
    }
    update(entry, item);
    const at = list.children[i];
    if (at !== entry.el) list.insertBefore(entry.el, at || null);
    i++;
  }
  for (const [id, entry] of shown) {
    if (!seen.has(id)) {
      entry.el.remove();
      shown.delete(id);
    }
  }
  return shown.size;
}

/**
 * Runs load() now and again ms after each run ends: never two at once, and
 * not while the page is hidden (a run missed then happens as soon as it
 * shows again). A load() that resolves to false stops it. Returns a
 * function that runs it at once (after an action, say).
 */
export function every(ms, load) {
  let timer = 0;
  let busy = false;
  let missed = false;
  let stopped = false;
  const run = async () => {
    clearTimeout(timer);
    if (busy || stopped) return;
    busy = true;
    try {
      if ((await load()) === false) stopped = true;
    } finally {
      busy = false;
      if (!stopped) timer = setTimeout(tick, ms);
    }
  };
  const tick = () => {
    if (document.hidden) missed = true;
    else run();
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && missed) {
      missed = false;
      run();
    }
  });
  run();
  return run;
}

// ---------------------------------------------------------------------------
// Every page's top bar: "Wallet", for logged-in users

/** Adds "Wallet" to the top bar, before Messages and the account area, once the user is known. */
async function mountTopbarWallet(fetchMe) {
  const bar = document.querySelector('header.topbar');
  const { user } = await fetchMe();
  if (!bar || !user || bar.querySelector('.topbar-wallet')) return;
  const link = h('a', { class: 'topbar-wallet', href: '/wallet', id: 'topbar-wallet', title: 'Wallet: coins and recharge' },
    h('span', { class: 'coin', 'aria-hidden': 'true' }, '🪙'), h('span', { class: 'topbar-wallet-label' }, 'Wallet'));
  if (location.pathname === '/wallet' || location.pathname === '/earnings') link.setAttribute('aria-current', 'page');
  bar.insertBefore(link, bar.querySelector('.topbar-messages') || bar.querySelector('.account'));
}

if (typeof document !== 'undefined' && document.querySelector('header.topbar')) {
  import('./api.js').then((api) => mountTopbarWallet(api.fetchMe)).catch(() => {
    /* no link: the page works without it */
  });
}

// ---------------------------------------------------------------------------
// Every page's top bar: "Messages" with the unread count, for logged-in users

// Loaded after this module (and the page's own ones) have run: inbox.js needs
// api.js, which imports this module. A page without a top bar is left alone.
if (typeof document !== 'undefined' && document.querySelector('header.topbar')) {
  import('./inbox.js').then((inbox) => inbox.mountTopbarInbox()).catch(() => {
    /* no link: the page works without it */
  });
}
