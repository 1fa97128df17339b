package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func msg(room string, i int) []byte {
	return fmt.Appendf(nil, `{"v":1,"type":"chat","room":%q,"body":{"n":%d}}`, room, i)
}

func want(room string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, string(msg(room, i)))
	}
	return out
}

func TestDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if got != DefaultConfig() {
		t.Fatalf("zero config = %+v, want %+v", got, DefaultConfig())
	}
	if c := (Config{MaxBatch: 100, QueueLen: 10}).withDefaults(); c.MaxBatch != 10 {
		t.Fatalf("MaxBatch %d above QueueLen 10", c.MaxBatch)
	}
}

func TestEverySessionGetsEveryMessageInOrder(t *testing.T) {
	const n = 1000
	h := newHub(t, Config{QueueLen: n, BatchWindow: time.Millisecond}) // room for all: no drop possible
	sinks := make([]*recSink, 8)
	for i := range sinks {
		sinks[i] = &recSink{}
		h.Join("r", strconv.Itoa(i), sinks[i], nil)
	}
	for i := range n {
		h.Publish("r", msg("r", i))
	}
	for i, s := range sinks {
		eventually(t, fmt.Sprintf("sink %d has %d messages", i, n), func() bool { return s.count() >= n })
		if got := s.msgs(); !slices.Equal(got, want("r", 0, n)) {
			t.Fatalf("sink %d: messages out of order or altered: first %q", i, got[:3])
		}
	}
}

func TestRoomsAreIsolated(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond})
	a1, a2, b1 := &recSink{}, &recSink{}, &recSink{}
	h.Join("a", "a1", a1, nil)
	h.Join("a", "a2", a2, nil)
	h.Join("b", "b1", b1, nil)
	if h.Rooms() != 2 || h.Sessions("a") != 2 || h.Sessions("b") != 1 || h.Sessions("c") != 0 {
		t.Fatalf("rooms %d, a %d, b %d, c %d", h.Rooms(), h.Sessions("a"), h.Sessions("b"), h.Sessions("c"))
	}
	for i := range 10 {
		h.Publish("a", msg("a", i))
		h.Publish("b", msg("b", i))
		h.Publish("c", msg("c", i)) // nobody there
	}
	for _, s := range []*recSink{a1, a2, b1} {
		eventually(t, "10 messages", func() bool { return s.count() >= 10 })
	}
	for _, c := range []struct {
		s    *recSink
		room string
	}{{a1, "a"}, {a2, "a"}, {b1, "b"}} {
		if got := c.s.msgs(); !slices.Equal(got, want(c.room, 0, 10)) {
			t.Fatalf("room %s got %q", c.room, got)
		}
	}
}

// A burst that queues up while the sink is busy goes out in full batches.
func TestBatchingCoalescesABurst(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond})
	entered, release := make(chan struct{}), make(chan struct{})
	s := &recSink{before: func(ctx context.Context, call int) error {
		if call == 1 {
			close(entered)
			<-release
		}
		return nil
	}}
	h.Join("r", "s", s, nil)
	h.Publish("r", msg("r", 0))
	<-entered // the first batch (message 0) is being written
	for i := 1; i < 100; i++ {
		h.Publish("r", msg("r", i))
	}
	close(release)
	eventually(t, "100 messages", func() bool { return s.count() >= 100 })
	if got := s.batchSizes(); !slices.Equal(got, []int{1, 64, 35}) {
		t.Fatalf("batch sizes %v, want [1 64 35]", got)
	}
	if !slices.Equal(s.msgs(), want("r", 0, 100)) {
		t.Fatal("messages out of order")
	}
}

// With a window that never ends, only full batches are written: the window
// really holds messages back to coalesce them.
func TestBatchingWaitsForTheWindowOrAFullBatch(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Hour, MaxBatch: 10})
	s := &recSink{}
	h.Join("r", "s", s, nil)
	for i := range 25 {
		h.Publish("r", msg("r", i))
	}
	eventually(t, "two full batches", func() bool { return s.count() >= 20 })
	h.Publish("r", msg("r", 25))
	h.Close() // the 6 held back are never written: the window has not ended
	if got := s.batchSizes(); !slices.Equal(got, []int{10, 10}) {
		t.Fatalf("batch sizes %v, want [10 10]", got)
	}
}

