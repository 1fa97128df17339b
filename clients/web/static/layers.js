// The player's side of the WHEP layer extension (draft-ietf-wish-whep §4.6.1):
// the WHEP answer's Link rel="urn:ietf:params:whep:ext:core:layer" names a
// resource where the player POSTs {"mediaId", "encodingId", "maxEncodingId"}
// as JSON to choose the simulcast layer of each video (mediaId: the stage
// slot, "0" the first).
//
// A viewer picks Auto, High, Mid or Low. High, Mid and Low pin that layer.
// Auto leaves the choice to the server's bandwidth estimate, capped by what
// the slot's <video> can show: a hidden page takes the low layer, a tile
// under SMALL_PX CSS pixels wide the middle one, under TINY_PX the low one.
// Sizes are watched with a ResizeObserver and settle for DEBOUNCE_MS before
// the server is asked; a page that shows again is lifted at once.
//
// A slot is asked about only while it plays, and only when what it wants
// differs from what the server was last told for it (nothing, at first: the
// server's default is Auto with no cap), so a large player on a good link
// sends no request at all.

import { problemFromResponse } from './common.js';

/** Below this CSS width a tile is capped to the middle layer (640 of 1280 pixels). */
export const SMALL_PX = 400;
/** Below this CSS width a tile is capped to the low layer (320 of 1280 pixels). */
export const TINY_PX = 240;
/** How long a size settles before the server is told. */
export const DEBOUNCE_MS = 400;

export const CHOICES = ['auto', 'high', 'mid', 'low'];

/** The cap for a tile width CSS pixels wide: "low", "mid" or "" (none). */
export function capFor(width, hidden) {
  if (hidden || width < TINY_PX) return 'low';
  if (width < SMALL_PX) return 'mid';
  return '';
}

/** What the server holds for a slot when nobody asked: Auto, no cap. */
const DEFAULT = JSON.stringify({ encodingId: 'auto', maxEncodingId: '' });

export class LayerControl {
  /**
   * stage: the Stage whose slots are the session's videos (tiles[i].video,
   * tiles[i].active). state: an object that gets {available, url, choice,
   * caps, posts, lastRequest, error} (for tests and the stats overlay).
   * onChange(): called after a request was answered.
   */
  constructor(stage, { state = {}, onChange = null } = {}) {
    this.stage = stage;
    this.state = state;
    this.onChange = onChange;
    this.url = '';
    this.choice = 'auto';
    this.sent = new Map(); // slot → JSON of {encodingId, maxEncodingId} the server holds
    this.timer = 0;
    this.busy = false;
    this.again = false;
    Object.assign(state, { available: false, url: '', choice: 'auto', caps: [], posts: 0, lastRequest: null, error: '' });

    this.observer = typeof ResizeObserver === 'function' ? new ResizeObserver(() => this.schedule()) : null;
    for (const tile of stage.tiles) this.observer?.observe(tile.video);
    document.addEventListener('visibilitychange', () => this.schedule(document.hidden ? DEBOUNCE_MS : 0));
  }

  /** A new WHEP session: its layer resource (or "" without one). */
  attach(url) {
    this.url = url || '';
    this.sent.clear();
    this.state.available = !!this.url;
    this.state.url = this.url;
    this.state.error = '';
    this.schedule(0);
  }

  /** The viewer's choice: "auto", "high", "mid" or "low". */
  setChoice(choice) {
    if (!CHOICES.includes(choice)) return;
    this.choice = choice;
    this.state.choice = choice;
    this.schedule(0);
  }

  /** Asks again after ms (the slots changed size, or started playing). */
  schedule(ms = DEBOUNCE_MS) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), ms);
  }

  /** What slot i should ask for now. */
  want(tile) {
    if (this.choice !== 'auto') return { encodingId: this.choice, maxEncodingId: '' };
    return { encodingId: 'auto', maxEncodingId: capFor(tile.video.clientWidth, document.hidden) };
  }

  async flush() {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        const url = this.url;
        this.state.caps = this.stage.tiles.map((t) => (t.active ? this.want(t).maxEncodingId || 'none' : ''));
        for (const tile of this.stage.tiles) {
          if (!url || url !== this.url) break;
          if (!tile.active) continue;
          const want = this.want(tile);
          const key = JSON.stringify(want);
          if ((this.sent.get(tile.index) || DEFAULT) === key) continue;
          if (await this.post(url, tile.index, want)) {
            if (url === this.url) this.sent.set(tile.index, key);
          } else {
            break; // told in state.error; the next change tries again
          }
        }
      } while (this.again);
    } finally {
      this.busy = false;
    }
  }

  async post(url, slot, want) {
    const body = { mediaId: String(slot), encodingId: want.encodingId };
    if (want.maxEncodingId) body.maxEncodingId = want.maxEncodingId;
    this.state.posts++;
    this.state.lastRequest = body;
    let ok = false;
    try {
      const resp = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (resp.ok) {
        ok = true;
        if (url === this.url) this.state.error = '';
      } else {
        const err = await problemFromResponse(resp);
        if (url === this.url) this.state.error = `Could not change the quality: ${err.message}`;
      }
    } catch {
      if (url === this.url) this.state.error = 'Could not change the quality: the server cannot be reached.';
    }
    if (this.onChange) this.onChange();
    return ok;
  }
}
