// The stage player: one WHEP peer connection that receives up to four stage
// slots (co-host publishers). The server maps slot i to the i-th video and the
// i-th audio m-line of the offer, so the offer carries a recvonly video and a
// recvonly audio transceiver for each of the SLOTS slots. A slot's video
// and audio arrive with the same MediaStream id (the publisher's id); an empty
// slot sends nothing, so a slot's tile is shown only while its video decodes
// frames. watch.js uses it for viewers, studio.js for the co-hosts area.

import { Rates, candidatePairRttMs, codecName, h } from './common.js';

export const STAGE_SLOTS = 4;

/** A slot whose video decoded no frame for this long is hidden. */
const IDLE_AFTER_MS = 3000;

function emptySummary() {
  return {
    framesDecoded: 0, // sum over the video tracks
    width: 0, // of the largest active slot
    height: 0,
    fps: 0,
    codec: '',
    bitrateKbps: 0, // audio + video
    packetsLost: 0, // audio + video
    packetsLostPct: 0,
    jitterBufferMs: null,
    rttMs: null,
    latencyMs: null, // jitter buffer delay + RTT/2
    slots: 0, // slots with video frames
  };
}

export class Stage {
  /**
   * grid: the element that holds one tile per slot; its data-count attribute
   * is the number of active slots (style.css lays the grid out from it).
   * caption(i): optional text shown on slot i's tile.
   * onChange(activeCount): called when slots appear or go idle.
   * onFrame(slot): called when slot's video shows a frame of a new size: its
   * first decoded frame, then on resolution changes. It comes before getStats
   * reports the frame (the stats lag by up to a few tens of ms).
   * onAutoplayBlocked(): called when unmuted playback was refused.
   */
  constructor(grid, { slots = STAGE_SLOTS, caption = null, onChange = null, onFrame = null, onAutoplayBlocked = null } = {}) {
    this.grid = grid;
    this.onChange = onChange;
    this.onFrame = onFrame;
    this.onAutoplayBlocked = onAutoplayBlocked;
    this.muted = true;
    this.pc = null;
    this.videoTx = [];
    this.audioTx = [];
    this.rates = new Rates();
    this.summary = emptySummary();
    this.activeCount = 0;
    this.tiles = [];
    for (let i = 0; i < slots; i++) {
      const video = h('video', { playsinline: true, autoplay: true, 'aria-label': `Stage slot ${i + 1}` });
      video.muted = true;
      const el = h('div', { class: 'tile idle', 'data-slot': i }, video);
      const text = caption ? caption(i) : '';
      if (text) el.append(h('span', { class: 'tile-caption' }, text));
      const tile = { index: i, el, video, videoTrack: null, audioTrack: null, frames: 0, lastFrameAt: 0, active: false, stats: null };
      // The first decoded frame sets the size: show the tile without waiting
      // for the next stats sample.
      video.addEventListener('resize', () => {
        if (video.videoWidth > 0 && video.srcObject) {
          this.markFrame(tile);
          if (this.onFrame) this.onFrame(i);
        }
      });
      this.tiles.push(tile);
      grid.append(el);
    }
    this.layout();
  }

  /**
   * Creates a fresh peer connection with the recvonly transceivers.
   * beforeOffer(pc) runs before the offer is made (create data channels there).
   */
  open({ iceServers = [], beforeOffer = null } = {}) {
    this.close();
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    // One video and one audio m-line per slot, in slot order (the same
    // layout as clients/go's Watch); the server counts m-lines per kind.
    this.videoTx = [];
    this.audioTx = [];
    for (let i = 0; i < this.tiles.length; i++) {
      this.videoTx.push(pc.addTransceiver('video', { direction: 'recvonly' }));
      this.audioTx.push(pc.addTransceiver('audio', { direction: 'recvonly' }));
    }
    pc.addEventListener('track', (e) => this.onTrack(e));
    if (beforeOffer) beforeOffer(pc);
    this.pc = pc;
    this.rates = new Rates();
    this.summary = emptySummary();
    return pc;
  }

  /** Closes the peer connection and hides every tile. */
  close() {
    if (this.pc) this.pc.close();
    this.pc = null;
    for (const tile of this.tiles) {
      tile.video.srcObject = null;
      tile.videoTrack = tile.audioTrack = null;
      tile.frames = 0;
      tile.lastFrameAt = 0;
      tile.active = false;
      tile.stats = null;
      delete tile.el.dataset.publisher;
    }
    this.summary = emptySummary();
    this.layout();
  }

  onTrack(e) {
    const list = e.track.kind === 'video' ? this.videoTx : this.audioTx;
    const i = list.findIndex((tx) => tx === e.transceiver || tx.receiver === e.receiver);
    if (i < 0) return;
    const tile = this.tiles[i];
    if (e.track.kind === 'video') tile.videoTrack = e.track;
    else tile.audioTrack = e.track;
    const publisher = e.streams && e.streams[0] ? e.streams[0].id : '';
    if (publisher) tile.el.dataset.publisher = publisher;
    tile.video.srcObject = new MediaStream([tile.videoTrack, tile.audioTrack].filter(Boolean));
    this.play(tile);
  }