// A short window still delivers a lone message.
func TestLoneMessageIsDelivered(t *testing.T) {
	h := newHub(t, Config{})
	s := &recSink{}
	h.Join("r", "s", s, nil)
	h.Publish("r", msg("r", 0))
	eventually(t, "the message", func() bool { return s.count() == 1 })
}

// A sink that never returns on its own delays nobody else and is disconnected.
func TestStuckSinkIsDisconnectedOthersKeepWorking(t *testing.T) {
	const queueLen, maxDropped = 16, 32
	h := newHub(t, Config{BatchWindow: time.Millisecond, QueueLen: queueLen, MaxDropped: maxDropped})
	var stuckReturned atomic.Bool
	stuck := &recSink{before: func(ctx context.Context, call int) error {
		<-ctx.Done() // blocks until the Hub gives up on it
		stuckReturned.Store(true)
		return ctx.Err()
	}}
	var stuckGone gone
	ss := h.Join("r", "stuck", stuck, stuckGone.fn)
	fast := []*recSink{{}, {}, {}}
	var fastGone gone
	for i, s := range fast {
		h.Join("r", strconv.Itoa(i), s, fastGone.fn)
	}
	// Publish in steps of 8 and let the fast sessions take each step before the
	// next, so they never hold more than 8 (< QueueLen) and cannot drop, while
	// the stuck session fills its queue and drops.
	const total = 200
	for i := 0; i < total; i += 8 {
		for j := i; j < i+8; j++ {
			h.Publish("r", msg("r", j))
		}
		for k, s := range fast {
			eventually(t, fmt.Sprintf("fast sink %d has %d", k, i+8), func() bool { return s.count() >= i+8 })
		}
	}
	for k, s := range fast {
		if !slices.Equal(s.msgs(), want("r", 0, total)) {
			t.Fatalf("fast sink %d: messages missing or out of order", k)
		}
	}
	eventually(t, "stuck session gone", func() bool { return len(stuckGone.get()) == 1 })
	if r := stuckGone.get(); !errors.Is(r[0], ErrSlowConsumer) {
		t.Fatalf("stuck session gone with %v, want ErrSlowConsumer", r[0])
	}
	if !stuckReturned.Load() {
		t.Fatal("onGone called before the stuck WriteBatch returned")
	}
	if d := ss.Dropped(); d != maxDropped {
		t.Fatalf("stuck session dropped %d, want %d", d, maxDropped)
	}
	if n := h.Sessions("r"); n != 3 {
		t.Fatalf("room has %d sessions, want the 3 fast ones", n)
	}
	if st := h.Stats(); st != (Stats{Rooms: 1, Sessions: 3, Dropped: maxDropped, SlowConsumers: 1}) {
		t.Fatalf("hub stats %+v", st)
	}
	if r := fastGone.get(); len(r) != 0 {
		t.Fatalf("fast sessions gone: %v", r)
	}
	// The fast ones keep working after the disconnection.
	h.Publish("r", msg("r", total))
	for k, s := range fast {
		eventually(t, fmt.Sprintf("fast sink %d gets one more", k), func() bool { return s.count() == total+1 })
	}
	ss.Leave() // no effect on a gone session
}

