package hub

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sink is one session's transport to its peer (a WebSocket or a WebRTC data
// channel), implemented by the transport.
//
// The Hub calls WriteBatch from one goroutine per session, never concurrently
// for one Sink, with the room's batches in order. A batch holds 1 to MaxBatch
// messages; it is the very Batch every session of the room gets, its frame
// encoded once: write b.Frame() as it is. A transport that must send something
// else (fewer messages, one frame each) builds it from b.Msgs(), with NewBatch
// when it wants a frame; that allocates, so keep it off the common path.
//
// ctx is the session's: the same in every call, done when the session ends
// (Leave, Close) or when the write has run longer than Config.WriteTimeout.
// WriteBatch may block (a slow network) but must return soon after ctx is done;
// Leave and Close wait for it. It may be left running when the session is
// disconnected as a slow consumer, so that a transport still able to write can
// tell its peer why (onGone follows its return). A non-nil error ends the
// session: it is removed from its room and onGone receives the error, wrapped.
// WriteBatch must not call Leave on its own session or Close on the Hub.
type Sink interface {
	WriteBatch(ctx context.Context, b Batch) error
}

// sweepsPerTimeout is how many times per WriteTimeout the watchdog looks at
// the writes in flight.
const sweepsPerTimeout = 8

// Hub fans room messages out to the local sessions of each room. It owns one
// goroutine per session and one write watchdog; Close stops and waits for all
// of them.
type Hub struct {
	cfg Config

	// rooms maps a room name to its *room. Written under mu; read by Publish
	// without a lock.
	rooms sync.Map

	mu     sync.Mutex            // guards the fields below and every write to rooms and room.sessions
	nrooms int                   // rooms with at least one session
	nsess  int                   // sessions in all rooms
	live   map[*Session]struct{} // sessions whose goroutine runs (also ones already out of their room)
	stop   chan struct{}         // closed by Close: the watchdog stops; nil until the first Join
	closed bool                  // Close has begun; Join refuses

	epoch   atomic.Uint64  // watchdog ticks so far
	dropped atomic.Uint64  // messages dropped for a full queue, all sessions
	slow    atomic.Uint64  // sessions disconnected as slow consumers or for a write timeout
	wg      sync.WaitGroup // session goroutines and the watchdog
}

// room is the sessions of one room on this node and its open batch.
type room struct {
	name string
	cfg  *Config
	hub  *Hub

	// pub serialises Publish, sealing and Join for this room, so every session
	// of the room gets the room's messages in one order, in the same batches.
	pub    sync.Mutex
	open   [][]byte    // the open batch, reused: sealing copies it out
	sealAt time.Time   // when the open batch ends its window
	seq    uint64      // the open batch's number
	timer  *time.Timer // fires seal at sealAt; one per room
	dead   bool        // taken out of Hub.rooms; guarded by Hub.mu

	// sessions is copy-on-write: replaced (never modified) under Hub.mu, read
	// by sealing without a lock.
	sessions atomic.Pointer[[]*Session]
}

// New returns a Hub; zero fields of cfg take their defaults.
func New(cfg Config) *Hub {
	return &Hub{cfg: cfg.withDefaults(), live: map[*Session]struct{}{}}
}

