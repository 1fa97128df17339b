package hub

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventually polls cond until it holds; the deadline only guards against a hang.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// hubGoroutines returns the stacks of goroutines started by this package.
func hubGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "room/hub.(*Hub).Join.func") || strings.Contains(g, "room/hub.(*Session).run") ||
			strings.Contains(g, "room/hub.(*Hub).watch") || strings.Contains(g, "room/hub.(*room).fire") {
			out = append(out, g)
		}
	}
	return out
}

// checkLeaks fails the test if a goroutine of the Hub outlives it. Register it
// first so that it runs after the test's other cleanups (Close).
func checkLeaks(t *testing.T) {
	t.Helper()
	if gs := hubGoroutines(); len(gs) != 0 {
		t.Fatalf("session goroutines left by an earlier test:\n%s", strings.Join(gs, "\n\n"))
	}
	t.Cleanup(func() {
		var gs []string
		eventually(t, "no hub goroutine left", func() bool {
			gs = hubGoroutines()
			return len(gs) == 0
		})
	})
}

// newHub returns a Hub closed at the end of the test, with the leak check.
func newHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	checkLeaks(t)
	h := New(cfg)
	t.Cleanup(h.Close)
	return h
}

// recSink records what it is given. before, if set, runs first in every call
// (with the call's number, from 1) and may block or fail it.
type recSink struct {
	before func(ctx context.Context, call int) error

	mu      sync.Mutex
	calls   int
	batches [][]string
	frames  [][]byte    // each batch's Frame, as given
	at      []time.Time // when each batch came
}

func (s *recSink) WriteBatch(ctx context.Context, batch Batch) error {
	now := time.Now()
	s.mu.Lock()
	s.calls++
	call := s.calls
	s.mu.Unlock()
	if s.before != nil {
		if err := s.before(ctx, call); err != nil {
			return err
		}
	}
	b := make([]string, batch.Len())
	for i, m := range batch.Msgs() {
		b[i] = string(m)
	}
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.frames = append(s.frames, batch.Frame())
	s.at = append(s.at, now)
	s.mu.Unlock()
	return nil
}

// got returns the batches so far, with their frames and arrival times.
func (s *recSink) got() ([][]string, [][]byte, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches), slices.Clone(s.frames), slices.Clone(s.at)
}

// msgs returns every message written so far, in order.
func (s *recSink) msgs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func (s *recSink) count() int { return len(s.msgs()) }

func (s *recSink) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.batches))
	for i, b := range s.batches {
		out[i] = len(b)
	}
	return out
}

// gone records onGone calls.
type gone struct {
	mu      sync.Mutex
	reasons []error
}

func (g *gone) fn(reason error) {
	g.mu.Lock()
	g.reasons = append(g.reasons, reason)
	g.mu.Unlock()
}

func (g *gone) get() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.reasons...)
}
