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

func (s *countSink) WriteBatch(_ context.Context, msgs [][]byte) error {
	n := s.n.Add(int64(len(msgs)))
	if s.target != nil && n == s.target.Load() {
		s.done.Add(1)
	}
	return nil
}

// BenchmarkFanout publishes to one room of N sessions with the default Config
// (50ms window, batches of 64, queues of 256). It publishes in rounds of 64
// messages, one full batch, and waits until every session has the round before
// the next: a publisher that never waits outruns the sessions and measures
// drops, not delivery. ns/op and allocs/op are per message published (N
// deliveries each); deliveries/s counts WriteBatch'ed messages.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run("sessions="+strconv.Itoa(n), func(b *testing.B) {
			h := New(Config{})
			defer h.Close()
			var target, done atomic.Int64
			sinks := make([]*countSink, n)
			sess := make([]*Session, n)
			for i := range sinks {
				sinks[i] = &countSink{target: &target, done: &done}
				sess[i] = h.Join("bench", strconv.Itoa(i), sinks[i], nil)
			}
			m := []byte(`{"v":1,"type":"chat","id":"01J0000000000000000000000","room":"bench","from":{"id":"u1","name":"someone"},"ts":1700000000000,"body":{"text":"hello"}}`)
			round := DefaultConfig().MaxBatch
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
			publish(round) // warm up: every goroutine has run, its context and timer are set up
			for i := range sinks {
				sinks[i].n.Store(0)
			}
			sent = 0
			b.ReportAllocs()
			b.ResetTimer()
			for sent < b.N {
				publish(min(round, b.N-sent))
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
		})
	}
}