// Join adds a session to a room and starts its goroutine, which writes the
// room's messages published from now on to sink. id names the session in
// errors; the Hub does not require it to be unique.
//
// onGone (may be nil) is called once, from the session's goroutine after its
// last WriteBatch returned, when the Hub ends the session: with
// ErrSlowConsumer, ErrWriteTimeout, ErrClosed, or the error of WriteBatch. It is
// not called after Leave. It must not call Close; it may call Leave. If the Hub
// is already closed, Join calls onGone(ErrClosed) before it returns, and the
// returned session is gone.
func (h *Hub) Join(roomName, id string, sink Sink, onGone func(reason error)) *Session {
	// The session is visible to sealing once in the room's slice: make it
	// whole first.
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		ctx:    ctx,
		cancel: cancel,
		hub:    h,
		id:     id,
		sink:   sink,
		onGone: onGone,
		done:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
		ring:   make([]*sealed, h.cfg.QueueLen),
	}
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			s.end(ErrClosed)
			cancel()
			s.exited.Store(true)
			close(s.done)
			if onGone != nil {
				onGone(ErrClosed)
			}
			return s
		}
		r := h.roomLocked(roomName)
		h.mu.Unlock()
		// room.pub before Hub.mu: the session starts at a known point of the
		// open batch.
		r.pub.Lock()
		h.mu.Lock()
		if r.dead || h.closed { // emptied or closed meanwhile: start again
			h.mu.Unlock()
			r.pub.Unlock()
			continue
		}
		s.room = r
		old := *r.sessions.Load()
		next := make([]*Session, len(old), len(old)+1)
		copy(next, old)
		next = append(next, s)
		r.sessions.Store(&next)
		h.nsess++
		h.live[s] = struct{}{}
		h.wg.Add(1)
		if h.stop == nil {
			h.stop = make(chan struct{})
			h.wg.Add(1)
			go h.watch(h.stop)
		}
		h.mu.Unlock()
		s.joinSeq, s.joinSkip = r.seq, len(r.open)
		r.pub.Unlock()
		break
	}
	go func() {
		defer h.wg.Done()
		s.run()
	}()
	return s
}

// roomLocked returns the room, made if need be. Hub.mu is held.
func (h *Hub) roomLocked(name string) *room {
	if v, ok := h.rooms.Load(name); ok {
		return v.(*room)
	}
	r := &room{name: name, cfg: &h.cfg, hub: h}
	r.sessions.Store(new([]*Session))
	r.timer = time.AfterFunc(time.Hour, r.fire)
	r.timer.Stop()
	h.rooms.Store(name, r)
	h.nrooms++
	return r
}

// Publish appends msg, an encoded envelope, to the room's open batch and
// returns without waiting for any sink. The batch is sealed BatchWindow after
// its first message, or at once when it holds MaxBatch: its frame is encoded
// once and the batch queued to every session of the room. msg is shared, never
// copied: it must not be modified afterwards. A session whose queue has no room
// for a batch drops it (see Session.Dropped); one that has dropped MaxDropped
// messages without catching up is disconnected with ErrSlowConsumer.
// Publishing to a room with no session on this node does nothing.
//
// Publish is serialised per room, so all sessions of a room see the order of
// the Publish calls, in the same batches.
func (h *Hub) Publish(roomName string, msg []byte) {
	v, ok := h.rooms.Load(roomName)
	if !ok {
		return
	}
	r := v.(*room)
	r.pub.Lock()
	if len(*r.sessions.Load()) > 0 {
		if len(r.open) == 0 {
			r.sealAt = time.Now().Add(r.cfg.BatchWindow)
			r.timer.Reset(r.cfg.BatchWindow)
		}
		r.open = append(r.open, msg)
		if len(r.open) >= r.cfg.MaxBatch {
			r.timer.Stop()
			r.seal()
		}
	}
	r.pub.Unlock()
}

// fire runs on the room's timer: it seals the open batch whose window is over.
func (r *room) fire() {
	r.pub.Lock()
	defer r.pub.Unlock()
	if len(r.open) == 0 { // sealed full meanwhile, and nothing since
		return
	}
	if wait := time.Until(r.sealAt); wait > 0 { // fired for an earlier batch
		r.timer.Reset(wait)
		return
	}
	r.seal()
}

