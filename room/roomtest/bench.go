package roomtest

import (
	"context"
	"fmt"
	"testing"
)

// BenchLimiterAllow measures Limiter.Allow on 1024 keys whose buckets never
// run dry, from one goroutine and from GOMAXPROCS goroutines.
func BenchLimiterAllow(b *testing.B, newEnv Factory) {
	e := newEnv(b)
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-%d", i)
	}
	run := func(n int) error {
		_, _, err := e.Limiter.Allow(ctx, keys[n%len(keys)], 1e9, 1e6)
		return err
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := run(i); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if err := run(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchPresenceCount measures Presence.Count on a room with 1000 viewers on 4 nodes.
func BenchPresenceCount(b *testing.B, newEnv Factory) {
	e := newEnv(b)
	ctx := context.Background()
	const nodes, viewers = 4, 1000
	for i := range nodes {
		if err := e.Presence.Renew(ctx, fmt.Sprintf("node-%d", i), long); err != nil {
			b.Fatal(err)
		}
	}
	for i := range viewers {
		if err := e.Presence.Join(ctx, r1, fmt.Sprintf("node-%d", i%nodes), fmt.Sprintf("s%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n, err := e.Presence.Count(ctx, r1)
		if err != nil {
			b.Fatal(err)
		}
		if n != viewers {
			b.Fatalf("Count = %d, want %d", n, viewers)
		}
	}
}
