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
	"unsafe"
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

// A burst goes out in full batches, the rest when the window ends, also while
// the sink is busy.
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

// A sink that stops taking batches delays nobody else, drops whole batches
// and is disconnected; the write it is stuck in is left to finish, so that the
// transport can still tell its peer why, and onGone follows it.
func TestStuckSinkIsDisconnectedOthersKeepWorking(t *testing.T) {
	const queueLen, maxDropped, step = 16, 32, 8
	h := newHub(t, Config{BatchWindow: time.Hour, MaxBatch: step, QueueLen: queueLen, MaxDropped: maxDropped})
	release := make(chan struct{})
	var stuckReturned atomic.Bool
	var stuckCtxDone atomic.Bool
	stuck := &recSink{before: func(ctx context.Context, call int) error {
		select {
		case <-release: // the peer reads again
		case <-ctx.Done():
			stuckCtxDone.Store(true)
		}
		stuckReturned.Store(true)
		return nil
	}}
	var stuckGone gone
	ss := h.Join("r", "stuck", stuck, stuckGone.fn)
	fast := []*recSink{{}, {}, {}}
	var fastGone gone
	for i, s := range fast {
		h.Join("r", strconv.Itoa(i), s, fastGone.fn)
	}
	// Publish in full batches of 8 and let the fast sessions take each before
	// the next, so they never hold more than 8 (< QueueLen) and cannot drop,
	// while the stuck session has one batch in flight, fills its queue with two
	// and drops the next four.
	const total = 200
	for i := 0; i < total; i += step {
		for j := i; j < i+step; j++ {
			h.Publish("r", msg("r", j))
		}
		for k, s := range fast {
			eventually(t, fmt.Sprintf("fast sink %d has %d", k, i+step), func() bool { return s.count() >= i+step })
		}
	}
	for k, s := range fast {
		if !slices.Equal(s.msgs(), want("r", 0, total)) {
			t.Fatalf("fast sink %d: messages missing or out of order", k)
		}
	}
	if st := h.Stats(); st != (Stats{Rooms: 1, Sessions: 3, Dropped: maxDropped, SlowConsumers: 1}) {
		t.Fatalf("hub stats %+v", st)
	}
	if d := ss.Dropped(); d != maxDropped {
		t.Fatalf("stuck session dropped %d, want %d", d, maxDropped)
	}
	if stuckReturned.Load() || len(stuckGone.get()) != 0 {
		t.Fatal("the write in flight was cut short, or onGone came before it returned")
	}
	close(release)
	eventually(t, "stuck session gone", func() bool { return len(stuckGone.get()) == 1 })
	if r := stuckGone.get(); !errors.Is(r[0], ErrSlowConsumer) {
		t.Fatalf("stuck session gone with %v, want ErrSlowConsumer", r[0])
	}
	if stuckCtxDone.Load() {
		t.Fatal("the write in flight was cancelled")
	}
	if got := stuck.batchSizes(); !slices.Equal(got, []int{step}) {
		t.Fatalf("the stuck sink wrote batches %v after its verdict, want only the one in flight", got)
	}
	if r := fastGone.get(); len(r) != 0 {
		t.Fatalf("fast sessions gone: %v", r)
	}
	// The fast ones keep working after the disconnection.
	for j := total; j < total+step; j++ {
		h.Publish("r", msg("r", j))
	}
	for k, s := range fast {
		eventually(t, fmt.Sprintf("fast sink %d gets one more batch", k), func() bool { return s.count() == total+step })
	}
	ss.Leave() // no effect on a gone session
}

// A write that runs longer than WriteTimeout is cancelled by the watchdog and
// its session disconnected; the others go on meanwhile.
func TestWriteTimeoutCancelsAStuckWrite(t *testing.T) {
	const timeout = 200 * time.Millisecond
	h := newHub(t, Config{BatchWindow: time.Millisecond, WriteTimeout: timeout})
	var stuckFor atomic.Int64
	stuck := &recSink{before: func(ctx context.Context, call int) error {
		start := time.Now()
		<-ctx.Done() // a peer that never reads, on a transport that honours ctx
		stuckFor.Store(int64(time.Since(start)))
		return ctx.Err()
	}}
	var stuckGone, fastGone gone
	h.Join("r", "stuck", stuck, stuckGone.fn)
	fast := &recSink{}
	h.Join("r", "fast", fast, fastGone.fn)
	for i := 0; len(stuckGone.get()) == 0; i++ {
		if i == 100 {
			t.Fatal("no verdict after 100 rounds of 10ms")
		}
		h.Publish("r", msg("r", i))
		eventually(t, "the fast sink keeps up", func() bool { return fast.count() == i+1 })
		time.Sleep(10 * time.Millisecond)
	}
	if r := stuckGone.get(); len(r) != 1 || !errors.Is(r[0], ErrWriteTimeout) || !errors.Is(r[0], ErrSlowConsumer) {
		t.Fatalf("stuck session gone with %v, want ErrWriteTimeout (an ErrSlowConsumer)", r)
	}
	if d := time.Duration(stuckFor.Load()); d < timeout || d > 3*timeout {
		t.Fatalf("the stuck write was cancelled after %v, want between %v and %v", d, timeout, 3*timeout)
	}
	if st := h.Stats(); st.Sessions != 1 || st.SlowConsumers != 1 {
		t.Fatalf("hub stats %+v", st)
	}
	if r := fastGone.get(); len(r) != 0 {
		t.Fatalf("the fast session gone: %v", r)
	}
}