func TestDroppedNoticeOncePerEpisode(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond, QueueLen: 4})
	entered, release := make(chan struct{}), make(chan struct{})
	s := &recSink{before: func(ctx context.Context, call int) error {
		if call == 1 {
			close(entered)
			<-release
		}
		return nil
	}}
	var g gone
	sess := h.Join("r", "s", s, g.fn)
	h.Publish("r", msg("r", 0))
	<-entered // message 0 is being written; the queue is empty
	for i := 1; i <= 7; i++ {
		h.Publish("r", msg("r", i)) // 1-4 queue, 5-7 drop
	}
	if d := sess.Dropped(); d != 3 {
		t.Fatalf("dropped %d, want 3", d)
	}
	close(release)
	eventually(t, "caught up", func() bool { return s.count() >= 6 })
	got := s.msgs()
	if !slices.Equal(got[:5], want("r", 0, 5)) {
		t.Fatalf("got %q", got)
	}
	var notice struct {
		V    int    `json:"v"`
		Type string `json:"type"`
		Body struct {
			Event string `json:"event"`
			Count int    `json:"count"`
		} `json:"body"`
	}
	if err := json.Unmarshal([]byte(got[5]), &notice); err != nil {
		t.Fatalf("notice %q: %v", got[5], err)
	}
	if notice.V != 1 || notice.Type != "system" || notice.Body.Event != "dropped" || notice.Body.Count != 3 {
		t.Fatalf("notice %q", got[5])
	}
	if got[5] != `{"v":1,"type":"system","body":{"event":"dropped","count":3}}` {
		t.Fatalf("notice %s", got[5])
	}
	// Caught up: later messages come with no further notice.
	for i := 8; i < 12; i++ {
		h.Publish("r", msg("r", i))
	}
	eventually(t, "4 more", func() bool { return s.count() >= 10 })
	if got := s.msgs(); len(got) != 10 || !slices.Equal(got[6:], want("r", 8, 12)) {
		t.Fatalf("after catching up got %q", got[6:])
	}
	if r := g.get(); len(r) != 0 {
		t.Fatalf("session gone: %v", r)
	}
}

func TestLeaveRemoves(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond})
	a, b := &recSink{}, &recSink{}
	var g gone
	sa := h.Join("r", "a", a, g.fn)
	h.Join("r", "b", b, g.fn)
	sa.Leave()
	if h.Sessions("r") != 1 || h.Rooms() != 1 {
		t.Fatalf("after one Leave: %d sessions, %d rooms", h.Sessions("r"), h.Rooms())
	}
	h.Publish("r", msg("r", 0))
	eventually(t, "b gets it", func() bool { return b.count() == 1 })
	if a.count() != 0 {
		t.Fatal("a left but was written to")
	}
	sa.Leave() // twice is fine
	if r := g.get(); len(r) != 0 {
		t.Fatalf("onGone called after Leave: %v", r)
	}
}

func TestLeaveWaitsForWriteAndLastLeaveRemovesRoom(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond})
	entered := make(chan struct{})
	var returned atomic.Bool
	s := &recSink{before: func(ctx context.Context, call int) error {
		close(entered)
		<-ctx.Done()
		returned.Store(true)
		return ctx.Err()
	}}
	var g gone
	sess := h.Join("r", "s", s, g.fn)
	h.Publish("r", msg("r", 0))
	<-entered
	sess.Leave()
	if !returned.Load() {
		t.Fatal("Leave returned while WriteBatch was running")
	}
	if h.Rooms() != 0 || h.Sessions("r") != 0 {
		t.Fatalf("after the last Leave: %d rooms, %d sessions", h.Rooms(), h.Sessions("r"))
	}
	if r := g.get(); len(r) != 0 {
		t.Fatalf("onGone called after Leave: %v", r)
	}
	// The room comes back with the next Join.
	s2 := &recSink{}
	h.Join("r", "s2", s2, nil)
	h.Publish("r", msg("r", 1))
	eventually(t, "the new session gets it", func() bool { return s2.count() == 1 })
}

func TestLeaveFromOnGone(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond})
	var sess atomic.Pointer[Session]
	left := make(chan struct{})
	s := &recSink{before: func(context.Context, int) error { return errors.New("broken pipe") }}
	sess.Store(h.Join("r", "s", s, func(error) {
		sess.Load().Leave() // must not deadlock
		close(left)
	}))
	h.Publish("r", msg("r", 0))
	<-left
}

