// The "room" data channel of a WHEP session: reliable and ordered, carrying
// JSON envelopes {"v":1,"type":"chat","id":...,"room":...,"from":{...},"ts":...,"body":{...}}
// (see DESIGN.md). The server assigns id and ts; a client sends only type and body.
//
// The watch page opens it with its WHEP session and hands it to the chat
// (chat.js RoomSocket.attach), which reads the room's frames from it while it
// is open; this class also logs what arrives into a hidden element.

export const ROOM_CHANNEL_LABEL = 'room';

export class RoomChannel {
  /**
   * Creates the channel on pc. Call it before createOffer so that the offer
   * carries an m=application section.
   * logElement (optional) receives one text line per message, newest last.
   */
  constructor(pc, { logElement = null, maxLog = 200 } = {}) {
    this.dc = pc.createDataChannel(ROOM_CHANNEL_LABEL, { ordered: true });
    this.logElement = logElement;
    this.maxLog = maxLog;
    this.received = 0;
    this.handlers = new Map();
    this.dc.addEventListener('open', () => {
      this.log('channel open');
      this.emit('open', null);
    });
    this.dc.addEventListener('close', () => {
      this.log('channel closed');
      this.emit('close', null);
    });
    this.dc.addEventListener('message', (e) => this.onMessage(e.data));
  }

  /** "connecting", "open", "closing" or "closed". */
  get state() {
    return this.dc.readyState;
  }

  /**
   * Registers fn for envelopes of a type ("chat", "like", ...), for every
   * envelope with "*", or for the channel events "open" and "close".
   * Returns a function that removes it.
   */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  /** Sends {type, body}; returns false when the channel is not open. */
  send(type, body) {
    if (this.dc.readyState !== 'open') return false;
    this.dc.send(JSON.stringify({ type, body }));
    return true;
  }

  close() {
    this.dc.close();
  }

  onMessage(data) {
    this.received++;
    const text = typeof data === 'string' ? data : `<${data.byteLength ?? data.size ?? 0} bytes>`;
    this.log(text);
    let msg = null;
    if (typeof data === 'string') {
      try {
        msg = JSON.parse(data);
      } catch {
        return; // not an envelope: logged, nothing else
      }
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    if (msg.type !== 'open' && msg.type !== 'close') this.emit(msg.type, msg);
    this.emit('*', msg);
  }

  emit(type, msg) {
    for (const fn of this.handlers.get(type) || []) {
      try {
        fn(msg);
      } catch (err) {
        console.error('room channel handler', type, err);
      }
    }
  }

  log(line) {
    const el = this.logElement;
    if (!el) return;
    const item = document.createElement('li');
    item.textContent = `${new Date().toISOString().slice(11, 23)} ${line.length > 500 ? line.slice(0, 500) + '…' : line}`;
    el.append(item);
    while (el.childElementCount > this.maxLog) el.firstElementChild.remove();
  }
}