// seal encodes the open batch and queues it to every session of the room.
// room.pub is held.
func (r *room) seal() {
	b := newSealed(slices.Clone(r.open), r.seq)
	clear(r.open)
	r.open = r.open[:0]
	r.seq++
	h := r.hub
	qlen, maxDropped := r.cfg.QueueLen, uint64(r.cfg.MaxDropped)
	for _, s := range *r.sessions.Load() {
		if s.verdict.Load() != nil {
			continue
		}
		dropped, slow := s.push(b, qlen, maxDropped)
		if dropped > 0 {
			h.dropped.Add(uint64(dropped))
		}
		if slow && h.remove(s, ErrSlowConsumer) {
			h.slow.Add(1)
		}
	}
}

// Rooms returns how many rooms have at least one session on this Hub.
func (h *Hub) Rooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nrooms
}

// Stats are a Hub's totals, for metrics.
type Stats struct {
	Rooms, Sessions int
	// Dropped counts messages dropped for sessions whose queue was full;
	// SlowConsumers the sessions disconnected for staying behind (dropping
	// MaxDropped, or a write longer than WriteTimeout).
	Dropped, SlowConsumers uint64
}

// Stats returns the Hub's totals now.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	rooms, sessions := h.nrooms, h.nsess
	h.mu.Unlock()
	return Stats{Rooms: rooms, Sessions: sessions, Dropped: h.dropped.Load(), SlowConsumers: h.slow.Load()}
}

// Sessions returns how many sessions the room has on this Hub.
func (h *Hub) Sessions(roomName string) int {
	v, ok := h.rooms.Load(roomName)
	if !ok {
		return 0
	}
	return len(*v.(*room).sessions.Load())
}

// Close ends every session (their onGone gets ErrClosed, unless already ended
// for another reason), cancels their writes, waits for all session goroutines
// and the watchdog to return, and makes later Joins fail. Open batches are
// never sealed. It may be called more than once; it must not be called from
// onGone or a Sink.
func (h *Hub) Close() {
	h.mu.Lock()
	var all []*Session
	if !h.closed {
		h.closed = true
		h.rooms.Range(func(name, v any) bool {
			r := v.(*room)
			r.dead = true
			r.timer.Stop()
			r.sessions.Store(new([]*Session))
			h.rooms.Delete(name)
			return true
		})
		h.nrooms, h.nsess = 0, 0
		for s := range h.live {
			all = append(all, s)
		}
		if h.stop != nil {
			close(h.stop)
		}
	}
	h.mu.Unlock()
	for _, s := range all {
		s.end(ErrClosed)
		s.cancel()
	}
	h.wg.Wait()
}

// remove ends s with cause unless it has ended already, and takes it out of
// its room; it reports whether it ended s. It does not cancel the session's
// context. Callers hold no lock other than, from sealing, room.pub.
func (h *Hub) remove(s *Session, cause error) bool {
	if !s.end(cause) {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := s.room
	old := *r.sessions.Load()
	i := slices.Index(old, s)
	if i < 0 { // Close got there first
		return true
	}
	next := make([]*Session, 0, len(old)-1)
	next = append(next, old[:i]...)
	next = append(next, old[i+1:]...)
	r.sessions.Store(&next)
	h.nsess--
	if len(next) == 0 {
		r.dead = true
		r.timer.Stop()
		h.rooms.Delete(r.name)
		h.nrooms--
	}
	return true
}

// watch is the write watchdog: every WriteTimeout/sweepsPerTimeout it ends the
// sessions whose current write has run WriteTimeout, and cancels that write.
func (h *Hub) watch(stop <-chan struct{}) {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.WriteTimeout / sweepsPerTimeout)
	defer t.Stop()
	var late []*Session
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		e := h.epoch.Add(1)
		h.mu.Lock()
		for s := range h.live {
			// writing is the epoch the write began in, plus one: it has run
			// at least sweepsPerTimeout whole ticks.
			if w := s.writing.Load(); w != 0 && e-w >= sweepsPerTimeout {
				late = append(late, s)
			}
		}
		h.mu.Unlock()
		for _, s := range late {
			if h.remove(s, ErrWriteTimeout) {
				h.slow.Add(1)
			}
			s.cancel()
		}
		clear(late)
		late = late[:0]
	}
}
