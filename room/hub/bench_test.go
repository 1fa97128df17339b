package hub

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// countSink counts what it is given, and tells the benchmark when it has all of
// a round. Padded to its own cache line so that session goroutines on
// different cores do not share one.
type countSink struct {
	n      atomic.Int64
	target *atomic.Int64 // messages due by the end of the round
	done   *atomic.Int64 // sinks that have them
	_      [40]byte
}

func (s *countSink) WriteBatch(_ context.Context, b Batch) error {
	n := s.n.Add(int64(b.Len()))
	if s.target != nil && n == s.target.Load() {
		s.done.Add(1)
	}
	return nil
}

// BenchmarkFanout publishes to one room of N sessions with the default Config
// (50ms window, queues of 256) and batches of 64 or 5 messages (5: 100
// messages/s in 50ms windows, the end-to-end load). It publishes in rounds of
// one full batch, sealed at once, and waits until every session has the round
// before the next: a publisher that never waits outruns the sessions and
// measures drops, not delivery. ns/op and allocs/op are per message published
// (N deliveries each); deliveries/s counts messages written to sinks. Per core:
//
//	go test -run XXX -bench Fanout -cpu 1 ./room/hub/
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		for _, batch := range []int{64, 5} {
			b.Run("sessions="+strconv.Itoa(n)+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				benchFanout(b, n, batch)
			})
		}
	}
}

func benchFanout(b *testing.B, n, batch int) {
	h := New(Config{MaxBatch: batch})
	defer h.Close()
	var target, done atomic.Int64
	sinks := make([]*countSink, n)
	sess := make([]*Session, n)
	for i := range sinks {
		sinks[i] = &countSink{target: &target, done: &done}
		sess[i] = h.Join("bench", strconv.Itoa(i), sinks[i], nil)
	}
	m := []byte(`{"v":1,"type":"chat","id":"01J0000000000000000000000","room":"bench","from":{"id":"u1","name":"someone"},"ts":1700000000000,"body":{"text":"hello"}}`)
	sent := 0
	publish := func(k int) {
		sent += k
		done.Store(0)
		target.Store(int64(sent))
		for range k {
			h.Publish("bench", m)
		}
		for done.Load() < int64(n) {
			runtime.Gosched()
		}
	}
	publish(batch) // warm up: every goroutine has run
	for i := range sinks {
		sinks[i].n.Store(0)
	}
	sent = 0
	b.ReportAllocs()
	b.ResetTimer()
	for sent < b.N {
		publish(min(batch, b.N-sent)) // a short last round waits for the window
	}
	b.StopTimer()
	var delivered, dropped int64
	for i, s := range sinks {
		delivered += s.n.Load()
		dropped += int64(sess[i].Dropped())
	}
	if dropped != 0 || delivered != int64(b.N)*int64(n) {
		b.Fatalf("delivered %d, dropped %d; want %d delivered", delivered, dropped, int64(b.N)*int64(n))
	}
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
}