func TestDroppedNoticeOncePerEpisode(t *testing.T) {
	// A batch a message: each is queued or dropped on its own.
	h := newHub(t, Config{MaxBatch: 1, QueueLen: 4})
	entered, release := make(chan struct{}), make(chan struct{})
	s := &recSink{before: func(ctx context.Context, call int) error {
		if call == 1 {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
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

// The hot path allocates per batch, not per session or message: a full batch
// published to 1,000 sessions and written by all of them costs its messages'
// slice, its frame and the batch itself.
func TestPublishAllocatesPerBatchOnly(t *testing.T) {
	const sessions, batch = 1000, 16
	h := newHub(t, Config{MaxBatch: batch})
	var target, done atomic.Int64
	sinks := make([]*countSink, sessions)
	for i := range sinks {
		sinks[i] = &countSink{target: &target, done: &done}
		h.Join("r", strconv.Itoa(i), sinks[i], nil)
	}
	m := msg("r", 0)
	round := func() {
		done.Store(0)
		target.Add(batch)
		for range batch {
			h.Publish("r", m)
		}
		eventually(t, "every session has the batch", func() bool { return done.Load() == sessions })
	}
	round() // every goroutine has run once
	allocs := testing.AllocsPerRun(50, round)
	if allocs > 3 {
		t.Fatalf("a batch of %d to %d sessions: %v allocations, want 3", batch, sessions, allocs)
	}
}

// A batch is encoded once: every session gets the same frame, the very bytes,
// holding the very messages published, as the JSON array of them.
func TestOneFrameSharedByAllSessions(t *testing.T) {
	const sessions = 20
	h := newHub(t, Config{MaxBatch: 10, BatchWindow: 5 * time.Millisecond})
	sinks := make([]*recSink, sessions)
	for i := range sinks {
		sinks[i] = &recSink{}
		h.Join("r", strconv.Itoa(i), sinks[i], nil)
	}
	var published [][]byte
	for i := range 25 { // two full batches, then 5 when the window ends
		published = append(published, msg("r", i))
		h.Publish("r", published[i])
	}
	for i, s := range sinks {
		eventually(t, fmt.Sprintf("sink %d has all", i), func() bool { return s.count() == 25 })
	}
	batches0, frames0, _ := sinks[0].got()
	if sizes := sinks[0].batchSizes(); !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Fatalf("batch sizes %v, want [10 10 5]", sizes)
	}
	for j, f := range frames0 {
		var want []byte
		for k, m := range batches0[j] {
			want = append(want, ","[:min(k, 1)]...)
			want = append(want, m...)
		}
		if want = append(append([]byte("["), want...), ']'); string(f) != string(want) {
			t.Fatalf("frame %d is %s, want %s", j, f, want)
		}
		var decoded []json.RawMessage
		if err := json.Unmarshal(f, &decoded); err != nil || len(decoded) != len(batches0[j]) {
			t.Fatalf("frame %d is not a JSON array of its %d messages: %v", j, len(batches0[j]), err)
		}
	}
	for i, s := range sinks[1:] {
		_, frames, _ := s.got()
		for j := range frames {
			if unsafe.SliceData(frames[j]) != unsafe.SliceData(frames0[j]) || len(frames[j]) != len(frames0[j]) {
				t.Fatalf("sink %d batch %d: a frame of its own, not the room's", i+1, j)
			}
		}
	}
	// The messages are the slices given to Publish, not copies.
	got := make(chan Batch, 1)
	h.Join("q", "q", sinkFunc(func(_ context.Context, b Batch) error { got <- b; return nil }), nil)
	m := msg("q", 0)
	h.Publish("q", m)
	if b := <-got; unsafe.SliceData(b.Msgs()[0]) != unsafe.SliceData(m) {
		t.Fatal("the message was copied")
	}
}

// sinkFunc is a Sink made of a function.
type sinkFunc func(context.Context, Batch) error

func (f sinkFunc) WriteBatch(ctx context.Context, b Batch) error { return f(ctx, b) }

// The window is the room's: it starts at the batch's first message, whoever
// joins meanwhile, and every session gets the batch when it ends. A session
// that joins during the window gets only what was published after its Join.
func TestWindowIsPerRoom(t *testing.T) {
	const window = 150 * time.Millisecond
	h := newHub(t, Config{BatchWindow: window})
	early, late := &recSink{}, &recSink{}
	h.Join("r", "early", early, nil)
	start := time.Now()
	h.Publish("r", msg("r", 0))
	time.Sleep(window / 3)
	h.Join("r", "late", late, nil)
	h.Publish("r", msg("r", 1))
	eventually(t, "both sessions have the batch", func() bool { return early.count() == 2 && late.count() == 1 })
	eb, _, eat := early.got()
	lb, _, lat := late.got()
	if len(eb) != 1 || !slices.Equal(eb[0], want("r", 0, 2)) {
		t.Fatalf("early session got %q, want one batch of messages 0 and 1", eb)
	}
	if len(lb) != 1 || !slices.Equal(lb[0], want("r", 1, 2)) {
		t.Fatalf("late session got %q, want one batch of message 1 only", lb)
	}
	for _, at := range []time.Time{eat[0], lat[0]} {
		if d := at.Sub(start); d < window {
			t.Fatalf("a batch came %v after its first message, before the window of %v ended", d, window)
		}
	}
	if d := lat[0].Sub(eat[0]).Abs(); d > window/3 {
		t.Fatalf("the sessions got the batch %v apart: not one window for the room", d)
	}
}
