package hub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
)

// Session is one peer's membership of a room on this node: a bounded queue of
// the room's sealed batches and the goroutine that writes them to the peer's
// Sink.
type Session struct {
	hub    *Hub
	room   *room
	id     string
	sink   Sink
	onGone func(error)
	ctx    context.Context // passed to every WriteBatch
	cancel context.CancelFunc

	// The session starts at message joinSkip of the room's batch joinSeq: the
	// messages before were published before it joined. Set by Join under
	// room.pub, then read-only.
	joinSeq  uint64
	joinSkip int

	verdict atomic.Pointer[error] // why the session ended; nil while it is in its room
	writing atomic.Uint64         // Hub.epoch+1 when the current write began; 0 between writes
	exited  atomic.Bool           // the goroutine has written for the last time
	done    chan struct{}         // closed when the goroutine returns
	wake    chan struct{}         // capacity 1: sealing → goroutine
	dropped atomic.Uint64         // messages dropped over the session's life

	mu     sync.Mutex // guards the ring, queued and lost
	ring   []*sealed  // queued batches, len QueueLen (a batch holds at least one message)
	head   int        // index of the oldest queued batch
	n      int        // queued batches
	queued int        // queued messages, at most QueueLen
	lost   uint64     // dropped since the session last caught up (queue emptied)
}

// ID returns the id given to Join.
func (s *Session) ID() string { return s.id }

// Dropped returns how many messages this session has dropped because its queue
// was full.
func (s *Session) Dropped() uint64 { return s.dropped.Load() }

// Leave takes the session out of its room, cancels its WriteBatch if one is
// running and waits for it to return; onGone is not called unless the Hub had
// ended the session already. After Leave the sink is not called again. Leave
// may be called more than once, after the session is gone, and from onGone;
// not from the session's own WriteBatch.
func (s *Session) Leave() {
	s.hub.remove(s, errLeft)
	s.cancel()
	if !s.exited.Load() {
		<-s.done
	}
}

// end records why the session ends, once, and wakes its goroutine; it reports
// whether this was the first reason.
func (s *Session) end(reason error) bool {
	if !s.verdict.CompareAndSwap(nil, &reason) {
		return false
	}
	s.poke()
	return true
}

func (s *Session) poke() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// share is how many of b's messages are this session's: all but those
// published before it joined.
func (s *Session) share(b *sealed) int {
	if b.seq == s.joinSeq {
		return len(b.msgs) - s.joinSkip
	}
	return len(b.msgs)
}

// push queues b if the queue has room for all its messages, else drops it. It
// returns how many messages it dropped and whether the session has dropped
// maxDropped since it last caught up. It runs under room.pub and holds s.mu
// only for the ring.
func (s *Session) push(b *sealed, qlen int, maxDropped uint64) (dropped int, slow bool) {
	k := s.share(b)
	if k == 0 {
		return 0, false
	}
	s.mu.Lock()
	if s.queued+k > qlen {
		s.lost += uint64(k)
		lost := s.lost
		s.mu.Unlock()
		s.dropped.Add(uint64(k))
		return k, lost >= maxDropped
	}
	i := s.head + s.n
	if i >= len(s.ring) {
		i -= len(s.ring)
	}
	s.ring[i] = b
	s.n++
	s.queued += k
	first := s.n == 1
	s.mu.Unlock()
	if first {
		s.poke()
	}
	return 0, false
}

// take returns the oldest queued batch (nil if none) and, when taking it
// empties the queue after drops, how many were dropped: the session has caught
// up.
func (s *Session) take() (b *sealed, lost uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return nil, 0
	}
	b = s.ring[s.head]
	s.ring[s.head] = nil
	if s.head++; s.head == len(s.ring) {
		s.head = 0
	}
	s.n--
	s.queued -= s.share(b)
	if s.n == 0 && s.lost > 0 {
		lost, s.lost = s.lost, 0
	}
	return b, lost
}

// droppedNotice is the system envelope that tells a session how many messages
// it missed.
func droppedNotice(n uint64) []byte {
	b := make([]byte, 0, 72)
	b = append(b, `{"v":1,"type":"system","body":{"event":"dropped","count":`...)
	b = strconv.AppendUint(b, n, 10)
	return append(b, "}}"...)
}

// run is the session goroutine: write each queued batch as soon as the
// previous write returns, until the session ends.
func (s *Session) run() {
	defer s.finish()
	for {
		b, lost := s.take()
		if s.verdict.Load() != nil {
			return
		}
		if b == nil {
			// Every ending sets the verdict and wakes the goroutine before it
			// cancels ctx: the wake-up alone is enough to wait for.
			<-s.wake // may be stale; look again
			continue
		}
		if b.seq == s.joinSeq && s.joinSkip > 0 { // the batch open at Join: only what came after
			b = newSealed(b.msgs[s.joinSkip:], b.seq)
		}
		if !s.write(b) {
			return
		}
		if lost == 0 {
			continue
		}
		if s.verdict.Load() != nil || !s.write(newSealed([][]byte{droppedNotice(lost)}, 0)) {
			return
		}
	}
}

// write calls the sink, under the watchdog's eye. It reports whether the
// session goes on.
func (s *Session) write(b *sealed) bool {
	s.writing.Store(s.hub.epoch.Load() + 1)
	err := s.sink.WriteBatch(s.ctx, Batch{b})
	s.writing.Store(0)
	if err != nil {
		s.hub.remove(s, fmt.Errorf("hub: session %q: write: %w", s.id, err))
		return false
	}
	return true
}

// finish runs as the goroutine returns: the sink will not be called again.
func (s *Session) finish() {
	s.exited.Store(true)
	s.cancel()
	h := s.hub
	h.mu.Lock()
	delete(h.live, s)
	h.mu.Unlock()
	if reason := *s.verdict.Load(); s.onGone != nil && !errors.Is(reason, errLeft) {
		s.onGone(reason)
	}
	close(s.done)
}
