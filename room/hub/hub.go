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
// for one Sink, with batches in the order the messages were published. msgs
// holds 1 to MaxBatch+1 encoded JSON envelopes; the transport frames them (a
// JSON array, or one frame each). The elements are shared by every session of
// the room and must not be modified; they may be kept. The msgs slice itself is
// reused by the Hub and must not be kept after WriteBatch returns.
//
// WriteBatch may block (a slow network) but must return soon after ctx is done:
// ctx is cancelled when the session leaves, is disconnected or the Hub closes,
// and Leave and Close wait for WriteBatch to return. A non-nil error ends the
// session: it is removed from its room and onGone receives the error, wrapped.
// WriteBatch must not call Leave on its own session or Close on the Hub.
type Sink interface {
	WriteBatch(ctx context.Context, msgs [][]byte) error
}

// Hub fans room messages out to the local sessions of each room. It owns one
// goroutine per session; Close stops and waits for all of them.
type Hub struct {
	cfg Config

	// rooms maps a room name to its *room. Written under mu; read by Publish
	// without a lock.
	rooms sync.Map

	mu     sync.Mutex // guards nrooms, nsessions, closed and every write to rooms and room.sessions
	nrooms int        // rooms with at least one session
	nsess  int        // sessions in all rooms

	dropped atomic.Uint64  // messages dropped for a full queue, all sessions
	slow    atomic.Uint64  // sessions disconnected as slow consumers
	closed  bool           // Close has begun; Join refuses
	wg      sync.WaitGroup // one per session goroutine
}

// room is the sessions of one room on this node.
type room struct {
	name string
	// pub serialises Publish for this room, so every session of the room gets
	// the room's messages in one order.
	pub sync.Mutex
	// sessions is copy-on-write: replaced (never modified) under Hub.mu, read
	// by Publish without a lock.
	sessions atomic.Pointer[[]*Session]
}

// New returns a Hub; zero fields of cfg take their defaults.
func New(cfg Config) *Hub {
	return &Hub{cfg: cfg.withDefaults()}
}

// Join adds a session to a room and starts its goroutine, which writes the
// room's messages published from now on to sink. id names the session in
// errors; the Hub does not require it to be unique.
//
// onGone (may be nil) is called once, from the session's goroutine after its
// last WriteBatch returned, when the Hub ends the session: with ErrSlowConsumer,
// ErrClosed, or the error of WriteBatch. It is not called after Leave. It must
// not call Close; it may call Leave. If the Hub is already closed, Join calls
// onGone(ErrClosed) before it returns, and the returned session is gone.
func (h *Hub) Join(roomName, id string, sink Sink, onGone func(reason error)) *Session {
	// The session is visible to Publish once in the room's slice: make it
	// whole first.
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &Session{
		cancel: cancel,
		hub:    h,
		id:     id,
		sink:   sink,
		onGone: onGone,
		done:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
		buf:    make([][]byte, h.cfg.QueueLen),
		timer:  time.NewTimer(time.Hour),
		batch:  make([][]byte, 0, h.cfg.MaxBatch+1),
	}
	s.timer.Stop()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		cancel(ErrClosed)
		s.state.Store(stateGone)
		s.exited.Store(true)
		close(s.done)
		if onGone != nil {
			onGone(ErrClosed)
		}
		return s
	}
	var r *room
	if v, ok := h.rooms.Load(roomName); ok {
		r = v.(*room)
	} else {
		r = &room{name: roomName}
		r.sessions.Store(new([]*Session))
		h.rooms.Store(roomName, r)
		h.nrooms++
	}
	s.room = r
	old := *r.sessions.Load()
	next := make([]*Session, len(old), len(old)+1)
	copy(next, old)
	next = append(next, s)
	r.sessions.Store(&next)
	h.nsess++
	h.wg.Add(1)
	h.mu.Unlock()

	go func() {
		defer h.wg.Done()
		s.run(ctx)
	}()
	return s
}

// Publish queues msg, an encoded envelope, for every session of the room and
// returns without waiting for any sink. msg is shared, never copied: it must
// not be modified afterwards. A session whose queue is full drops msg (see
// Session.Dropped); one that has dropped MaxDropped messages without catching
// up is disconnected with ErrSlowConsumer. Publishing to a room with no session
// on this node does nothing.
//
// Each session gets the room's messages in the order of the Publish calls,
// which Publish serialises per room, so all sessions of a room see one order.
func (h *Hub) Publish(roomName string, msg []byte) {
	v, ok := h.rooms.Load(roomName)
	if !ok {
		return
	}
	r := v.(*room)
	maxBatch, maxDropped := h.cfg.MaxBatch, uint64(h.cfg.MaxDropped)
	r.pub.Lock()
	for _, s := range *r.sessions.Load() {
		if s.state.Load() != stateAlive {
			continue
		}
		switch s.push(msg, maxBatch, maxDropped) {
		case pushWake:
			select {
			case s.wake <- struct{}{}:
			default: // a wake-up is already pending
			}
		case pushDropped:
			h.dropped.Add(1)
		case pushSlow:
			h.dropped.Add(1)
			h.slow.Add(1)
			h.remove(s, ErrSlowConsumer)
		}
	}
	r.pub.Unlock()
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
	// SlowConsumers the sessions disconnected for staying behind.
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

// Close ends every session (their onGone gets ErrClosed), waits for all session
// goroutines to return, and makes later Joins fail. It may be called more than
// once; it must not be called from onGone or a Sink.
func (h *Hub) Close() {
	h.mu.Lock()
	var all []*Session
	if !h.closed {
		h.closed = true
		h.rooms.Range(func(name, v any) bool {
			r := v.(*room)
			all = append(all, *r.sessions.Load()...)
			r.sessions.Store(new([]*Session))
			h.rooms.Delete(name)
			return true
		})
		h.nrooms, h.nsess = 0, 0
	}
	h.mu.Unlock()
	for _, s := range all {
		if s.state.CompareAndSwap(stateAlive, stateGone) {
			s.cancel(ErrClosed)
		}
	}
	h.wg.Wait()
}

// remove ends s with cause, once, and takes it out of its room. Callers hold no
// lock other than, from Publish, room.pub.
func (h *Hub) remove(s *Session, cause error) {
	if !s.state.CompareAndSwap(stateAlive, stateGone) {
		return
	}
	s.cancel(cause)
	h.mu.Lock()
	defer h.mu.Unlock()
	r := s.room
	old := *r.sessions.Load()
	i := slices.Index(old, s)
	if i < 0 { // Close got there first
		return
	}
	next := make([]*Session, 0, len(old)-1)
	next = append(next, old[:i]...)
	next = append(next, old[i+1:]...)
	r.sessions.Store(&next)
	h.nsess--
	if len(next) == 0 {
		if v, ok := h.rooms.Load(r.name); ok && v.(*room) == r {
			h.rooms.Delete(r.name)
			h.nrooms--
		}
	}
}
