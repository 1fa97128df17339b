package hub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	stateAlive int32 = iota
	stateGone        // removed from its room, its context cancelled
)

// push results
const (
	pushQueued  = iota // queued; the goroutine needs no wake-up
	pushWake           // queued; wake the goroutine (first message, or a full batch)
	pushDropped        // queue full: dropped
	pushSlow           // dropped, and the session has dropped MaxDropped without catching up
)

// Session is one peer's membership of a room on this node: a bounded queue and
// the goroutine that writes it to the peer's Sink.
type Session struct {
	hub    *Hub
	room   *room
	id     string
	sink   Sink
	onGone func(error)
	cancel context.CancelCauseFunc

	// Owned by the goroutine (allocated by Join so that it starts without
	// allocating).
	timer *time.Timer
	batch [][]byte

	state   atomic.Int32  // stateAlive, stateGone
	exited  atomic.Bool   // the goroutine has written for the last time
	done    chan struct{} // closed when the goroutine returns
	wake    chan struct{} // capacity 1: Publish → goroutine
	dropped atomic.Uint64 // messages dropped over the session's life

	mu   sync.Mutex // guards buf, head, n, lost
	buf  [][]byte   // ring of queued messages, len QueueLen
	head int        // index of the oldest queued message
	n    int        // queued messages
	lost uint64     // dropped since the session last caught up (queue emptied)
}

// ID returns the id given to Join.
func (s *Session) ID() string { return s.id }

// Dropped returns how many messages this session has dropped because its queue
// was full.
func (s *Session) Dropped() uint64 { return s.dropped.Load() }

// Leave takes the session out of its room, cancels its WriteBatch if one is
// running and waits for it to return; onGone is not called. After Leave the
// sink is not called again. Leave may be called more than once, after the
// session is gone, and from onGone; not from the session's own WriteBatch.
func (s *Session) Leave() {
	s.hub.remove(s, errLeft)
	if !s.exited.Load() {
		<-s.done
	}
}

// push queues msg. It runs under room.pub and holds s.mu only for the ring.
func (s *Session) push(msg []byte, maxBatch int, maxDropped uint64) int {
	s.mu.Lock()
	if s.n == len(s.buf) {
		s.lost++
		lost := s.lost
		s.mu.Unlock()
		s.dropped.Add(1)
		if lost >= maxDropped {
			return pushSlow
		}
		return pushDropped
	}
	i := s.head + s.n
	if i >= len(s.buf) {
		i -= len(s.buf)
	}
	s.buf[i] = msg
	s.n++
	n := s.n
	s.mu.Unlock()
	if n == 1 || n == maxBatch {
		return pushWake
	}
	return pushQueued
}

// queued returns how many messages wait in the queue.
func (s *Session) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// take moves up to max queued messages to batch. If that empties the queue
// after drops, the session has caught up: the dropped notice goes last.
func (s *Session) take(batch [][]byte, max int) [][]byte {
	s.mu.Lock()
	k := min(s.n, max)
	for range k {
		batch = append(batch, s.buf[s.head])
		s.buf[s.head] = nil
		if s.head++; s.head == len(s.buf) {
			s.head = 0
		}
	}
	s.n -= k
	var lost uint64
	if s.n == 0 && s.lost > 0 {
		lost, s.lost = s.lost, 0
	}
	s.mu.Unlock()
	if lost > 0 {
		batch = append(batch, droppedNotice(lost))
	}
	return batch
}

// droppedNotice is the system envelope that tells a session how many messages
// it missed.
func droppedNotice(n uint64) []byte {
	b := make([]byte, 0, 72)
	b = append(b, `{"v":1,"type":"system","body":{"event":"dropped","count":`...)
	b = strconv.AppendUint(b, n, 10)
	return append(b, "}}"...)
}

// run is the session goroutine: wait for a message, wait up to BatchWindow or
// until MaxBatch are queued, write one batch; repeat until ctx is done.
func (s *Session) run(ctx context.Context) {
	defer s.finish(ctx)
	cfg := &s.hub.cfg
	timer, batch := s.timer, s.batch
	defer timer.Stop()
	for {
		// Idle: wait for a first message. Wake-ups may be stale; recheck.
		for s.queued() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
		}
		// Window: wait for more, unless a full batch is already there.
		if s.queued() < cfg.MaxBatch {
			timer.Reset(cfg.BatchWindow)
		window:
			for s.queued() < cfg.MaxBatch {
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
					break window
				case <-s.wake:
				}
			}
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		batch = s.take(batch[:0], cfg.MaxBatch)
		err := s.sink.WriteBatch(ctx, batch)
		clear(batch) // drop references to the messages
		if err != nil {
			s.hub.remove(s, fmt.Errorf("hub: session %q: write: %w", s.id, err))
			return
		}
	}
}

// finish runs as the goroutine returns: the sink will not be called again.
func (s *Session) finish(ctx context.Context) {
	s.exited.Store(true)
	<-ctx.Done() // whoever ended the session cancels right after marking it gone
	if cause := context.Cause(ctx); s.onGone != nil && !errors.Is(cause, errLeft) {
		s.onGone(cause)
	}
	close(s.done)
}
