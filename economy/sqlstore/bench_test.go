package sqlstore_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/sqlstore"
)

// go test -run '^$' -bench Gifts -benchtime 20000x ./economy/sqlstore/
//
// BenchmarkGifts: 64 senders post gift-shaped transfers as fast as the ledger
// takes them (each waits for its receipt, then sends the next), durable
// commits, on each engine, with group commit and without (MaxBatch 1).
func BenchmarkGifts(b *testing.B) {
	const senders, streamers = 64, 8
	for _, e := range ledgertest.Engines {
		for _, mode := range []struct {
			name     string
			maxBatch int
		}{{"group", 0}, {"single", 1}} {
			b.Run(e.Name+"/"+mode.name, func(b *testing.B) {
				l, err := economy.NewLedger(economy.Config{MaxBatch: mode.maxBatch}, economy.Deps{Store: sqlstore.New(e.Open(b))})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				ctx := b.Context()
				for g := range senders {
					if _, err := l.Post(ctx, ledgertest.Recharge(fmt.Sprintf("fund-%d", g), sender(g), 0, 1<<40)); err != nil {
						b.Fatal(err)
					}
				}
				before := l.Stats()
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for g := range senders {
					wg.Go(func() {
						for {
							i := int(next.Add(1) - 1)
							if i >= b.N {
								return
							}
							price := []int64{1, 10, 99, 520}[i%4]
							t := ledgertest.Gift(fmt.Sprintf("gift-%d", i), sender(g), fmt.Sprintf("streamer%d", i%streamers), price, 50)
							t0 := time.Now()
							_, err := l.Post(ctx, t)
							lat[i] = time.Since(t0)
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				slices.Sort(lat)
				st := l.Stats()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "transfers/s")
				b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(st.Txns-before.Txns)/float64(st.Batches-before.Batches), "txns/batch")
				b.ReportMetric(0, "ns/op") // the rate above says it; ns/op of a concurrent run misleads
			})
		}
	}
}

func sender(g int) string { return fmt.Sprintf("viewer%d", g) }
