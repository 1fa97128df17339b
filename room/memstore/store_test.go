package memstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/roomtest"
)

func newEnv(tb testing.TB) roomtest.Env {
	clock := roomtest.NewClock()
	s := New(WithClock(clock.Now))
	return roomtest.Env{Presence: s, Directory: s, Limiter: s, Now: clock.Now, Advance: clock.Advance}
}

// benchEnv runs on the real clock, so benchmarks pay for reading it.
func benchEnv(tb testing.TB) roomtest.Env {
	s := New()
	return roomtest.Env{Presence: s, Directory: s, Limiter: s, Now: time.Now, Advance: func(time.Duration) {}}
}

func TestContract(t *testing.T) { roomtest.Run(t, newEnv) }

func BenchmarkLimiterAllow(b *testing.B)  { roomtest.BenchLimiterAllow(b, benchEnv) }
func BenchmarkPresenceCount(b *testing.B) { roomtest.BenchPresenceCount(b, benchEnv) }

// Keys, nodes and rooms that expired are swept by the next write after
// WithSweepEvery, even if nothing reads them again: memory tracks what is alive.
func TestSweepForgetsExpired(t *testing.T) {
	ctx := t.Context()
	clock := roomtest.NewClock()
	s := New(WithClock(clock.Now), WithSweepEvery(time.Minute), WithLeaseTTL(time.Second))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		id := room.ID(fmt.Sprintf("room-%d", i))
		must(s.Join(ctx, id, fmt.Sprintf("node-%d", i), "s"))
		must(s.SetLive(ctx, room.LiveRoom{ID: id, Node: "n"}, time.Second))
		_, _, err := s.Allow(ctx, fmt.Sprintf("key-%d", i), 10, 5)
		must(err)
	}
	clock.Advance(2 * time.Minute)
	must(s.Join(ctx, "kept", "node-kept", "s"))
	must(s.SetLive(ctx, room.LiveRoom{ID: "kept", Node: "n"}, time.Hour))
	_, _, err := s.Allow(ctx, "kept", 10, 5)
	must(err)

	if n, m := len(s.pres.nodes), len(s.pres.rooms); n != 1 || m != 1 {
		t.Errorf("presence keeps %d nodes and %d rooms, want 1 and 1", n, m)
	}
	if n := len(s.dir.live); n != 1 {
		t.Errorf("directory keeps %d rooms, want 1", n)
	}
	if n := len(s.lim.buckets); n != 1 {
		t.Errorf("limiter keeps %d keys, want 1", n)
	}
}

// A token refills exactly one interval after it was taken.
func TestLimiterExactOnManualClock(t *testing.T) {
	ctx := context.Background()
	clock := roomtest.NewClock()
	s := New(WithClock(clock.Now))
	allow := func() (bool, time.Duration) {
		ok, retry, err := s.Allow(ctx, "k", 4, 2)
		if err != nil {
			t.Fatal(err)
		}
		return ok, retry
	}
	allow()
	allow()
	if ok, retry := allow(); ok || retry != 250*time.Millisecond {
		t.Fatalf("third call: %v, %v; want refused for 250ms", ok, retry)
	}
	clock.Advance(250*time.Millisecond - 1)
	if ok, retry := allow(); ok || retry != 1 {
		t.Fatalf("1ns early: %v, %v; want refused for 1ns", ok, retry)
	}
	clock.Advance(1)
	if ok, _ := allow(); !ok {
		t.Fatal("refused on time")
	}
	if ok, _ := allow(); ok {
		t.Fatal("a second token on time")
	}
}
