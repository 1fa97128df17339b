package redpacket_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/economy/redpacket/dbstore"
	"github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/economy/sqlstore"
)

// BenchmarkGrab: winning grabs (claim, ledger payment with its event, mark
// paid), 64 grabbers at once, on packets of 1,000 shares; ns/op is per grab.
//
//	go test -run '^$' -bench Grab -benchtime 4000x ./economy/redpacket/
func BenchmarkGrab(b *testing.B) {
	for _, e := range ledgertest.Engines {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			l := ledgertest.NewLedger(b, sqlstore.New(db), economy.Config{})
			s := settings.Default()
			s.RedPacketMaxShares = 1000
			svc, err := redpacket.New(redpacket.Config{}, redpacket.Deps{Store: dbstore.New(db), Ledger: l, Terms: terms{s}})
			if err != nil {
				b.Fatal(err)
			}
			packets := (b.N + 999) / 1000
			if _, err := l.Post(b.Context(), ledgertest.Recharge("bench", "sender", 0, int64(packets)*1000)); err != nil {
				b.Fatal(err)
			}
			ids := make([]string, packets)
			for i := range ids {
				c, err := svc.Create(b.Context(), redpacket.CreateRequest{Room: "bench", From: redpacket.Party{ID: "sender"}, Coins: 1000, Shares: 1000, Key: fmt.Sprint(i)})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = c.Packet.ID
			}
			var next atomic.Int64
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // 64 grabbers
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					user := redpacket.Party{ID: fmt.Sprintf("u%d", i)}
					if _, err := svc.Grab(b.Context(), ids[i/1000], user); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "grabs/s")
		})
	}
}