func TestFailingSinkEndsOnlyItsSession(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond})
	errBroken := errors.New("broken pipe")
	bad := &recSink{before: func(context.Context, int) error { return errBroken }}
	good := &recSink{}
	var badGone, goodGone gone
	h.Join("r", "bad", bad, badGone.fn)
	h.Join("r", "good", good, goodGone.fn)
	h.Publish("r", msg("r", 0))
	eventually(t, "bad session gone", func() bool { return len(badGone.get()) == 1 })
	if r := badGone.get()[0]; !errors.Is(r, errBroken) {
		t.Fatalf("onGone(%v), want the sink's error", r)
	}
	if h.Sessions("r") != 1 {
		t.Fatalf("%d sessions, want 1", h.Sessions("r"))
	}
	for i := 1; i < 5; i++ {
		h.Publish("r", msg("r", i))
	}
	eventually(t, "good gets all", func() bool { return good.count() == 5 })
	if !slices.Equal(good.msgs(), want("r", 0, 5)) {
		t.Fatal("good session lost messages")
	}
	bad.mu.Lock()
	calls := bad.calls
	bad.mu.Unlock()
	if calls != 1 {
		t.Fatalf("failed sink called %d times, want 1", calls)
	}
	if r := goodGone.get(); len(r) != 0 {
		t.Fatalf("good session gone: %v", r)
	}
}

func TestCloseWaitsForEveryGoroutine(t *testing.T) {
	checkLeaks(t)
	h := New(Config{BatchWindow: time.Millisecond})
	const busy, idle = 5, 5
	var returned atomic.Int32
	entered := make(chan struct{}, busy)
	var g gone
	for i := range busy {
		s := &recSink{before: func(ctx context.Context, call int) error {
			entered <- struct{}{}
			<-ctx.Done()
			returned.Add(1)
			return ctx.Err()
		}}
		h.Join("busy", strconv.Itoa(i), s, g.fn)
	}
	for i := range idle {
		h.Join("idle"+strconv.Itoa(i), "s", &recSink{}, g.fn)
	}
	h.Publish("busy", msg("busy", 0))
	for range busy {
		<-entered
	}
	h.Close()
	if n := returned.Load(); n != busy {
		t.Fatalf("Close returned with %d of %d WriteBatch calls still running", busy-n, busy)
	}
	r := g.get()
	if len(r) != busy+idle {
		t.Fatalf("onGone called %d times before Close returned, want %d", len(r), busy+idle)
	}
	for _, e := range r {
		if !errors.Is(e, ErrClosed) {
			t.Fatalf("onGone(%v), want ErrClosed", e)
		}
	}
	if h.Rooms() != 0 {
		t.Fatalf("%d rooms after Close", h.Rooms())
	}
	// After Close: Join fails at once, Publish and Close do nothing.
	var late gone
	s := h.Join("busy", "late", &recSink{}, late.fn)
	if r := late.get(); len(r) != 1 || !errors.Is(r[0], ErrClosed) {
		t.Fatalf("late Join: onGone %v", r)
	}
	h.Publish("busy", msg("busy", 1))
	s.Leave()
	h.Close()
}

// Joins, Leaves and Publishes racing with each other and with Close.
func TestConcurrentChurn(t *testing.T) {
	h := newHub(t, Config{BatchWindow: time.Millisecond, QueueLen: 8, MaxDropped: 4})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.Publish("r"+strconv.Itoa(i%3), msg("r", i))
		}
	}()
	for i := range 300 {
		s := h.Join("r"+strconv.Itoa(i%3), strconv.Itoa(i), &recSink{}, nil)
		if i%2 == 0 {
			s.Leave()
		}
	}
	close(stop)
	<-done
	h.Close()
	if h.Rooms() != 0 {
		t.Fatalf("%d rooms after Close", h.Rooms())
	}
}

// The hot path does not allocate: Publish to 100 sessions, steady state.
func TestPublishDoesNotAllocate(t *testing.T) {
	h := newHub(t, Config{QueueLen: 4096, MaxDropped: 1 << 30})
	sinks := make([]*countSink, 100)
	for i := range sinks {
		sinks[i] = &countSink{}
		h.Join("r", strconv.Itoa(i), sinks[i], nil)
	}
	m := msg("r", 0)
	allocs := testing.AllocsPerRun(1000, func() { h.Publish("r", m) })
	if allocs != 0 {
		t.Fatalf("Publish to 100 sessions: %v allocations per call, want 0", allocs)
	}
}
