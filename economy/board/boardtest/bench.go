package boardtest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/onair-live/onair/economy/board"
)

// benchCredits are 4096 credits in 16 rooms (a broadcast each) from 1000
// users to 16 streamers, all today.
func benchCredits(now time.Time) []board.Credit {
	cs := make([]board.Credit, 4096)
	for i := range cs {
		room := fmt.Sprintf("room%02d", i%16)
		cs[i] = board.Credit{Room: room, Broadcast: "b1", User: fmt.Sprintf("user%04d", (i*7919)%1000),
			Streamer: "s-" + room, Amount: int64(1 + i%500), Earned: int64(1 + i%250), At: now}
	}
	return cs
}

// BenchAdd measures Add (seven boards per credit), from one goroutine and
// from GOMAXPROCS goroutines. The store runs on the real clock.
func BenchAdd(b *testing.B, newStore Factory) {
	s := newStore(b, board.Config{})
	ctx := context.Background()
	cs := benchCredits(time.Now())
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := s.Add(ctx, cs[i%len(cs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if err := s.Add(ctx, cs[i%len(cs)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// As the outbox feed will call it: every credit with an ID of its own,
	// so each is checked against and added to the remembered IDs.
	b.Run("serial-with-id", func(b *testing.B) {
		b.ReportAllocs()
		run := strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
		for i := 0; b.Loop(); i++ {
			c := cs[i%len(cs)]
			c.ID = run + strconv.Itoa(i)
			if err := s.Add(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchTop measures Top(10) and Top(100) and Rank on a room board of 10,000
// contributors.
func BenchTop(b *testing.B, newStore Factory) {
	s := newStore(b, board.Config{})
	ctx := context.Background()
	const users = 10000
	var cs []board.Credit
	for i := range users {
		cs = append(cs, board.Credit{Room: "big", User: fmt.Sprintf("user%05d", i), Streamer: "s-big",
			Amount: int64(1 + (i*7919)%users), At: time.Now()})
	}
	if err := s.Rebuild(ctx, board.Credits(cs)); err != nil {
		b.Fatal(err)
	}
	all := board.Board{Kind: board.RoomAllTime, Room: "big"}
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("top%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				es, err := s.Top(ctx, all, n)
				if err != nil {
					b.Fatal(err)
				}
				if len(es) != n {
					b.Fatalf("Top(%d) gave %d entries", n, len(es))
				}
			}
		})
	}
	b.Run("rank", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok, err := s.Rank(ctx, all, cs[i%users].User); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