  play(tile) {
    tile.video.muted = this.muted;
    const p = tile.video.play();
    if (!p) return;
    p.catch((err) => {
      if (err.name === 'NotAllowedError' && !this.muted) {
        // No user gesture yet: fall back to muted autoplay.
        this.setMuted(true);
        if (this.onAutoplayBlocked) this.onAutoplayBlocked();
      }
    });
  }

  /** Mutes or unmutes every slot. Unmuting should follow a user gesture. */
  setMuted(muted) {
    this.muted = muted;
    for (const tile of this.tiles) {
      tile.video.muted = muted;
      if (!muted && tile.video.srcObject) this.play(tile);
    }
  }

  markFrame(tile) {
    tile.lastFrameAt = performance.now();
    if (!tile.active) {
      tile.active = true;
      this.layout();
    }
  }

  /**
   * Samples getStats once: updates which slots are active and returns the
   * summary (see emptySummary for the fields).
   */
  async poll() {
    const pc = this.pc;
    if (!pc) return this.summary;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return this.summary;
    }
    if (pc !== this.pc) return this.summary;
    const now = performance.now();
    const s = emptySummary();
    let received = 0;
    for (const tile of this.tiles) tile.stats = null;
    report.forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      const k = this.rates.kbps(r.id, r.bytesReceived || 0, r.timestamp);
      if (k != null) s.bitrateKbps += k;
      s.packetsLost += Math.max(0, r.packetsLost || 0);
      received += r.packetsReceived || 0;
      if (r.kind !== 'video') return;
      const frames = r.framesDecoded || 0;
      s.framesDecoded += frames;
      let i = this.videoTx.findIndex((tx) => tx.mid != null && tx.mid === r.mid);
      if (i < 0) i = this.tiles.findIndex((t) => t.videoTrack && t.videoTrack.id === r.trackIdentifier);
      if (i < 0) return;
      const tile = this.tiles[i];
      if (frames > tile.frames) {
        tile.frames = frames;
        tile.lastFrameAt = now;
      }
      const jb = this.rates.ratio(`jb:${r.id}`, r.jitterBufferDelay || 0, r.jitterBufferEmittedCount || 0);
      tile.stats = {
        width: r.frameWidth || 0,
        height: r.frameHeight || 0,
        fps: r.framesPerSecond || 0,
        codec: codecName(report, r.codecId),
        // Δdelay/Δframes over the last interval; the lifetime average before that.
        jitterBufferMs:
          jb != null
            ? jb * 1000
            : r.jitterBufferEmittedCount > 0
              ? (r.jitterBufferDelay / r.jitterBufferEmittedCount) * 1000
              : null,
      };
    });

    let changed = false;
    let best = null;
    for (const tile of this.tiles) {
      const active = tile.frames > 0 && now - tile.lastFrameAt < IDLE_AFTER_MS;
      if (active !== tile.active) {
        tile.active = active;
        changed = true;
      }
      if (active && tile.stats && (!best || tile.stats.width * tile.stats.height > best.width * best.height)) best = tile.stats;
    }
    if (changed) this.layout();

    if (best) {
      s.width = best.width;
      s.height = best.height;
      s.fps = Math.round(best.fps);
      s.codec = best.codec;
      s.jitterBufferMs = best.jitterBufferMs;
    }
    s.slots = this.activeCount;
    s.bitrateKbps = Math.round(s.bitrateKbps);
    s.packetsLostPct = s.packetsLost + received > 0 ? (100 * s.packetsLost) / (s.packetsLost + received) : 0;
    s.rttMs = candidatePairRttMs(report);
    if (s.jitterBufferMs != null) s.latencyMs = Math.round(s.jitterBufferMs + (s.rttMs || 0) / 2);
    if (s.rttMs != null) s.rttMs = Math.round(s.rttMs);
    if (s.jitterBufferMs != null) s.jitterBufferMs = Math.round(s.jitterBufferMs);
    this.summary = s;
    return s;
  }

  layout() {
    const active = this.tiles.filter((t) => t.active);
    for (const tile of this.tiles) {
      tile.el.classList.toggle('idle', !tile.active);
      tile.el.classList.toggle('active', tile.active);
      tile.el.classList.remove('span');
    }
    // Three tiles: the third spans the second row of the 2×2 grid.
    if (active.length === 3) active[2].el.classList.add('span');
    this.grid.dataset.count = String(active.length);
    if (active.length !== this.activeCount) {
      this.activeCount = active.length;
      if (this.onChange) this.onChange(this.activeCount);
    }
  }
}
