package ledgertest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
)

// GiftLoad funds senders viewers, then has them post b.N gift-shaped
// transfers between them, as fast as the ledger takes them: each sender waits
// for its receipt, then sends the next (64 senders keep at most 64 in
// flight). It reports transfers/s, the p50 and p99 latency of Post, and how
// many transfers a batch carried on average. It returns when the last
// receipt is in.
func GiftLoad(b *testing.B, l *economy.Ledger, senders, streamers int) {
	b.Helper()
	ctx := b.Context()
	for g := range senders {
		if _, err := l.Post(ctx, Recharge(fmt.Sprintf("fund-%d", g), sender(g), 0, 1<<40)); err != nil {
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
				t := Gift(fmt.Sprintf("gift-%d", i), sender(g), fmt.Sprintf("streamer%d", i%streamers), price, 50)
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
	b.ReportMetric(0, "ns/op") // the rate says it; ns/op of a concurrent run misleads
}

func sender(g int) string { return fmt.Sprintf("viewer%d", g) }
